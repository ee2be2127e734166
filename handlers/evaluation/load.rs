//! Loading what the rule engine evaluates: a manifest's snapshots read back from the raw layer
//! and replayed into curated rows, exactly as the pipeline derived them.

use crate::model::{AdvisorRecommendationRow, ResourceRow, VmMetricsRow};
use crate::raw::RawStore;

use super::EvaluationError;
use crate::azure::connectors::monitor::ResourceStats;
use crate::ingest::snapshot::{self, Connector, RawSnapshot};
use crate::ingest::{IngestContext, IngestError, Manifest};
use crate::rules::SubscriptionSnapshot;

/// The replayed contents of one manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedRows {
    /// When the inventory was fetched.
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// Inventory.
    pub resources: Vec<ResourceRow>,
    /// Advisor Cost recommendations.
    pub advisor: Vec<AdvisorRecommendationRow>,
    /// VM utilisation.
    pub vm_metrics: Vec<VmMetricsRow>,
    /// App Service plan and SQL database metric statistics.
    pub resource_metrics: Vec<ResourceStats>,
}

/// Reads and replays every snapshot `manifest` names.
///
/// # Errors
/// A named snapshot is missing or does not replay.
pub async fn load(raw: &dyn RawStore, manifest: &Manifest) -> Result<ReplayedRows, IngestError> {
    let mut loaded = ReplayedRows {
        as_of: chrono::Utc::now(),
        resources: Vec::new(),
        advisor: Vec::new(),
        vm_metrics: Vec::new(),
        resource_metrics: Vec::new(),
    };
    for (connector, path) in &manifest.snapshots {
        let bytes = raw.get(path).await?.ok_or_else(|| IngestError::Replay {
            connector: connector.as_str(),
            reason: format!("{path} is missing"),
        })?;
        let snap: RawSnapshot = serde_json::from_slice(&bytes)
            .map_err(|e| IngestError::Replay { connector: connector.as_str(), reason: e.to_string() })?;
        match connector {
            Connector::ResourceGraph => {
                loaded.as_of = snap.fetched_at;
                loaded.resources = snapshot::resources(&snap)?;
            }
            Connector::Advisor => loaded.advisor = snapshot::advisor_rows(&snap)?,
            Connector::Monitor => {
                (loaded.vm_metrics, loaded.resource_metrics) = snapshot::metric_rows(&snap)?
            }
            // Costs are read from the curated store, which holds their whole history.
            Connector::CostManagement => {}
        }
    }
    Ok(loaded)
}

/// Parses a manifest blob.
///
/// # Errors
/// The content is not a manifest.
pub fn parse_manifest(content: &[u8]) -> Result<Manifest, IngestError> {
    serde_json::from_slice(content).map_err(|e| IngestError::NotAManifest(e.to_string()))
}

/// The rule engine's view of a loaded snapshot.
pub fn rules_snapshot(subscription_id: &str, loaded: ReplayedRows) -> SubscriptionSnapshot {
    let resource_metrics = loaded
        .resource_metrics
        .iter()
        .flat_map(|r| {
            r.stats.iter().map(move |s| crate::model::ResourceMetric {
                subscription_id: subscription_id.to_owned(),
                resource_id: r.resource_id.clone(),
                metric: s.name.clone(),
                window_start: r.window.start,
                window_end: r.window.end,
                avg: s.avg,
                max: s.max,
                p95: s.p95,
                datapoints: s.datapoints,
                expected_datapoints: r.window.hours(),
            })
        })
        .collect();
    SubscriptionSnapshot {
        subscription_id: subscription_id.to_owned(),
        as_of: loaded.as_of,
        resources: loaded.resources,
        advisor: loaded.advisor,
        vm_metrics: loaded.vm_metrics,
        resource_metrics,
    }
}

/// Evaluates the rules on `manifest`'s snapshots (the service the blob trigger, `azcops ingest`
/// and `azcops evaluate` share). Retail prices come through `cache`, shared by the caller for as
/// long as prices may be reused.
///
/// # Errors
/// A snapshot is missing or does not replay, or the rule engine fails.
pub async fn evaluate(
    ctx: &IngestContext,
    manifest: &Manifest,
    cache: &crate::azure::connectors::retail_prices::RetailPriceCache,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<super::EvaluationSummary, EvaluationError> {
    let scope = crate::store::TenantScope::from_trusted_trigger(manifest.tenant_id.clone());
    let loaded = load(ctx.raw.as_ref(), manifest).await?;
    let snapshot = rules_snapshot(&manifest.subscription_id, loaded);
    let call = crate::azure::CallContext::new(&manifest.tenant_id, &manifest.subscription_id);
    let prices = super::RetailPriceSource::new(ctx.arm.clone(), call, cache.clone());
    super::evaluate_subscription(&ctx.store, &prices, &scope, &snapshot, now).await
}
