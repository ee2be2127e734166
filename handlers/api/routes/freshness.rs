//! Data freshness: `GET /api/health` (public; degraded when an active tenant's data is older
//! than `AZCOPS_FRESHNESS_MAX_AGE_HOURS`) and `GET /api/v1/ingestion/freshness` (Reader; one
//! row per subscription of the caller's tenant, for the dashboard's freshness panel).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ApiError;
use crate::api::extract::Tenant;
use crate::config::{ConfigError, SettingsSource};
use crate::state::{AppState, VERSION};
use crate::store::{SubscriptionIngestion, TenantFreshness};

/// The setting naming the largest acceptable data age.
pub const MAX_AGE_SETTING: &str = "AZCOPS_FRESHNESS_MAX_AGE_HOURS";

/// Default largest data age: a nightly run plus two hours of slack.
pub const DEFAULT_MAX_AGE_HOURS: u64 = 26;

/// Largest accepted setting (a month): anything longer would never flag a stopped schedule.
pub const MAX_MAX_AGE_HOURS: u64 = 31 * 24;

/// How long the health check waits for the freshness query: health must answer quickly even
/// when the database is slow.
const HEALTH_QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Reads [`MAX_AGE_SETTING`] (whole hours, 1 to [`MAX_MAX_AGE_HOURS`], default
/// [`DEFAULT_MAX_AGE_HOURS`]).
///
/// # Errors
/// The value does not parse or is out of range.
pub fn max_age_setting(source: &SettingsSource) -> Result<Duration, ConfigError> {
    let hours: u64 = source.parse_or(MAX_AGE_SETTING, DEFAULT_MAX_AGE_HOURS)?;
    if !(1..=MAX_MAX_AGE_HOURS).contains(&hours) {
        return Err(ConfigError::invalid(
            MAX_AGE_SETTING,
            format!("must be between 1 and {MAX_MAX_AGE_HOURS}"),
        ));
    }
    Ok(Duration::from_secs(hours * 3600))
}

/// `GET /api/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `healthy` or `degraded`.
    pub status: &'static str,
    /// Binary version.
    pub version: &'static str,
    /// `connected` or `disconnected`.
    pub database: &'static str,
    /// Data age across active tenants (absent when the database is disconnected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<HealthFreshness>,
}

/// The freshness part of `/api/health`: counts only, never tenant names (the route is public).
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct HealthFreshness {
    /// `fresh`, `stale` (some active tenant's data is too old) or `unavailable` (the query failed).
    pub status: &'static str,
    /// `AZCOPS_FRESHNESS_MAX_AGE_HOURS`.
    pub max_age_hours: u64,
    /// Hours since the least recent last successful ingestion of any active subscription of an
    /// active tenant (absent when none was ever ingested).
    pub oldest_ingestion_age_hours: Option<f64>,
    /// Active tenants with active subscriptions.
    pub tenants: usize,
    /// Those whose data is older than the maximum age (a subscription never ingested counts
    /// once it has been registered for longer than that).
    pub stale_tenants: usize,
    /// Active subscriptions never ingested successfully.
    pub never_ingested_subscriptions: i64,
}

fn hours(age: chrono::TimeDelta) -> f64 {
    // Two decimals: enough for an operator, stable in JSON.
    (age.num_seconds().max(0) as f64 / 36.0).round() / 100.0
}

fn max_age_hours(max_age: Duration) -> u64 {
    max_age.as_secs() / 3600
}

/// Whether a tenant's data is older than `max_age` at `now`.
pub fn tenant_is_stale(row: &TenantFreshness, now: DateTime<Utc>, max_age: Duration) -> bool {
    let max_age = chrono::TimeDelta::from_std(max_age).unwrap_or(chrono::TimeDelta::MAX);
    let too_old = |at: Option<DateTime<Utc>>| at.is_some_and(|at| now - at > max_age);
    too_old(row.oldest_ingested_at) || too_old(row.oldest_never_ingested_since)
}

/// Summarises the grouped freshness rows for `/api/health`.
pub fn assess(rows: &[TenantFreshness], now: DateTime<Utc>, max_age: Duration) -> HealthFreshness {
    let stale_tenants = rows.iter().filter(|row| tenant_is_stale(row, now, max_age)).count();
    HealthFreshness {
        status: if stale_tenants == 0 { "fresh" } else { "stale" },
        max_age_hours: max_age_hours(max_age),
        oldest_ingestion_age_hours: rows
            .iter()
            .filter_map(|r| r.oldest_ingested_at)
            .min()
            .map(|at| hours(now - at)),
        tenants: rows.len(),
        stale_tenants,
        never_ingested_subscriptions: rows.iter().map(|r| r.subscriptions - r.ingested).sum(),
    }
}

fn configured_max_age(state: &AppState) -> Duration {
    state.api().map_or(Duration::from_secs(DEFAULT_MAX_AGE_HOURS * 3600), |api| api.config.freshness_max_age)
}

/// `GET /api/health`: 200 when the database answers and no active tenant's data is older than
/// `AZCOPS_FRESHNESS_MAX_AGE_HOURS`; 207 (degraded) when the database does not answer or some
/// active tenant's data is too old.
#[utoipa::path(
    get,
    path = "/api/health",
    tag = "identity",
    security(()),
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 207, description = "Degraded: the database does not answer, or some active tenant's data is older than AZCOPS_FRESHNESS_MAX_AGE_HOURS (`freshness.status` `stale`)", body = Health)
    )
)]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    if !state.database().is_connected().await {
        let body = Health { status: "degraded", version: VERSION, database: "disconnected", freshness: None };
        return (StatusCode::MULTI_STATUS, Json(body));
    }
    let max_age = configured_max_age(&state);
    let freshness = match state.store() {
        None => None,
        Some(store) => {
            let admin = store.platform_admin();
            Some(match tokio::time::timeout(HEALTH_QUERY_TIMEOUT, admin.tenant_freshness()).await {
                Ok(Ok(rows)) => assess(&rows, crate::store::now(), max_age),
                Ok(Err(error)) => unavailable(max_age, &error.to_string()),
                Err(_) => unavailable(max_age, "timed out"),
            })
        }
    };
    // A failed freshness query (an unmigrated schema, a slow database) is reported in the body
    // but leaves the status to the database probe, as before freshness was part of health.
    let degraded = freshness.as_ref().is_some_and(|f| f.status == "stale");
    let body = Health {
        status: if degraded { "degraded" } else { "healthy" },
        version: VERSION,
        database: "connected",
        freshness,
    };
    (if degraded { StatusCode::MULTI_STATUS } else { StatusCode::OK }, Json(body))
}

fn unavailable(max_age: Duration, why: &str) -> HealthFreshness {
    tracing::warn!(reason = why, "the freshness query failed");
    HealthFreshness {
        status: "unavailable",
        max_age_hours: max_age_hours(max_age),
        oldest_ingestion_age_hours: None,
        tenants: 0,
        stale_tenants: 0,
        never_ingested_subscriptions: 0,
    }
}

/// `GET /ingestion/freshness`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Freshness {
    /// `AZCOPS_FRESHNESS_MAX_AGE_HOURS`.
    pub max_age_hours: u64,
    /// When the answer was computed.
    pub generated_at: DateTime<Utc>,
    /// Every subscription of the tenant, by subscription id.
    pub subscriptions: Vec<SubscriptionFreshness>,
}

/// One subscription's freshness.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionFreshness {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Display name.
    pub display_name: String,
    /// Whether the subscription is ingested.
    pub active: bool,
    /// `fresh`, `stale` (last success older than the maximum age), `never_ingested` or
    /// `inactive`.
    pub status: &'static str,
    /// Hours since the last successful ingestion.
    pub age_hours: Option<f64>,
    /// The last successful ingestion.
    pub last_success: Option<LastSuccess>,
    /// The latest failed ingestion (it may be older than the last success).
    pub last_failure: Option<LastFailure>,
}

/// The last successful ingestion of a subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastSuccess {
    /// When it completed.
    pub at: DateTime<Utc>,
    /// Its run (absent when the ledger no longer holds it).
    pub run_id: Option<String>,
    /// How long it took.
    pub duration_ms: Option<i64>,
    /// Rows written per connector.
    pub rows: BTreeMap<String, i64>,
}

/// The latest failed ingestion of a subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastFailure {
    /// When it gave up.
    pub at: DateTime<Utc>,
    /// Its run.
    pub run_id: String,
    /// The recorded error.
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: Option<i64>,
}

/// One subscription's row of the view at `now`.
pub fn subscription_view(
    row: SubscriptionIngestion,
    now: DateTime<Utc>,
    max_age: Duration,
) -> SubscriptionFreshness {
    let last_at = row.last_ingested_at.or(row.success_at);
    let max_age = chrono::TimeDelta::from_std(max_age).unwrap_or(chrono::TimeDelta::MAX);
    let status = match last_at {
        _ if !row.active => "inactive",
        None => "never_ingested",
        Some(at) if now - at > max_age => "stale",
        Some(_) => "fresh",
    };
    let last_success = last_at.map(|at| LastSuccess {
        at,
        run_id: row.success_run_id,
        duration_ms: row.success_duration_ms,
        rows: row.success_counts.map(|c| c.0).unwrap_or_default(),
    });
    let last_failure = match (row.failure_run_id, row.failure_at) {
        (Some(run_id), Some(at)) => {
            Some(LastFailure { at, run_id, error: row.failure_error, attempts: row.failure_attempts })
        }
        _ => None,
    };
    SubscriptionFreshness {
        subscription_id: row.subscription_id,
        display_name: row.display_name,
        active: row.active,
        status,
        age_hours: last_at.map(|at| hours(now - at)),
        last_success,
        last_failure,
    }
}

/// `GET /ingestion/freshness`: per subscription of the caller's tenant, the last success (with
/// rows per connector), the latest failure (with its error) and whether the data is stale.
#[utoipa::path(
    get,
    path = "/api/v1/ingestion/freshness",
    tag = "data",
    responses((status = 200, description = "Freshness of every subscription of the tenant", body = Freshness), crate::api::openapi::Errors)
)]
pub async fn freshness(State(state): State<AppState>, tenant: Tenant) -> Result<Response, ApiError> {
    let max_age = configured_max_age(&state);
    let rows = tenant.store.subscription_freshness(&tenant.scope).await?;
    let now = crate::store::now();
    let body = Freshness {
        max_age_hours: max_age_hours(max_age),
        generated_at: now,
        subscriptions: rows.into_iter().map(|row| subscription_view(row, now, max_age)).collect(),
    };
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours_ago: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(now - chrono::TimeDelta::hours(hours_ago))
    }

    fn tenant(oldest: Option<DateTime<Utc>>, never_since: Option<DateTime<Utc>>) -> TenantFreshness {
        TenantFreshness {
            tenant_id: "t".into(),
            subscriptions: 2,
            ingested: if never_since.is_some() { 1 } else { 2 },
            oldest_ingested_at: oldest,
            oldest_never_ingested_since: never_since,
        }
    }

    #[test]
    fn a_tenant_is_stale_past_the_maximum_age_including_long_registered_never_ingested_subscriptions() {
        let now = Utc::now();
        let max = Duration::from_secs(26 * 3600);
        assert!(!tenant_is_stale(&tenant(at(25, now), None), now, max));
        assert!(tenant_is_stale(&tenant(at(27, now), None), now, max));
        // Registered an hour ago and not ingested yet: the nightly run has not had its chance.
        assert!(!tenant_is_stale(&tenant(at(1, now), at(1, now)), now, max));
        assert!(tenant_is_stale(&tenant(at(1, now), at(30, now)), now, max));
        let summary = assess(&[tenant(at(2, now), None), tenant(at(30, now), at(3, now))], now, max);
        assert_eq!(
            summary,
            HealthFreshness {
                status: "stale",
                max_age_hours: 26,
                oldest_ingestion_age_hours: Some(30.0),
                tenants: 2,
                stale_tenants: 1,
                never_ingested_subscriptions: 1,
            }
        );
        assert_eq!(assess(&[], now, max).status, "fresh");
    }

    #[test]
    fn the_maximum_age_setting_is_bounded() {
        let read = |v: &str| max_age_setting(&SettingsSource::from_pairs([(MAX_AGE_SETTING, v)]));
        assert_eq!(max_age_setting(&SettingsSource::default()).unwrap(), Duration::from_secs(26 * 3600));
        assert_eq!(read("1").unwrap(), Duration::from_secs(3600));
        assert_eq!(read("744").unwrap(), Duration::from_secs(744 * 3600));
        for bad in ["0", "745", "-3", "soon"] {
            assert!(read(bad).unwrap_err().to_string().contains(MAX_AGE_SETTING), "{bad}");
        }
    }
}
