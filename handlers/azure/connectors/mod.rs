//! One module per Azure API: request builder, typed (tolerant) wire response, and mapper to
//! [`crate::model`] rows.

pub mod advisor;
pub mod cost_management;
pub mod cost_merge;
pub mod cost_plan;
pub mod monitor;
pub mod resource_graph;
pub mod retail_prices;
pub mod subscriptions;

/// api-version of `GET /subscriptions`.
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
/// api-version of Resource Graph.
pub const RESOURCE_GRAPH_API_VERSION: &str = "2024-04-01";
/// api-version of Cost Management Query.
pub const COST_MANAGEMENT_API_VERSION: &str = "2025-03-01";
/// api-version of Advisor.
pub const ADVISOR_API_VERSION: &str = "2023-01-01";
/// api-version of Monitor metrics.
pub const MONITOR_API_VERSION: &str = "2023-10-01";
/// api-version of Retail Prices.
pub const RETAIL_PRICES_API_VERSION: &str = "2023-01-01-preview";

/// The resource group segment of an ARM id, lower-cased (empty when there is none).
pub fn resource_group_of(resource_id: &str) -> String {
    let mut parts = resource_id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("resourcegroups") {
            return parts.next().unwrap_or_default().to_ascii_lowercase();
        }
    }
    String::new()
}

/// The subscription segment of an ARM id, lower-cased (empty when there is none).
pub fn subscription_of(resource_id: &str) -> String {
    let mut parts = resource_id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("subscriptions") {
            return parts.next().unwrap_or_default().to_ascii_lowercase();
        }
    }
    String::new()
}

/// A copy of `ctx` that records its exchanges, and the recorder to read them from: how a
/// connector's fetch keeps the responses it then maps with its `rows_from_exchanges`.
pub fn recording(
    ctx: &crate::azure::CallContext,
) -> (crate::azure::CallContext, crate::azure::client::Recorder) {
    let recorder = crate::azure::client::Recorder::default();
    (ctx.clone().recording(recorder.clone()), recorder)
}

/// Takes the exchanges `recorder` holds.
pub fn recorded(recorder: &crate::azure::client::Recorder) -> Vec<crate::azure::client::Exchange> {
    std::mem::take(&mut *recorder.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// A recorded response that does not decode, as the replay reports it (no JSON path: the
/// decoder's message says where).
pub fn undecodable(api: crate::azure::Api, e: &serde_json::Error) -> crate::azure::AzureError {
    crate::azure::AzureError::Decode { api, path: String::new(), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_segments() {
        let id = "/subscriptions/ABC/resourceGroups/RG-One/providers/Microsoft.Compute/disks/d1";
        assert_eq!(resource_group_of(id), "rg-one");
        assert_eq!(subscription_of(id), "abc");
        assert_eq!(resource_group_of("/subscriptions/abc"), "");
        assert_eq!(resource_group_of(""), "");
    }
}
