//! The ingestion run ledger: `ingestion_runs` and `ingestion_run_items`.
//!
//! A run is planned once per `schedule_key` and tenant (planning twice returns the existing run);
//! its status is derived from its items and kept in step in the same transaction as every
//! item update. On-demand runs are bounded per tenant (see [`on_demand`]).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;

use super::{Page, PageRequest, Store, StoreError, TenantScope, new_id, now, on_pool};

mod on_demand;

pub use on_demand::{OnDemandRequest, OnDemandRun, STALE_ACTIVE_RUN};

/// Status of one subscription within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Message sent, not picked up yet.
    Queued,
    /// Being ingested.
    Running,
    /// Done.
    Succeeded,
    /// Gave up (poisoned or a permanent error).
    Failed,
}

impl ItemStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

impl TryFrom<String> for ItemStatus {
    type Error = StoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| StoreError::validation("status", format!("unknown item status {value:?}")))
    }
}

/// Status of a run, derived from its items by [`RunStatus::derive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// No item has started.
    Queued,
    /// Some item is queued or running while others have started or finished.
    Running,
    /// Every item succeeded (or the run has no items).
    Succeeded,
    /// Finished; some items failed, some succeeded.
    PartiallyFailed,
    /// Finished; every item failed.
    Failed,
}

impl RunStatus {
    /// The run status implied by its items' statuses.
    pub fn derive(items: &[ItemStatus]) -> Self {
        let count = |status: ItemStatus| items.iter().filter(|s| **s == status).count();
        let (queued, running, succeeded, failed) = (
            count(ItemStatus::Queued),
            count(ItemStatus::Running),
            count(ItemStatus::Succeeded),
            count(ItemStatus::Failed),
        );
        if items.is_empty() || succeeded == items.len() {
            Self::Succeeded
        } else if queued == items.len() {
            Self::Queued
        } else if queued + running > 0 {
            Self::Running
        } else if failed == items.len() {
            Self::Failed
        } else {
            Self::PartiallyFailed
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::PartiallyFailed => "partially_failed",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for RunStatus {
    type Error = StoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::PartiallyFailed, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| StoreError::validation("status", format!("unknown run status {value:?}")))
    }
}

/// A run to plan.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// `full`, `incremental`, `on_demand`, ...
    pub kind: String,
    /// Unique per tenant, e.g. `full:2026-11-25`; planning the same key again is a no-op.
    pub schedule_key: String,
    /// Who asked (`timer`, a user id, ...).
    pub requested_by: String,
    /// One item per subscription.
    pub subscription_ids: Vec<String>,
}

/// A run.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct IngestionRun {
    /// Run id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Kind.
    pub kind: String,
    /// Idempotency key.
    pub schedule_key: String,
    /// Derived status.
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    /// Who asked.
    pub requested_by: String,
    /// Planned at.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
}

/// One subscription within a run.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct IngestionItem {
    /// Item id.
    pub id: String,
    /// Run id.
    pub run_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Status.
    #[sqlx(try_from = "String")]
    pub status: ItemStatus,
    /// Attempts so far.
    pub attempts: i64,
    /// Last error (never a secret).
    pub error: Option<String>,
    /// Rows written per connector.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub counts: Json<BTreeMap<String, i64>>,
    /// Duration of the last attempt.
    pub duration_ms: Option<i64>,
    /// Planned at.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

/// A run and its items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunWithItems {
    /// The run.
    pub run: IngestionRun,
    /// Its items, by subscription.
    pub items: Vec<IngestionItem>,
}

/// A change to one item.
#[derive(Debug, Clone)]
pub struct ItemUpdate {
    /// New status.
    pub status: ItemStatus,
    /// Attempts so far (`None` keeps the stored value).
    pub attempts: Option<i64>,
    /// Last error (`None` clears it).
    pub error: Option<String>,
    /// Rows written (`None` keeps the stored counts).
    pub counts: Option<BTreeMap<String, i64>>,
    /// Duration of the attempt (`None` keeps the stored value).
    pub duration_ms: Option<i64>,
}

const RUN_COLUMNS: &str = "id, tenant_id, kind, schedule_key, status, requested_by, created_at, updated_at";
const ITEM_COLUMNS: &str =
    "id, run_id, subscription_id, status, attempts, error, counts, duration_ms, created_at, updated_at";

/// Inserts a run keyed by `$key` (unless the tenant already has one under that key) and one
/// queued item per subscription, on `$tx`; evaluates to whether the run was inserted. Shared by
/// scheduled planning and on-demand runs so both lay the ledger out alike.
macro_rules! insert_run {
    ($tx:ident, $scope:expr, $run_id:expr, $kind:expr, $key:expr, $requested_by:expr, $at:expr, $subscriptions:expr) => {{
        let subscriptions: &[String] = $subscriptions;
        let status = $crate::store::RunStatus::derive(&vec![$crate::store::ItemStatus::Queued; subscriptions.len()]);
        let inserted = sqlx::query(
            "INSERT INTO ingestion_runs (id, tenant_id, kind, schedule_key, status, requested_by, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (tenant_id, schedule_key) DO NOTHING",
        )
        .bind($run_id)
        .bind($scope.tenant_id())
        .bind($kind)
        .bind($key)
        .bind(status.as_str())
        .bind($requested_by)
        .bind($at)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            for subscription in subscriptions {
                sqlx::query(
                    "INSERT INTO ingestion_run_items (id, tenant_id, run_id, subscription_id, status, attempts, \
                     counts, created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', 0, '{}', $5, $5)",
                )
                .bind($crate::store::new_id())
                .bind($scope.tenant_id())
                .bind($run_id)
                .bind(subscription)
                .bind($at)
                .execute(&mut *$tx)
                .await?;
            }
        }
        inserted
    }};
}
pub(crate) use insert_run;

impl Store {
    /// Plans a run with one queued item per subscription. Idempotent by `schedule_key`: when the
    /// tenant already has a run with that key, it is returned unchanged and the flag is `false`.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for an empty key; database errors.
    pub async fn create_run(
        &self,
        scope: &TenantScope,
        new: &NewRun,
    ) -> Result<(RunWithItems, bool), StoreError> {
        if new.schedule_key.trim().is_empty() {
            return Err(StoreError::validation("schedule_key", "must not be empty"));
        }
        let at = now();
        let run_id = new_id();
        let mut subscriptions: Vec<String> =
            new.subscription_ids.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
        subscriptions.sort();
        subscriptions.dedup();
        let created = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted = insert_run!(
                tx,
                scope,
                &run_id,
                &new.kind,
                &new.schedule_key,
                &new.requested_by,
                at,
                &subscriptions
            );
            tx.commit().await?;
            inserted
        });
        let run_id: String = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM ingestion_runs WHERE tenant_id = $1 AND schedule_key = $2")
                .bind(scope.tenant_id())
                .bind(&new.schedule_key)
                .fetch_one(pool)
                .await?
        });
        Ok((self.get_run(scope, &run_id).await?, created))
    }

    /// Reads a run with its items.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_run(&self, scope: &TenantScope, run_id: &str) -> Result<RunWithItems, StoreError> {
        on_pool!(self, pool => {
            let run: Option<IngestionRun> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RUN_COLUMNS} FROM ingestion_runs WHERE tenant_id = $1 AND id = $2"
            )))
            .bind(scope.tenant_id())
            .bind(run_id)
            .fetch_optional(pool)
            .await?;
            let run = run.ok_or(StoreError::NotFound)?;
            let items: Vec<IngestionItem> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ITEM_COLUMNS} FROM ingestion_run_items WHERE tenant_id = $1 AND run_id = $2 \
                 ORDER BY subscription_id"
            )))
            .bind(scope.tenant_id())
            .bind(run_id)
            .fetch_all(pool)
            .await?;
            Ok(RunWithItems { run, items })
        })
    }

    /// Lists runs, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_runs(
        &self,
        scope: &TenantScope,
        page: PageRequest,
    ) -> Result<Page<IngestionRun>, StoreError> {
        let (items, total) = on_pool!(self, pool => {
            let items: Vec<IngestionRun> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RUN_COLUMNS} FROM ingestion_runs WHERE tenant_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
            )))
            .bind(scope.tenant_id())
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ingestion_runs WHERE tenant_id = $1")
                .bind(scope.tenant_id())
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }

    /// Updates the item of `subscription_id` in `run_id` and re-derives the run's status in the
    /// same transaction. Returns the run's new status.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the run has no such item in this tenant.
    pub async fn update_run_item(
        &self,
        scope: &TenantScope,
        run_id: &str,
        subscription_id: &str,
        update: &ItemUpdate,
    ) -> Result<RunStatus, StoreError> {
        let at = now();
        let subscription = subscription_id.trim().to_ascii_lowercase();
        let counts = update.counts.as_ref().map(|c| Json(c.clone()));
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // Take the run's row lock first: concurrent items of one run then derive the run's
            // status one after another, each seeing the others' committed statuses. Without it,
            // under PostgreSQL's READ COMMITTED two last items could each see the other still
            // running and leave a finished run `running` for good.
            sqlx::query("UPDATE ingestion_runs SET updated_at = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(scope.tenant_id())
                .bind(run_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let changed = sqlx::query(
                "UPDATE ingestion_run_items SET status = $4, attempts = COALESCE($5, attempts), error = $6, \
                 counts = COALESCE($7, counts), duration_ms = COALESCE($8, duration_ms), updated_at = $9 \
                 WHERE tenant_id = $1 AND run_id = $2 AND subscription_id = $3",
            )
            .bind(scope.tenant_id())
            .bind(run_id)
            .bind(&subscription)
            .bind(update.status.as_str())
            .bind(update.attempts)
            .bind(&update.error)
            .bind(&counts)
            .bind(update.duration_ms)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            if update.status == ItemStatus::Failed {
                crate::store::notify::outbox::record_ingestion_failed!(
                    tx, scope, run_id, subscription.as_str(), &update.error, update.attempts, at
                );
            }
            let statuses: Vec<String> = sqlx::query_scalar(
                "SELECT status FROM ingestion_run_items WHERE tenant_id = $1 AND run_id = $2",
            )
            .bind(scope.tenant_id())
            .bind(run_id)
            .fetch_all(&mut *tx)
            .await?;
            let statuses =
                statuses.into_iter().map(ItemStatus::try_from).collect::<Result<Vec<_>, StoreError>>()?;
            let status = RunStatus::derive(&statuses);
            sqlx::query(
                "UPDATE ingestion_runs SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(scope.tenant_id())
            .bind(run_id)
            .bind(status.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(status)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ItemStatus::{Failed, Queued, Running, Succeeded};
    use super::RunStatus;

    #[test]
    fn run_status_is_derived_from_items() {
        let cases: &[(&[super::ItemStatus], RunStatus)] = &[
            (&[], RunStatus::Succeeded),
            (&[Queued, Queued], RunStatus::Queued),
            (&[Queued, Running], RunStatus::Running),
            (&[Queued, Succeeded], RunStatus::Running),
            (&[Running, Failed], RunStatus::Running),
            (&[Succeeded, Succeeded], RunStatus::Succeeded),
            (&[Succeeded, Failed], RunStatus::PartiallyFailed),
            (&[Failed, Failed], RunStatus::Failed),
        ];
        for (items, expected) in cases {
            assert_eq!(RunStatus::derive(items), *expected, "{items:?}");
        }
    }
}
