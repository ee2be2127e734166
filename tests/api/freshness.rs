//! Data freshness: `/api/health` turns degraded when an active tenant's data is older than
//! `AZCOPS_FRESHNESS_MAX_AGE_HOURS`, and `/api/v1/ingestion/freshness` shows the caller's tenant
//! its subscriptions' last success (rows per connector) and last failure, on both backends.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use azcops::store::{Actor, ItemStatus, ItemUpdate, NewRun, TenantScope};
use chrono::TimeDelta;

use crate::support::*;

/// Plans a run of `subscription` in `scope` and finishes its item with `status`.
async fn run(
    api: &Api,
    scope: &TenantScope,
    key: &str,
    subscription: &str,
    status: ItemStatus,
    error: Option<&str>,
) -> String {
    let new = NewRun {
        kind: "full".into(),
        schedule_key: key.into(),
        requested_by: "timer".into(),
        subscription_ids: vec![subscription.to_owned()],
    };
    let (planned, _) = api.store.create_run(scope, &new).await.unwrap();
    let counts = (status == ItemStatus::Succeeded)
        .then(|| BTreeMap::from([("resources".to_owned(), 5), ("costs".to_owned(), 12)]));
    let update = ItemUpdate {
        status,
        attempts: Some(if error.is_some() { 5 } else { 1 }),
        error: error.map(str::to_owned),
        counts,
        duration_ms: Some(1500),
    };
    api.store.update_run_item(scope, &planned.run.id, subscription, &update).await.unwrap();
    planned.run.id
}

async fn health_and_freshness(backend: Backend) {
    let api = Api::on(backend, &[("AZCOPS_FRESHNESS_MAX_AGE_HOURS", "24")]).await;
    // Subscriptions registered just now and not ingested yet do not make the service degraded.
    let health = api.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    let body = health.json();
    assert_eq!(body["database"], "connected");
    assert_eq!(body["freshness"]["status"], "fresh");
    assert_eq!(body["freshness"]["max_age_hours"], 24);
    assert_eq!(body["freshness"]["tenants"], 2);
    assert_eq!(body["freshness"]["never_ingested_subscriptions"], 2);
    assert!(body["freshness"]["oldest_ingestion_age_hours"].is_null(), "{body}");

    // Tenant A: a failed run, then a successful one two hours ago. Tenant B: last success 30 h
    // ago, and a failure on a subscription id that A also has (B's ledger only).
    let (sub_a, sub_b) = (subscription(1), subscription(2));
    let failed =
        run(&api, &api.scope_a, "full:1", &sub_a, ItemStatus::Failed, Some("ARM answered 403")).await;
    let succeeded = run(&api, &api.scope_a, "full:2", &sub_a, ItemStatus::Succeeded, None).await;
    let now = azcops::store::now();
    api.store.mark_subscription_ingested(&api.scope_a, &sub_a, now - TimeDelta::hours(2)).await.unwrap();
    api.store.mark_subscription_ingested(&api.scope_b, &sub_b, now - TimeDelta::hours(30)).await.unwrap();
    run(&api, &api.scope_b, "full:1", &sub_a, ItemStatus::Failed, Some("tenant B's failure")).await;

    let health = api.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status, StatusCode::MULTI_STATUS, "{}", health.text);
    let body = health.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "connected", "the database fields are unchanged");
    assert_eq!(body["freshness"]["status"], "stale");
    assert_eq!(body["freshness"]["stale_tenants"], 1);
    assert_eq!(body["freshness"]["never_ingested_subscriptions"], 0);
    let oldest = body["freshness"]["oldest_ingestion_age_hours"].as_f64().unwrap();
    assert!((30.0..31.0).contains(&oldest), "{body}");
    assert!(!health.text.contains(&api.tenant_a), "the public health check names no tenant");

    // The Reader of tenant A sees its subscription only, with its last success and failure.
    let reader_a = token(&tid_a(), &[READER]).await;
    let view = api.get("/api/v1/ingestion/freshness", &reader_a).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    let view = view.json();
    assert_eq!(view["max_age_hours"], 24);
    let subs = view["subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), 1, "{view}");
    let row = &subs[0];
    assert_eq!(row["subscription_id"], sub_a);
    assert_eq!(row["status"], "fresh");
    assert!((2.0..3.0).contains(&row["age_hours"].as_f64().unwrap()), "{row}");
    assert_eq!(row["last_success"]["run_id"], succeeded);
    assert_eq!(row["last_success"]["rows"]["resources"], 5);
    assert_eq!(row["last_success"]["rows"]["costs"], 12);
    assert_eq!(row["last_success"]["duration_ms"], 1500);
    assert_eq!(row["last_failure"]["run_id"], failed);
    assert_eq!(row["last_failure"]["error"], "ARM answered 403");
    assert_eq!(row["last_failure"]["attempts"], 5);
    assert!(!view.to_string().contains("tenant B's failure"), "{view}");

    let reader_b = token(&tid_b(), &[READER]).await;
    let view_b = api.get("/api/v1/ingestion/freshness", &reader_b).await.json();
    assert_eq!(view_b["subscriptions"][0]["subscription_id"], sub_b);
    assert_eq!(view_b["subscriptions"][0]["status"], "stale");
    assert!(view_b["subscriptions"][0]["last_success"]["run_id"].is_null(), "{view_b}");
    assert!(view_b["subscriptions"][0]["last_failure"].is_null(), "{view_b}");

    let anonymous = api.call(Method::GET, "/api/v1/ingestion/freshness", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{}", anonymous.text);

    // An inactive tenant's old data no longer makes the service degraded.
    let tenant_b = api.scope_b.tenant_id().to_owned();
    api.store.platform_admin().deactivate_tenant(&tenant_b, &Actor::named("test")).await.unwrap();
    let health = api.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    assert_eq!(health.json()["freshness"]["tenants"], 1);
    api.finish().await;
}

#[tokio::test]
async fn health_and_freshness_on_sqlite() {
    health_and_freshness(Backend::Sqlite).await;
}

#[tokio::test]
async fn health_and_freshness_on_postgres() {
    health_and_freshness(Backend::Postgres).await;
}
