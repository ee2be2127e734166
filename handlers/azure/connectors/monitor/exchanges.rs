//! Monitor rows from recorded exchanges: the one mapping from metric responses to VM rows and
//! per-resource statistics, used by ingestion's snapshot replay.

use super::{MetricStats, MetricWindow, MetricsResponse, VM_CPU, VM_MEMORY, stats_of, vm_row};
use crate::azure::client::Exchange;
use crate::azure::{Api, AzureError};
use crate::model::VmMetricsRow;

/// Metric statistics of one non-VM resource (App Service plans, SQL databases).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceStats {
    /// Lower-cased resource id.
    pub resource_id: String,
    /// Statistics per metric.
    pub stats: Vec<MetricStats>,
    /// The window the statistics cover.
    pub window: MetricWindow,
}

/// The VM rows and other resources' statistics in recorded metric exchanges over `window`,
/// each sorted by resource id. A resource whose call failed simply has no exchange.
///
/// # Errors
/// `Decode` when a recorded response does not decode.
pub fn rows_from_exchanges(
    exchanges: &[Exchange],
    window: MetricWindow,
) -> Result<(Vec<VmMetricsRow>, Vec<ResourceStats>), AzureError> {
    let mut vms = Vec::new();
    let mut others = Vec::new();
    for exchange in exchanges {
        // The path is `{resourceId}/providers/Microsoft.Insights/metrics?…`.
        let path = exchange.path.to_ascii_lowercase();
        let resource_id =
            path.split("/providers/microsoft.insights/metrics").next().unwrap_or_default().to_owned();
        let response: MetricsResponse = serde_json::from_str(exchange.response.get())
            .map_err(|e| crate::azure::connectors::undecodable(Api::Monitor, &e))?;
        let stats: Vec<MetricStats> = response.value.iter().map(stats_of).collect();
        let find = |name: &str| {
            stats.iter().find(|s| s.name.eq_ignore_ascii_case(name)).cloned().unwrap_or_default()
        };
        if resource_id.contains("/microsoft.compute/virtualmachines/") {
            vms.push(vm_row(&resource_id, window, &find(VM_CPU), &find(VM_MEMORY)));
        } else {
            others.push(ResourceStats { resource_id, stats, window });
        }
    }
    vms.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    others.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    Ok((vms, others))
}
