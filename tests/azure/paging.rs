//! Every paging style followed to the end; loops and truncated pages fail without partial data.

use azcops::azure::connectors::cost_management::{self, CostScope};
use azcops::azure::connectors::retail_prices::{PriceQuery, RetailPriceCache};
use azcops::azure::connectors::{advisor, resource_graph};
use azcops::azure::{Api, AzureError, CallContext};
use chrono::NaiveDate;
use serde_json::json;

use crate::fake::{Fake, Reply, query_param};

const SUB: &str = "11111111-1111-1111-1111-111111111111";

fn resource(name: &str, kind: &str) -> serde_json::Value {
    json!({
        "id": format!("/subscriptions/{SUB}/resourceGroups/RG-Web/providers/{kind}/{name}"),
        "name": name, "type": kind.to_ascii_lowercase(), "location": "eastus", "resourceGroup": "RG-Web",
        "subscriptionId": SUB, "tags": {"env": "prod"}, "properties": {}, "sku": null
    })
}

#[tokio::test]
async fn resource_graph_follows_skip_token_in_the_body() {
    let fake = Fake::start(|seen, _| {
        match seen.body["options"]["$skipToken"].as_str() {
            None => Reply::json(200, json!({"totalRecords": 3, "count": 2, "resultTruncated": "false", "$skipToken": "page-2",
                "data": [resource("a", "Microsoft.Compute/disks"), resource("b", "Microsoft.Compute/disks")]})),
            Some("page-2") => Reply::json(200, json!({"totalRecords": 3, "count": 1, "resultTruncated": "false",
                "data": [resource("c", "Microsoft.Compute/virtualMachines")]})),
            Some(other) => Reply::json(400, json!({"error": {"code": "BadRequest", "message": other}})),
        }
    })
    .await;
    let rows =
        resource_graph::fetch_inventory(&fake.client(), &CallContext::new("t", SUB), SUB).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(rows[2].resource_type, "microsoft.compute/virtualmachines");
    assert_eq!(rows[0].resource_group, "rg-web");
    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/providers/Microsoft.ResourceGraph/resources");
    assert_eq!(query_param(&seen[0], "api-version").as_deref(), Some("2024-04-01"));
    assert_eq!(seen[0].body["query"], resource_graph::INVENTORY_QUERY);
    assert_eq!(seen[0].body["options"]["$top"], 1000);
    assert_eq!(seen[0].body["subscriptions"], json!([SUB]));
    assert_eq!(seen[1].body["query"], seen[0].body["query"], "continuation resends the same query");
    assert_eq!(seen[0].header("authorization").as_deref(), Some("Bearer test-token"));
}

#[tokio::test]
async fn resource_graph_repeated_token_is_a_paging_loop() {
    let fake = Fake::start(|_, _| {
        Reply::json(
            200,
            json!({"totalRecords": 9, "count": 1, "resultTruncated": "false", "$skipToken": "same",
            "data": [resource("a", "Microsoft.Compute/disks")]}),
        )
    })
    .await;
    let err =
        resource_graph::fetch_inventory(&fake.client(), &CallContext::new("t", SUB), SUB).await.unwrap_err();
    assert!(matches!(err, AzureError::PagingLoop { api: Api::ResourceGraph }), "{err:?}");
    assert_eq!(fake.requests().len(), 2, "stops at the first repeat");
}

#[tokio::test]
async fn truncated_page_fails_without_partial_rows() {
    let fake = Fake::start(|seen, _| {
        if seen.body["options"]["$skipToken"].is_null() {
            Reply::json(200, json!({"totalRecords": 2, "count": 1, "resultTruncated": "false", "$skipToken": "p2",
                "data": [resource("a", "Microsoft.Compute/disks")]}))
        } else {
            let full = json!({"totalRecords": 2, "count": 1, "resultTruncated": "false", "data": [resource("b", "Microsoft.Compute/disks")]}).to_string();
            Reply::raw(200, &full[..full.len() / 2])
        }
    })
    .await;
    let client = fake.client();
    let result = resource_graph::fetch_inventory(&client, &CallContext::new("t", SUB), SUB).await;
    assert!(matches!(result, Err(AzureError::Truncated { api: Api::ResourceGraph })), "{result:?}");
    assert_eq!(client.counters().failures(Api::ResourceGraph), 0, "transport succeeded; decoding failed");
}

fn cost_page(columns: &[&str], rows: serde_json::Value, next: Option<String>) -> Reply {
    let mut cols = vec![json!({"name": "Cost", "type": "Number"})];
    cols.extend(columns.iter().map(|c| json!({"name": c, "type": "String"})));
    cols.push(json!({"name": "UsageDate", "type": "Number"}));
    cols.push(json!({"name": "Currency", "type": "String"}));
    Reply::json(
        200,
        json!({"id": "x", "name": "x", "type": "microsoft.costmanagement/Query",
        "properties": {"nextLink": next, "columns": cols, "rows": rows}}),
    )
}

#[tokio::test]
async fn cost_management_posts_the_same_body_to_next_link_and_merges_types() {
    let vm =
        format!("/subscriptions/{SUB}/resourceGroups/RG-A/providers/Microsoft.Compute/virtualMachines/vm1");
    let disk = format!("/subscriptions/{SUB}/resourceGroups/RG-B/providers/Microsoft.Compute/disks/d1");
    let base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let base_in = base.clone();
    let (vm_c, disk_c) = (vm.clone(), disk.clone());
    let fake = Fake::start(move |seen, _| {
        let amortized = seen.body["type"] == "AmortizedCost";
        let groups: Vec<String> = seen.body["dataset"]["grouping"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_owned())
            .collect();
        let second_page = seen.query.contains("skiptoken");
        match (groups[0].as_str(), groups[1].as_str()) {
            ("ResourceId", "MeterCategory") if !second_page => {
                let next = format!(
                    "{}{}?api-version=2025-03-01&$skiptoken=AQAA",
                    base_in.lock().unwrap(),
                    seen.path
                );
                let vm_cost = if amortized { 7.0 } else { 0.0 };
                cost_page(
                    &["ResourceId", "MeterCategory"],
                    json!([[vm_cost, vm_c, "Virtual Machines", 20261124, "USD"]]),
                    Some(next),
                )
            }
            ("ResourceId", "MeterCategory") => cost_page(
                &["ResourceId", "MeterCategory"],
                json!([[2.5, disk_c, "Storage", 20261124, "USD"]]),
                None,
            ),
            ("ResourceId", "ServiceName") => cost_page(
                &["ResourceId", "ServiceName"],
                json!([
                    [1.0, vm_c, "Virtual Machines", 20261124, "USD"],
                    [2.5, disk_c, "Storage", 20261124, "USD"]
                ]),
                None,
            ),
            ("MeterCategory", "ServiceName") => cost_page(
                &["MeterCategory", "ServiceName"],
                json!([
                    [1.0, "Virtual Machines", "Virtual Machines", 20261124, "USD"],
                    [2.5, "Storage", "Storage", 20261124, "USD"]
                ]),
                None,
            ),
            _ => Reply::json(400, json!({"error": {"code": "BadRequest", "message": "unexpected grouping"}})),
        }
    })
    .await;
    *base.lock().unwrap() = fake.base.clone();
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let ctx = CallContext::new("t", SUB);
    let (rows, report) =
        cost_management::collect_range(&fake.client(), &ctx, &CostScope::Subscription(SUB.into()), day, day)
            .await
            .unwrap();
    assert_eq!(report.apportioned, 0);
    assert_eq!(report.queries, 6, "no resource-less charges → no group query (C)");
    assert_eq!(rows.len(), 2);
    let vm_row = rows.iter().find(|r| r.meter_category == "Virtual Machines").unwrap();
    assert_eq!((vm_row.cost, vm_row.amortized_cost), (0.0, 7.0));
    assert_eq!((vm_row.resource_group.as_str(), vm_row.service_name.as_str()), ("rg-a", "Virtual Machines"));
    assert_eq!(vm_row.resource_id, vm.to_ascii_lowercase());
    let disk_row = rows.iter().find(|r| r.meter_category == "Storage").unwrap();
    assert_eq!((disk_row.cost, disk_row.amortized_cost, disk_row.date), (2.5, 2.5, day));
    let seen = fake.requests();
    let follow: Vec<_> = seen.iter().filter(|s| s.query.contains("skiptoken")).collect();
    assert_eq!(follow.len(), 2, "one nextLink per cost type");
    for f in follow {
        assert_eq!(f.method, "POST");
        let original = seen.iter().find(|s| !s.query.contains("skiptoken") && s.body == f.body);
        assert!(original.is_some(), "nextLink POST carries the original body");
    }
    for s in &seen {
        assert_eq!(s.header("clienttype").as_deref(), Some("azcops"));
        assert_eq!(s.header("x-ms-correlation-request-id").as_deref(), Some(ctx.correlation_id.as_str()));
        assert_eq!(s.path, format!("/subscriptions/{SUB}/providers/Microsoft.CostManagement/query"));
        assert!(s.body["dataset"]["grouping"].as_array().unwrap().len() <= 2);
    }
}

#[tokio::test]
async fn advisor_follows_next_link_verbatim() {
    let base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let base_in = base.clone();
    let fake = Fake::start(move |seen, _| {
        let rec = |n: &str, impact: &str| json!({"id": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{n}/providers/Microsoft.Advisor/recommendations/{n}"),
            "name": n, "properties": {"category": "Cost", "impact": impact, "impactedField": "Microsoft.Compute/virtualMachines", "impactedValue": n,
            "recommendationTypeId": "e10b1381-5f0a-47ff-8c7b-37bd13d7c974", "shortDescription": {"problem": "p", "solution": "s"},
            "extendedProperties": {"savingsAmount": "12.5", "savingsCurrency": "USD"}}});
        if query_param(seen, "skiptokenver").is_some() {
            Reply::json(200, json!({"value": [rec("vm2", "Low")]}))
        } else {
            assert_eq!(query_param(seen, "$filter").as_deref(), Some("Category eq 'Cost'"));
            let next = format!("{}{}?api-version=2025-01-01&$skiptoken=abc&skiptokenver=v2", base_in.lock().unwrap(), seen.path);
            Reply::json(200, json!({"value": [rec("vm1", "High")], "nextLink": next}))
        }
    })
    .await;
    *base.lock().unwrap() = fake.base.clone();
    let rows =
        advisor::fetch_recommendations(&fake.client(), &CallContext::new("t", SUB), SUB).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].monthly_savings, rows[0].confidence), (12.5, 0.9));
    assert_eq!(
        rows[1].resource_id,
        format!("/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm2")
    );
    let seen = fake.requests();
    assert_eq!(
        query_param(&seen[1], "api-version").as_deref(),
        Some("2025-01-01"),
        "nextLink followed as-is"
    );
}

#[tokio::test]
async fn retail_prices_follow_next_page_link_and_are_cached() {
    let base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let base_in = base.clone();
    let fake = Fake::start(move |seen, _| {
        let item = |price: f64| json!({"currencyCode": "USD", "retailPrice": price, "unitPrice": price, "armRegionName": "eastus",
            "armSkuName": "Standard_D4s_v5", "serviceName": "Virtual Machines", "type": "Consumption", "unitOfMeasure": "1 Hour"});
        if query_param(seen, "$skip").is_some() {
            Reply::json(200, json!({"BillingCurrency": "USD", "Items": [item(0.2)], "NextPageLink": null, "Count": 1}))
        } else {
            let next = format!("{}/api/retail/prices?api-version=2023-01-01-preview&$skip=1000", base_in.lock().unwrap());
            Reply::json(200, json!({"BillingCurrency": "USD", "Items": [item(0.1)], "NextPageLink": next, "Count": 1}))
        }
    })
    .await;
    *base.lock().unwrap() = fake.base.clone();
    let client = fake.client();
    let cache = RetailPriceCache::new();
    let q = PriceQuery {
        service_name: Some("Virtual Machines".into()),
        arm_region_name: Some("eastus".into()),
        arm_sku_name: Some("Standard_D4s_v5".into()),
        price_type: Some("Consumption".into()),
        ..Default::default()
    };
    let ctx = CallContext::new("t", "");
    let items = cache.lookup(&client, &ctx, &q).await.unwrap();
    assert_eq!(items.iter().map(|i| i.retail_price.unwrap()).collect::<Vec<_>>(), [0.1, 0.2]);
    cache.lookup(&client, &ctx, &q).await.unwrap();
    let seen = fake.requests();
    assert_eq!(seen.len(), 2, "second lookup served from the cache");
    assert_eq!(seen[0].path, "/api/retail/prices");
    assert_eq!(query_param(&seen[0], "$filter").as_deref(), Some(q.filter().as_str()));
    assert!(seen[0].header("authorization").is_none(), "retail prices are unauthenticated");
}
