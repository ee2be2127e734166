//! Curated row types shared by the connectors (which produce them), the store (which upserts
//! them) and the rule engine (which reads them).
//!
//! Field names are the curated schema's column names; serialised, these are the JSON objects
//! `azcops collect` prints and the API returns. Identifiers that Azure treats as
//! case-insensitive (resource ids, types, locations, resource groups, subscription ids) are
//! kept lower-cased so that joins and upserts never split one resource in two.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One Azure resource from the inventory (Resource Graph), as stored in `resources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRow {
    /// Subscription GUID, lower-cased.
    pub subscription_id: String,
    /// Full ARM resource id, lower-cased.
    pub resource_id: String,
    /// Resource name as Azure shows it (case preserved).
    pub name: String,
    /// Resource type, lower-cased (`microsoft.compute/disks`).
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Resource kind when the provider sets one.
    pub kind: Option<String>,
    /// Azure region, lower-cased.
    pub location: String,
    /// Resource group name, lower-cased.
    pub resource_group: String,
    /// The `sku` object as Azure returns it.
    pub sku: Option<serde_json::Value>,
    /// Tags; keys keep their case (Azure tag names are case-insensitive but case-preserving).
    pub tags: BTreeMap<String, String>,
    /// The full `properties` object, so rules can be replayed later on new fields.
    pub properties: serde_json::Value,
    /// `managedBy` (e.g. the VM that owns a disk) when set.
    pub managed_by: Option<String>,
}

/// One day of cost for one (resource group, service, meter category[, resource]) in a
/// subscription, as stored in `costs_daily`.
///
/// The rows of one subscription and day add up to its total cost exactly once: a connector
/// never emits both a resource-level row and an aggregate row covering the same spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostDailyRow {
    /// Subscription GUID, lower-cased.
    pub subscription_id: String,
    /// Usage date (UTC calendar day).
    pub date: NaiveDate,
    /// Resource group, lower-cased; empty for charges outside any resource group.
    pub resource_group: String,
    /// Cost Management `ServiceName`.
    pub service_name: String,
    /// Cost Management `MeterCategory`.
    pub meter_category: String,
    /// Lower-cased resource id, or empty when the charge has no resource (part of the key).
    pub resource_id: String,
    /// Actual (billed) cost in `currency`.
    pub cost: f64,
    /// Amortized cost in `currency` (commitment purchases spread over the usage they cover).
    pub amortized_cost: f64,
    /// ISO 4217 billing currency.
    pub currency: String,
}

/// Utilisation statistics of one VM over one window, as stored in `vm_metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmMetricsRow {
    /// Subscription GUID, lower-cased.
    pub subscription_id: String,
    /// VM resource id, lower-cased.
    pub resource_id: String,
    /// Start of the observed window (inclusive).
    pub window_start: DateTime<Utc>,
    /// End of the observed window (exclusive).
    pub window_end: DateTime<Utc>,
    /// Mean of the hourly `Percentage CPU` averages.
    pub cpu_avg: Option<f64>,
    /// Highest hourly maximum of `Percentage CPU`.
    pub cpu_max: Option<f64>,
    /// Lowest hourly minimum of `Percentage CPU`.
    pub cpu_min: Option<f64>,
    /// 95th percentile of the hourly `Percentage CPU` averages.
    pub cpu_p95: Option<f64>,
    /// Mean of the hourly `Available Memory Bytes` averages.
    pub memory_available_avg_bytes: Option<f64>,
    /// Lowest hourly minimum of `Available Memory Bytes`.
    pub memory_available_min_bytes: Option<f64>,
    /// 5th percentile of available memory (the 95th percentile of memory pressure).
    pub memory_available_p95_bytes: Option<f64>,
    /// Hourly CPU datapoints that carried a value.
    pub datapoints: i64,
    /// Hourly datapoints the window should have had; `datapoints / expected_datapoints` is coverage.
    pub expected_datapoints: i64,
}

/// One Azure Advisor cost recommendation, mapped from the Advisor API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisorRecommendationRow {
    /// Subscription GUID, lower-cased.
    pub subscription_id: String,
    /// The recommendation's own ARM id.
    pub advisor_id: String,
    /// Advisor's `recommendationTypeId` (stable per kind of recommendation).
    pub recommendation_type_id: String,
    /// The impacted resource id, lower-cased (from `resourceMetadata.resourceId` or derived).
    pub resource_id: String,
    /// `impactedField` (a resource type).
    pub impacted_field: String,
    /// `impactedValue` (usually the resource name).
    pub impacted_value: String,
    /// `High`, `Medium` or `Low`.
    pub impact: String,
    /// `shortDescription.problem`.
    pub problem: String,
    /// `shortDescription.solution`.
    pub solution: String,
    /// Estimated monthly savings in `currency`.
    pub monthly_savings: f64,
    /// True when the savings figure is the impact-based estimate rather than Advisor's own.
    pub savings_estimated: bool,
    /// Currency of the savings figure.
    pub currency: String,
    /// Confidence derived from impact (High 0.9, Medium 0.7, Low 0.5).
    pub confidence: f64,
    /// `lastUpdated` from Advisor.
    pub last_updated: Option<DateTime<Utc>>,
    /// Advisor's `extendedProperties`, kept for evidence.
    pub extended_properties: serde_json::Value,
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
