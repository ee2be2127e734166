//! Azure connector benchmarks: mapper throughput on large synthetic pages, and (when a sandbox
//! is configured) a multi-subscription collection with the quota governor on.
//!
//! Sizes: `AZCOPS_BENCH_RG_ROWS` (default 100000), `AZCOPS_BENCH_COST_ROWS` (default 100000).
//! Collection: set `AZCOPS_ARM_ENDPOINT`, `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` (the sandbox
//! prints them) and optionally `AZCOPS_BENCH_TENANT` and `AZCOPS_BENCH_SUBSCRIPTIONS` (default 50).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Instant;

use azcops::azure::client::decode;
use azcops::azure::connectors::cost_management::{self, CostReport, QueryResult};
use azcops::azure::connectors::resource_graph::{self, QueryResponse};
use azcops::azure::connectors::subscriptions;
use azcops::azure::governor::Quota;
use azcops::azure::{Api, ArmClient, AzureConfig, CallContext, collect};
use azcops::config::SettingsSource;
use azcops::rules::facts;
use serde_json::json;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn resource_graph_page(n: usize) -> Vec<u8> {
    let kinds = [
        (
            "Microsoft.Compute/disks",
            json!({"diskState": "Unattached", "diskSizeGB": 128, "timeCreated": "2026-01-02T03:04:05Z"}),
        ),
        (
            "Microsoft.Compute/virtualMachines",
            json!({"hardwareProfile": {"vmSize": "Standard_D4s_v5"}, "extended": {"instanceView": {"powerState": {"code": "PowerState/running"}}}}),
        ),
        (
            "Microsoft.Network/publicIPAddresses",
            json!({"ipConfiguration": null, "publicIPAllocationMethod": "Static"}),
        ),
        (
            "Microsoft.Network/networkInterfaces",
            json!({"virtualMachine": {"id": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm"}}),
        ),
        ("Microsoft.Storage/storageAccounts", json!({"accessTier": "Hot"})),
    ];
    let data: Vec<_> = (0..n)
        .map(|i| {
            let (kind, props) = &kinds[i % kinds.len()];
            json!({
                "id": format!("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG-{}/providers/{kind}/res{i}", i % 40),
                "name": format!("res{i}"), "type": kind.to_ascii_lowercase(), "kind": null, "location": "EastUS",
                "resourceGroup": format!("RG-{}", i % 40), "subscriptionId": "00000000-0000-0000-0000-000000000001",
                "tenantId": "t", "sku": {"name": "Premium_LRS"}, "tags": if i % 2 == 0 { json!({"env": "prod", "owner": "team"}) } else { json!("{\"env\":\"dev\"}") },
                "properties": props, "managedBy": null, "zones": null, "identity": null, "plan": null
            })
        })
        .collect();
    serde_json::to_vec(&json!({"totalRecords": n, "count": n, "resultTruncated": "false", "data": data}))
        .unwrap()
}

fn bench_resource_graph() {
    let n = env_usize("AZCOPS_BENCH_RG_ROWS", 100_000);
    let page = resource_graph_page(n);
    let start = Instant::now();
    let parsed: QueryResponse = decode(Api::ResourceGraph, &page).unwrap();
    let rows: Vec<_> = parsed.rows().iter().filter_map(resource_graph::map_resource).collect();
    let with_facts = rows.iter().filter(|r| facts::extract(r) != facts::ResourceFacts::Other).count();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(rows.len(), n);
    assert!(with_facts > 0);
    println!("azure.resource_graph_rows: {n} rows");
    println!("azure.resource_graph_map_rows_per_s: {:.0} rows/s", n as f64 / secs);
}

fn cost_page(rows: Vec<serde_json::Value>, dims: [&str; 2]) -> Vec<u8> {
    serde_json::to_vec(&json!({"properties": {"nextLink": null, "columns": [
        {"name": "Cost", "type": "Number"}, {"name": dims[0], "type": "String"}, {"name": dims[1], "type": "String"},
        {"name": "UsageDate", "type": "Number"}, {"name": "Currency", "type": "String"}], "rows": rows}}))
    .unwrap()
}

fn bench_costs() {
    let n = env_usize("AZCOPS_BENCH_COST_ROWS", 100_000);
    let meters = ["Virtual Machines", "Storage", "Bandwidth", "SQL Database", "Azure App Service"];
    let days = 30usize;
    let a: Vec<_> = (0..n)
        .map(|i| {
            let day = 20261101 + (i % days) as u64;
            json!([
                (i % 97) as f64 * 0.37,
                format!("/subscriptions/s/resourceGroups/rg{}/providers/p/t/r{}", i % 50, i / days),
                meters[(i / days) % meters.len()],
                day,
                "USD"
            ])
        })
        .collect();
    let b: Vec<_> = (0..days)
        .flat_map(|d| meters.iter().map(move |m| json!([1.0, m, m, 20261101 + d as u64, "USD"])))
        .collect();
    let (page_a, page_b) =
        (cost_page(a, ["ResourceId", "MeterCategory"]), cost_page(b, ["MeterCategory", "ServiceName"]));
    let start = Instant::now();
    let parse = |bytes: &[u8]| {
        decode::<QueryResult>(Api::CostManagement, bytes).unwrap().properties.unwrap().cells().unwrap()
    };
    let (cells_a, cells_b) = (parse(&page_a), parse(&page_b));
    let mut report = CostReport::default();
    let actual = cost_management::assemble(&cells_a, &cells_b, &[], &[], &mut report);
    let amortized = cost_management::assemble(&cells_a, &cells_b, &[], &[], &mut report);
    let rows = cost_management::merge("s", actual, amortized);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(report.apportioned, 0);
    println!("azure.cost_rows: {} rows", rows.len());
    println!("azure.cost_map_rows_per_s: {:.0} rows/s", n as f64 / secs);
}

async fn bench_collection() {
    let settings = SettingsSource::from_env();
    if settings.get("AZCOPS_ARM_ENDPOINT").is_none() || settings.get("IDENTITY_ENDPOINT").is_none() {
        println!(
            "azure.collect_skipped: 1 (set AZCOPS_ARM_ENDPOINT and IDENTITY_ENDPOINT to run against the sandbox)"
        );
        return;
    }
    let client = ArmClient::from_config(AzureConfig::from_source(&settings).unwrap()).unwrap();
    let home = settings.get("AZCOPS_BENCH_TENANT").unwrap_or_default().to_owned();
    let wanted = env_usize("AZCOPS_BENCH_SUBSCRIPTIONS", 50);
    let subs = subscriptions::list_subscriptions(&client, &CallContext::new(home, "")).await.unwrap();
    let subs: Vec<_> = subs.into_iter().take(wanted).collect();
    let day = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let start = Instant::now();
    let results =
        futures::future::join_all(
            subs.iter().map(|s| {
                let client = client.clone();
                async move {
                    collect::collect_subscription(&client, &s.context(), &s.subscription_id, day, day).await
                }
            }),
        )
        .await;
    let wall = start.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let counters = client.counters();
    // The slowest API under its own quota bounds the run from below. This treats every request
    // of an API as drawing on one bucket, which holds for Resource Graph (per principal) and for
    // Cost Management with one tenant; ARM reads are metered per subscription and Cost
    // Management per tenant, so for those the bound is an overestimate (scripts/bench-ingest.sh
    // takes the exact per-bucket bound from the sandbox instead).
    let bound = Api::ALL
        .iter()
        .map(|api| Quota::documented(*api).lower_bound(counters.requests(*api) as f64).as_secs_f64())
        .fold(0.0, f64::max);
    println!("azure.collect_subscriptions: {} subscriptions", subs.len());
    println!("azure.collect_failed: {failed} subscriptions");
    println!(
        "azure.collect_requests: {} requests",
        Api::ALL.iter().map(|a| counters.requests(*a)).sum::<u64>()
    );
    println!(
        "azure.collect_throttled: {} responses",
        Api::ALL.iter().map(|a| counters.throttles(*a)).sum::<u64>()
    );
    println!("azure.collect_wall_s: {wall:.2} s");
    println!("azure.collect_quota_lower_bound_s: {bound:.2} s");
}

fn main() {
    bench_resource_graph();
    bench_costs();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench_collection());
}
