//! Cross-tenant matrix: a token of tenant B never sees tenant A's data; platform admins reach
//! a customer tenant only through `X-AzCops-Tenant`, and each such request is audited there.

use axum::http::{Method, StatusCode};
use azcops::store::NewRun;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn tenant_b_never_sees_tenant_a_sqlite() {
    tenant_b_never_sees_tenant_a(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn tenant_b_never_sees_tenant_a_postgres() {
    tenant_b_never_sees_tenant_a(Api::on(Backend::Postgres, &[]).await).await;
}

async fn tenant_b_never_sees_tenant_a(api: Api) {
    let day = chrono::Utc::now().date_naive();
    api.store
        .upsert_resources(&api.scope_a, &[resource_row(1, "disk-a", &[])], azcops::store::now())
        .await
        .unwrap();
    api.store.upsert_costs_daily(&api.scope_a, &[cost_row(1, day, 12.5)]).await.unwrap();
    let rec = seed_recommendation(&api, &api.scope_a, 1, "disk-a", 40.0).await;
    let run = api
        .store
        .create_run(
            &api.scope_a,
            &NewRun {
                kind: "manual".into(),
                schedule_key: "k1".into(),
                requested_by: "test".into(),
                subscription_ids: vec![subscription(1)],
            },
        )
        .await
        .unwrap();
    let run_id = run.0.run.id.clone();

    let a = token(&tid_a(), &[ADMIN]).await;
    let b = token(&tid_b(), &[ADMIN]).await;
    // Tenant A sees its own data (so the empty answers for B below mean something).
    assert_eq!(api.get("/api/v1/resources", &a).await.json()["total"], 1);
    assert_eq!(api.get(&format!("/api/v1/recommendations/{rec}"), &a).await.status, StatusCode::OK);
    assert_eq!(api.get(&format!("/api/v1/ingestion/status/{run_id}"), &a).await.status, StatusCode::OK);

    for list in ["/api/v1/resources", "/api/v1/costs", "/api/v1/recommendations", "/api/v1/subscriptions"] {
        let reply = api.get(list, &b).await;
        assert_eq!(reply.status, StatusCode::OK, "{list}: {}", reply.text);
        let items = reply.json()["items"].as_array().unwrap().clone();
        assert!(
            items.iter().all(|i| !i.to_string().contains(&subscription(1))),
            "{list} leaked A: {items:?}"
        );
    }
    assert_eq!(api.get("/api/v1/recommendations", &b).await.json()["total"], 0);
    assert_eq!(api.get("/api/v1/costs/summary?days=7", &b).await.json()["total_cost"], 0.0);
    assert_eq!(api.get("/api/v1/recommendations/summary", &b).await.json()["groups"], json!([]));
    // B's log holds only B's own onboarding rows, nothing about A's objects.
    let audit = api.get("/api/v1/audit-logs", &b).await;
    assert_eq!(audit.json()["total"], 2, "{}", audit.text);
    assert!(!audit.text.contains(&subscription(1)) && !audit.text.contains(&api.tenant_a), "{}", audit.text);
    for export in
        ["/api/v1/resources/export.csv", "/api/v1/costs/export.csv", "/api/v1/recommendations/export.csv"]
    {
        let reply = api.get(export, &b).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text.lines().count(), 1, "{export} should hold only the header: {}", reply.text);
    }
    let sub_a = subscription(1);
    let by_id: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/api/v1/recommendations/{rec}"), None),
        (Method::POST, format!("/api/v1/recommendations/{rec}/approve"), None),
        (Method::POST, format!("/api/v1/recommendations/{rec}/dismiss"), Some(json!({"reason": "x"}))),
        (Method::GET, format!("/api/v1/ingestion/status/{run_id}"), None),
        (Method::GET, format!("/api/v1/subscriptions/{sub_a}"), None),
        (Method::PATCH, format!("/api/v1/subscriptions/{sub_a}"), Some(json!({"display_name": "mine"}))),
        (Method::DELETE, format!("/api/v1/subscriptions/{sub_a}"), None),
    ];
    for (method, path, body) in by_id {
        let reply = api.call(method.clone(), &path, Some(&b), body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}: {}", reply.text);
    }
    // Nothing of A changed.
    let after = api.get(&format!("/api/v1/recommendations/{rec}"), &a).await.json();
    assert_eq!(after["status"], "open");
    assert_eq!(api.get(&format!("/api/v1/subscriptions/{sub_a}"), &a).await.json()["display_name"], "sub 1");
    // Tenant B cannot name A in the header either.
    let reply = api
        .call_with(Method::GET, "/api/v1/resources", Some(&b), None, &[("x-azcops-tenant", &api.tenant_a)])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn platform_admin_acts_on_a_named_tenant_and_is_audited() {
    let api = Api::new().await;
    api.store
        .upsert_resources(&api.scope_a, &[resource_row(1, "disk-a", &[])], azcops::store::now())
        .await
        .unwrap();
    let operator = token(&tid_control(), &[PLATFORM_ADMIN]).await;
    let header = [("x-azcops-tenant", tid_a())];
    let headers: Vec<(&str, &str)> = header.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = api.call_with(Method::GET, "/api/v1/resources", Some(&operator), None, &headers).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["total"], 1);
    let audit =
        api.get("/api/v1/audit-logs?action=platform_admin.request", &token(&tid_a(), &[READER]).await).await;
    let items = audit.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{}", audit.text);
    assert_eq!(items[0]["target_id"], "/api/v1/resources");
    assert_eq!(items[0]["metadata"]["caller_tenant"], tid_control());
    // Unknown tenant named: 404.
    let reply = api
        .call_with(Method::GET, "/api/v1/resources", Some(&operator), None, &[("x-azcops-tenant", &guid(77))])
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // Tenant management.
    let created = api
        .call(
            Method::POST,
            "/api/v1/tenants",
            Some(&operator),
            Some(json!({"name": "Contoso", "azure_tenant_id": guid(3).to_uppercase()})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json()["azure_tenant_id"], guid(3));
    let dup = api
        .call(
            Method::POST,
            "/api/v1/tenants",
            Some(&operator),
            Some(json!({"name": "Again", "azure_tenant_id": guid(3)})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let patched = api
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/{id}"),
            Some(&operator),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(patched.json()["active"], false, "{}", patched.text);
    let deleted = api.call(Method::DELETE, &format!("/api/v1/tenants/{id}"), Some(&operator), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(api.get(&format!("/api/v1/tenants/{id}"), &operator).await.status, StatusCode::NOT_FOUND);
}
