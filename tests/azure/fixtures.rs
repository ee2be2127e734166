//! Every fixture for these APIs in `../shared/fixtures/azure/` decodes through the connector's
//! response types and mapper.

use azcops::azure::Api;
use azcops::azure::client::{decode, error_envelope};
use azcops::azure::connectors::advisor::{self, Recommendation, RecommendationList};
use azcops::azure::connectors::cost_management::QueryResult;
use azcops::azure::connectors::monitor::{self, MetricWire, MetricsResponse};
use azcops::azure::connectors::resource_graph::{self, QueryResponse};
use azcops::azure::connectors::retail_prices::RetailPrice;
use azcops::azure::connectors::subscriptions::{self, SubscriptionListResponse, SubscriptionWire};
use azcops::rules::facts::{self, ResourceFacts};
use chrono::NaiveDate;
use serde_json::Value;

/// `../shared` next to the repository, or `AZCOPS_SHARED_DIR` when the checkout is laid out
/// differently.
pub fn shared_dir() -> String {
    std::env::var("AZCOPS_SHARED_DIR").unwrap_or_else(|_| format!("{}/../shared", env!("CARGO_MANIFEST_DIR")))
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/azure/{name}", shared_dir());
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn body(name: &str) -> Vec<u8> {
    serde_json::to_vec(&fixture(name)["responses"]["200"]["body"]).unwrap()
}

#[test]
fn resource_graph_fixtures() {
    let cases = [
        ("resourcegraph-2024-04-01-ResourcesBasicQuery.json", false),
        ("resourcegraph-2024-04-01-ResourcesFacetQuery.json", false),
        ("resourcegraph-2024-04-01-ResourcesFirstPageQuery.json", true),
        ("resourcegraph-2024-04-01-ResourcesMgBasicQuery.json", false),
        ("resourcegraph-2024-04-01-ResourcesNextPageQuery.json", true),
        ("resourcegraph-2024-04-01-ResourcesRandomPageQuery.json", true),
    ];
    for (name, has_token) in cases {
        let page: QueryResponse = decode(Api::ResourceGraph, &body(name)).unwrap();
        assert_eq!(page.skip_token.is_some(), has_token, "{name}");
        let rows = page.rows();
        assert_eq!(rows.len() as i64, page.count.unwrap(), "{name}");
        let mapped: Vec<_> = rows.iter().filter_map(resource_graph::map_resource).collect();
        assert_eq!(mapped.len(), rows.len(), "{name}: every row has an id");
        for r in &mapped {
            assert_eq!(r.resource_id, r.resource_id.to_ascii_lowercase());
            assert_eq!(r.resource_type, r.resource_type.to_ascii_lowercase());
            assert_eq!(r.location, r.location.to_ascii_lowercase());
            assert!(!r.resource_group.is_empty(), "{name}: {}", r.resource_id);
            let _ = facts::extract(r);
        }
    }
    let first: QueryResponse =
        decode(Api::ResourceGraph, &body("resourcegraph-2024-04-01-ResourcesFirstPageQuery.json")).unwrap();
    let rows: Vec<_> = first.rows().iter().filter_map(resource_graph::map_resource).collect();
    assert_eq!(rows[0].resource_group, "rg1");
    assert_eq!(rows[0].subscription_id, "cfbbd179-59d2-4052-aa06-9270a38aa9d6");
    assert!(matches!(facts::extract(&rows[0]), ResourceFacts::Disk(_)));
    assert_eq!(first.result_truncated, Some(Value::String("false".into())));
}

#[test]
fn cost_management_query_fixtures() {
    let cases = [
        ("costmanagement-2025-03-01-SubscriptionQuery.json", 4, true),
        ("costmanagement-2025-03-01-SubscriptionQueryGrouping.json", 4, false),
        ("costmanagement-2025-03-01-ResourceGroupQueryGrouping.json", 1, true),
        ("costmanagement-2025-03-01-MCABillingAccountQueryGrouping.json", 3, false),
    ];
    for (name, min_rows, dated) in cases {
        let result: QueryResult = decode(Api::CostManagement, &body(name)).unwrap();
        let props = result.properties.unwrap();
        let cells = props.cells().unwrap();
        assert!(cells.len() >= min_rows, "{name}: {}", cells.len());
        for c in &cells {
            assert_eq!(c.date.is_some(), dated, "{name}");
            assert_eq!(c.currency, "USD");
            assert!(c.cost.is_finite());
        }
    }
    let q: QueryResult =
        decode(Api::CostManagement, &body("costmanagement-2025-03-01-SubscriptionQuery.json")).unwrap();
    let cells = q.properties.unwrap().cells().unwrap();
    assert!((cells[1].cost - 218.68795741935486).abs() < 1e-9, "{}", cells[1].cost);
    assert_eq!(cells[1].date, NaiveDate::from_ymd_opt(2018, 3, 31));
    assert_eq!(cells[1].dim("ResourceGroup"), Some("Ict_StratAndPlan_GoldSprova_Prod"));
    let mca: QueryResult =
        decode(Api::CostManagement, &body("costmanagement-2025-03-01-MCABillingAccountQueryGrouping.json"))
            .unwrap();
    assert!(mca.properties.unwrap().next_link.unwrap().contains("$skiptoken="));
}

#[test]
fn advisor_fixtures() {
    let list: RecommendationList =
        decode(Api::Advisor, &body("advisor-2023-01-01-ListRecommendations.json")).unwrap();
    assert!(list.next_link.is_some());
    assert!(!list.value.is_empty());
    for rec in &list.value {
        let row = advisor::map_recommendation("SubscriptionId", rec).unwrap();
        assert!(row.savings_estimated, "spec examples carry no savings keys");
        assert!(!row.resource_id.is_empty());
        assert_eq!(row.subscription_id, "subscriptionid");
    }
    let one: Recommendation =
        decode(Api::Advisor, &body("advisor-2023-01-01-GetRecommendationDetail.json")).unwrap();
    assert!(advisor::map_recommendation("s", &one).is_some());
}

#[test]
fn monitor_fixtures() {
    let m: MetricsResponse = decode(Api::Monitor, &body("monitor-2023-10-01-GetMetric.json")).unwrap();
    let stats: Vec<_> = m.value.iter().map(monitor::stats_of).collect();
    assert!(stats.iter().all(|s| s.error.is_none()));
    assert!(stats.iter().any(|s| s.datapoints > 0));
    let e: MetricsResponse = decode(Api::Monitor, &body("monitor-2023-10-01-GetMetricError.json")).unwrap();
    let stats: Vec<_> = e.value.iter().map(monitor::stats_of).collect();
    assert!(stats[0].error.as_deref().unwrap().starts_with("InvalidSamplingType"));
    assert_eq!((stats[1].datapoints, stats[1].avg), (1, Some(0.0)), "0 is a value");
    let batch = fixture("monitor-metricsbatch-2024-02-01-MetricBatchExample.json");
    for entry in batch["responses"]["200"]["body"]["values"].as_array().unwrap() {
        for metric in entry["value"].as_array().unwrap() {
            let w: MetricWire = serde_json::from_value(metric.clone()).unwrap();
            let s = monitor::stats_of(&w);
            let points = w.timeseries.iter().map(|t| t.data.len() as i64).sum::<i64>();
            assert!(s.datapoints <= points);
        }
    }
    let err = serde_json::to_vec(&batch["responses"]["default"]["body"]).unwrap();
    assert!(!error_envelope(&err).0.is_empty());
}

#[test]
fn subscription_fixtures() {
    let list: SubscriptionListResponse =
        decode(Api::Subscriptions, &body("arm-subscriptions-2022-12-01-GetSubscriptions.json")).unwrap();
    let subs: Vec<_> = list.value.iter().filter_map(subscriptions::map_subscription).collect();
    assert_eq!(subs.len(), 2);
    assert!(subs[0].is_delegated_to("8f70baf1-1f6e-46a2-a1ff-238dac1ebfb7"));
    assert_eq!(subs[1].managed_by_tenants.len(), 2);
    let one: SubscriptionWire =
        decode(Api::Subscriptions, &body("arm-subscriptions-2022-12-01-GetSubscription.json")).unwrap();
    assert!(subscriptions::map_subscription(&one).is_some());
}

#[test]
fn retail_price_fixtures() {
    for name in [
        "retailprices-docs-2021-09-27-sample-item-devtestconsumption.json",
        "retailprices-docs-2021-09-27-sample-item-eur.json",
        "retailprices-docs-2021-09-27-sample-item-reservation.json",
    ] {
        let item: RetailPrice = serde_json::from_value(fixture(name)).unwrap();
        assert!(item.hourly().is_some(), "{name}");
    }
    let r: RetailPrice =
        serde_json::from_value(fixture("retailprices-docs-2021-09-27-sample-item-reservation.json")).unwrap();
    assert_eq!(r.price_type.as_deref(), Some("Reservation"));
    assert!(r.hourly().unwrap() < r.retail_price.unwrap());
}
