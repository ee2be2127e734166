//! `/settings/rules`: Readers see the thresholds, Admins change them, a bad value changes
//! nothing, and every change is audited with the request.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

async fn rule_settings(backend: Backend) {
    let api = Api::on(backend, &[]).await;
    let reader = token(&tid_a(), &[READER]).await;
    let admin = token(&tid_a(), &[ADMIN]).await;

    let initial = api.get("/api/v1/settings/rules", &reader).await.json();
    assert_eq!(initial["overrides"], json!({}));
    assert_eq!(initial["effective"]["cost_center_tag"], "cost-center");
    assert_eq!(initial["effective"]["stale_snapshot_days"], 90);

    let change = json!({"cost_center_tag": "CostCentre", "stale_snapshot_days": 30});
    let refused = api.call(Method::PUT, "/api/v1/settings/rules", Some(&reader), Some(change.clone())).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let changed = api.call(Method::PUT, "/api/v1/settings/rules", Some(&admin), Some(change.clone())).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.json()["effective"]["cost_center_tag"], "CostCentre");
    assert_eq!(changed.json()["effective"]["vm_cpu_p95_max"], 20.0, "defaults fill the rest");

    for bad in [
        json!({"stale_snapshot_days": "soon"}),
        json!({"no_such_rule": 1}),
        json!({"vm_cpu_p95_max": 140}),
        json!([1]),
    ] {
        let reply = api.call(Method::PUT, "/api/v1/settings/rules", Some(&admin), Some(bad.clone())).await;
        assert_eq!(
            error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(),
            Some("rule_settings"),
            "{bad}: {}",
            reply.text
        );
    }
    let kept = api.get("/api/v1/settings/rules", &reader).await.json();
    assert_eq!(kept["overrides"], change, "a refused change leaves the stored overrides as they were");

    let audit = api.get("/api/v1/audit-logs?action=rule_settings.updated", &reader).await.json();
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["metadata"]["before"], json!(null));
    assert_eq!(items[0]["metadata"]["after"], change);

    // Another tenant's settings are its own.
    let other = api.get("/api/v1/settings/rules", &token(&tid_b(), &[READER]).await).await.json();
    assert_eq!(other["overrides"], json!({}));
    api.finish().await;
}

#[tokio::test]
async fn rule_settings_on_sqlite() {
    rule_settings(Backend::Sqlite).await;
}

#[tokio::test]
async fn rule_settings_on_postgres() {
    rule_settings(Backend::Postgres).await;
}
