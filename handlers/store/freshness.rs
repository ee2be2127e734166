//! How fresh each tenant's data is: the last successful ingestion of every subscription, for
//! `/api/health` (all active tenants, one grouped query) and the tenant's freshness view.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{PlatformAdmin, Store, StoreError, TenantScope, on_pool};

/// The ingestion state of one active tenant's active subscriptions (one row of the grouped
/// health query).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TenantFreshness {
    /// Internal tenant id.
    pub tenant_id: String,
    /// Active subscriptions of the tenant.
    pub subscriptions: i64,
    /// Those ingested successfully at least once.
    pub ingested: i64,
    /// The least recent last successful ingestion among them (the tenant's oldest data).
    pub oldest_ingested_at: Option<DateTime<Utc>>,
    /// When the longest-registered subscription that was never ingested was registered.
    pub oldest_never_ingested_since: Option<DateTime<Utc>>,
}

/// One subscription's ingestion history, for the tenant's freshness view.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SubscriptionIngestion {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Display name.
    pub display_name: String,
    /// Inactive subscriptions are not ingested.
    pub active: bool,
    /// When the subscription was registered.
    pub created_at: DateTime<Utc>,
    /// Last successful ingestion.
    pub last_ingested_at: Option<DateTime<Utc>>,
    /// The run of the latest succeeded item.
    pub success_run_id: Option<String>,
    /// When the latest succeeded item finished.
    pub success_at: Option<DateTime<Utc>>,
    /// Rows written per connector by the latest succeeded item.
    pub success_counts: Option<Json<BTreeMap<String, i64>>>,
    /// Duration of the latest succeeded item.
    pub success_duration_ms: Option<i64>,
    /// The run of the latest failed item.
    pub failure_run_id: Option<String>,
    /// When the latest failed item gave up.
    pub failure_at: Option<DateTime<Utc>>,
    /// Its error (never a secret: the pipeline records redacted messages only).
    pub failure_error: Option<String>,
    /// Its attempts.
    pub failure_attempts: Option<i64>,
}

/// The latest item of each subscription with status `$2`, ranked inside the tenant.
const LATEST_ITEM: &str = "SELECT subscription_id, run_id, updated_at, counts, duration_ms, error, attempts, \
     ROW_NUMBER() OVER (PARTITION BY subscription_id ORDER BY updated_at DESC, id DESC) AS rank \
     FROM ingestion_run_items WHERE tenant_id = $1 AND status = ";

impl PlatformAdmin<'_> {
    /// The freshness of every active tenant with active subscriptions, in one grouped query
    /// over the subscription registry (one row per tenant; `/api/health` polls it).
    ///
    /// # Errors
    /// Database errors.
    pub async fn tenant_freshness(&self) -> Result<Vec<TenantFreshness>, StoreError> {
        const SQL: &str = "SELECT s.tenant_id AS tenant_id, COUNT(*) AS subscriptions, \
             COUNT(s.last_ingested_at) AS ingested, MIN(s.last_ingested_at) AS oldest_ingested_at, \
             MIN(CASE WHEN s.last_ingested_at IS NULL THEN s.created_at END) AS oldest_never_ingested_since \
             FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id \
             WHERE t.active AND s.active GROUP BY s.tenant_id ORDER BY s.tenant_id";
        Ok(on_pool!(self.store, pool => {
            sqlx::query_as(SQL).fetch_all(pool).await?
        }))
    }
}

impl Store {
    /// Every subscription of the tenant with its last success, the latest succeeded item's
    /// rows per connector and the latest failed item's error, by subscription id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn subscription_freshness(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<SubscriptionIngestion>, StoreError> {
        let sql = format!(
            "SELECT s.subscription_id, s.display_name, s.active, s.created_at, s.last_ingested_at, \
             ok.run_id AS success_run_id, ok.updated_at AS success_at, ok.counts AS success_counts, \
             ok.duration_ms AS success_duration_ms, bad.run_id AS failure_run_id, bad.updated_at AS failure_at, \
             bad.error AS failure_error, bad.attempts AS failure_attempts \
             FROM subscriptions s \
             LEFT JOIN ({LATEST_ITEM}'succeeded') ok ON ok.subscription_id = s.subscription_id AND ok.rank = 1 \
             LEFT JOIN ({LATEST_ITEM}'failed') bad ON bad.subscription_id = s.subscription_id AND bad.rank = 1 \
             WHERE s.tenant_id = $1 ORDER BY s.subscription_id"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(scope.tenant_id()).fetch_all(pool).await?
        }))
    }
}
