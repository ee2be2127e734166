//! On-demand runs (`POST /ingestion/trigger`): at most one active per tenant, and a cooldown
//! between two of them.
//!
//! Race-free without locks: each on-demand run takes the next slot key
//! (`on_demand:{sequence}`) of its tenant, and the ledger's unique `(tenant_id, schedule_key)`
//! lets only one of two concurrent requests insert it; the other sees the winner's run when it
//! checks again. The decision uses the instant the caller passes, so tests need no sleeps.

use chrono::{DateTime, Utc};

use super::{IngestionRun, RUN_COLUMNS, RunStatus, RunWithItems, insert_run};
use crate::store::{Store, StoreError, TenantScope, new_id, on_pool};

/// The prefix of the slot keys this module gives on-demand runs.
const SLOT_PREFIX: &str = "on_demand:";

/// An active run not updated for this long no longer blocks a new one: its messages were lost
/// (no ingestion item takes hours), and a tenant must not be locked out forever.
pub const STALE_ACTIVE_RUN: chrono::TimeDelta = chrono::TimeDelta::hours(6);

/// Conflict retries before giving up (each retry sees the run that won the slot).
const ATTEMPTS: usize = 3;

/// A request for an on-demand run.
#[derive(Debug, Clone)]
pub struct OnDemandRequest {
    /// `full` or `incremental`.
    pub kind: String,
    /// Who asked.
    pub requested_by: String,
    /// One item per subscription.
    pub subscription_ids: Vec<String>,
    /// The instant of the request (the run's `created_at` when created).
    pub at: DateTime<Utc>,
    /// Least time between the creation of two on-demand runs of the tenant.
    pub cooldown: chrono::TimeDelta,
}

/// What asking for an on-demand run produced.
#[derive(Debug, Clone, PartialEq)]
pub enum OnDemandRun {
    /// The run was planned.
    Created(RunWithItems),
    /// Another on-demand run of the tenant is queued or running.
    Active(IngestionRun),
    /// The tenant's latest on-demand run is younger than the cooldown.
    CoolingDown {
        /// That run.
        run: IngestionRun,
        /// Whole seconds until the cooldown ends (at least 1).
        retry_after_secs: u64,
    },
}

/// Whether `key` is an on-demand run's: this module's slots, and the `{kind}:on_demand:{uuid}`
/// keys of runs started from the command line.
const ON_DEMAND_FILTER: &str = "schedule_key LIKE '%on\\_demand:%' ESCAPE '\\'";

impl Store {
    /// Plans an on-demand run unless another is active or the tenant is cooling down.
    ///
    /// # Errors
    /// [`StoreError::Validation`] without subscriptions; [`StoreError::Conflict`] when the slot
    /// stayed contended for every attempt; database errors.
    pub async fn create_on_demand_run(
        &self,
        scope: &TenantScope,
        request: &OnDemandRequest,
    ) -> Result<OnDemandRun, StoreError> {
        let mut subscriptions: Vec<String> =
            request.subscription_ids.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
        subscriptions.sort();
        subscriptions.dedup();
        if subscriptions.is_empty() {
            return Err(StoreError::validation("subscription_ids", "must not be empty"));
        }
        for _ in 0..ATTEMPTS {
            let runs = self.on_demand_runs(scope).await?;
            if let Some(refusal) = refusal(&runs, request) {
                return Ok(refusal);
            }
            let next = runs.iter().filter_map(|r| slot_number(&r.schedule_key)).max().unwrap_or(0) + 1;
            let key = format!("{SLOT_PREFIX}{next:020}");
            if let Some(run_id) = self.insert_slot(scope, request, &key, &subscriptions).await? {
                return Ok(OnDemandRun::Created(self.get_run(scope, &run_id).await?));
            }
        }
        Err(StoreError::Conflict { what: "a concurrent on-demand run" })
    }

    /// The tenant's on-demand runs that may still matter: the active ones and the latest.
    async fn on_demand_runs(&self, scope: &TenantScope) -> Result<Vec<IngestionRun>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RUN_COLUMNS} FROM ingestion_runs WHERE tenant_id = $1 AND {ON_DEMAND_FILTER} \
                 AND (status IN ('queued', 'running') OR id = (SELECT id FROM ingestion_runs \
                 WHERE tenant_id = $1 AND {ON_DEMAND_FILTER} ORDER BY created_at DESC, id DESC LIMIT 1) \
                 OR schedule_key = (SELECT MAX(schedule_key) FROM ingestion_runs WHERE tenant_id = $1 \
                 AND schedule_key LIKE 'on\\_demand:%' ESCAPE '\\')) \
                 ORDER BY created_at DESC, id DESC"
            )))
            .bind(scope.tenant_id())
            .fetch_all(pool)
            .await?
        }))
    }

    /// Inserts the run under slot `key` with its items; `None` when the slot is taken.
    async fn insert_slot(
        &self,
        scope: &TenantScope,
        request: &OnDemandRequest,
        key: &str,
        subscriptions: &[String],
    ) -> Result<Option<String>, StoreError> {
        let run_id = new_id();
        on_pool!(self, pool => {
            // The insert is the transaction's first statement, so on SQLite it takes the write
            // lock before reading anything.
            let mut tx = pool.begin().await?;
            let inserted = insert_run!(
                tx,
                scope,
                &run_id,
                &request.kind,
                key,
                &request.requested_by,
                request.at,
                subscriptions
            );
            if !inserted {
                tx.rollback().await?;
                return Ok(None);
            }
            tx.commit().await?;
        });
        Ok(Some(run_id))
    }
}

/// Why `request` is refused given the tenant's on-demand `runs` (newest first), if it is: an
/// active run that is not stale, else a latest run younger than the cooldown.
pub fn refusal(runs: &[IngestionRun], request: &OnDemandRequest) -> Option<OnDemandRun> {
    let stale_before = request.at.checked_sub_signed(STALE_ACTIVE_RUN).unwrap_or(DateTime::<Utc>::MIN_UTC);
    if let Some(active) = runs
        .iter()
        .find(|r| matches!(r.status, RunStatus::Queued | RunStatus::Running) && r.updated_at > stale_before)
    {
        return Some(OnDemandRun::Active(active.clone()));
    }
    let latest = runs.iter().max_by_key(|r| r.created_at)?;
    let ends = latest.created_at.checked_add_signed(request.cooldown).unwrap_or(DateTime::<Utc>::MAX_UTC);
    if ends <= request.at {
        return None;
    }
    let millis = u64::try_from((ends - request.at).num_milliseconds()).unwrap_or(0);
    Some(OnDemandRun::CoolingDown { run: latest.clone(), retry_after_secs: millis.div_ceil(1000).max(1) })
}

/// The sequence number of one of this module's slot keys.
fn slot_number(key: &str) -> Option<u64> {
    key.strip_prefix(SLOT_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn run(key: &str, status: RunStatus, created_at: DateTime<Utc>) -> IngestionRun {
        IngestionRun {
            id: key.into(),
            tenant_id: "t".into(),
            kind: "full".into(),
            schedule_key: key.into(),
            status,
            requested_by: "u".into(),
            created_at,
            updated_at: created_at,
        }
    }

    fn request(at: DateTime<Utc>) -> OnDemandRequest {
        OnDemandRequest {
            kind: "full".into(),
            requested_by: "u".into(),
            subscription_ids: vec!["s".into()],
            at,
            cooldown: TimeDelta::minutes(15),
        }
    }

    #[test]
    fn active_runs_refuse_until_stale_and_the_cooldown_counts_from_the_latest() {
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(refusal(&[], &request(t0)), None);
        let queued = run("on_demand:1", RunStatus::Queued, t0);
        assert!(matches!(
            refusal(std::slice::from_ref(&queued), &request(t0 + TimeDelta::hours(5))),
            Some(OnDemandRun::Active(_))
        ));
        assert_eq!(refusal(&[queued], &request(t0 + STALE_ACTIVE_RUN + TimeDelta::seconds(1))), None);

        let done = run("on_demand:1", RunStatus::Succeeded, t0);
        let at = t0 + TimeDelta::minutes(14) + TimeDelta::milliseconds(30_500);
        match refusal(std::slice::from_ref(&done), &request(at)) {
            Some(OnDemandRun::CoolingDown { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 30),
            other => panic!("{other:?}"),
        }
        assert_eq!(refusal(&[done], &request(t0 + TimeDelta::minutes(15))), None);
    }

    #[test]
    fn slot_numbers_parse_only_slot_keys() {
        assert_eq!(slot_number("on_demand:00000000000000000042"), Some(42));
        assert_eq!(slot_number("full:on_demand:0190"), None);
        assert_eq!(slot_number("full:2026-01-01T00:00:00Z"), None);
    }
}
