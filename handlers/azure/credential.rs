//! Credentials: azure_identity behind a small [`TokenSource`] trait, plus a token cache.
//!
//! Tokens are cached per (tenant, scope) and refreshed [`REFRESH_MARGIN`] before they expire.
//! Token values live in [`Secret`] and are never logged.
//!
//! Tenancy: the home credential (managed identity, workload identity or client secret) serves
//! the identity's own tenant and Azure Lighthouse delegations (the managing tenant's token is
//! used as-is against delegated subscriptions). When a client secret for a multi-tenant app is
//! configured, a token for a customer tenant is requested from that tenant's authority instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::ClientOptions;
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};

use crate::azure::{AzureConfig, AzureError, CredentialKind, loopback};
use crate::config::Secret;

/// Tokens are renewed this long before they expire.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A bearer token and its expiry.
#[derive(Debug, Clone)]
pub struct BearerToken {
    /// The token (redacted in `Debug`).
    pub token: Secret,
    /// When it stops being valid.
    pub expires_at: SystemTime,
}

/// Something that can issue bearer tokens for a scope, optionally in a specific tenant.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A token for `scope`; `tenant` `None` means the identity's home tenant.
    ///
    /// # Errors
    /// [`AzureError::Auth`] when no token can be obtained.
    async fn token(&self, tenant: Option<&str>, scope: &str) -> Result<BearerToken, AzureError>;
}

/// Wraps azure_identity credentials: one home credential and, optionally, a client secret for
/// a multi-tenant app registration used for customer tenants.
pub struct IdentityTokenSource {
    home: Arc<dyn TokenCredential>,
    /// For a managed identity, the ARM scope is rewritten so the `resource` it sends is the
    /// configured audience verbatim (`https://management.azure.com/`, trailing slash
    /// included, as the App Service protocol documents); Entra flows keep the canonical scope.
    mi_scope_rewrite: Option<(String, String)>,
    home_tenant: Option<String>,
    multi_tenant_app: Option<(String, Secret)>,
    client_options: ClientOptions,
    per_tenant: tokio::sync::Mutex<HashMap<String, Arc<dyn TokenCredential>>>,
}

impl std::fmt::Debug for IdentityTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityTokenSource").field("home_tenant", &self.home_tenant).finish_non_exhaustive()
    }
}

fn auth_error(e: azure_core::Error) -> AzureError {
    AzureError::Auth(e.to_string())
}

impl IdentityTokenSource {
    /// Builds the credential chosen by `config.credential`.
    ///
    /// # Errors
    /// The chosen credential lacks its settings (e.g. `client_secret` without `AZURE_TENANT_ID`),
    /// or azure_identity rejects the configuration (e.g. a non-https authority host).
    pub fn from_config(config: &AzureConfig) -> Result<Self, AzureError> {
        let authority = loopback::prepare(&config.authority_host)?;
        let mut custom = CustomConfiguration::default();
        custom.authority_host = authority.authority_host;
        let client_options = ClientOptions {
            cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
            transport: Some(authority.transport.unwrap_or_else(crate::outbound::azure_transport)),
            ..Default::default()
        };
        let kind = match config.credential {
            CredentialKind::Auto if config.client_secret.is_some() => CredentialKind::ClientSecret,
            CredentialKind::Auto if config.federated_token_file.is_some() => CredentialKind::WorkloadIdentity,
            CredentialKind::Auto => CredentialKind::ManagedIdentity,
            other => other,
        };
        let missing = |what: &str| AzureError::Auth(format!("{what} is required for this credential"));
        let home: Arc<dyn TokenCredential> = match kind {
            CredentialKind::ManagedIdentity | CredentialKind::Auto => {
                let options = ManagedIdentityCredentialOptions {
                    user_assigned_id: config.client_id.clone().map(UserAssignedId::ClientId),
                    ..Default::default()
                };
                ManagedIdentityCredential::new(Some(options)).map_err(auth_error)?
            }
            CredentialKind::WorkloadIdentity => {
                let options = WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: client_options.clone(),
                    },
                    client_id: config.client_id.clone(),
                    tenant_id: config.tenant_id.clone(),
                    token_file_path: config.federated_token_file.clone().map(Into::into),
                };
                WorkloadIdentityCredential::new(Some(options)).map_err(auth_error)?
            }
            CredentialKind::ClientSecret => {
                let tenant = config.tenant_id.as_deref().ok_or_else(|| missing("AZURE_TENANT_ID"))?;
                let client_id = config.client_id.clone().ok_or_else(|| missing("AZURE_CLIENT_ID"))?;
                let secret = config.client_secret.as_ref().ok_or_else(|| missing("AZURE_CLIENT_SECRET"))?;
                client_secret_credential(tenant, client_id, secret, &client_options)?
            }
        };
        let mi_scope_rewrite = matches!(kind, CredentialKind::ManagedIdentity | CredentialKind::Auto)
            .then(|| (config.arm_scope(), format!("{}/.default", config.arm_audience)));
        let multi_tenant_app = match (&config.client_id, &config.client_secret) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            _ => None,
        };
        Ok(Self {
            home,
            mi_scope_rewrite,
            home_tenant: config.tenant_id.clone(),
            multi_tenant_app,
            client_options,
            per_tenant: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn credential_for(&self, tenant: Option<&str>) -> Result<Arc<dyn TokenCredential>, AzureError> {
        let tenant = match tenant {
            Some(t) if Some(t) != self.home_tenant.as_deref() => t,
            _ => return Ok(self.home.clone()),
        };
        let Some((client_id, secret)) = &self.multi_tenant_app else {
            // Lighthouse: the home identity's token is valid for delegated subscriptions.
            return Ok(self.home.clone());
        };
        let mut map = self.per_tenant.lock().await;
        if let Some(c) = map.get(tenant) {
            return Ok(c.clone());
        }
        let credential = client_secret_credential(tenant, client_id.clone(), secret, &self.client_options)?;
        map.insert(tenant.to_owned(), credential.clone());
        Ok(credential)
    }
}

fn client_secret_credential(
    tenant: &str,
    client_id: String,
    secret: &Secret,
    client_options: &ClientOptions,
) -> Result<Arc<dyn TokenCredential>, AzureError> {
    let options = ClientSecretCredentialOptions { client_options: client_options.clone() };
    let credential = ClientSecretCredential::new(
        tenant,
        client_id,
        azure_core::credentials::Secret::new(secret.expose().to_owned()),
        Some(options),
    )
    .map_err(auth_error)?;
    Ok(credential)
}

#[async_trait]
impl TokenSource for IdentityTokenSource {
    async fn token(&self, tenant: Option<&str>, scope: &str) -> Result<BearerToken, AzureError> {
        let credential = self.credential_for(tenant).await?;
        let scope = match &self.mi_scope_rewrite {
            Some((arm, mi)) if Arc::ptr_eq(&credential, &self.home) && scope == arm => mi.as_str(),
            _ => scope,
        };
        let token = credential.get_token(&[scope], None).await.map_err(auth_error)?;
        let secs = token.expires_on.unix_timestamp().max(0).unsigned_abs();
        Ok(BearerToken {
            token: Secret::new(token.token.secret().to_owned()),
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        })
    }
}

/// Caches another source's tokens per (tenant, scope), renewing them [`REFRESH_MARGIN`]
/// before expiry. Concurrent callers wait for one fetch instead of stampeding the endpoint.
pub struct CachedTokenSource {
    inner: Arc<dyn TokenSource>,
    cache: tokio::sync::Mutex<HashMap<(String, String), BearerToken>>,
}

impl std::fmt::Debug for CachedTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTokenSource").finish_non_exhaustive()
    }
}

impl CachedTokenSource {
    /// Caches `inner`.
    pub fn new(inner: Arc<dyn TokenSource>) -> Self {
        Self { inner, cache: tokio::sync::Mutex::new(HashMap::new()) }
    }
}

/// Whether a token expiring at `expires_at` must be renewed at `now`.
pub fn needs_refresh(expires_at: SystemTime, now: SystemTime) -> bool {
    now + REFRESH_MARGIN >= expires_at
}

#[async_trait]
impl TokenSource for CachedTokenSource {
    async fn token(&self, tenant: Option<&str>, scope: &str) -> Result<BearerToken, AzureError> {
        let key = (tenant.unwrap_or_default().to_owned(), scope.to_owned());
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.get(&key)
            && !needs_refresh(t.expires_at, SystemTime::now())
        {
            return Ok(t.clone());
        }
        let fresh = self.inner.token(tenant, scope).await?;
        cache.insert(key, fresh.clone());
        Ok(fresh)
    }
}

/// The configured credential, cached.
///
/// # Errors
/// As [`IdentityTokenSource::from_config`].
pub fn from_config(config: &AzureConfig) -> Result<Arc<dyn TokenSource>, AzureError> {
    Ok(Arc::new(CachedTokenSource::new(Arc::new(IdentityTokenSource::from_config(config)?))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting {
        calls: AtomicU32,
        lifetime: Duration,
    }

    #[async_trait]
    impl TokenSource for Counting {
        async fn token(&self, tenant: Option<&str>, _scope: &str) -> Result<BearerToken, AzureError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(BearerToken {
                token: Secret::new(format!("{}-{n}", tenant.unwrap_or("home"))),
                expires_at: SystemTime::now() + self.lifetime,
            })
        }
    }

    #[tokio::test]
    async fn long_lived_tokens_are_cached_per_tenant_and_scope() {
        let inner = Arc::new(Counting { calls: AtomicU32::new(0), lifetime: Duration::from_secs(3600) });
        let cache = CachedTokenSource::new(inner.clone());
        assert_eq!(cache.token(None, "s").await.unwrap().token.expose(), "home-1");
        assert_eq!(cache.token(None, "s").await.unwrap().token.expose(), "home-1");
        assert_eq!(cache.token(Some("t2"), "s").await.unwrap().token.expose(), "t2-2");
        assert_eq!(cache.token(None, "other").await.unwrap().token.expose(), "home-3");
        assert_eq!(inner.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn tokens_within_the_margin_are_renewed() {
        let inner = Arc::new(Counting { calls: AtomicU32::new(0), lifetime: Duration::from_secs(59) });
        let cache = CachedTokenSource::new(inner.clone());
        cache.token(None, "s").await.unwrap();
        assert_eq!(cache.token(None, "s").await.unwrap().token.expose(), "home-2");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert!(needs_refresh(now + Duration::from_secs(60), now));
        assert!(!needs_refresh(now + Duration::from_secs(61), now));
    }

    #[test]
    fn client_secret_needs_tenant_and_https_authority() {
        let mut config = AzureConfig::for_base_url("http://127.0.0.1:1").unwrap();
        config.credential = CredentialKind::ClientSecret;
        config.client_id = Some("app".into());
        config.client_secret = Some(Secret::new("x"));
        assert!(
            matches!(IdentityTokenSource::from_config(&config), Err(AzureError::Auth(m)) if m.contains("AZURE_TENANT_ID"))
        );
        config.tenant_id = Some("00000000-0000-0000-0000-000000000001".into());
        assert!(IdentityTokenSource::from_config(&config).is_ok());
        config.authority_host = "http://login.example.com".into();
        assert!(IdentityTokenSource::from_config(&config).is_err(), "remote authorities must be https");
        config.authority_host = "http://127.0.0.1:1".into();
        assert!(
            IdentityTokenSource::from_config(&config).is_ok(),
            "a loopback authority (the sandbox) is allowed"
        );
    }
}
