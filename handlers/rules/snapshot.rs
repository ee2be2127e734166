//! [`SubscriptionSnapshot`]: the contract between ingestion (which builds it from the raw
//! blobs of one subscription's latest run) and the rule engine (which evaluates it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{AdvisorRecommendationRow, ResourceRow, VmMetricsRow};

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

/// Hourly statistics of one Monitor metric of one resource over a window (App Service plan
/// `CpuPercentage` / `MemoryPercentage`, SQL `dtu_consumption_percent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceMetric {
    /// Subscription GUID, lower-cased.
    pub subscription_id: String,
    /// Resource id, lower-cased.
    pub resource_id: String,
    /// Metric name as Monitor names it (`CpuPercentage`).
    pub metric: String,
    /// Window start (inclusive).
    pub window_start: DateTime<Utc>,
    /// Window end (exclusive).
    pub window_end: DateTime<Utc>,
    /// Mean of the hourly averages.
    pub avg: Option<f64>,
    /// Largest hourly maximum.
    pub max: Option<f64>,
    /// 95th percentile of the hourly averages.
    pub p95: Option<f64>,
    /// Hourly datapoints with a value.
    pub datapoints: i64,
    /// Hourly datapoints the window should have had.
    pub expected_datapoints: i64,
}

impl ResourceMetric {
    /// Share of the window's hours that carried a value (0 when the window is empty).
    pub fn coverage(&self) -> f64 {
        if self.expected_datapoints <= 0 {
            0.0
        } else {
            self.datapoints as f64 / self.expected_datapoints as f64
        }
    }
}
