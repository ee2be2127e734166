//! Raw snapshots: one document per connector, run and subscription holding the original API
//! exchanges plus metadata, and the replay that turns a snapshot back into curated rows.
//!
//! Curated rows are always derived by replaying the stored snapshot, never from a second live
//! call: a retried message that finds its snapshot already written replays it, so every attempt
//! of a run converges on the same rows, and `azcops evaluate` can replay history later.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::azure::client::Exchange;
use crate::azure::connectors::cost_management;
use crate::azure::connectors::monitor::{self, MetricWindow, ResourceStats};
use crate::azure::connectors::{advisor, resource_graph};
use crate::model::{AdvisorRecommendationRow, CostDailyRow, ResourceRow, VmMetricsRow};

use super::IngestError;

/// The connectors a run may execute, in pipeline order; the names are raw path segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connector {
    /// Resource Graph inventory.
    ResourceGraph,
    /// Cost Management daily costs (actual and amortized).
    CostManagement,
    /// Advisor Cost recommendations.
    Advisor,
    /// Azure Monitor metrics.
    Monitor,
}

impl Connector {
    /// Every connector, in pipeline order.
    pub const ALL: [Self; 4] = [Self::ResourceGraph, Self::CostManagement, Self::Advisor, Self::Monitor];

    /// The raw path segment and queue-message name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResourceGraph => "resource_graph",
            Self::CostManagement => "cost_management",
            Self::Advisor => "advisor",
            Self::Monitor => "monitor",
        }
    }
}

/// One stored snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawSnapshot {
    /// Which connector produced it.
    pub connector: Connector,
    /// AzCops tenant id.
    pub tenant_id: String,
    /// The subscription's Azure tenant.
    pub azure_tenant_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// The ingestion run.
    pub run_id: String,
    /// Correlation id sent to Azure as `x-ms-correlation-request-id`.
    pub correlation_id: String,
    /// When the exchanges were made.
    pub fetched_at: DateTime<Utc>,
    /// The cost days or metric window asked for, when the connector has one.
    pub window: Option<Window>,
    /// Every successful request and its response, as Azure sent it.
    pub exchanges: Vec<Exchange>,
}

/// The time range a snapshot covers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// First day / instant.
    pub start: DateTime<Utc>,
    /// Last day (costs, inclusive) / end instant (metrics, exclusive).
    pub end: DateTime<Utc>,
}

/// The inventory in a Resource Graph snapshot.
///
/// # Errors
/// A stored page does not decode.
pub fn resources(snapshot: &RawSnapshot) -> Result<Vec<ResourceRow>, IngestError> {
    Ok(resources_in_scope(snapshot)?.0)
}

/// The inventory in a Resource Graph snapshot, keeping only rows of the snapshot's own
/// subscription and Azure tenant, and how many rows were dropped for naming another one. A
/// response that mixes in another customer's rows must never put them in this tenant's scope.
///
/// # Errors
/// A stored page does not decode.
pub fn resources_in_scope(snapshot: &RawSnapshot) -> Result<(Vec<ResourceRow>, usize), IngestError> {
    resource_graph::rows_from_exchanges(
        &snapshot.exchanges,
        &snapshot.subscription_id,
        Some(&snapshot.azure_tenant_id),
    )
    .map_err(|e| replay_error(Connector::ResourceGraph, e))
}

/// The Advisor Cost recommendations in an Advisor snapshot.
///
/// # Errors
/// A stored page does not decode.
pub fn advisor_rows(snapshot: &RawSnapshot) -> Result<Vec<AdvisorRecommendationRow>, IngestError> {
    Ok(advisor_rows_in_scope(snapshot)?.0)
}

/// The Advisor Cost recommendations in an Advisor snapshot whose resource lies in the
/// snapshot's subscription, and how many named another subscription and were dropped.
///
/// # Errors
/// A stored page does not decode.
pub fn advisor_rows_in_scope(
    snapshot: &RawSnapshot,
) -> Result<(Vec<AdvisorRecommendationRow>, usize), IngestError> {
    advisor::rows_from_exchanges(&snapshot.exchanges, &snapshot.subscription_id)
        .map_err(|e| replay_error(Connector::Advisor, e))
}

/// The curated daily cost rows in a Cost Management snapshot (the connector's own mapping).
///
/// # Errors
/// A stored page does not decode, or a query of the snapshot is not one the connector sends.
pub fn cost_rows(snapshot: &RawSnapshot) -> Result<Vec<CostDailyRow>, IngestError> {
    match cost_management::rows_from_exchanges(&snapshot.subscription_id, &snapshot.exchanges) {
        Ok((rows, _)) => Ok(rows),
        Err(e) => Err(replay_error(Connector::CostManagement, e)),
    }
}

/// A connector's replay failure as the ledger records it: a decoder's own message, or the
/// whole error otherwise.
fn replay_error(connector: Connector, e: crate::azure::AzureError) -> IngestError {
    let reason = match e {
        crate::azure::AzureError::Decode { message, path, .. } if path.is_empty() => message,
        other => other.to_string(),
    };
    IngestError::Replay { connector: connector.as_str(), reason }
}

/// The VM rows and other resources' metric statistics in a Monitor snapshot.
///
/// # Errors
/// A stored response does not decode, or the snapshot has no window.
pub fn metric_rows(snapshot: &RawSnapshot) -> Result<(Vec<VmMetricsRow>, Vec<ResourceStats>), IngestError> {
    let window = snapshot.window.ok_or_else(|| IngestError::Replay {
        connector: Connector::Monitor.as_str(),
        reason: "the snapshot has no metric window".into(),
    })?;
    let window = MetricWindow { start: window.start, end: window.end };
    monitor::rows_from_exchanges(&snapshot.exchanges, window).map_err(|e| replay_error(Connector::Monitor, e))
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;

    fn snapshot(connector: Connector, response: serde_json::Value) -> RawSnapshot {
        RawSnapshot {
            connector,
            tenant_id: "t".into(),
            azure_tenant_id: "aaaa".into(),
            subscription_id: "s1".into(),
            run_id: "r".into(),
            correlation_id: "c".into(),
            fetched_at: Utc::now(),
            window: None,
            exchanges: vec![Exchange {
                api: "resource_graph".into(),
                method: "POST".into(),
                path: "/".into(),
                request: None,
                status: 200,
                response: RawValue::from_string(response.to_string()).unwrap(),
            }],
        }
    }

    #[test]
    fn rows_of_another_subscription_or_tenant_are_dropped_and_counted() {
        let row = |id: &str, sub: &str, tenant: &str| serde_json::json!({"id": id, "name": "x", "type": "microsoft.compute/disks", "subscriptionId": sub, "tenantId": tenant});
        let page = serde_json::json!({"totalRecords": 4, "count": 4, "data": [
            row("/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/disks/own", "s1", "AAAA"),
            row("/subscriptions/s2/resourcegroups/rg/providers/microsoft.compute/disks/other-sub", "s2", "aaaa"),
            row("/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/disks/other-tenant", "s1", "bbbb"),
            serde_json::json!({"id": "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/disks/no-tenant", "subscriptionId": "s1"}),
        ]});
        let (rows, foreign) = resources_in_scope(&snapshot(Connector::ResourceGraph, page)).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.resource_id.rsplit('/').next().unwrap_or("")).collect();
        assert_eq!(names, ["no-tenant", "own"]);
        assert_eq!(foreign, 2);
    }

    #[test]
    fn advisor_recommendations_for_another_subscription_are_dropped_and_counted() {
        let rec = |resource: &str| {
            serde_json::json!({"id": format!("{resource}/providers/Microsoft.Advisor/recommendations/1"),
                "properties": {"category": "Cost", "impact": "High",
                    "resourceMetadata": {"resourceId": resource}, "shortDescription": {"problem": "p", "solution": "s"}}})
        };
        let page = serde_json::json!({"value": [
            rec("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/own"),
            rec("/subscriptions/s9/resourceGroups/rg/providers/Microsoft.Compute/disks/theirs"),
        ]});
        let (rows, foreign) = advisor_rows_in_scope(&snapshot(Connector::Advisor, page)).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].resource_id.ends_with("/own"));
        assert_eq!(foreign, 1);
    }
}
