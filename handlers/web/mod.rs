//! The dashboard: server-rendered HTML (maud) served by the same binary at the site root, with
//! htmx and a vendored ECharts build embedded as versioned assets, OpenID Connect sign-in
//! (authorisation code + PKCE, confidential client) and an encrypted session cookie.
//!
//! Authorisation is the API's: the session keeps the ID token's `tid` and `roles`, every request
//! turns them into a [`crate::api::Caller`] through [`crate::api::Authenticator::caller`] and
//! into a tenant through [`crate::api::extract::Tenant::resolve`], and decisions go through the
//! same store calls as the API's routes. See `handlers/web/README.md`.

pub mod assertion;
pub mod assets;
mod error;
mod format;
mod oidc;
mod pages;
pub mod session;
mod viewer;

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};

use crate::config::{ConfigError, SettingsSource};
use crate::state::AppState;

pub use error::WebError;
pub use pages::run_now::run as run_now;
pub use session::CookieKey;

/// Settings read by [`WebConfig::from_source`].
pub const SETTINGS: &[&str] = &[
    "AZCOPS_WEB_CLIENT_ID",
    "AZCOPS_WEB_CLIENT_SECRET",
    "AZCOPS_WEB_CLIENT_ASSERTION",
    "AZCOPS_SESSION_KEY",
];

/// The value of `AZCOPS_WEB_CLIENT_ASSERTION` that selects the managed identity's federated
/// credential instead of the client secret.
pub const ASSERTION_MANAGED_IDENTITY: &str = "managed-identity";

/// Shortest accepted `AZCOPS_SESSION_KEY`: 32 characters carry enough entropy for an AES-256
/// key when generated randomly (`openssl rand -base64 32` gives 44).
pub const MIN_SESSION_KEY_CHARS: usize = 32;

/// The Content-Security-Policy of every dashboard page: only this origin's scripts and styles,
/// no inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Sign-in settings; `None` when `AZCOPS_WEB_CLIENT_ID` is not set (the dashboard then says so).
#[derive(Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// The confidential client, when configured.
    pub client: Option<WebClient>,
}

/// How the dashboard proves itself to the token endpoint when it redeems a code.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredential {
    /// `AZCOPS_WEB_CLIENT_SECRET`.
    Secret(String),
    /// `AZCOPS_WEB_CLIENT_ASSERTION=managed-identity`: a managed-identity token for
    /// `api://AzureADTokenExchange`, which the registration's federated identity credential
    /// trusts; no secret to store or rotate. The identity is the app's, as its Azure settings
    /// name it (`AZURE_CLIENT_ID` for a user-assigned one).
    ManagedIdentity,
}

/// The dashboard's app registration.
#[derive(Clone, PartialEq, Eq)]
pub struct WebClient {
    /// `AZCOPS_WEB_CLIENT_ID`: the ID token's audience.
    pub client_id: String,
    /// The client secret or the federated credential.
    pub credential: ClientCredential,
    /// `AZCOPS_SESSION_KEY`.
    pub session_key: String,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let client_id = self.client.as_ref().map(|c| c.client_id.as_str());
        f.debug_struct("WebConfig").field("client_id", &client_id).finish_non_exhaustive()
    }
}

impl WebConfig {
    /// Reads `AZCOPS_WEB_CLIENT_ID`; when it is set, `AZCOPS_SESSION_KEY` (at least
    /// [`MIN_SESSION_KEY_CHARS`] characters) is required, and `AZCOPS_WEB_CLIENT_SECRET` unless
    /// `AZCOPS_WEB_CLIENT_ASSERTION` is `managed-identity`.
    ///
    /// # Errors
    /// A required setting is missing or the key is too short (the value is never echoed).
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let Some(client_id) = source.get("AZCOPS_WEB_CLIENT_ID").map(str::trim).filter(|v| !v.is_empty())
        else {
            return Ok(Self { client: None });
        };
        let required = |key: &str| {
            source
                .get(key)
                .filter(|v| !v.trim().is_empty())
                .map(str::to_owned)
                .ok_or_else(|| ConfigError::Missing { key: key.to_owned() })
        };
        let credential = match source.get("AZCOPS_WEB_CLIENT_ASSERTION").map(str::trim).unwrap_or("") {
            "" => ClientCredential::Secret(required("AZCOPS_WEB_CLIENT_SECRET")?),
            ASSERTION_MANAGED_IDENTITY => ClientCredential::ManagedIdentity,
            _ => {
                return Err(ConfigError::invalid(
                    "AZCOPS_WEB_CLIENT_ASSERTION",
                    format!("must be {ASSERTION_MANAGED_IDENTITY} or empty (the client secret)"),
                ));
            }
        };
        let session_key = required("AZCOPS_SESSION_KEY")?;
        if session_key.chars().count() < MIN_SESSION_KEY_CHARS {
            return Err(ConfigError::invalid(
                "AZCOPS_SESSION_KEY",
                format!("must be at least {MIN_SESSION_KEY_CHARS} characters"),
            ));
        }
        Ok(Self { client: Some(WebClient { client_id: client_id.to_owned(), credential, session_key }) })
    }
}

/// What the dashboard needs at run time, held in [`AppState`].
#[derive(Debug)]
pub struct WebRuntime {
    /// The settings.
    pub config: WebConfig,
    /// The cookie key, when sign-in is configured.
    pub cookies: Option<CookieKey>,
    /// Calls the identity provider's token endpoint.
    pub http: reqwest::Client,
    /// The managed identity's tokens for the federated credential (cached), or why there are none.
    pub assertions: Option<Result<assertion::Assertions, String>>,
}

impl WebRuntime {
    /// Builds the runtime from its settings; the federated credential uses the app's managed
    /// identity as `azure` configures it.
    pub fn new(config: WebConfig, azure: &crate::azure::AzureConfig) -> Self {
        let cookies = config.client.as_ref().and_then(|c| CookieKey::from_secret(&c.session_key));
        let http = crate::outbound::client_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let assertions = match config.client.as_ref().map(|c| &c.credential) {
            Some(ClientCredential::ManagedIdentity) => Some(assertion::Assertions::managed_identity(azure)),
            _ => None,
        };
        Self { config, cookies, http, assertions }
    }
}

/// The dashboard's routes (no fallback: merged beside the API and the invocation routes).
/// `GET /` also answers the host's readiness probe: requests that do not accept HTML get the
/// readiness JSON.
pub fn router(state: AppState) -> Router {
    assets::warm_up();
    Router::new()
        .route("/", get(pages::overview::page_or_ready))
        .route("/recommendations", get(pages::recommendations::list))
        .route("/recommendations/bulk", post(pages::bulk::decide))
        .route("/recommendations/{id}", get(pages::recommendation::detail))
        .route("/recommendations/{id}/{action}", post(pages::recommendation::decide))
        .route("/costs", get(pages::costs::explorer))
        .route("/costs/export.csv", get(pages::costs::export))
        .route("/ingestion", get(pages::ingestion::page_view))
        .route("/resources", get(pages::resources::list))
        .route("/resources/{*id}", get(pages::resources::detail))
        .route("/governance", get(pages::governance::page_view))
        .route("/settings", get(pages::settings::page_view).post(pages::settings::save))
        .route("/portfolio", get(pages::tenant::chooser))
        .route("/tenant", get(pages::tenant::chooser).post(pages::tenant::switch))
        .route("/auth/signin", get(oidc::signin))
        .route("/auth/callback", get(oidc::callback))
        .route("/auth/signout", post(oidc::signout))
        .route("/assets/{hash}/{name}", get(assets::serve))
        .with_state(state)
        .layer(axum::middleware::from_fn(security_headers))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
}

/// CSP and the usual hardening headers on every dashboard response; pages are never cached
/// (they show per-user data), assets set their own long lifetime.
async fn security_headers(request: Request, next: Next) -> Response {
    let from_htmx = request.headers().contains_key("hx-request");
    let mut response = next.run(request).await;
    // An htmx request whose session ended: fetch cannot follow a redirect to the identity
    // provider (another origin), so htmx is told to load the sign-in page itself.
    if from_htmx
        && response.status() == axum::http::StatusCode::SEE_OTHER
        && response.headers().get(header::LOCATION).is_some_and(|l| l == "/auth/signin")
    {
        response = (
            axum::http::StatusCode::OK,
            [(axum::http::HeaderName::from_static("hx-redirect"), "/auth/signin")],
        )
            .into_response();
    }
    insert_security_headers(response.headers_mut());
    response
}

/// The dashboard's CSP and hardening headers, and `Cache-Control: no-store` unless the response
/// set its own: shared by the router's middleware and the "Run now" function's answers.
pub(crate) fn insert_security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_settings_are_all_or_nothing() {
        assert!(WebConfig::from_source(&SettingsSource::default()).unwrap().client.is_none());
        let only_id = SettingsSource::from_pairs([("AZCOPS_WEB_CLIENT_ID", "c")]);
        assert!(
            WebConfig::from_source(&only_id).unwrap_err().to_string().contains("AZCOPS_WEB_CLIENT_SECRET")
        );
        let short = SettingsSource::from_pairs([
            ("AZCOPS_WEB_CLIENT_ID", "c"),
            ("AZCOPS_WEB_CLIENT_SECRET", "s"),
            ("AZCOPS_SESSION_KEY", "0123456789abcdef0123456789abcde"),
        ]);
        let error = WebConfig::from_source(&short).unwrap_err().to_string();
        assert!(error.contains("AZCOPS_SESSION_KEY") && !error.contains("0123"), "{error}");
        let ok = SettingsSource::from_pairs([
            ("AZCOPS_WEB_CLIENT_ID", "c"),
            ("AZCOPS_WEB_CLIENT_SECRET", "s"),
            ("AZCOPS_SESSION_KEY", "0123456789abcdef0123456789abcdef"),
        ]);
        let config = WebConfig::from_source(&ok).unwrap();
        assert!(!format!("{config:?}").contains("0123"), "the key is not in Debug output");
        // The federated credential replaces the secret; anything else is refused by name.
        let federated = SettingsSource::from_pairs([
            ("AZCOPS_WEB_CLIENT_ID", "c"),
            ("AZCOPS_WEB_CLIENT_ASSERTION", "managed-identity"),
            ("AZURE_CLIENT_ID", "uami"),
            ("AZCOPS_SESSION_KEY", "0123456789abcdef0123456789abcdef"),
        ]);
        let client = WebConfig::from_source(&federated).unwrap().client.unwrap();
        assert!(matches!(client.credential, ClientCredential::ManagedIdentity));
        let mut bad = federated.clone();
        bad.set("AZCOPS_WEB_CLIENT_ASSERTION", "certificate");
        assert!(
            WebConfig::from_source(&bad).unwrap_err().to_string().contains("AZCOPS_WEB_CLIENT_ASSERTION")
        );
        let azure = crate::azure::AzureConfig::from_source(&SettingsSource::default()).unwrap();
        assert!(WebRuntime::new(config, &azure).cookies.is_some());
        for secret in ["AZCOPS_WEB_CLIENT_SECRET", "AZCOPS_SESSION_KEY"] {
            assert_eq!(crate::config::display_value(secret, "s3cr3t"), "[redacted]", "{secret}");
        }
    }
}
