//! One module per Azure API: request builder, typed (tolerant) wire response, and mapper to
//! [`crate::model`] rows.

pub mod advisor;
pub mod cost_management;
pub mod cost_merge;
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
