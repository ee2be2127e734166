//! Loading what the rule engine evaluates: a manifest's snapshots read back from the raw layer
//! and replayed into curated rows, exactly as the pipeline derived them.

use crate::model::{AdvisorRecommendationRow, ResourceRow, VmMetricsRow};
use crate::raw::RawStore;

use super::snapshot::{self, Connector, ResourceMetrics, Snapshot};
use super::{IngestError, Manifest};

/// The replayed contents of one manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSnapshot {
    /// When the inventory was fetched.
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// Inventory.
    pub resources: Vec<ResourceRow>,
    /// Advisor Cost recommendations.
    pub advisor: Vec<AdvisorRecommendationRow>,
    /// VM utilisation.
    pub vm_metrics: Vec<VmMetricsRow>,
    /// App Service plan and SQL database metric statistics.
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// Reads and replays every snapshot `manifest` names.
///
/// # Errors
/// A named snapshot is missing or does not replay.
pub async fn load(raw: &dyn RawStore, manifest: &Manifest) -> Result<LoadedSnapshot, IngestError> {
    let mut loaded = LoadedSnapshot {
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
        let snap: Snapshot = serde_json::from_slice(&bytes)
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
    serde_json::from_slice(content).map_err(|e| IngestError::Message(format!("not a manifest: {e}")))
}
