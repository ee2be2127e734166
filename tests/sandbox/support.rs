//! Shared helpers: starting a sandbox, fixtures, requests.

use azcops::sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use chrono::NaiveDate;
use serde_json::Value;

/// The fixed as-of date every test estate uses.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// Starts a sandbox for `spec`, letting the test adjust the options first.
pub async fn start(spec: &str, tweak: impl FnOnce(&mut SandboxOptions)) -> RunningSandbox {
    let mut options = SandboxOptions::new(spec.parse().unwrap(), 42, as_of());
    tweak(&mut options);
    Sandbox::start(options).await.unwrap()
}

/// A plain client.
pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A fixture file from `../shared/fixtures/azure` (the shared directory can be moved with
/// `AZCOPS_SHARED_DIR` when it is not checked out next to the repository).
pub fn fixture(name: &str) -> Value {
    let shared = std::env::var_os("AZCOPS_SHARED_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        std::path::PathBuf::from,
    );
    let path = shared.join("fixtures/azure").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The 200 body of an x-ms-examples fixture.
pub fn example_body(name: &str) -> Value {
    fixture(name)["responses"]["200"]["body"].clone()
}

/// The full inventory query AzCops sends.
pub const INVENTORY: &str = "Resources | project id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, sku, tags, properties, managedBy, zones, identity, plan | order by id asc";

/// POSTs a Resource Graph query.
pub async fn graph(sb: &RunningSandbox, token: &str, body: &Value) -> reqwest::Response {
    let url = format!("{}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01", sb.base_url());
    client().post(url).bearer_auth(token).json(body).send().await.unwrap()
}

/// POSTs a Cost Management query for a subscription.
pub async fn cost(sb: &RunningSandbox, token: &str, sub: &str, body: &Value) -> reqwest::Response {
    let url = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.CostManagement/query?api-version=2025-03-01",
        sb.base_url()
    );
    client().post(url).bearer_auth(token).json(body).send().await.unwrap()
}

/// GETs a path under the sandbox with a token.
pub async fn get(sb: &RunningSandbox, token: &str, path_and_query: &str) -> reqwest::Response {
    client().get(format!("{}{path_and_query}", sb.base_url())).bearer_auth(token).send().await.unwrap()
}

/// A daily cost query body over `[from, to]` grouped by the given dimensions.
pub fn cost_body(kind: &str, from: &str, to: &str, groups: &[&str]) -> Value {
    let grouping: Vec<Value> =
        groups.iter().map(|g| serde_json::json!({ "type": "Dimension", "name": g })).collect();
    serde_json::json!({
        "type": kind, "timeframe": "Custom",
        "timePeriod": { "from": format!("{from}T00:00:00Z"), "to": format!("{to}T23:59:59Z") },
        "dataset": { "granularity": "Daily", "aggregation": { "totalCost": { "name": "Cost", "function": "Sum" } }, "grouping": grouping }
    })
}

/// The first delegated customer subscription (tenant ≠ 0).
pub fn lighthouse_subscription(sb: &RunningSandbox) -> String {
    sb.estate().subscriptions.iter().find(|s| s.tenant != 0 && s.delegated).unwrap().id.clone()
}

/// The non-delegated subscription.
pub fn hidden_subscription(sb: &RunningSandbox) -> String {
    sb.estate().subscriptions.iter().find(|s| !s.delegated).unwrap().id.clone()
}
