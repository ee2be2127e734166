//! Each fault kind, counted in the stats, and repeatable from its seed.

use std::time::{Duration, Instant};

use azcops::sandbox::{Api, FaultConfig, LatencyConfig, ThrottleStorm};
use serde_json::{Value, json};

use crate::support::{self, client, start};

async fn statuses(sb: &azcops::sandbox::RunningSandbox, token: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(support::get(sb, token, "/subscriptions?api-version=2022-12-01").await.status().as_u16());
    }
    out
}

#[tokio::test]
async fn random_errors_are_seeded_and_counted() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let faults = FaultConfig { error_rate: 0.5, seed: 11, ..FaultConfig::default() };
    sb.set_faults(faults.clone());
    let first = statuses(&sb, &token, 30).await;
    sb.set_faults(faults);
    let second = statuses(&sb, &token, 30).await;
    assert_eq!(first, second, "same seed, same sequence");
    assert!(first.contains(&200));
    assert!(first.iter().any(|s| [500, 502, 503, 504].contains(s)));
    let stats = &sb.stats()[&Api::Subscriptions];
    let injected: u64 = stats.faults.iter().filter(|(k, _)| k.starts_with("status_")).map(|(_, v)| v).sum();
    assert_eq!(injected as usize, 2 * first.iter().filter(|s| **s != 200).count());
    let only_503 = FaultConfig { error_rate: 1.0, error_statuses: vec![503], ..FaultConfig::default() };
    sb.set_faults(only_503);
    let r = support::get(&sb, &token, "/tenants?api-version=2022-12-01").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ServiceUnavailable");
    // Token endpoints are spared unless named.
    let exports: std::collections::HashMap<_, _> = sb.exports().into_iter().collect();
    let msi = client()
        .get(format!(
            "{}?api-version=2019-08-01&resource=https://management.azure.com/",
            exports["IDENTITY_ENDPOINT"]
        ))
        .header("X-IDENTITY-HEADER", &exports["IDENTITY_HEADER"])
        .send()
        .await
        .unwrap();
    assert_eq!(msi.status(), 200);
}

#[tokio::test]
async fn connection_resets_abort_the_body() {
    let sb = start("demo", |o| {
        o.faults = FaultConfig { reset_rate: 1.0, apis: vec![Api::Advisor], ..FaultConfig::default() }
    })
    .await;
    let token = sb.managed_identity_token();
    let sub = &sb.estate().subscriptions[0].id;
    let url = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01",
        sb.base_url()
    );
    // The abort may reach the client before or after the status line.
    match client().get(url).bearer_auth(&token).send().await {
        Ok(r) => assert!(r.bytes().await.is_err(), "the body must fail mid-way"),
        Err(e) => assert!(!e.is_status(), "{e}"),
    }
    assert_eq!(support::get(&sb, &token, "/subscriptions?api-version=2022-12-01").await.status(), 200);
    assert_eq!(sb.stats()[&Api::Advisor].faults["reset"], 1);
}

#[tokio::test]
async fn the_nth_page_is_truncated_once() {
    let sb = start("tenants=1,subscriptions=1,resources=300,days=2", |_| {}).await;
    let token = sb.managed_identity_token();
    // Set over HTTP, as an external test harness would.
    let put = client()
        .put(format!("{}/_sandbox/faults", sb.base_url()))
        .json(&json!({ "truncate_page": 2, "apis": ["resource_graph"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let request = json!({ "query": support::INVENTORY, "options": { "$top": 100 } });
    let mut parsed = Vec::new();
    for _ in 0..3 {
        let r = support::graph(&sb, &token, &request).await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        parsed.push(serde_json::from_str::<Value>(&text).is_ok());
    }
    assert_eq!(parsed, [true, false, true]);
    let stats: Value =
        client().get(format!("{}/_sandbox/stats", sb.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["apis"]["resource_graph"]["faults"]["truncated"], 1);
    assert_eq!(stats["apis"]["resource_graph"]["requests"], 3);
}

#[tokio::test]
async fn latency_is_added_and_counted() {
    let sb = start("tenants=1,subscriptions=1,resources=5,days=2", |o| {
        o.latency = LatencyConfig::Fixed { ms: 150 }
    })
    .await;
    let token = sb.managed_identity_token();
    let started = Instant::now();
    assert_eq!(support::get(&sb, &token, "/tenants?api-version=2022-12-01").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(sb.stats()[&Api::Subscriptions].latency_ms, 150);
}

#[tokio::test]
async fn storms_throttle_in_each_apis_own_style_until_they_pass() {
    let sb = start("tenants=1,subscriptions=1,resources=20,days=2", |o| o.manual_clock = true).await;
    let token = sb.managed_identity_token();
    let never_ends = client()
        .put(format!("{}/_sandbox/faults", sb.base_url()))
        .json(&json!({ "storm": { "period_ms": 1000, "duration_ms": 1000 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(never_ends.status(), 400, "a storm that never ends is refused");
    sb.set_faults(FaultConfig {
        storm: Some(ThrottleStorm { period_ms: 4000, duration_ms: 1500 }),
        apis: vec![Api::ResourceGraph, Api::Subscriptions],
        ..FaultConfig::default()
    });
    let request = json!({ "query": support::INVENTORY });
    let graph = support::graph(&sb, &token, &request).await;
    assert_eq!(graph.status(), 429);
    assert_eq!(graph.headers()["x-ms-user-quota-remaining"], "0");
    assert_eq!(graph.headers()["x-ms-user-quota-resets-after"], "00:00:02");
    assert_eq!(graph.headers()["retry-after"], "2");
    let arm = support::get(&sb, &token, "/subscriptions?api-version=2022-12-01").await;
    assert_eq!(arm.status(), 429);
    assert_eq!(arm.headers()["retry-after"], "2");
    let body: Value = arm.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    // The storm passes; the next one starts 4 s after the first.
    sb.advance_clock(Duration::from_millis(1500));
    assert_eq!(support::graph(&sb, &token, &request).await.status(), 200);
    sb.advance_clock(Duration::from_millis(2500));
    assert_eq!(support::graph(&sb, &token, &request).await.status(), 429);
    let stats = sb.stats();
    assert_eq!(stats[&Api::ResourceGraph].faults["storm_429"], 2);
    assert_eq!(stats[&Api::Subscriptions].faults["storm_429"], 1);
}
