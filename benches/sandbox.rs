//! Sandbox benchmark: generating the 500 × 500 estate, and serving one subscription's full
//! Resource Graph inventory. Sizes from `SANDBOX_BENCH_ESTATE` (default `bench`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use azcops::sandbox::{Estate, EstateSpec, Sandbox, SandboxOptions, truth};
use chrono::NaiveDate;
use serde_json::{Value, json};

const INVENTORY: &str = "Resources | project id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, sku, tags, properties, managedBy, zones, identity, plan | order by id asc";

fn main() {
    let spec: EstateSpec =
        std::env::var("SANDBOX_BENCH_ESTATE").unwrap_or_else(|_| "bench".into()).parse().unwrap();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let started = Instant::now();
    let estate = Estate::generate(42, spec, as_of);
    let generate_ms = started.elapsed().as_millis();
    let started = Instant::now();
    let rows = truth::ground_truth(&estate);
    let truth_ms = started.elapsed().as_millis();
    println!("sandbox.estate_500x500_generate_ms: {generate_ms} ms");
    println!("sandbox.estate_resources: {} resources", estate.resources.len());
    println!("sandbox.estate_subscriptions: {} subscriptions", estate.subscriptions.len());
    println!("sandbox.ground_truth_ms: {truth_ms} ms");
    println!("sandbox.ground_truth_rows: {} rows", rows.len());
    drop(estate);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let started = Instant::now();
        let sandbox = Sandbox::start(SandboxOptions::new(spec, 42, as_of)).await.unwrap();
        println!("sandbox.start_ms: {} ms", started.elapsed().as_millis());
        let token = sandbox.managed_identity_token();
        let sub = sandbox.estate().subscriptions[0].id.clone();
        let client = reqwest::Client::new();
        let url = format!("{}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01", sandbox.base_url());
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let mut request = json!({ "subscriptions": [sub], "query": INVENTORY, "options": { "$top": 1000, "resultFormat": "objectArray" } });
            let mut count = 0;
            loop {
                let body: Value = client.post(&url).bearer_auth(&token).json(&request).send().await.unwrap().json().await.unwrap();
                count += body["count"].as_u64().unwrap();
                match body.get("$skipToken").and_then(Value::as_str) {
                    Some(t) => request["options"]["$skipToken"] = json!(t),
                    None => break,
                }
            }
            assert_eq!(count, u64::from(spec.resources));
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!("sandbox.graph_inventory_one_subscription_ms: {:.1} ms", times[times.len() / 2]);
        println!("sandbox.graph_inventory_rows: {} rows", spec.resources);
        sandbox.shutdown().await.unwrap();
    });
}
