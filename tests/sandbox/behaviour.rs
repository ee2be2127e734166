//! Behaviour: error shapes, the KQL subset, cost limits, and consistency between inventory,
//! cost rows, retail prices, metrics and ground truth.

use azcops::sandbox::estate::{Kind, Plant};
use azcops::sandbox::prices;
use serde_json::{Value, json};

use crate::support::{self, client, start};

#[tokio::test]
async fn kql_errors_get_resource_graphs_error_shape() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let r = support::graph(&sb, &token, &json!({ "query": "Resources | where name == 'x" })).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest");
    assert_eq!(body["error"]["details"][0]["code"], "InvalidQuery");
    assert_eq!(body["error"]["details"][1]["code"], "ParserFailure");
    assert_eq!(body["error"]["details"][1]["line"], 1);
    assert_eq!(body["error"]["details"][1]["characterPositionInLine"], 26);
    let r = support::graph(&sb, &token, &json!({ "query": "Resources | search 'x'" })).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["details"][1]["code"], "InvalidQueryLanguage");
    assert_eq!(body["error"]["details"][1]["token"], "search");
    let r = support::graph(&sb, &token, &json!({ "query": "Resources | distinct type" })).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let codes: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["SandboxUnsupportedQuery"], "a valid query is not called invalid");
    let disks = json!({ "subscriptions": [sb.estate().subscriptions[0].id], "query": "Resources | where type =~ 'Microsoft.Compute/disks' | count" });
    let counted: Value = support::graph(&sb, &token, &disks).await.json().await.unwrap();
    let expected = sb.estate().resources_of(0).iter().filter(|r| matches!(r.kind, Kind::Disk { .. })).count();
    assert_eq!(counted["data"][0]["Count"], expected);
    let table = json!({ "query": "Resources | project id, name, tags | limit 2", "options": { "resultFormat": "table" } });
    let body: Value = support::graph(&sb, &token, &table).await.json().await.unwrap();
    assert_eq!(body["data"]["columns"][2], json!({ "name": "tags", "type": "object" }));
    assert_eq!(body["data"]["rows"].as_array().unwrap().len(), 2);
    assert_eq!(body["totalRecords"], 2);
}

#[tokio::test]
async fn cost_management_refuses_three_groupings_and_long_periods() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();
    let three = support::cost_body(
        "ActualCost",
        "2026-11-01",
        "2026-11-02",
        &["ResourceGroupName", "ServiceName", "MeterCategory"],
    );
    let r = support::cost(&sb, &token, &sub, &three).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest");
    let long = support::cost_body("ActualCost", "2025-01-01", "2026-11-02", &["ServiceName"]);
    assert_eq!(support::cost(&sb, &token, &sub, &long).await.status(), 400);
    let before = support::cost_body("ActualCost", "2024-01-01", "2024-01-31", &["ServiceName"]);
    assert_eq!(support::cost(&sb, &token, &sub, &before).await.status(), 204);
}

#[tokio::test]
async fn inventory_cost_rows_retail_prices_and_truth_agree() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let estate = sb.estate();
    let vm =
        estate.resources.iter().find(|r| r.plant == Plant::Finding("rate.reserved_instance_gap")).unwrap();
    let Kind::Vm { size, .. } = vm.kind else { panic!() };
    let size = prices::VM_SIZES[size];
    let sub = estate.subscriptions[vm.sub].id.clone();
    let filter =
        json!({ "dimensions": { "name": "ResourceId", "operator": "In", "values": [vm.id.to_lowercase()] } });
    let mut body =
        support::cost_body("ActualCost", "2026-11-20", "2026-11-20", &["ResourceId", "MeterCategory"]);
    body["dataset"]["filter"] = filter;
    let page: Value = support::cost(&sb, &token, &sub, &body).await.json().await.unwrap();
    let rows = page["properties"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert!((rows[0][0].as_f64().unwrap() - size.meter.price * 24.0).abs() < 1e-9);
    assert_eq!(rows[0][1], vm.id.to_lowercase());
    assert_eq!(rows[0][2], "Virtual Machines");
    assert_eq!(rows[0][3], 20261120);

    let url = format!(
        "{}/api/retail/prices?$filter=armRegionName%20eq%20%27{}%27%20and%20armSkuName%20eq%20%27{}%27%20and%20priceType%20eq%20%27Consumption%27",
        sb.base_url(),
        vm.location,
        size.name
    );
    let retail: Value = client().get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(retail["Items"][0]["retailPrice"].as_f64().unwrap(), size.meter.price);

    let truth = sb
        .ground_truth()
        .iter()
        .find(|t| t.resource_id == vm.id.to_lowercase() && t.finding == "rate.reserved_instance_gap")
        .unwrap();
    assert!((truth.true_monthly_cost - size.meter.price * 730.0).abs() < 1e-3);

    // Reservation-covered usage bills 0 actual but carries its amortized share.
    let reserved = estate
        .resources
        .iter()
        .find(|r| matches!(r.kind, Kind::Vm { reserved: true, .. }) && r.sub == vm.sub);
    if let Some(reserved) = reserved {
        for (kind, positive) in [("ActualCost", false), ("AmortizedCost", true)] {
            let mut b = support::cost_body(kind, "2026-11-20", "2026-11-20", &["ResourceId"]);
            b["dataset"]["filter"] = json!({ "dimensions": { "name": "ResourceId", "operator": "In", "values": [reserved.id.to_lowercase()] } });
            let p: Value = support::cost(&sb, &token, &sub, &b).await.json().await.unwrap();
            assert_eq!(p["properties"]["rows"][0][0].as_f64().unwrap() > 0.0, positive, "{kind}");
        }
    }
}

#[tokio::test]
async fn underutilised_vms_show_low_cpu_and_near_misses_have_gaps() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let estate = sb.estate();
    let p95 = |body: &Value| {
        let data = body["value"][0]["timeseries"][0]["data"].as_array().unwrap().clone();
        let mut v: Vec<f64> = data.iter().filter_map(|d| d.get("average").and_then(Value::as_f64)).collect();
        let coverage = v.len() as f64 / data.len() as f64;
        v.sort_by(f64::total_cmp);
        (v[(v.len() as f64 * 0.95) as usize - 1], coverage)
    };
    for (plant, low_coverage) in [
        (Plant::Finding("rightsizing.underutilised_vm"), false),
        (Plant::NearMiss("low CPU but under 80% metric coverage"), true),
    ] {
        let vm = estate.resources.iter().find(|r| r.plant == plant).unwrap();
        let path = format!(
            "{}/providers/Microsoft.Insights/metrics?api-version=2023-10-01&metricnames=Percentage%20CPU&timespan=2026-11-11T00:00:00Z/2026-11-25T00:00:00Z&interval=PT1H&aggregation=average",
            vm.id
        );
        let body: Value = support::get(&sb, &token, &path).await.json().await.unwrap();
        let (p95, coverage) = p95(&body);
        assert!(p95 < 20.0, "{p95}");
        assert_eq!(coverage < 0.8, low_coverage, "{coverage}");
    }
    let bad_metric = format!(
        "{}/providers/microsoft.insights/metrics?api-version=2023-10-01&metricnames=Nope",
        estate.resources.iter().find(|r| matches!(r.kind, Kind::Vm { .. })).unwrap().id
    );
    let r = support::get(&sb, &token, &bad_metric).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "BadRequest", "metrics errors are not wrapped");
}
