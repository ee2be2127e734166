//! Rate limits over HTTP with real tokens: a bucket per caller (`tid` + `oid`) under the
//! tenant's ceiling, roleless tokens refused before they spend anything, platform admins
//! limited one by one.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::*;

/// A token of tenant `tid` for user `oid` with `roles`.
async fn user(tid: &str, oid: &str, roles: &[&str]) -> String {
    let mut claims = claims(tid, roles);
    claims["oid"] = Value::String(oid.to_owned());
    token_from(&oidc(), &claims).await
}

fn assert_limited(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{}", reply.text);
    let retry: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "Retry-After {retry}");
    assert_eq!(reply.json()["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn a_roleless_token_cannot_spend_the_tenant_budget() {
    let api = Api::with(&[
        ("AZCOPS_API_RATE_LIMIT_PER_MINUTE", "5"),
        ("AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE", "100"),
    ])
    .await;
    let roleless = user(&tid_a(), "intruder", &[]).await;
    for path in ["/api/v1/me", "/api/v1/resources", "/api/v1/costs/summary"].iter().cycle().take(60) {
        let reply = api.get(path, &roleless).await;
        assert_eq!(error_field(&reply, StatusCode::FORBIDDEN), None, "{path}");
        assert!(
            reply.json()["error"]["message"].as_str().unwrap().contains("no AzCops role"),
            "{}",
            reply.text
        );
    }
    // An invalid token stays 401 and costs nothing either.
    for _ in 0..10 {
        assert_eq!(api.get("/api/v1/me", "not-a-token").await.status, StatusCode::UNAUTHORIZED);
    }
    let reader = user(&tid_a(), "reader", &[READER]).await;
    for _ in 0..5 {
        assert_eq!(api.get("/api/v1/resources", &reader).await.status, StatusCode::OK);
    }
    assert_limited(&api.get("/api/v1/resources", &reader).await);
    assert_eq!(api.runtime().limiter.len(), (1, 1), "only the reader's buckets exist");
}

#[tokio::test]
async fn one_caller_is_limited_before_the_tenant_ceiling_stops_everyone() {
    let api = Api::with(&[
        ("AZCOPS_API_RATE_LIMIT_PER_MINUTE", "6"),
        ("AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE", "3"),
    ])
    .await;
    let first = user(&tid_a(), "first", &[READER]).await;
    let second = user(&tid_a(), "second", &[READER]).await;
    let third = user(&tid_a(), "third", &[READER]).await;
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/me", &first).await.status, StatusCode::OK);
    }
    for _ in 0..5 {
        assert_limited(&api.get("/api/v1/me", &first).await);
    }
    // The first caller's refusals did not spend the tenant's remaining three requests.
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/me", &second).await.status, StatusCode::OK);
    }
    assert_limited(&api.get("/api/v1/me", &third).await);
    // Another tenant has its own ceiling.
    assert_eq!(api.get("/api/v1/me", &user(&tid_b(), "first", &[READER]).await).await.status, StatusCode::OK);
}

#[tokio::test]
async fn platform_admins_are_limited_per_caller_and_spend_no_tenant_budget() {
    let api = Api::with(&[
        ("AZCOPS_API_RATE_LIMIT_PER_MINUTE", "2"),
        ("AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE", "3"),
    ])
    .await;
    let one = user(&tid_control(), "operator-1", &[PLATFORM_ADMIN]).await;
    let two = user(&tid_control(), "operator-2", &[PLATFORM_ADMIN]).await;
    let tenant_a = api.tenant_a.clone();
    for _ in 0..3 {
        let reply = api
            .call_with(
                axum::http::Method::GET,
                "/api/v1/resources",
                Some(&one),
                None,
                &[("x-azcops-tenant", &tenant_a)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    assert_limited(&api.get("/api/v1/tenants", &one).await);
    // Three requests exceed the control-plane tenant's ceiling of two, yet the next operator
    // has a bucket of its own...
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/tenants", &two).await.status, StatusCode::OK);
    }
    // ...and tenant A's readers still have their whole budget.
    let reader = user(&tid_a(), "reader", &[READER]).await;
    for _ in 0..2 {
        assert_eq!(api.get("/api/v1/resources", &reader).await.status, StatusCode::OK);
    }
    assert_limited(&api.get("/api/v1/resources", &reader).await);
}
