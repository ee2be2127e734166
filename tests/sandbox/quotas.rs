//! Quotas on a manual clock: Resource Graph per-principal windows, Cost Management QPU, ARM reads.

use std::time::Duration;

use azcops::sandbox::{Api, QuotaConfig};
use serde_json::{Value, json};

use crate::support::{self, start};

#[tokio::test]
async fn the_sixteenth_graph_request_in_a_window_is_throttled_until_it_resets() {
    let sb = start("demo", |o| {
        o.quotas = QuotaConfig { resource_graph: true, ..QuotaConfig::default() };
        o.manual_clock = true;
    })
    .await;
    let token = sb.managed_identity_token();
    let request = json!({ "query": "Resources | count" });
    for i in 0..15 {
        let r = support::graph(&sb, &token, &request).await;
        assert_eq!(r.status(), 200, "request {i}");
        assert_eq!(r.headers()["x-ms-user-quota-remaining"], (14 - i).to_string().as_str());
        assert_eq!(r.headers()["x-ms-user-quota-resets-after"], "00:00:05");
    }
    sb.advance_clock(Duration::from_secs(2));
    let throttled = support::graph(&sb, &token, &request).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["x-ms-user-quota-remaining"], "0");
    assert_eq!(throttled.headers()["x-ms-user-quota-resets-after"], "00:00:03");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RateLimiting");
    assert_eq!(body["error"]["details"][0]["code"], "RateLimiting");
    // Another principal has its own quota.
    let other = sb.issue_token(
        &sb.estate().tenants[1].id,
        "https://management.azure.com/",
        chrono::Utc::now().timestamp() + 600,
    );
    assert_eq!(support::graph(&sb, &other, &request).await.status(), 200);
    sb.advance_clock(Duration::from_secs(3));
    let again = support::graph(&sb, &token, &request).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["x-ms-user-quota-remaining"], "14");
    assert_eq!(sb.stats()[&Api::ResourceGraph].throttled, 1);
}

#[tokio::test]
async fn cost_management_charges_qpu_per_month_per_tenant() {
    let sb = start("demo", |o| {
        o.quotas = QuotaConfig { cost_management: true, ..QuotaConfig::default() };
        o.manual_clock = true;
    })
    .await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();
    let one_month = support::cost_body("ActualCost", "2026-10-01", "2026-10-30", &["ResourceGroupName"]);
    let first = support::cost(&sb, &token, &sub, &one_month).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-ms-ratelimit-microsoft.costmanagement-qpu-consumed"], "1");
    assert_eq!(
        first.headers()["x-ms-ratelimit-microsoft.costmanagement-qpu-remaining"],
        "QueriesPerHour:599,QueriesPerMin:59,QueriesPer10Sec:11"
    );
    let two_months = support::cost_body("ActualCost", "2026-09-26", "2026-11-24", &["ResourceGroupName"]);
    for _ in 0..5 {
        assert_eq!(support::cost(&sb, &token, &sub, &two_months).await.status(), 200);
    }
    assert_eq!(
        support::cost(&sb, &token, &sub, &one_month).await.status(),
        200,
        "12 QPU fit the 10 s window"
    );
    let throttled = support::cost(&sb, &token, &sub, &one_month).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after"], "10");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "429");
    // Another tenant's subscription draws on its own buckets.
    let other = support::lighthouse_subscription(&sb);
    assert_eq!(support::cost(&sb, &token, &other, &one_month).await.status(), 200);
    sb.advance_clock(Duration::from_secs(10));
    assert_eq!(support::cost(&sb, &token, &sub, &one_month).await.status(), 200);
}

#[tokio::test]
async fn arm_reads_drain_a_token_bucket_per_principal_and_subscription() {
    let sb = start("tenants=1,subscriptions=1,resources=30,days=3", |o| {
        o.quotas = QuotaConfig { arm_reads: true, ..QuotaConfig::default() };
        o.manual_clock = true;
    })
    .await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();
    let path =
        format!("/subscriptions/{sub}/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01");
    for i in 0..250u32 {
        let r = support::get(&sb, &token, &path).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["x-ms-ratelimit-remaining-subscription-reads"],
            (249 - i).to_string().as_str()
        );
    }
    let throttled = support::get(&sb, &token, &path).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    sb.advance_clock(Duration::from_millis(200));
    assert_eq!(support::get(&sb, &token, &path).await.status(), 200);
}
