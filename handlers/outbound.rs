//! Outbound HTTP clients share one TLS configuration.
//!
//! Building a reqwest client with rustls builds a platform verifier, which reads and parses
//! every certificate under `/etc/ssl/certs`. The process builds several clients at start-up
//! (Azure Resource Manager, the identity credential, JWKS, the dashboard's sign-in), and each
//! did that work again: four root-store loads were most of a cold start. The verifier is built
//! once here and every client reuses it.

use std::sync::{Arc, OnceLock};

use tokio_rustls::rustls;

/// The one TLS client configuration, or `None` when the platform's roots could not be loaded
/// (clients then fall back to reqwest's own set-up, which reports the same failure).
fn shared_config() -> Option<&'static rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    CONFIG.get_or_init(build_config).as_ref()
}

fn build_config() -> Option<rustls::ClientConfig> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).ok()?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // reqwest leaves ALPN to a preconfigured TLS set-up; these are the protocols it offers itself.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Some(config)
}

/// A reqwest client builder that trusts the platform's roots through the shared configuration.
pub fn client_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match shared_config() {
        Some(config) => builder.tls_backend_preconfigured(config.clone()),
        None => builder,
    }
}

/// The HTTP transport for azure_core clients (credentials, Blob, Queue), with the settings of
/// azure_core's default client but the shared TLS configuration.
pub fn azure_transport() -> azure_core::http::Transport {
    azure_core::http::Transport::new(azure_http_client())
}

/// An azure_core HTTP client on the shared TLS configuration (azure_core's own default when the
/// builder fails, so a client always exists).
pub fn azure_http_client() -> Arc<dyn azure_core::http::HttpClient> {
    let built = client_builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .read_timeout(std::time::Duration::from_secs(100))
        .redirect(reqwest::redirect::Policy::none())
        .build();
    match built {
        Ok(client) => Arc::new(client),
        Err(_) => azure_core::http::new_http_client(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_built_once_and_offers_h2_and_http1() {
        let first = shared_config().map(|c| c as *const rustls::ClientConfig);
        let second = shared_config().map(|c| c as *const rustls::ClientConfig);
        assert!(first.is_some(), "the platform roots load on this machine");
        assert_eq!(first, second);
        let config = shared_config().map(|c| c.alpn_protocols.clone()).unwrap_or_default();
        assert_eq!(config, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[tokio::test]
    async fn a_shared_client_still_refuses_an_untrusted_certificate() {
        // A self-signed server: the shared verifier must reject it like reqwest's own would.
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = key.cert.der().clone();
        let private = rustls::pki_types::PrivateKeyDer::try_from(key.signing_key.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], private)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((stream, _)) = listener.accept().await {
                let _ = acceptor.accept(stream).await;
            }
        });
        let client = client_builder().no_proxy().build().unwrap();
        let error = client.get(format!("https://localhost:{port}/")).send().await.unwrap_err();
        assert!(error.is_connect(), "{error:?}");
    }
}
