//! Recommendation decisions over the API: every action from every person-visible status with
//! the lowest role allowed, the role checks, the required reason, and the audit trail.

use axum::http::{Method, StatusCode};
use azcops::store::{Changer, RecommendationStatus, TenantScope};
use serde_json::json;

use crate::support::*;

const ACTIONS: [(&str, RecommendationStatus, &str); 5] = [
    ("approve", RecommendationStatus::Approved, APPROVER),
    ("reject", RecommendationStatus::Rejected, APPROVER),
    ("dismiss", RecommendationStatus::Dismissed, APPROVER),
    ("reopen", RecommendationStatus::Open, APPROVER),
    ("execute", RecommendationStatus::Executed, ADMIN),
];

/// A recommendation moved (through the store) into `status`.
async fn in_status(api: &Api, scope: &TenantScope, name: &str, status: RecommendationStatus) -> String {
    let id = seed_recommendation(api, scope, 1, name, 10.0).await;
    let path: &[RecommendationStatus] = match status {
        RecommendationStatus::Open => &[],
        RecommendationStatus::Approved => &[RecommendationStatus::Approved],
        RecommendationStatus::Rejected => &[RecommendationStatus::Rejected],
        RecommendationStatus::Dismissed => &[RecommendationStatus::Dismissed],
        RecommendationStatus::Executed => &[RecommendationStatus::Approved, RecommendationStatus::Executed],
        RecommendationStatus::Closed => unreachable!("closed is system-only"),
    };
    for to in path {
        api.store.transition_recommendation(scope, &id, *to, "seed", Some("seed")).await.unwrap();
    }
    id
}

#[tokio::test]
async fn every_transition_over_the_api_sqlite() {
    every_transition_over_the_api(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn every_transition_over_the_api_postgres() {
    every_transition_over_the_api(Api::on(Backend::Postgres, &[]).await).await;
}

async fn every_transition_over_the_api(api: Api) {
    let approver = token(&tid_a(), &[APPROVER]).await;
    let admin = token(&tid_a(), &[ADMIN]).await;
    let from_statuses = [
        RecommendationStatus::Open,
        RecommendationStatus::Approved,
        RecommendationStatus::Rejected,
        RecommendationStatus::Dismissed,
        RecommendationStatus::Executed,
    ];
    let mut allowed = 0;
    for from in from_statuses {
        for (action, to, role) in ACTIONS {
            let name = format!("{from}-{action}");
            let id = in_status(&api, &api.scope_a, &name, from).await;
            let token = if role == ADMIN { &admin } else { &approver };
            let reply = api
                .call(
                    Method::POST,
                    &format!("/api/v1/recommendations/{id}/{action}"),
                    Some(token),
                    Some(json!({"reason": "checked with the owner"})),
                )
                .await;
            if from.can_transition(to, Changer::Person) {
                allowed += 1;
                assert_eq!(reply.status, StatusCode::OK, "{from} --{action}--> : {}", reply.text);
                assert_eq!(reply.json()["status"], to.as_str());
                assert_eq!(reply.json()["status_changed_by"], format!("oid-{}", tid_a()));
                let audit = api
                    .get(&format!("/api/v1/audit-logs?target_id={id}&action=recommendation.{to}"), &approver)
                    .await;
                let entry = &audit.json()["items"][0];
                assert_eq!(entry["actor"], format!("oid-{}", tid_a()), "{}", audit.text);
                assert_eq!(entry["metadata"]["reason"], "checked with the owner");
            } else {
                assert_eq!(error_field(&reply, StatusCode::CONFLICT), None, "{from} --{action}-->");
            }
        }
    }
    // open→approved/rejected/dismissed, approved→executed/rejected, rejected→open, dismissed→open.
    assert_eq!(allowed, 7);
    api.finish().await;
}

#[tokio::test]
async fn roles_and_reasons_are_enforced() {
    let api = Api::new().await;
    let reader = token(&tid_a(), &[READER]).await;
    let approver = token(&tid_a(), &[APPROVER]).await;
    let id = in_status(&api, &api.scope_a, "roles", RecommendationStatus::Open).await;
    for action in ["approve", "reject", "dismiss", "reopen", "execute"] {
        let reply = api
            .call(
                Method::POST,
                &format!("/api/v1/recommendations/{id}/{action}"),
                Some(&reader),
                Some(json!({"reason": "r"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "reader {action}");
    }
    let approved = in_status(&api, &api.scope_a, "exec", RecommendationStatus::Approved).await;
    let reply = api
        .call(Method::POST, &format!("/api/v1/recommendations/{approved}/execute"), Some(&approver), None)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "approver may not execute");

    for action in ["reject", "dismiss"] {
        for body in [None, Some(json!({})), Some(json!({"reason": "   "}))] {
            let reply = api
                .call(Method::POST, &format!("/api/v1/recommendations/{id}/{action}"), Some(&approver), body)
                .await;
            assert_eq!(
                error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(),
                Some("reason"),
                "{action}"
            );
        }
    }
    let reply = api
        .call(
            Method::POST,
            &format!("/api/v1/recommendations/{id}/approve"),
            Some(&approver),
            Some(json!({"reason": 5})),
        )
        .await;
    assert_eq!(error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("reason"));
    // Approve needs no body at all.
    let reply =
        api.call(Method::POST, &format!("/api/v1/recommendations/{id}/approve"), Some(&approver), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let unknown =
        api.call(Method::POST, &format!("/api/v1/recommendations/{id}/explode"), Some(&approver), None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let detail = api.get(&format!("/api/v1/recommendations/{id}"), &reader).await.json();
    assert_eq!(detail["evidence"], json!({"diskState": "Unattached"}));
}
