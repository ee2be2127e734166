//! Retry, throttling and token refresh against the fake, on tokio's paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azcops::azure::connectors::cost_management::{self, CostScope, CostType};
use azcops::azure::connectors::{advisor, resource_graph};
use azcops::azure::credential::{BearerToken, CachedTokenSource, TokenSource};
use azcops::azure::{Api, AzureError, CallContext};
use azcops::config::Secret;
use chrono::NaiveDate;
use serde_json::json;
use tokio::time::Instant;

use crate::fake::{Fake, Reply};

const SUB: &str = "22222222-2222-2222-2222-222222222222";

fn empty_graph() -> Reply {
    Reply::json(200, json!({"totalRecords": 0, "count": 0, "resultTruncated": "false", "data": []}))
}

#[tokio::test(start_paused = true)]
async fn throttle_waits_for_retry_after() {
    let fake = Fake::start(|_, i| {
        if i == 0 {
            Reply::json(429, json!({"error": {"code": "RateLimiting", "message": "throttled", "details": [{"code": "RateLimiting"}]}}))
                .header("retry-after", "3")
        } else {
            empty_graph()
        }
    })
    .await;
    let client = fake.client();
    let started = Instant::now();
    resource_graph::fetch_inventory(&client, &CallContext::new("t", SUB), SUB).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(3), "waited {waited:?}");
    assert!(
        waited < Duration::from_secs(4),
        "waits exactly what the server said, not backoff on top: {waited:?}"
    );
    let seen = fake.requests();
    assert!(seen[1].at - seen[0].at >= Duration::from_secs(3));
    assert_eq!(client.counters().throttles(Api::ResourceGraph), 1);
    assert_eq!(client.counters().snapshot()["resource_graph.throttle_429"], 1);
}

#[tokio::test(start_paused = true)]
async fn cost_management_qpu_headers_win_over_a_shorter_retry_after() {
    let fake = Fake::start(|_, i| {
        if i == 0 {
            Reply::json(429, json!({"error": {"code": "429", "message": "Too many requests. Please retry."}}))
                .header("retry-after", "2")
                .header("x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after", "7")
                .header("x-ms-ratelimit-microsoft.costmanagement-entity-retry-after", "4")
        } else {
            Reply::json(200, json!({"properties": {"nextLink": null, "columns": [{"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"}, {"name": "Currency", "type": "String"}],
                "rows": [[3.5, 20261124, "USD"]]}}))
                .header("x-ms-ratelimit-microsoft.costmanagement-qpu-remaining", "QueriesPerHour:597,QueriesPerMin:57,QueriesPer10Sec:9")
        }
    })
    .await;
    let client = fake.client();
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let body = cost_management::query_body(CostType::ActualCost, day, day, &["ResourceId", "MeterCategory"]);
    let started = Instant::now();
    let cells = cost_management::query_all(
        &client,
        &CallContext::new("t", SUB),
        &CostScope::Subscription(SUB.into()),
        &body,
        1,
    )
    .await
    .unwrap();
    let waited = started.elapsed();
    assert_eq!(cells[0].cost, 3.5);
    assert!(waited >= Duration::from_secs(7) && waited < Duration::from_secs(8), "waited {waited:?}");
    assert_eq!(client.counters().snapshot()["cost_management.throttle_429"], 1);
}

#[tokio::test(start_paused = true)]
async fn server_errors_then_success() {
    let fake = Fake::start(|_, i| match i {
        0 => Reply::json(503, json!({"error": {"code": "ServiceUnavailable", "message": "later"}})),
        1 => Reply::raw(500, "oops"),
        _ => Reply::json(200, json!({"value": []})),
    })
    .await;
    let client = fake.client();
    let rows = advisor::fetch_recommendations(&client, &CallContext::new("t", SUB), SUB).await.unwrap();
    assert!(rows.is_empty());
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(client.counters().retries(Api::Advisor), 2);
    assert_eq!(client.counters().failures(Api::Advisor), 0);
}

#[tokio::test(start_paused = true)]
async fn five_failures_are_a_typed_error() {
    let fake =
        Fake::start(|_, _| Reply::json(502, json!({"error": {"code": "BadGateway", "message": "upstream"}})))
            .await;
    let client = fake.client();
    let started = Instant::now();
    let err = advisor::fetch_recommendations(&client, &CallContext::new("t", SUB), SUB).await.unwrap_err();
    match &err {
        AzureError::RetriesExhausted { api: Api::Advisor, attempts: 5, last } => {
            assert!(last.contains("502"), "{last}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.requests().len(), 5);
    // Four full-jitter waits bounded by 1 + 2 + 4 + 8 s.
    assert!(started.elapsed() <= Duration::from_secs(15));
    assert_eq!(client.counters().failures(Api::Advisor), 1);
}

#[tokio::test]
async fn forbidden_subscription_is_named() {
    let fake = Fake::start(|_, _| {
        Reply::json(403, json!({"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization"}}))
    })
    .await;
    let err =
        advisor::fetch_recommendations(&fake.client(), &CallContext::new("t", SUB), SUB).await.unwrap_err();
    assert!(matches!(&err, AzureError::Forbidden { subscription } if subscription == SUB), "{err:?}");
    assert_eq!(fake.requests().len(), 1, "403 is not retried");
    let fake = Fake::start(|_, _| {
        Reply::json(401, json!({"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}))
    })
    .await;
    let err =
        advisor::fetch_recommendations(&fake.client(), &CallContext::new("t", SUB), SUB).await.unwrap_err();
    assert!(matches!(&err, AzureError::Auth(m) if m.contains("InvalidAuthenticationToken")), "{err:?}");
}

/// Issues `tok-1`, `tok-2`, … each valid for `lifetime`.
struct ShortLived {
    issued: AtomicU32,
    lifetime: Duration,
}

#[async_trait]
impl TokenSource for ShortLived {
    async fn token(&self, _tenant: Option<&str>, _scope: &str) -> Result<BearerToken, AzureError> {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(BearerToken {
            token: Secret::new(format!("tok-{n}")),
            expires_at: SystemTime::now() + self.lifetime,
        })
    }
}

#[tokio::test]
async fn tokens_are_refreshed_before_expiry_and_reused_otherwise() {
    let fake = Fake::start(|_, _| Reply::json(200, json!({"value": []}))).await;
    let ctx = CallContext::new("t", SUB);
    // Expiring within the 60 s margin: every call needs a new token.
    let short = Arc::new(ShortLived { issued: AtomicU32::new(0), lifetime: Duration::from_secs(45) });
    let client = fake.client_with(Arc::new(CachedTokenSource::new(short.clone())));
    advisor::fetch_recommendations(&client, &ctx, SUB).await.unwrap();
    advisor::fetch_recommendations(&client, &ctx, SUB).await.unwrap();
    // Long-lived: reused.
    let long = Arc::new(ShortLived { issued: AtomicU32::new(0), lifetime: Duration::from_secs(3600) });
    let client = fake.client_with(Arc::new(CachedTokenSource::new(long.clone())));
    advisor::fetch_recommendations(&client, &ctx, SUB).await.unwrap();
    advisor::fetch_recommendations(&client, &ctx, SUB).await.unwrap();
    let auth: Vec<String> = fake.requests().iter().map(|s| s.header("authorization").unwrap()).collect();
    assert_eq!(auth, ["Bearer tok-1", "Bearer tok-2", "Bearer tok-1", "Bearer tok-1"]);
    assert_eq!((short.issued.load(Ordering::SeqCst), long.issued.load(Ordering::SeqCst)), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn resource_graph_spent_quota_pauses_the_next_page() {
    let fake = Fake::start(|seen, _| {
        if seen.body["options"]["$skipToken"].is_null() {
            Reply::json(200, json!({"totalRecords": 2, "count": 0, "resultTruncated": "false", "$skipToken": "p2", "data": []}))
                .header("x-ms-user-quota-remaining", "0")
                .header("x-ms-user-quota-resets-after", "00:00:04")
        } else {
            empty_graph().header("x-ms-user-quota-remaining", "14").header("x-ms-user-quota-resets-after", "00:00:05")
        }
    })
    .await;
    let client = fake.client();
    resource_graph::fetch_inventory(&client, &CallContext::new("t", SUB), SUB).await.unwrap();
    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].at - seen[0].at >= Duration::from_secs(4), "waited for the window to reset");
    assert_eq!(client.counters().throttles(Api::ResourceGraph), 0, "paced before Azure had to throttle");
}

#[tokio::test]
async fn truncated_result_without_token_is_an_error() {
    let fake = Fake::start(|_, _| {
        Reply::json(200, json!({"totalRecords": 5000, "count": 1000, "resultTruncated": "true", "data": []}))
    })
    .await;
    let err =
        resource_graph::fetch_inventory(&fake.client(), &CallContext::new("t", SUB), SUB).await.unwrap_err();
    assert!(matches!(err, AzureError::Truncated { api: Api::ResourceGraph }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn connection_refused_is_retried_then_typed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = azcops::azure::AzureConfig::for_base_url(&base).unwrap();
    config.timeout = Duration::from_secs(3600);
    let client =
        azcops::azure::ArmClient::new(config, Arc::new(crate::fake::FixedToken("t".into()))).unwrap();
    let err = advisor::fetch_recommendations(&client, &CallContext::new("t", SUB), SUB).await.unwrap_err();
    assert!(
        matches!(&err, AzureError::RetriesExhausted { attempts: 5, last, .. } if last == "Connect"),
        "{err:?}"
    );
    assert_eq!(client.counters().requests(Api::Advisor), 5);
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried_then_typed() {
    let app = axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(86_400)).await;
        "late"
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = azcops::azure::AzureConfig::for_base_url(&base).unwrap();
    config.timeout = Duration::from_secs(2);
    let client =
        azcops::azure::ArmClient::new(config, Arc::new(crate::fake::FixedToken("t".into()))).unwrap();
    let err = advisor::fetch_recommendations(&client, &CallContext::new("t", SUB), SUB).await.unwrap_err();
    assert!(
        matches!(&err, AzureError::RetriesExhausted { attempts: 5, last, .. } if last == "Timeout"),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn governor_paces_a_resource_graph_fan_out_before_azure_throttles() {
    let fake = Fake::start(|_, _| empty_graph()).await;
    let client = fake.client();
    let started = Instant::now();
    let subs: Vec<String> = (0..21).map(|i| format!("00000000-0000-0000-0000-{i:012}")).collect();
    let calls = subs.iter().map(|s| {
        let client = client.clone();
        async move { resource_graph::fetch_inventory(&client, &CallContext::new("t", s.as_str()), s).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    // 15 queries in the first 5-second window, the other 6 in the next.
    let elapsed = started.elapsed();
    assert_eq!(elapsed, Duration::from_secs(5));
    let seen = fake.requests();
    for s in &seen {
        let in_window = seen.iter().filter(|o| o.at >= s.at && o.at - s.at < Duration::from_secs(5)).count();
        assert!(in_window <= 15, "never more than 15 queries in 5 s ({in_window})");
    }
}
