//! [`BlobRawStore`]: the raw container on Azure Blob Storage / ADLS Gen2 (managed identity) or on
//! Azurite (account SAS), through `azure_storage_blob` 1.x.
//!
//! Create-only is the service's own precondition (`If-None-Match: *`), so racing writers are
//! arbitrated by Storage: one upload succeeds, the others get 409 `BlobAlreadyExists` and
//! compare the stored content with their own.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{NoFormat, RequestContent, StatusCode};
use azure_storage_blob::BlobContainerClient;
use azure_storage_blob::models::{
    BlobClientUploadOptions, BlobContainerClientListBlobsOptions, StorageErrorCode,
};
use futures::TryStreamExt as _;
use url::Url;

use super::path::{validate_path, validate_prefix};
use super::{PutOutcome, RawError, RawStore};
use crate::azure::credential::TokenSource;
use crate::azurite::StorageAccount;

/// The account SAS lasts two days; clients are re-signed well before it runs out.
const RESIGN_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How the container is reached.
enum Access {
    /// Entra ID: the client holds the credential and never changes.
    Credential(Arc<BlobContainerClient>),
    /// Azurite: an account SAS in the URL, renewed after [`RESIGN_AFTER`].
    Sas {
        account: Box<StorageAccount>,
        container: String,
        client: Mutex<(Instant, Arc<BlobContainerClient>)>,
    },
}

/// A raw store on one blob container.
pub struct BlobRawStore {
    access: Access,
}

impl std::fmt::Debug for BlobRawStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.access {
            Access::Credential(client) => client.url().as_str().to_owned(),
            Access::Sas { account, container, .. } => format!("{}/{container}", account.blob_endpoint),
        };
        f.debug_struct("BlobRawStore").field("container", &target).finish()
    }
}

/// The message of an SDK error, with any SAS signature in it (transport errors quote the URL)
/// blanked out.
fn describe(e: &azure_core::Error) -> String {
    let text = e.to_string();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("sig=") {
        out.push_str(&rest[..at + 4]);
        out.push_str("redacted");
        rest = &rest[at + 4..];
        let end =
            rest.find(|c: char| c == '&' || c == ')' || c == '"' || c.is_whitespace()).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn storage(what: &str, path: &str, e: &azure_core::Error) -> RawError {
    RawError::Storage(format!("{what} {path}: {}", describe(e)))
}

fn has_code(e: &azure_core::Error, code: &StorageErrorCode) -> bool {
    matches!(e.kind(), azure_core::error::ErrorKind::HttpResponse { error_code: Some(c), .. } if c == code.as_ref())
}

/// Blob clients send through the process's shared TLS set-up (see [`crate::outbound`]).
fn client_options() -> Option<azure_storage_blob::BlobContainerClientOptions> {
    let client_options = azure_core::http::ClientOptions {
        transport: Some(crate::outbound::azure_transport()),
        ..Default::default()
    };
    Some(azure_storage_blob::BlobContainerClientOptions { client_options, ..Default::default() })
}

fn sas_client(account: &StorageAccount, container: &str) -> Result<BlobContainerClient, RawError> {
    let url = account
        .signed_url(&account.blob_endpoint, container)
        .map_err(|e| RawError::Storage(format!("invalid blob endpoint for container {container}: {e}")))?;
    BlobContainerClient::new(url, None, client_options())
        .map_err(|e| storage("cannot reach container", container, &e))
}

impl BlobRawStore {
    /// A store on the container at `container_url` (`https://<account>.blob.core.windows.net/raw`),
    /// authenticated with `credential` (the Function App's managed identity in production).
    /// The container must exist (Terraform creates it; the identity needs no account rights).
    ///
    /// # Errors
    /// The URL is not https or not a container URL.
    pub fn with_credential(
        container_url: Url,
        credential: Arc<dyn TokenCredential>,
    ) -> Result<Self, RawError> {
        let name = container_url.as_str().to_owned();
        let client = BlobContainerClient::new(container_url, Some(credential), client_options())
            .map_err(|e| storage("cannot use container", &name, &e))?;
        Ok(Self { access: Access::Credential(Arc::new(client)) })
    }

    /// A store on `container` of an Azurite (shared-key) account, signed with an account SAS;
    /// the container is created when missing.
    ///
    /// # Errors
    /// The account cannot be reached or refuses to create the container.
    pub async fn azurite(account: &StorageAccount, container: &str) -> Result<Self, RawError> {
        let client = sas_client(account, container)?;
        match client.create(None).await {
            Ok(_) => {}
            Err(e) if has_code(&e, &StorageErrorCode::ContainerAlreadyExists) => {}
            Err(e) => return Err(storage("cannot create container", container, &e)),
        }
        Ok(Self {
            access: Access::Sas {
                account: Box::new(account.clone()),
                container: container.to_owned(),
                client: Mutex::new((Instant::now(), Arc::new(client))),
            },
        })
    }

    fn client(&self) -> Result<Arc<BlobContainerClient>, RawError> {
        match &self.access {
            Access::Credential(client) => Ok(client.clone()),
            Access::Sas { account, container, client } => {
                let mut slot = client.lock().unwrap_or_else(PoisonError::into_inner);
                if slot.0.elapsed() >= RESIGN_AFTER {
                    *slot = (Instant::now(), Arc::new(sas_client(account, container)?));
                }
                Ok(slot.1.clone())
            }
        }
    }
}

#[async_trait]
impl RawStore for BlobRawStore {
    async fn put_create_only(&self, path: &str, content: &[u8]) -> Result<PutOutcome, RawError> {
        validate_path(path)?;
        let blob = self.client()?.blob_client(path);
        let options = BlobClientUploadOptions {
            blob_content_type: Some("application/json".to_owned()),
            ..Default::default()
        }
        .if_not_exists();
        let body: RequestContent<bytes::Bytes, NoFormat> = bytes::Bytes::copy_from_slice(content).into();
        match blob.upload(body, Some(options)).await {
            Ok(_) => Ok(PutOutcome::Created),
            // 412 is what an If-None-Match failure looks like on services that do not say 409.
            Err(e)
                if has_code(&e, &StorageErrorCode::BlobAlreadyExists)
                    || e.http_status() == Some(StatusCode::PreconditionFailed) =>
            {
                match self.get(path).await? {
                    Some(existing) if existing == content => Ok(PutOutcome::AlreadyExists),
                    Some(_) => Err(RawError::Conflict { path: path.to_owned() }),
                    None => {
                        Err(RawError::Storage(format!("{path} was reported existing but cannot be read")))
                    }
                }
            }
            Err(e) => Err(storage("cannot upload", path, &e)),
        }
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, RawError> {
        validate_path(path)?;
        let blob = self.client()?.blob_client(path);
        let response = match blob.download(None).await {
            Ok(response) => response,
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(None),
            Err(e) => return Err(storage("cannot download", path, &e)),
        };
        let content = response.body.collect().await.map_err(|e| storage("cannot download", path, &e))?;
        Ok(Some(content.to_vec()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, RawError> {
        validate_prefix(prefix)?;
        let options = BlobContainerClientListBlobsOptions {
            prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
            ..Default::default()
        };
        let mut pager =
            self.client()?.list_blobs(Some(options)).map_err(|e| storage("cannot list", prefix, &e))?;
        let mut found = Vec::new();
        while let Some(item) = pager.try_next().await.map_err(|e| storage("cannot list", prefix, &e))? {
            found.extend(item.name);
        }
        found.sort_unstable();
        Ok(found)
    }
}

/// Presents the project's [`TokenSource`] (managed identity, workload identity or client secret,
/// cached) as the `TokenCredential` the storage SDK takes.
pub struct TokenSourceCredential(pub Arc<dyn TokenSource>);

impl std::fmt::Debug for TokenSourceCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSourceCredential")
    }
}

#[async_trait]
impl TokenCredential for TokenSourceCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let fail = |message: String| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        };
        let scope = scopes.first().ok_or_else(|| fail("no scope requested".to_owned()))?;
        let token = self.0.token(None, scope).await.map_err(|e| fail(e.to_string()))?;
        let secs = token.expires_at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let expires_on =
            azure_core::time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
                .map_err(|e| fail(e.to_string()))?;
        Ok(AccessToken::new(
            azure_core::credentials::Secret::new(token.token.expose().to_owned()),
            expires_on,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_signatures_never_reach_error_messages() {
        let e = azure_core::Error::with_message(
            azure_core::error::ErrorKind::Io,
            "error sending request for url (http://127.0.0.1:1/devstoreaccount1/raw?sv=2021&sig=abc%2Bdef&se=x)",
        );
        let text = describe(&e);
        assert!(!text.contains("abc%2Bdef"), "{text}");
        assert!(text.contains("sig=redacted&se=x)"), "{text}");
    }

    struct FixedTokens;

    #[async_trait]
    impl TokenSource for FixedTokens {
        async fn token(
            &self,
            tenant: Option<&str>,
            scope: &str,
        ) -> Result<crate::azure::credential::BearerToken, crate::azure::AzureError> {
            assert_eq!((tenant, scope), (None, "https://storage.azure.com/.default"));
            Ok(crate::azure::credential::BearerToken {
                token: crate::config::Secret::new("tok-1"),
                expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            })
        }
    }

    #[tokio::test]
    async fn the_project_token_source_serves_the_storage_scope() {
        let credential = TokenSourceCredential(Arc::new(FixedTokens));
        let token = credential.get_token(&["https://storage.azure.com/.default"], None).await.unwrap();
        assert_eq!(token.token.secret(), "tok-1");
        assert_eq!(token.expires_on.unix_timestamp(), 2_000_000_000);
        assert!(!format!("{credential:?}").contains("tok-1"));
        assert!(credential.get_token(&[], None).await.is_err());
    }

    #[test]
    fn a_credential_needs_an_https_container() {
        let credential: Arc<dyn TokenCredential> = Arc::new(TokenSourceCredential(Arc::new(FixedTokens)));
        let http = Url::parse("http://127.0.0.1:1/devstoreaccount1/raw").unwrap();
        assert!(matches!(BlobRawStore::with_credential(http, credential.clone()), Err(RawError::Storage(_))));
        let https = Url::parse("https://acct.blob.core.windows.net/raw").unwrap();
        let store = BlobRawStore::with_credential(https, credential).unwrap();
        assert!(format!("{store:?}").contains("acct.blob.core.windows.net/raw"));
    }
}
