//! Entra ID bearer-token authentication: RS256 signature against the issuer's JWKS, audience,
//! per-tenant v2 issuer, lifetime, and the token's tenant registered and active in the store.
//!
//! [`Authenticator`] is shared by the API router and envelope-mode HTTP functions (which pass
//! the `Authorization` header they received). Failures are reported to callers only as a
//! generic 401; the reason is logged at debug level without the token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::config::{ConfigError, SettingsSource};
use crate::store::{Store, StoreError, TenantScope};

/// Settings read by [`AuthConfig::from_source`].
pub const SETTINGS: &[&str] =
    &["AZCOPS_AUTH_AUDIENCE", "AZCOPS_AUTH_AUTHORITY", "AZCOPS_AUTH_JWKS_URL", "AZCOPS_CONTROL_PLANE_TENANT"];

/// The public Entra authority.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The key set is fetched again for an unknown `kid` at most this often, so forged `kid`s
/// cannot turn the API into a request amplifier against the identity provider.
const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;

/// Resolved tenants are cached briefly so a token check is not a database round trip per
/// request; a deactivated tenant is locked out within this time.
const TENANT_CACHE_TTL: Duration = Duration::from_secs(30);

/// App role: read the caller's own tenant.
pub const ROLE_READER: &str = "AzCops.Reader";
/// App role: decide on recommendations (approve, reject, dismiss, reopen).
pub const ROLE_APPROVER: &str = "AzCops.Approver";
/// App role: manage subscriptions, trigger ingestion, mark recommendations executed.
pub const ROLE_ADMIN: &str = "AzCops.Admin";
/// App role: register tenants and act on any tenant; honoured only in control-plane tokens.
pub const ROLE_PLATFORM_ADMIN: &str = "AzCops.PlatformAdmin";

/// Authentication settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Expected `aud`; `None` means `/api/v1` cannot be served.
    pub audience: Option<String>,
    /// Authority base URL, without a trailing slash.
    pub authority: String,
    /// Where the signing keys are published.
    pub jwks_url: String,
    /// The operators' Entra tenant id (lower-case), if any.
    pub control_plane_tenant: Option<String>,
}

impl AuthConfig {
    /// Reads `AZCOPS_AUTH_AUDIENCE` (optional here; its absence makes `/api/v1` answer 503),
    /// `AZCOPS_AUTH_AUTHORITY` (default the public Entra authority), `AZCOPS_AUTH_JWKS_URL`
    /// (default `{authority}/common/discovery/v2.0/keys`) and `AZCOPS_CONTROL_PLANE_TENANT`.
    ///
    /// # Errors
    /// The authority or key-set URL is not a URL, or not https while its host is not loopback.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let authority =
            source.get("AZCOPS_AUTH_AUTHORITY").unwrap_or(DEFAULT_AUTHORITY).trim_end_matches('/').to_owned();
        check_url("AZCOPS_AUTH_AUTHORITY", &authority)?;
        let jwks_url = source
            .get("AZCOPS_AUTH_JWKS_URL")
            .map_or_else(|| format!("{authority}/common/discovery/v2.0/keys"), str::to_owned);
        check_url("AZCOPS_AUTH_JWKS_URL", &jwks_url)?;
        Ok(Self {
            audience: source.get("AZCOPS_AUTH_AUDIENCE").map(|v| v.trim().to_owned()),
            authority,
            jwks_url,
            control_plane_tenant: source
                .get("AZCOPS_CONTROL_PLANE_TENANT")
                .map(|v| v.trim().to_ascii_lowercase()),
        })
    }
}

/// Keys and issuers fetched over plain http could be swapped on the way: https unless loopback.
fn check_url(key: &str, value: &str) -> Result<(), ConfigError> {
    crate::azure::config::secure_url(key, value).map(drop)
}

/// Why a request could not be authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// The token failed a check (the reason is for logs only).
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// `AZCOPS_AUTH_AUDIENCE` is not set.
    #[error("setting AZCOPS_AUTH_AUDIENCE is not configured")]
    NotConfigured,
    /// The key set or the store could not be reached.
    #[error("authentication dependency unavailable: {0}")]
    Unavailable(String),
}

impl From<AuthError> for super::ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Missing => Self::Unauthorized { error: "invalid_request" },
            AuthError::Invalid(reason) => {
                tracing::debug!(reason, "token rejected");
                Self::Unauthorized { error: "invalid_token" }
            }
            AuthError::NotConfigured => Self::NotConfigured("AZCOPS_AUTH_AUDIENCE"),
            AuthError::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "authentication dependency unavailable");
                Self::Unavailable {
                    message: "authentication is temporarily unavailable".into(),
                    retry_after: super::error::UNAVAILABLE_RETRY_AFTER_SECS,
                }
            }
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// The token's `tid` (lower-case).
    pub azure_tenant_id: String,
    /// The internal tenant id, when the token's tenant is registered.
    pub tenant_id: Option<String>,
    /// The scope of the caller's own tenant, when registered.
    #[serde(skip)]
    pub scope: Option<TenantScope>,
    /// The AzCops app roles in the token (`AzCops.PlatformAdmin` only for the control plane).
    pub roles: Vec<String>,
    /// `name` claim.
    pub display_name: Option<String>,
    /// `oid` claim.
    pub object_id: Option<String>,
    /// True for a platform admin of the control-plane tenant.
    pub platform_admin: bool,
}

impl Caller {
    /// Whether the caller holds `role`; Admin implies Approver and Reader, Approver implies Reader.
    pub fn has_role(&self, role: &str) -> bool {
        let held = |r: &str| self.roles.iter().any(|x| x == r);
        match role {
            ROLE_READER => held(ROLE_READER) || held(ROLE_APPROVER) || held(ROLE_ADMIN),
            ROLE_APPROVER => held(ROLE_APPROVER) || held(ROLE_ADMIN),
            other => held(other),
        }
    }

    /// Who acted, for audit records: the object id, else the tenant.
    pub fn actor(&self) -> String {
        self.object_id.clone().unwrap_or_else(|| format!("tenant:{}", self.azure_tenant_id))
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    tid: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    name: Option<String>,
    oid: Option<String>,
    nonce: Option<String>,
}

/// The claims of a validated token that authorisation uses; the dashboard keeps them in its
/// session and turns them into a [`Caller`] per request through [`Authenticator::caller`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `tid` (lower-case).
    pub tid: String,
    /// `roles`, as issued.
    pub roles: Vec<String>,
    /// `name`.
    pub name: Option<String>,
    /// `oid`.
    pub oid: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    failed_at: Option<Instant>,
}

/// After a failed key-set fetch, requests needing it answer 503 for this long without retrying,
/// so an identity-provider outage is not amplified by every request.
const JWKS_FAILURE_BACKOFF: Duration = Duration::from_secs(5);

/// Validates bearer tokens; cheap to share behind an `Arc`.
pub struct Authenticator {
    config: AuthConfig,
    store: Option<Store>,
    http: reqwest::Client,
    keys: RwLock<KeyCache>,
    refresh: Mutex<()>,
    tenants: RwLock<HashMap<String, (Option<String>, Instant)>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator checking tenants against `store` (without a store only the
    /// control-plane tenant is accepted).
    pub fn new(config: AuthConfig, store: Option<Store>) -> Self {
        let http = crate::outbound::client_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            config,
            store,
            http,
            keys: RwLock::new(KeyCache::default()),
            refresh: Mutex::new(()),
            tenants: RwLock::new(HashMap::new()),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Authenticates the value of an `Authorization` header.
    ///
    /// # Errors
    /// [`AuthError::Missing`] / [`AuthError::Invalid`] (answer 401), [`AuthError::NotConfigured`]
    /// and [`AuthError::Unavailable`] (answer 503).
    pub async fn authenticate(&self, authorization_header: Option<&str>) -> Result<Caller, AuthError> {
        let audience = self.config.audience.as_deref().ok_or(AuthError::NotConfigured)?;
        let token = bearer(authorization_header)?;
        let (identity, _) = self.validate(token, audience).await?;
        self.caller(&identity).await
    }

    /// Validates an OpenID Connect ID token issued to the dashboard's client (`audience` is its
    /// client id) exactly as access tokens are validated, returning the identity and the token's
    /// `nonce` for the caller to compare with the one it sent.
    ///
    /// # Errors
    /// As [`Authenticator::authenticate`].
    pub async fn validate_id_token(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<(Identity, Option<String>), AuthError> {
        self.validate(token, audience).await
    }

    /// Signature, algorithm, audience, lifetime and the per-tenant issuer of `token`.
    async fn validate(&self, token: &str, audience: &str) -> Result<(Identity, Option<String>), AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Invalid("malformed header"))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("algorithm not RS256"));
        }
        let kid = header.kid.ok_or(AuthError::Invalid("no kid"))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
        let claims = decode::<Claims>(token, &key, &validation)
            .map_err(|_| AuthError::Invalid("signature or claims"))?
            .claims;
        let tid = claims.tid.ok_or(AuthError::Invalid("no tid"))?.to_ascii_lowercase();
        if claims.iss != format!("{}/{}/v2.0", self.config.authority, tid) {
            return Err(AuthError::Invalid("issuer does not match tid"));
        }
        let identity = Identity { tid, roles: claims.roles, name: claims.name, oid: claims.oid };
        Ok((identity, claims.nonce))
    }

    /// The caller of a validated identity: its tenant must be registered and active (or the
    /// control plane), and only AzCops roles are kept (`AzCops.PlatformAdmin` only from the
    /// control plane). The dashboard calls this on every request, so a deactivated tenant is
    /// locked out of a session as quickly as out of the API.
    ///
    /// # Errors
    /// [`AuthError::Invalid`] for an unregistered tenant, [`AuthError::Unavailable`].
    pub async fn caller(&self, identity: &Identity) -> Result<Caller, AuthError> {
        let tid = identity.tid.to_ascii_lowercase();
        let control_plane = self.config.control_plane_tenant.as_deref() == Some(tid.as_str());
        let tenant_id = self.resolve_tenant(&tid).await?;
        if tenant_id.is_none() && !control_plane {
            return Err(AuthError::Invalid("tenant not registered or inactive"));
        }
        let roles: Vec<String> = identity
            .roles
            .iter()
            .filter(|r| {
                matches!(r.as_str(), ROLE_READER | ROLE_APPROVER | ROLE_ADMIN)
                    || (control_plane && r.as_str() == ROLE_PLATFORM_ADMIN)
            })
            .cloned()
            .collect();
        let platform_admin = roles.iter().any(|r| r == ROLE_PLATFORM_ADMIN);
        Ok(Caller {
            azure_tenant_id: tid,
            scope: tenant_id.clone().map(TenantScope::from_verified_token),
            tenant_id,
            roles,
            display_name: identity.name.clone(),
            object_id: identity.oid.clone(),
            platform_admin,
        })
    }

    /// The key for `kid`, fetching the key set when it is unknown (at most once a minute).
    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        if let Some(key) = self.keys.read().await.keys.get(kid) {
            return Ok(key.clone());
        }
        let _guard = self.refresh.lock().await;
        {
            let cache = self.keys.read().await;
            if let Some(key) = cache.keys.get(kid) {
                return Ok(key.clone());
            }
            if cache.fetched_at.is_some_and(|at| at.elapsed() < JWKS_REFRESH_INTERVAL) {
                return Err(AuthError::Invalid("unknown kid"));
            }
            if cache.failed_at.is_some_and(|at| at.elapsed() < JWKS_FAILURE_BACKOFF) {
                return Err(AuthError::Unavailable("the key set could not be fetched recently".into()));
            }
        }
        let fetched = self.fetch_keys().await;
        let mut cache = self.keys.write().await;
        match fetched {
            Ok(keys) => {
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                cache.failed_at = None;
            }
            Err(error) => {
                // Keys fetched earlier stay usable; only the refresh failed.
                cache.failed_at = Some(Instant::now());
                return Err(error);
            }
        }
        cache.keys.get(kid).cloned().ok_or(AuthError::Invalid("unknown kid"))
    }

    async fn fetch_keys(&self) -> Result<HashMap<String, DecodingKey>, AuthError> {
        let response = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| AuthError::Unavailable(format!("fetching the key set: {e}")))?;
        let set: JwkSet =
            response.json().await.map_err(|e| AuthError::Unavailable(format!("parsing the key set: {e}")))?;
        let mut keys = HashMap::new();
        for value in set.keys {
            // Keys of other types or uses are skipped, not fatal: Entra publishes several.
            let Ok(jwk) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(value) else { continue };
            let Some(kid) = jwk.common.key_id.clone() else { continue };
            if !matches!(jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::RSA(_)) {
                continue;
            }
            if let Ok(key) = DecodingKey::from_jwk(&jwk) {
                keys.insert(kid, key);
            }
        }
        Ok(keys)
    }

    /// The internal id of the active tenant with this Entra id, if registered.
    async fn resolve_tenant(&self, tid: &str) -> Result<Option<String>, AuthError> {
        if let Some((id, at)) = self.tenants.read().await.get(tid)
            && at.elapsed() < TENANT_CACHE_TTL
        {
            return Ok(id.clone());
        }
        let Some(store) = &self.store else { return Ok(None) };
        let id = match store.platform_admin().get_tenant_by_azure_tenant_id(tid).await {
            Ok(tenant) if tenant.active => Some(tenant.id),
            Ok(_) | Err(StoreError::NotFound) => None,
            Err(e) => return Err(AuthError::Unavailable(format!("looking up the tenant: {e}"))),
        };
        self.tenants.write().await.insert(tid.to_owned(), (id.clone(), Instant::now()));
        Ok(id)
    }
}

fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(Some("bearer  abc ")).unwrap(), "abc");
        assert!(matches!(bearer(Some("Basic abc")), Err(AuthError::Missing)));
        assert!(matches!(bearer(Some("Bearer ")), Err(AuthError::Missing)));
        assert!(matches!(bearer(None), Err(AuthError::Missing)));
    }

    #[test]
    fn config_defaults_follow_the_authority() {
        let config = AuthConfig::from_source(&SettingsSource::from_pairs([(
            "AZCOPS_AUTH_AUTHORITY",
            "http://127.0.0.1:9/",
        )]))
        .unwrap();
        assert_eq!(config.jwks_url, "http://127.0.0.1:9/common/discovery/v2.0/keys");
        assert_eq!(config.audience, None);
        assert!(
            AuthConfig::from_source(&SettingsSource::from_pairs([("AZCOPS_AUTH_AUTHORITY", "ftp://x")]))
                .is_err()
        );
    }

    #[test]
    fn authority_and_key_set_must_be_https_unless_loopback() {
        let config =
            |pairs: &[(&str, &str)]| AuthConfig::from_source(&SettingsSource::from_pairs(pairs.to_vec()));
        assert_eq!(config(&[]).unwrap().authority, DEFAULT_AUTHORITY);
        for loopback in ["http://127.0.0.1:9", "http://127.1.2.3", "http://[::1]:9", "http://localhost:9"] {
            assert!(config(&[("AZCOPS_AUTH_AUTHORITY", loopback)]).is_ok(), "{loopback}");
            assert!(config(&[("AZCOPS_AUTH_JWKS_URL", &format!("{loopback}/keys"))]).is_ok(), "{loopback}");
        }
        for (key, value) in [
            ("AZCOPS_AUTH_AUTHORITY", "http://login.microsoftonline.com"),
            ("AZCOPS_AUTH_AUTHORITY", "http://10.1.2.3:8080"),
            ("AZCOPS_AUTH_JWKS_URL", "http://login.microsoftonline.com/common/discovery/v2.0/keys"),
            ("AZCOPS_AUTH_JWKS_URL", "http://localhost.evil.example/keys"),
        ] {
            let err = config(&[(key, value)]).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("https"), "{key}={value}: {err}");
        }
        // An http authority on a loopback host does not excuse a remote http key set.
        let err = config(&[
            ("AZCOPS_AUTH_AUTHORITY", "http://127.0.0.1:9"),
            ("AZCOPS_AUTH_JWKS_URL", "http://keys.example/k"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("AZCOPS_AUTH_JWKS_URL"), "{err}");
    }

    #[test]
    fn roles_imply_lesser_roles() {
        let caller = Caller {
            azure_tenant_id: "t".into(),
            tenant_id: None,
            scope: None,
            roles: vec![ROLE_ADMIN.into()],
            display_name: None,
            object_id: None,
            platform_admin: false,
        };
        assert!(caller.has_role(ROLE_READER) && caller.has_role(ROLE_APPROVER));
        assert!(!caller.has_role(ROLE_PLATFORM_ADMIN));
    }
}
