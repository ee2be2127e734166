//! api-version checks: each API accepts only the versions Azure publishes for it, and refuses
//! the rest with the answer Azure gives.
//!
//! Two answers exist, because two different layers of ARM refuse a version:
//! - Microsoft.Resources itself (`/subscriptions`, `/tenants`, `/subscriptions/{id}`) answers
//!   400 `InvalidApiVersionParameter`, "The api-version 'X' is invalid. The supported versions
//!   are '…'." (wording as quoted from the service in Azure/azure-sdk-for-net#3160 and
//!   ansible-collections/azure#188).
//! - A resource provider's type (Resource Graph, Cost Management, Advisor, Insights) is refused
//!   by ARM's routing with 404 `InvalidResourceType`, "The resource type 'Query' could not be
//!   found in the namespace 'Microsoft.CostManagement' for api version 'X'. The supported
//!   api-versions are '…'." (as quoted in Azure/azure-sdk-for-python#16102 and #27327).
//!
//! Either layer answers a request with no api-version at all with 400
//! `MissingApiVersionParameter`. The version lists follow the api-version folders of each
//! provider in Azure/azure-rest-api-specs (`specification/<service>/resource-manager/…`; checked
//! against the repository listing for Resource Graph, and for Cost Management against the list
//! the service itself printed in Azure/azure-sdk-for-python#16102 plus the later stable folders),
//! and include the versions `../shared/spec/azure-apis.md` §0 pins and every version AzCops's own
//! client and the official Python SDKs of the contract suite send. A version missing here that
//! Azure serves would be a sandbox bug: add it with its source.
//!
//! Retail Prices is not an ARM API (no error documented for an unknown version) and the token
//! endpoints are not versioned by ARM: neither is checked.

use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::server::{arm_error, query_map};

/// An API whose api-version is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionedApi {
    /// `GET /subscriptions`, `/subscriptions/{id}`, `/tenants` (Microsoft.Resources).
    Resources,
    /// `POST /providers/Microsoft.ResourceGraph/resources`.
    ResourceGraph,
    /// `POST {scope}/providers/Microsoft.CostManagement/query`.
    CostQuery,
    /// `GET /subscriptions/{id}/providers/Microsoft.Advisor/recommendations`.
    Advisor,
    /// `GET {resourceId}/providers/Microsoft.Insights/metrics`.
    Metrics,
}

/// Microsoft.Resources subscriptions/tenants (specification/resources/…/subscriptions).
const RESOURCES: &[&str] = &[
    "2022-12-01",
    "2021-01-01",
    "2020-01-01",
    "2019-11-01",
    "2019-06-01",
    "2018-06-01",
    "2016-06-01",
    "2015-11-01",
    "2014-04-01-preview",
];
/// Microsoft.ResourceGraph/resources (specification/resourcegraph/…); the SDK 8.x sends 2021-03-01.
const RESOURCE_GRAPH: &[&str] = &[
    "2024-04-01",
    "2022-10-01",
    "2021-06-01-preview",
    "2021-03-01",
    "2020-09-01-preview",
    "2020-04-01-preview",
    "2019-04-01",
    "2018-09-01-preview",
];
/// Microsoft.CostManagement/query (specification/cost-management/…; the pre-2020 list is the
/// one the service printed in Azure/azure-sdk-for-python#16102).
const COST_QUERY: &[&str] = &[
    "2025-03-01",
    "2024-08-01",
    "2023-11-01",
    "2023-09-01",
    "2023-08-01",
    "2023-07-01-preview",
    "2023-04-01-preview",
    "2023-03-01",
    "2022-10-01",
    "2021-10-01",
    "2019-11-01",
    "2019-10-01",
    "2019-05-01-preview",
    "2019-04-01-preview",
    "2019-03-01-preview",
    "2019-01-01",
    "2018-12-01-preview",
    "2018-10-01-preview",
    "2018-08-31",
    "2018-08-01-preview",
    "2018-05-31",
];
/// Microsoft.Advisor/recommendations (specification/advisor/…); the SDK 9.x sends 2020-01-01.
const ADVISOR: &[&str] = &[
    "2025-01-01",
    "2023-01-01",
    "2022-10-01",
    "2020-01-01",
    "2017-04-19",
    "2017-03-31",
    "2016-07-12-preview",
];
/// Microsoft.Insights/metrics (specification/monitor/…); the SDK 7.x sends 2024-02-01.
const METRICS: &[&str] = &[
    "2024-02-01",
    "2023-10-01",
    "2021-05-01",
    "2019-07-01",
    "2018-01-01",
    "2017-05-01-preview",
    "2016-09-01",
];

impl VersionedApi {
    /// Which checked API a request is, if any.
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        let p = path.trim_end_matches('/').to_ascii_lowercase();
        let segments = p.split('/').filter(|s| !s.is_empty()).count();
        if p.ends_with("/providers/microsoft.resourcegraph/resources") {
            Some(Self::ResourceGraph)
        } else if p.ends_with("/providers/microsoft.costmanagement/query") {
            Some(Self::CostQuery)
        } else if p.ends_with("/providers/microsoft.advisor/recommendations") {
            Some(Self::Advisor)
        } else if p.ends_with("/providers/microsoft.insights/metrics") {
            Some(Self::Metrics)
        } else if method == Method::GET
            && (p == "/subscriptions"
                || p == "/tenants"
                || (p.starts_with("/subscriptions/") && segments == 2))
        {
            Some(Self::Resources)
        } else {
            None
        }
    }

    /// The versions Azure accepts, newest first.
    pub fn supported(self) -> &'static [&'static str] {
        match self {
            Self::Resources => RESOURCES,
            Self::ResourceGraph => RESOURCE_GRAPH,
            Self::CostQuery => COST_QUERY,
            Self::Advisor => ADVISOR,
            Self::Metrics => METRICS,
        }
    }

    /// (resource type, namespace) as ARM names them in `InvalidResourceType`.
    fn resource_type(self) -> (&'static str, &'static str) {
        match self {
            Self::Resources => ("subscriptions", "Microsoft.Resources"),
            Self::ResourceGraph => ("resources", "Microsoft.ResourceGraph"),
            Self::CostQuery => ("Query", "Microsoft.CostManagement"),
            Self::Advisor => ("recommendations", "Microsoft.Advisor"),
            Self::Metrics => ("metrics", "Microsoft.Insights"),
        }
    }

    /// Checks the request's api-version (case-insensitive name, exact value).
    ///
    /// # Errors
    /// Missing or unsupported version: Azure's answer (see the module docs).
    pub fn check(self, raw_query: Option<&str>) -> Result<(), Box<Response>> {
        let params = query_map(raw_query);
        let Some(version) = params.get("api-version") else {
            return Err(Box::new(arm_error(
                StatusCode::BAD_REQUEST,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )));
        };
        let supported = self.supported();
        if supported.contains(&version.as_str()) {
            return Ok(());
        }
        let list = supported.join(",");
        let response = match self {
            Self::Resources => arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersionParameter",
                &format!("The api-version '{version}' is invalid. The supported versions are '{list}'."),
            ),
            _ => {
                let (kind, namespace) = self.resource_type();
                arm_error(
                    StatusCode::NOT_FOUND,
                    "InvalidResourceType",
                    &format!(
                        "The resource type '{kind}' could not be found in the namespace '{namespace}' for api version '{version}'. The supported api-versions are '{list}'."
                    ),
                )
            }
        };
        Err(Box::new(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_map_to_their_api() {
        let get = Method::GET;
        assert_eq!(VersionedApi::of(&get, "/subscriptions"), Some(VersionedApi::Resources));
        assert_eq!(VersionedApi::of(&get, "/subscriptions/abc/"), Some(VersionedApi::Resources));
        assert_eq!(VersionedApi::of(&get, "/tenants"), Some(VersionedApi::Resources));
        let cost = "/subscriptions/a/resourceGroups/b/providers/Microsoft.CostManagement/query";
        assert_eq!(VersionedApi::of(&Method::POST, cost), Some(VersionedApi::CostQuery));
        let metrics =
            "/subscriptions/a/resourceGroups/b/providers/x/y/z/providers/microsoft.insights/metrics";
        assert_eq!(VersionedApi::of(&get, metrics), Some(VersionedApi::Metrics));
        assert_eq!(VersionedApi::of(&get, "/api/retail/prices"), None);
        assert_eq!(VersionedApi::of(&get, "/msi/token"), None);
    }

    #[test]
    fn azcops_and_sdk_versions_are_accepted_and_others_refused() {
        // AzCops's own client (handlers/azure/connectors/mod.rs) and the official Python SDKs.
        for (api, v) in [
            (VersionedApi::Resources, "2022-12-01"),
            (VersionedApi::ResourceGraph, "2024-04-01"),
            (VersionedApi::ResourceGraph, "2021-03-01"),
            (VersionedApi::CostQuery, "2025-03-01"),
            (VersionedApi::CostQuery, "2021-10-01"),
            (VersionedApi::Advisor, "2023-01-01"),
            (VersionedApi::Advisor, "2020-01-01"),
            (VersionedApi::Metrics, "2023-10-01"),
            (VersionedApi::Metrics, "2024-02-01"),
        ] {
            assert!(api.check(Some(&format!("api-version={v}"))).is_ok(), "{api:?} {v}");
        }
        let bad = VersionedApi::Resources.check(Some("api-version=1999-01-01")).unwrap_err();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let bad = VersionedApi::CostQuery.check(Some("API-VERSION=1999-01-01")).unwrap_err();
        assert_eq!(bad.status(), StatusCode::NOT_FOUND);
        let missing = VersionedApi::Advisor.check(Some("$top=1")).unwrap_err();
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    }
}
