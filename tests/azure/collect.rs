//! A whole subscription collected against the fake: inventory, costs, Advisor and VM metrics,
//! with one VM's metrics failing without affecting the others.

use azcops::azure::collect::collect_subscription;
use azcops::azure::connectors::monitor::{self, MetricWindow};
use azcops::azure::{Api, CallContext};
use chrono::{NaiveDate, Utc};
use serde_json::json;

use crate::fake::{Fake, Reply, query_param};

const SUB: &str = "55555555-5555-5555-5555-555555555555";

fn vm(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/{name}")
}

fn metrics_body(cpu: f64) -> serde_json::Value {
    let points: Vec<_> = (0..10)
        .map(|h| if h == 3 { json!({"timeStamp": format!("2026-11-24T{h:02}:00:00Z")}) } else {
            json!({"timeStamp": format!("2026-11-24T{h:02}:00:00Z"), "average": cpu, "maximum": cpu * 2.0, "minimum": cpu / 2.0})
        })
        .collect();
    let mem: Vec<_> = (0..10)
        .map(|h| json!({"timeStamp": format!("2026-11-24T{h:02}:00:00Z"), "average": 2e9, "minimum": 1e9}))
        .collect();
    json!({"interval": "PT1H", "value": [
        {"name": {"value": "Percentage CPU"}, "unit": "Percent", "errorCode": "Success", "timeseries": [{"data": points}]},
        {"name": {"value": "Available Memory Bytes"}, "unit": "Bytes", "errorCode": "Success", "timeseries": [{"data": mem}]}
    ]})
}

#[tokio::test]
async fn one_subscription_end_to_end() {
    let fake = Fake::start(|seen, _| {
        let path = seen.path.to_ascii_lowercase();
        if path == "/providers/microsoft.resourcegraph/resources" {
            let rows: Vec<_> = ["vm-ok", "vm-broken", "vm-idle"].iter().map(|n| json!({"id": vm(n), "name": n,
                "type": "microsoft.compute/virtualmachines", "location": "westeurope", "resourceGroup": "rg-app", "subscriptionId": SUB,
                "properties": {"hardwareProfile": {"vmSize": "Standard_D2s_v5"}}})).collect();
            return Reply::json(200, json!({"totalRecords": 3, "count": 3, "resultTruncated": "false", "data": rows}));
        }
        if path.ends_with("/providers/microsoft.costmanagement/query") {
            let g = &seen.body["dataset"]["grouping"];
            let (d0, d1) = (g[0]["name"].as_str().unwrap(), g[1]["name"].as_str().unwrap());
            let rows = match (d0, d1) {
                ("ResourceId", "MeterCategory") => json!([[4.0, vm("vm-ok"), "Virtual Machines", 20261124, "EUR"], [9.0, "", "Support", 20261124, "EUR"]]),
                ("MeterCategory", "ServiceName") => json!([[4.0, "Virtual Machines", "Virtual Machines", 20261124, "EUR"], [9.0, "Support", "Azure Support", 20261124, "EUR"]]),
                ("ResourceId", "ResourceGroupName") => json!([[4.0, vm("vm-ok"), "rg-app", 20261124, "EUR"], [9.0, "", "", 20261124, "EUR"]]),
                ("ResourceId", "ServiceName") => json!([[4.0, vm("vm-ok"), "Virtual Machines", 20261124, "EUR"], [9.0, "", "Azure Support", 20261124, "EUR"]]),
                _ => return Reply::json(400, json!({"error": {"code": "BadRequest", "message": "grouping"}})),
            };
            return Reply::json(200, json!({"properties": {"nextLink": null, "columns": [{"name": "Cost", "type": "Number"},
                {"name": d0, "type": "String"}, {"name": d1, "type": "String"}, {"name": "UsageDate", "type": "Number"}, {"name": "Currency", "type": "String"}], "rows": rows}}));
        }
        if path.ends_with("/providers/microsoft.advisor/recommendations") {
            return Reply::json(200, json!({"value": [{"id": format!("{}/providers/Microsoft.Advisor/recommendations/r1", vm("vm-idle")),
                "properties": {"category": "Cost", "impact": "Medium", "impactedField": "Microsoft.Compute/virtualMachines", "impactedValue": "vm-idle",
                "recommendationTypeId": "89515250-1243-43d1-b4e7-f9437cedffd8", "extendedProperties": {"annualSavingsAmount": "600"}}}]}));
        }
        if path.ends_with("/providers/microsoft.insights/metrics") {
            assert!(seen.query.contains("metricnames=Percentage%20CPU,Available%20Memory%20Bytes"), "{}", seen.query);
            assert_eq!(query_param(seen, "interval").as_deref(), Some("PT1H"));
            assert_eq!(query_param(seen, "api-version").as_deref(), Some("2023-10-01"));
            if path.contains("vm-broken") {
                return Reply::json(404, json!({"code": "ResourceNotFound", "message": "gone"}));
            }
            return Reply::json(200, metrics_body(if path.contains("vm-idle") { 1.0 } else { 40.0 }));
        }
        Reply::json(404, json!({"error": {"code": "NotFound", "message": seen.path}}))
    })
    .await;
    let client = fake.client();
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let out = collect_subscription(&client, &CallContext::new("t", SUB), SUB, day, day).await.unwrap();
    assert_eq!(out.resources.len(), 3);
    assert_eq!(out.costs.len(), 2);
    assert_eq!(
        out.cost_report.queries, 8,
        "four queries per cost type: the resource-less support charge needs the group query"
    );
    let total: f64 = out.costs.iter().map(|c| c.cost).sum();
    assert_eq!(total, 13.0);
    assert!(out.costs.iter().all(|c| c.currency == "EUR"));
    assert_eq!(out.advisor.len(), 1);
    assert_eq!(out.advisor[0].monthly_savings, 50.0);
    assert_eq!(out.vm_metrics.len(), 2, "the broken VM does not fail the others");
    assert_eq!(out.metric_errors.len(), 1);
    assert!(out.metric_errors[0].0.ends_with("vm-broken"));
    let ok = out.vm_metrics.iter().find(|r| r.resource_id.ends_with("vm-ok")).unwrap();
    assert_eq!((ok.cpu_avg, ok.cpu_max, ok.cpu_min, ok.datapoints), (Some(40.0), Some(80.0), Some(20.0), 9));
    assert_eq!(ok.expected_datapoints, MetricWindow::last_days(monitor::VM_WINDOW_DAYS, Utc::now()).hours());
    assert_eq!(ok.memory_available_min_bytes, Some(1e9));
    assert_eq!(out.requests, fake.requests().len() as u64);
    assert_eq!(client.counters().requests(Api::Monitor), 3);
}
