//! Runs every connector for one subscription: the unit a fan-out over many subscriptions (and
//! the 50-subscription benchmark against the sandbox) is built from.

use chrono::{NaiveDate, Utc};

use crate::azure::connectors::cost_management::{self, CostReport, CostScope};
use crate::azure::connectors::monitor::{self, MetricWindow};
use crate::azure::connectors::{advisor, resource_graph};
use crate::azure::{ArmClient, AzureError, CallContext};
use crate::model::{AdvisorRecommendationRow, CostDailyRow, ResourceRow, VmMetricsRow};

/// What one subscription's collection produced.
#[derive(Debug, Default)]
pub struct SubscriptionCollection {
    /// Inventory.
    pub resources: Vec<ResourceRow>,
    /// Daily costs over the window.
    pub costs: Vec<CostDailyRow>,
    /// How the cost rows were assembled.
    pub cost_report: CostReport,
    /// Advisor Cost recommendations.
    pub advisor: Vec<AdvisorRecommendationRow>,
    /// VM utilisation rows.
    pub vm_metrics: Vec<VmMetricsRow>,
    /// App Service plan (`CpuPercentage`, `MemoryPercentage`) and SQL DTU statistics.
    pub resource_metrics: Vec<crate::model::ResourceMetric>,
    /// Resources whose metrics failed, with the error text (the others are unaffected).
    pub metric_errors: Vec<(String, String)>,
    /// HTTP attempts the client sent during this collection (exact when the client is not
    /// shared with concurrent work; otherwise read `client.counters()` once at the end).
    pub requests: u64,
}

fn total_requests(client: &ArmClient) -> u64 {
    crate::azure::Api::ALL.iter().map(|a| client.counters().requests(*a)).sum()
}

/// Collects inventory, costs for `[from, to]`, Advisor and 14 days of VM, App Service plan and
/// SQL database metrics for one subscription. Inventory, costs and Advisor run concurrently;
/// metrics follow for the resources the inventory found.
///
/// # Errors
/// The first failure of the inventory, cost or Advisor connector (VM metric failures are
/// reported in `metric_errors` instead).
pub async fn collect_subscription(
    client: &ArmClient,
    ctx: &CallContext,
    subscription_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<SubscriptionCollection, AzureError> {
    let before = total_requests(client);
    let scope = CostScope::Subscription(subscription_id.to_ascii_lowercase());
    let (resources, (costs, cost_report), advisor) = tokio::try_join!(
        resource_graph::fetch_inventory(client, ctx, subscription_id),
        cost_management::collect_range(client, ctx, &scope, from, to),
        advisor::fetch_recommendations(client, ctx, subscription_id),
    )?;
    let vms: Vec<String> = resources
        .iter()
        .filter(|r| r.resource_type == "microsoft.compute/virtualmachines")
        .map(|r| r.resource_id.clone())
        .collect();
    let window = MetricWindow::last_days(monitor::VM_WINDOW_DAYS, Utc::now());
    let concurrency = client.config().metrics_concurrency;
    let targets: Vec<(String, &'static [&'static str])> = resources
        .iter()
        .filter_map(|r| match r.resource_type.as_str() {
            "microsoft.web/serverfarms" => Some((r.resource_id.clone(), monitor::APP_SERVICE_PLAN_METRICS)),
            "microsoft.sql/servers/databases" => Some((r.resource_id.clone(), monitor::SQL_DTU_METRICS)),
            _ => None,
        })
        .collect();
    let (metrics, others) = tokio::join!(
        monitor::fetch_vm_metrics(client, ctx, &vms, window, concurrency),
        monitor::fetch_resource_metrics(client, ctx, &targets, window, concurrency),
    );
    let mut metric_errors: Vec<(String, String)> =
        metrics.errors.into_iter().map(|(id, e)| (id, e.to_string())).collect();
    metric_errors.extend(others.errors.into_iter().map(|(id, e)| (id, e.to_string())));
    Ok(SubscriptionCollection {
        resources,
        costs,
        cost_report,
        advisor,
        vm_metrics: metrics.rows,
        resource_metrics: others.rows,
        metric_errors,
        requests: total_requests(client) - before,
    })
}
