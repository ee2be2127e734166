//! [`SubscriptionSnapshot`]: the contract between ingestion (which builds it from the raw
//! blobs of one subscription's latest run) and the rule engine (which evaluates it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{AdvisorRecommendationRow, ResourceMetric, ResourceRow, VmMetricsRow};

/// Everything one subscription's evaluation needs from its latest ingestion, already mapped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    /// Subscription GUID, lower-cased.
    pub subscription_id: String,
    /// When the snapshot was fetched.
    pub as_of: DateTime<Utc>,
    /// Inventory.
    pub resources: Vec<ResourceRow>,
    /// Advisor cost recommendations.
    pub advisor: Vec<AdvisorRecommendationRow>,
    /// VM utilisation statistics.
    pub vm_metrics: Vec<VmMetricsRow>,
    /// App Service plan and SQL database metric statistics.
    pub resource_metrics: Vec<ResourceMetric>,
}
