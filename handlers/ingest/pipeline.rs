//! The per-subscription pipeline behind `ingest_subscription` and `azcops ingest`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use futures::StreamExt as _;

use crate::azure::client::Recorder;
use crate::azure::connectors::cost_management::{self, CostScope};
use crate::azure::connectors::monitor::{self, MetricWindow};
use crate::azure::connectors::subscriptions::{OwnershipError, verify_owner};
use crate::azure::connectors::{advisor, resource_graph};
use crate::azure::{ArmClient, AzureError, CallContext};
use crate::model::ResourceRow;
use crate::raw::{PutOutcome, RawError, RawStore};
use crate::store::{DetectionLimits, ItemStatus, ItemUpdate, Store, Subscription, Tenant, TenantScope};

use super::manifest::{Manifest, snapshot_path};
use super::snapshot::{self, Connector, RawSnapshot, Window};
use super::{IngestConfig, IngestError, IngestMessage, RunKind};

/// Everything the pipeline talks to.
#[derive(Clone)]
pub struct IngestContext {
    /// The curated store.
    pub store: Store,
    /// The raw layer.
    pub raw: Arc<dyn RawStore>,
    /// The Azure client.
    pub arm: ArmClient,
    /// Settings.
    pub config: IngestConfig,
}

/// What one subscription's ingestion produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemOutcome {
    /// Curated rows per kind (`resources`, `costs_daily`, `advisor`, `vm_metrics`, ...).
    pub counts: BTreeMap<String, i64>,
    /// Wall time of this attempt.
    pub duration_ms: i64,
    /// The run's manifest, for full runs.
    pub manifest: Option<Manifest>,
    /// Whether this attempt stored the manifest (false when an earlier full run of the same day
    /// already had, which keeps the blob trigger to one evaluation per day).
    pub manifest_written: bool,
}

/// Ingests the subscription of `message` (attempt number `attempt`, 1-based), recording the
/// outcome in the ledger. Safe to repeat: snapshots already written are replayed, not re-fetched.
///
/// # Errors
/// Any failure; the ledger item then records the error and stays `running` so the platform's
/// retry can pick it up ([`record_poisoned`] marks it failed for good).
pub async fn ingest_subscription(
    ctx: &IngestContext,
    message: &IngestMessage,
    attempt: u32,
) -> Result<ItemOutcome, IngestError> {
    let scope = TenantScope::from_trusted_trigger(message.tenant_id.clone());
    let started = Instant::now();
    let running = ItemUpdate {
        status: ItemStatus::Running,
        attempts: Some(i64::from(attempt)),
        error: None,
        counts: None,
        duration_ms: None,
    };
    ctx.store.update_run_item(&scope, &message.run_id, &message.subscription_id, &running).await?;
    let result = run_connectors(ctx, &scope, message).await;
    let duration_ms = started.elapsed().as_millis() as i64;
    match result {
        Ok((counts, manifest, manifest_written)) => {
            let done = ItemUpdate {
                status: ItemStatus::Succeeded,
                attempts: Some(i64::from(attempt)),
                error: None,
                counts: Some(counts.clone()),
                duration_ms: Some(duration_ms),
            };
            ctx.store.update_run_item(&scope, &message.run_id, &message.subscription_id, &done).await?;
            ctx.store
                .mark_subscription_ingested(&scope, &message.subscription_id, crate::store::now())
                .await?;
            tracing::info!(
                run_id = %message.run_id,
                duration_ms,
                resources = counts.get("resources").copied().unwrap_or(0),
                cost_rows = counts.get("costs_daily").copied().unwrap_or(0),
                "ingestion.subscription_succeeded"
            );
            for (table, rows) in &counts {
                tracing::debug!(target: "azcops::metrics", metric = "azcops.ingestion.rows", value = *rows as f64, table = %table, "metric");
            }
            Ok(ItemOutcome { counts, duration_ms, manifest, manifest_written })
        }
        Err(e) => {
            // A subscription outside its tenant's directory stays outside on retry: fail the item
            // now instead of spending the platform's retries (and ARM reads) on it.
            let status =
                if matches!(e, IngestError::NotOwned(_)) { ItemStatus::Failed } else { ItemStatus::Running };
            let failed = ItemUpdate {
                status,
                attempts: Some(i64::from(attempt)),
                error: Some(e.to_string()),
                counts: None,
                duration_ms: Some(duration_ms),
            };
            if let Err(ledger) =
                ctx.store.update_run_item(&scope, &message.run_id, &message.subscription_id, &failed).await
            {
                tracing::error!(error = %ledger, "cannot record the failed attempt in the ledger");
            }
            tracing::warn!(run_id = %message.run_id, attempt, error = %e, duration_ms, "ingestion attempt failed");
            Err(e)
        }
    }
}

/// Reads the subscription's inventory (Resource Graph) ahead of its turn and writes the snapshot
/// its ingestion will replay, after the same checks the pipeline makes (an active tenant, a
/// subscription ARM still places in the tenant's directory). Resource Graph's quota is one per
/// identity across every customer, so the command carrying a whole night keeps it busy this way
/// while its work slots serve other connectors; a failure here costs nothing, since the pipeline
/// then reads the inventory itself and records what went wrong.
///
/// # Errors
/// Any failure of the checks or the read (the caller logs and moves on).
pub async fn prefetch_inventory(ctx: &IngestContext, message: &IngestMessage) -> Result<(), IngestError> {
    if message.kind != RunKind::Full || !message.connectors.contains(&Connector::ResourceGraph) {
        return Ok(());
    }
    let scope = TenantScope::from_trusted_trigger(message.tenant_id.clone());
    let (tenant, subscription) = verified(ctx, &scope, message).await?;
    let job = Job {
        ctx,
        scope: &scope,
        message,
        azure_tenant: &tenant.azure_tenant_id,
        day: message.requested_at.date_naive(),
        last_ingested: subscription.last_ingested_at,
    };
    job.snapshot(Connector::ResourceGraph, &[]).await.map(drop)
}

/// Marks a subscription's item failed for good (its message reached the poison queue), keeping
/// the last error the pipeline recorded.
///
/// # Errors
/// Store failures.
pub async fn record_poisoned(store: &Store, message: &IngestMessage) -> Result<(), IngestError> {
    let scope = TenantScope::from_trusted_trigger(message.tenant_id.clone());
    let item = store
        .get_run(&scope, &message.run_id)
        .await?
        .items
        .into_iter()
        .find(|i| i.subscription_id == message.subscription_id)
        .ok_or_else(|| IngestError::NoRunItem {
            run_id: message.run_id.clone(),
            subscription_id: message.subscription_id.clone(),
        })?;
    let error = format!(
        "gave up after {} attempts; last error: {}",
        item.attempts,
        item.error.unwrap_or_else(|| "unknown (the handler never recorded one)".into())
    );
    let update = ItemUpdate {
        status: ItemStatus::Failed,
        attempts: None,
        error: Some(error),
        counts: None,
        duration_ms: None,
    };
    store.update_run_item(&scope, &message.run_id, &message.subscription_id, &update).await?;
    tracing::error!(run_id = %message.run_id, subscription_id = %message.subscription_id, "ingestion.subscriptions_failed");
    Ok(())
}

/// The tenant and subscription of `message`, once the tenant is active and ARM still places the
/// subscription in the tenant's directory: the platform identity reads every delegated customer,
/// so a subscription is read for this tenant only while it belongs there (it may have moved).
async fn verified(
    ctx: &IngestContext,
    scope: &TenantScope,
    message: &IngestMessage,
) -> Result<(Tenant, Subscription), IngestError> {
    let tenant = ctx.store.platform_admin().get_tenant(scope.tenant_id()).await?;
    if !tenant.active {
        return Err(IngestError::Unknown(format!("tenant {} is not active", tenant.id)));
    }
    let subscription = ctx.store.get_subscription(scope, &message.subscription_id).await?;
    match verify_owner(&ctx.arm, &tenant.azure_tenant_id, &subscription.subscription_id).await {
        Ok(_) => Ok((tenant, subscription)),
        Err(e @ OwnershipError::NotOwned { .. }) => Err(IngestError::NotOwned(e)),
        Err(e @ OwnershipError::Unavailable(_)) => Err(IngestError::OwnershipUnknown(e)),
    }
}

async fn run_connectors(
    ctx: &IngestContext,
    scope: &TenantScope,
    message: &IngestMessage,
) -> Result<(BTreeMap<String, i64>, Option<Manifest>, bool), IngestError> {
    let (tenant, subscription) = verified(ctx, scope, message).await?;
    let day = message.requested_at.date_naive();
    let job = Job {
        ctx,
        scope,
        message,
        azure_tenant: &tenant.azure_tenant_id,
        day,
        last_ingested: subscription.last_ingested_at,
    };
    let mut counts = BTreeMap::new();
    let mut snapshots = Vec::new();
    let mut resources: Vec<ResourceRow> = Vec::new();
    // Costs from Cost Management exports (the subscription's cost source) spend no query quota.
    let from_exports = message.connectors.contains(&Connector::CostManagement)
        && ctx.store.costs_from_exports(scope, &subscription.subscription_id).await?;
    for connector in &message.connectors {
        if *connector == Connector::CostManagement && from_exports {
            continue;
        }
        let started = Instant::now();
        let (path, snap) = job.snapshot(*connector, &resources).await?;
        match connector {
            Connector::ResourceGraph => {
                let foreign;
                (resources, foreign) = snapshot::resources_in_scope(&snap)?;
                ctx.store.upsert_resources(scope, &resources, snap.fetched_at).await?;
                counts.insert("resources".into(), resources.len() as i64);
                record_foreign(&mut counts, "resource_graph", foreign);
                // Only Monitor reads them again, by id and type; the rest is stored, and a
                // subscription waiting on its tenant's Cost Management quota should hold little.
                for r in &mut resources {
                    (r.properties, r.sku, r.tags) = (serde_json::Value::Null, None, Default::default());
                }
            }
            Connector::CostManagement => {
                let rows = snapshot::cost_rows(&snap)?;
                ctx.store.upsert_costs_daily(scope, &rows).await?;
                counts.insert("costs_daily".into(), rows.len() as i64);
                detect_anomalies(ctx, scope, &subscription.subscription_id, day).await;
                record_budget_thresholds(ctx, scope, &subscription.subscription_id, day).await;
            }
            Connector::Advisor => {
                // Advisor recommendations become recommendations in the rule engine, which
                // links those that agree with AzCops's own findings.
                let (rows, foreign) = snapshot::advisor_rows_in_scope(&snap)?;
                counts.insert("advisor".into(), rows.len() as i64);
                record_foreign(&mut counts, "advisor", foreign);
            }
            Connector::Monitor => {
                let (vms, others) = snapshot::metric_rows(&snap)?;
                ctx.store.upsert_vm_metrics(scope, &vms).await?;
                counts.insert("vm_metrics".into(), vms.len() as i64);
                counts.insert("resource_metrics".into(), others.len() as i64);
            }
        }
        tracing::info!(
            connector = connector.as_str(),
            exchanges = snap.exchanges.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "ingestion.connector_completed"
        );
        snapshots.push((*connector, path));
    }
    let manifest = if message.kind == RunKind::Full {
        let manifest = Manifest {
            tenant_id: scope.tenant_id().to_owned(),
            subscription_id: subscription.subscription_id.clone(),
            run_id: message.run_id.clone(),
            kind: message.kind,
            day,
            snapshots,
        };
        let bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| IngestError::Serialise { what: "the manifest", reason: e.to_string() })?;
        let written = match ctx.raw.put_create_only(&manifest.path(), &bytes).await {
            Ok(_) => true,
            // Manifests are write-once per day: an earlier full run of the same day already
            // triggered the rule engine; this run's snapshots are evaluated on demand.
            Err(RawError::Conflict { .. }) => {
                tracing::info!(path = %manifest.path(), "a manifest of an earlier run exists for this day; kept");
                false
            }
            Err(e) => return Err(e.into()),
        };
        (Some(manifest), written)
    } else {
        (None, false)
    };
    Ok((counts, manifest.0, manifest.1))
}

/// Detects cost anomalies over the subscription's fresh cost history. The costs are stored
/// whatever happens here, so a failure is logged rather than failing the ingestion.
async fn detect_anomalies(
    ctx: &IngestContext,
    scope: &TenantScope,
    subscription_id: &str,
    day: chrono::NaiveDate,
) {
    match ctx.store.detect_anomalies(scope, subscription_id, day, DetectionLimits::default()).await {
        Ok(report) => tracing::info!(
            series = report.series,
            series_dropped = report.series_dropped,
            anomalies = report.anomalies,
            changed = report.changed,
            resolved = report.resolved,
            "ingestion.anomalies_detected"
        ),
        Err(e) => tracing::warn!(error = %e, "cost anomaly detection failed; the costs are stored"),
    }
}

/// Records the `budget.threshold` events the fresh costs cause. Like anomaly detection, a
/// failure is logged rather than failing the ingestion: the costs are stored.
async fn record_budget_thresholds(
    ctx: &IngestContext,
    scope: &TenantScope,
    subscription_id: &str,
    day: chrono::NaiveDate,
) {
    match ctx.store.record_budget_thresholds(scope, subscription_id, day).await {
        Ok(events) => tracing::info!(events, "ingestion.budget_thresholds_recorded"),
        Err(e) => tracing::warn!(error = %e, "budget thresholds not evaluated; the costs are stored"),
    }
}

/// Counts (and warns about) rows a connector's response named for another subscription or
/// tenant, which were dropped rather than stored in this tenant's scope.
fn record_foreign(counts: &mut BTreeMap<String, i64>, connector: &str, foreign: usize) {
    if foreign > 0 {
        tracing::warn!(connector, dropped = foreign, "rows of another subscription or tenant dropped");
        counts.insert(format!("{connector}_foreign_rows_dropped"), foreign as i64);
    }
}

/// One subscription's ingestion: the names and clients every connector step shares.
struct Job<'a> {
    ctx: &'a IngestContext,
    scope: &'a TenantScope,
    message: &'a IngestMessage,
    azure_tenant: &'a str,
    day: chrono::NaiveDate,
    last_ingested: Option<DateTime<Utc>>,
}

impl Job<'_> {
    /// The connector's snapshot of this run: read back when an earlier attempt wrote it,
    /// otherwise fetched from Azure and written once.
    async fn snapshot(
        &self,
        connector: Connector,
        resources: &[ResourceRow],
    ) -> Result<(String, RawSnapshot), IngestError> {
        let path = snapshot_path(
            self.scope.tenant_id(),
            connector,
            self.day,
            &self.message.subscription_id,
            &self.message.run_id,
        );
        if let Some(bytes) = self.ctx.raw.get(&path).await? {
            return Ok((path, parse(connector, &bytes)?));
        }
        let snap = self.fetch(connector, resources).await?;
        let bytes = serde_json::to_vec(&snap)
            .map_err(|e| IngestError::Serialise { what: "a snapshot", reason: e.to_string() })?;
        match self.ctx.raw.put_create_only(&path, &bytes).await {
            Ok(PutOutcome::Created | PutOutcome::AlreadyExists) => Ok((path, snap)),
            // A concurrent delivery of the same message won the write: use what it stored.
            Err(RawError::Conflict { .. }) => match self.ctx.raw.get(&path).await? {
                Some(existing) => Ok((path, parse(connector, &existing)?)),
                None => Err(RawError::Storage(format!("{path} vanished after a conflict")).into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn fetch(
        &self,
        connector: Connector,
        resources: &[ResourceRow],
    ) -> Result<RawSnapshot, IngestError> {
        let recorder: Recorder = Arc::default();
        let call =
            CallContext::new(self.azure_tenant, &self.message.subscription_id).recording(recorder.clone());
        let arm: &ArmClient = &self.ctx.arm;
        let subscription = &self.message.subscription_id;
        let fetched_at = crate::store::now();
        let today = fetched_at.date_naive();
        let window = match connector {
            Connector::ResourceGraph => {
                resource_graph::query_inventory(arm, &call, subscription).await?;
                None
            }
            Connector::Advisor => {
                advisor::query_recommendations(arm, &call, subscription).await?;
                None
            }
            Connector::CostManagement => {
                let (from, to) = match self.message.kind {
                    RunKind::Full => {
                        let days = full_run_days(&self.ctx.config, self.last_ingested, today);
                        (today - Duration::days(days), today - Duration::days(1))
                    }
                    RunKind::Incremental => (today - Duration::days(1), today),
                };
                let scope = CostScope::Subscription(subscription.clone());
                // Rows come from replaying the snapshot below, so none are assembled here.
                cost_management::query_range(arm, &call, &scope, from, to).await?;
                Some(Window { start: day_start(from), end: day_start(to) })
            }
            Connector::Monitor => {
                let window = MetricWindow::last_days(monitor::VM_WINDOW_DAYS, fetched_at);
                self.fetch_metrics(&call, resources, window).await;
                Some(Window { start: window.start, end: window.end })
            }
        };
        let exchanges =
            std::mem::take(&mut *recorder.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        Ok(RawSnapshot {
            connector,
            tenant_id: self.scope.tenant_id().to_owned(),
            azure_tenant_id: self.azure_tenant.to_owned(),
            subscription_id: subscription.clone(),
            run_id: self.message.run_id.clone(),
            correlation_id: call.correlation_id.clone(),
            fetched_at,
            window,
            exchanges,
        })
    }

    /// VM, App Service plan and SQL database metrics; one resource's failure never fails the
    /// others (failed resources simply have no exchange in the snapshot).
    async fn fetch_metrics(&self, call: &CallContext, resources: &[ResourceRow], window: MetricWindow) {
        let of_type = |wanted: &str| -> Vec<String> {
            resources.iter().filter(|r| r.resource_type == wanted).map(|r| r.resource_id.clone()).collect()
        };
        let vms = of_type("microsoft.compute/virtualmachines");
        let vm_failures = self.query_metrics(call, vms, &[monitor::VM_CPU, monitor::VM_MEMORY], window).await;
        let plans = of_type("microsoft.web/serverfarms");
        let databases = of_type("microsoft.sql/servers/databases");
        let other_failures = self.query_metrics(call, plans, monitor::APP_SERVICE_PLAN_METRICS, window).await
            + self.query_metrics(call, databases, monitor::SQL_DTU_METRICS, window).await;
        if vm_failures > 0 || other_failures > 0 {
            tracing::warn!(vm_failures, other_failures, "some metrics could not be read");
        }
    }

    /// Asks for `metrics` of each resource, at most the configured concurrency at a time; the
    /// responses go to `call`'s recorder. Returns how many resources failed.
    async fn query_metrics(
        &self,
        call: &CallContext,
        ids: Vec<String>,
        metrics: &[&str],
        window: MetricWindow,
    ) -> usize {
        let arm = &self.ctx.arm;
        let concurrency = arm.config().metrics_concurrency.max(1);
        let results: Vec<(String, Option<AzureError>)> = futures::stream::iter(ids)
            .map(|id| async move {
                let error = monitor::query_metrics(arm, call, &id, metrics, window).await.err();
                (id, error)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut failures = 0;
        for (id, error) in results {
            if let Some(e) = error {
                tracing::warn!(resource_id = %id, error = %e, "metrics failed");
                failures += 1;
            }
        }
        failures
    }
}

/// Days of costs a full run reads: the whole backfill the first time, then the days since the
/// last success plus the refresh margin (never more than the backfill).
fn full_run_days(
    config: &IngestConfig,
    last_ingested: Option<DateTime<Utc>>,
    today: chrono::NaiveDate,
) -> i64 {
    match last_ingested {
        None => config.cost_days,
        Some(last) => {
            ((today - last.date_naive()).num_days() + config.refresh_days).clamp(1, config.cost_days)
        }
    }
}

fn day_start(day: chrono::NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

fn parse(connector: Connector, bytes: &[u8]) -> Result<RawSnapshot, IngestError> {
    serde_json::from_slice(bytes)
        .map_err(|e| IngestError::Replay { connector: connector.as_str(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_backfills_and_later_runs_refresh() {
        let config = IngestConfig::default();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let at = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap().and_hms_opt(2, 30, 0).unwrap().and_utc()
        };
        assert_eq!(full_run_days(&config, None, today), 35);
        assert_eq!(full_run_days(&config, Some(at(24)), today), 4, "yesterday's run: one new day plus three");
        assert_eq!(
            full_run_days(&config, Some(at(25)), today),
            3,
            "a second run the same day re-reads the margin"
        );
        assert_eq!(full_run_days(&config, Some(at(1)), today), 27, "a gap is read back");
        let long_ago =
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
        assert_eq!(full_run_days(&config, Some(long_ago), today), 35, "never more than the backfill");
    }
}
