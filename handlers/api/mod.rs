//! The forwarded HTTP API (`api` function): routes, authentication, middleware and the error
//! format.
//!
//! The host forwards public requests raw, with their original path under the route prefix
//! (`/api/...`), so this router is mounted at that prefix by [`crate::app`]. `/health` is
//! public; everything under `/v1` needs an Entra ID bearer token (see [`auth`] and the role
//! documentation in `handlers/api/README.md`).

pub mod auth;
pub mod cache;
pub(crate) mod csv_cell;
mod csv_stream;
pub mod error;
pub mod export_slots;
pub mod extract;
pub mod limit;
pub mod middleware;
pub mod money;
pub mod openapi;
pub(crate) mod routes;
pub mod schemas;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{ConfigError, SettingsSource};
use crate::state::AppState;

pub use auth::{AuthConfig, AuthError, Authenticator, Caller, Identity};
pub use error::ApiError;

/// Settings read by [`ApiConfig::from_source`].
pub const SETTINGS: &[&str] = &[
    "AZCOPS_AUTH_AUDIENCE",
    "AZCOPS_AUTH_AUTHORITY",
    "AZCOPS_AUTH_JWKS_URL",
    "AZCOPS_CONTROL_PLANE_TENANT",
    "AZCOPS_CORS_ORIGINS",
    "AZCOPS_API_RATE_LIMIT_PER_MINUTE",
    "AZCOPS_API_MAX_BODY_BYTES",
    "AZCOPS_API_REQUEST_TIMEOUT_SECS",
    "AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE",
    "AZCOPS_API_CACHE_SECONDS",
    "AZCOPS_API_CACHE_MAX_BYTES",
    "AZCOPS_INGESTION_TRIGGER_COOLDOWN_MINUTES",
    "AZCOPS_API_EXPORT_MAX_ROWS",
    "AZCOPS_API_EXPORT_CONCURRENCY",
    "AZCOPS_FRESHNESS_MAX_AGE_HOURS",
];

/// API settings: authentication plus the middleware limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Token validation.
    pub auth: AuthConfig,
    /// Origins allowed by CORS (empty: no CORS headers).
    pub cors_origins: Vec<String>,
    /// Requests a minute per tenant (0: unlimited).
    pub rate_limit_per_minute: u32,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest a request may run before it is answered 503.
    pub request_timeout: Duration,
    /// Requests a minute per caller (`tid` + `oid`), under the tenant's ceiling (0: unlimited).
    pub rate_limit_per_caller_per_minute: u32,
    /// How long a cached response is served (zero: no cache).
    pub cache_ttl: Duration,
    /// Total bytes of cached responses kept at most.
    pub cache_max_bytes: usize,
    /// Least time between two on-demand ingestion runs of one tenant.
    pub ingestion_trigger_cooldown: Duration,
    /// Most rows one CSV export writes (more matching rows: 413).
    pub export_max_rows: u64,
    /// CSV exports one tenant may run at once (more: 429).
    pub export_concurrency: usize,
    /// Data older than this makes `/api/health` degraded and a subscription `stale`.
    pub freshness_max_age: Duration,
}

impl ApiConfig {
    /// Reads the auth settings and `AZCOPS_CORS_ORIGINS` (comma-separated, default none),
    /// `AZCOPS_API_RATE_LIMIT_PER_MINUTE` (default 1200: a busy dashboard issues a few requests a
    /// second), `AZCOPS_API_MAX_BODY_BYTES` (default 64 KiB: no endpoint takes more than a small
    /// JSON object) and `AZCOPS_API_REQUEST_TIMEOUT_SECS` (default 30, below the host's own
    /// HTTP timeout so the caller gets our JSON error rather than the host's). The bounds of
    /// issue 13: `AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE` (default 300, under the tenant
    /// ceiling above), `AZCOPS_API_CACHE_SECONDS` (default 15, 0 turns the response cache off),
    /// `AZCOPS_API_CACHE_MAX_BYTES` (default 32 MiB),
    /// `AZCOPS_INGESTION_TRIGGER_COOLDOWN_MINUTES` (default 15),
    /// `AZCOPS_API_EXPORT_MAX_ROWS` (default 100000: Excel's own limit is about a million rows,
    /// and a bigger extract belongs in a filtered query) and `AZCOPS_API_EXPORT_CONCURRENCY`
    /// (default 2 per tenant).
    ///
    /// # Errors
    /// A value does not parse.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let timeout: u64 = source.parse_or("AZCOPS_API_REQUEST_TIMEOUT_SECS", 30)?;
        let cache_seconds = at_most(source, "AZCOPS_API_CACHE_SECONDS", 15, MAX_CACHE_SECONDS)?;
        let cooldown_minutes =
            at_most(source, "AZCOPS_INGESTION_TRIGGER_COOLDOWN_MINUTES", 15, MAX_COOLDOWN_MINUTES)?;
        if timeout == 0 {
            return Err(ConfigError::Invalid {
                key: "AZCOPS_API_REQUEST_TIMEOUT_SECS".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            auth: AuthConfig::from_source(source)?,
            cors_origins: source
                .get("AZCOPS_CORS_ORIGINS")
                .unwrap_or("")
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            rate_limit_per_minute: source.parse_or("AZCOPS_API_RATE_LIMIT_PER_MINUTE", 1200)?,
            max_body_bytes: source.parse_or("AZCOPS_API_MAX_BODY_BYTES", 64 * 1024)?,
            request_timeout: Duration::from_secs(timeout),
            rate_limit_per_caller_per_minute: source
                .parse_or("AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE", 300)?,
            cache_ttl: Duration::from_secs(cache_seconds),
            cache_max_bytes: source.parse_or("AZCOPS_API_CACHE_MAX_BYTES", 32 << 20)?,
            ingestion_trigger_cooldown: Duration::from_secs(cooldown_minutes * 60),
            export_max_rows: source.parse_or("AZCOPS_API_EXPORT_MAX_ROWS", 100_000)?,
            export_concurrency: source.parse_or("AZCOPS_API_EXPORT_CONCURRENCY", 2)?,
            freshness_max_age: routes::freshness::max_age_setting(source)?,
        })
        .and_then(|config| csv_stream::check_settings(&config).map(|()| config))
    }
}

/// Longest cache lifetime accepted: cached answers older than an hour would hide ingestion.
const MAX_CACHE_SECONDS: u64 = 3600;

/// Longest on-demand cooldown accepted (a week): the nightly run covers anything longer.
const MAX_COOLDOWN_MINUTES: u64 = 7 * 24 * 60;

/// Reads `key` (default `default`), refusing values above `max`.
fn at_most(source: &SettingsSource, key: &str, default: u64, max: u64) -> Result<u64, ConfigError> {
    let value: u64 = source.parse_or(key, default)?;
    if value > max {
        return Err(ConfigError::invalid(key, format!("must be at most {max}")));
    }
    Ok(value)
}

/// What the API needs at run time, held in [`AppState`].
#[derive(Debug)]
pub struct ApiRuntime {
    /// The settings.
    pub config: ApiConfig,
    /// Token validation (also used by envelope-mode HTTP functions).
    pub authenticator: Arc<Authenticator>,
    /// Per-caller and per-tenant rate limits.
    pub limiter: limit::RateLimiter,
    /// Short-lived cache of aggregate responses.
    pub response_cache: cache::ResponseCache,
    /// Per-tenant CSV export slots.
    pub export_slots: export_slots::ExportSlots,
    /// Subscription registrations per tenant: each asks ARM as the platform identity, whose
    /// quota every customer shares, so one tenant cannot spend it by trying GUIDs.
    pub registrations: limit::RateLimiter,
}

/// Subscription registrations (ARM ownership checks) a tenant may attempt per minute; onboarding
/// registers a handful, discovery needs none.
pub const REGISTRATIONS_PER_MINUTE: u32 = 30;

impl ApiRuntime {
    /// Builds the runtime; tenants are checked against `store`.
    pub fn new(config: ApiConfig, store: Option<crate::store::Store>) -> Self {
        Self {
            authenticator: Arc::new(Authenticator::new(config.auth.clone(), store)),
            limiter: limit::RateLimiter::new(
                config.rate_limit_per_caller_per_minute,
                config.rate_limit_per_minute,
            ),
            response_cache: cache::ResponseCache::new(config.cache_ttl, config.cache_max_bytes),
            export_slots: export_slots::ExportSlots::new(config.export_concurrency),
            registrations: limit::RateLimiter::new(0, REGISTRATIONS_PER_MINUTE),
            config,
        }
    }
}

/// The API router (without the route prefix).
pub fn router(state: AppState) -> Router {
    let (max_body, timeout, cors) = match state.api() {
        Some(api) => {
            (api.config.max_body_bytes, api.config.request_timeout, cors_layer(&api.config.cors_origins))
        }
        None => (64 * 1024, Duration::from_secs(30), None),
    };
    let mut router = Router::new()
        .route("/health", get(routes::freshness::health))
        .nest("/v1", routes::v1())
        .merge(openapi::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn_with_state(timeout, middleware::timeout));
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    router.layer(axum::middleware::from_fn(middleware::correlation_and_logging))
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
                HeaderName::from_static(middleware::CORRELATION_HEADER),
                HeaderName::from_static(extract::TENANT_HEADER),
            ])
            .expose_headers([HeaderName::from_static(middleware::CORRELATION_HEADER)])
            .max_age(Duration::from_secs(600)),
    )
}

/// The JSON 404 for any path the API does not serve.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_settings_default_and_refuse_out_of_range_values() {
        let config = ApiConfig::from_source(&SettingsSource::default()).unwrap();
        assert_eq!(
            (config.cache_ttl, config.cache_max_bytes, config.ingestion_trigger_cooldown),
            (Duration::from_secs(15), 32 << 20, Duration::from_secs(15 * 60))
        );
        assert_eq!((config.rate_limit_per_minute, config.rate_limit_per_caller_per_minute), (1200, 300));
        for (key, value) in [
            ("AZCOPS_API_CACHE_SECONDS", "3601"),
            ("AZCOPS_API_CACHE_SECONDS", "-1"),
            ("AZCOPS_INGESTION_TRIGGER_COOLDOWN_MINUTES", "10081"),
            ("AZCOPS_API_CACHE_MAX_BYTES", "lots"),
            ("AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE", "-5"),
        ] {
            let error = ApiConfig::from_source(&SettingsSource::from_pairs([(key, value)])).unwrap_err();
            assert!(error.to_string().contains(key), "{error}");
        }
        let off = SettingsSource::from_pairs([("AZCOPS_API_CACHE_SECONDS", "0")]);
        assert_eq!(ApiConfig::from_source(&off).unwrap().cache_ttl, Duration::ZERO);
    }
}
