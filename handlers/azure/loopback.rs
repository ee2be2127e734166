//! Lets azure_identity's Entra flows reach a local, plain-http authority (the sandbox's
//! `POST /{tenant}/oauth2/v2.0/token`).
//!
//! azure_identity refuses a non-https authority host. For a loopback authority
//! (`http://127.0.0.1:PORT`, `http://localhost:PORT`) the credential is given the same host
//! with `https`, and this transport turns exactly that origin back into `http` before sending.
//! Any other host is left alone, and non-loopback http authorities are rejected, so this can
//! never downgrade a real Entra endpoint.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::http::{AsyncRawResponse, HttpClient, Request, Transport};
use url::Url;

use crate::azure::AzureError;

/// The authority to give azure_identity, and the transport that makes it reachable.
pub struct AuthoritySetup {
    /// An https authority host (rewritten back to http by `transport` when loopback).
    pub authority_host: String,
    /// A transport to install in the credential's `ClientOptions`, when needed.
    pub transport: Option<Transport>,
}

/// Prepares `authority_host` for azure_identity.
///
/// # Errors
/// `Auth` when the host is plain http but not a loopback address.
pub fn prepare(authority_host: &str) -> Result<AuthoritySetup, AzureError> {
    let url = Url::parse(authority_host).map_err(|e| AzureError::Auth(format!("authority host: {e}")))?;
    if url.scheme() != "http" {
        return Ok(AuthoritySetup { authority_host: authority_host.to_owned(), transport: None });
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    if !crate::azure::config::is_loopback(&url) {
        return Err(AzureError::Auth("a plain-http authority host must be a loopback address".into()));
    }
    let mut https = url.clone();
    https.set_scheme("https").map_err(|()| AzureError::Auth("authority host scheme".into()))?;
    let port = url.port_or_known_default();
    let client = LoopbackHttp { inner: crate::outbound::azure_http_client(), host, port };
    Ok(AuthoritySetup {
        authority_host: https.as_str().trim_end_matches('/').to_owned(),
        transport: Some(Transport::new(Arc::new(client))),
    })
}

/// Sends requests for one https loopback origin over plain http.
#[derive(Debug)]
struct LoopbackHttp {
    inner: Arc<dyn HttpClient>,
    host: String,
    port: Option<u16>,
}

#[async_trait]
impl HttpClient for LoopbackHttp {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let url = request.url();
        let same_origin =
            url.scheme() == "https" && url.host_str() == Some(self.host.as_str()) && url.port() == self.port;
        if !same_origin {
            return self.inner.execute_request(request).await;
        }
        let mut plain = request.clone();
        // Only the scheme changes; host, port, path and query stay as azure_identity built them.
        let _ = plain.url_mut().set_scheme("http");
        self.inner.execute_request(&plain).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_hosts_pass_through_and_remote_http_is_refused() {
        let s = prepare("https://login.microsoftonline.com").unwrap();
        assert_eq!(s.authority_host, "https://login.microsoftonline.com");
        assert!(s.transport.is_none());
        assert!(prepare("http://login.example.com").is_err());
        let local = prepare("http://127.0.0.1:4040").unwrap();
        assert_eq!(local.authority_host, "https://127.0.0.1:4040");
        assert!(local.transport.is_some());
    }
}
