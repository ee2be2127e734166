//! The evaluation service: idempotent upserts, people's decisions kept, stale findings closed
//! and audited, Advisor de-duplicated, per-tenant thresholds, observed-cost savings.

use std::collections::BTreeMap;

use azcops::evaluation::{FixedPrices, evaluate_subscription};
use azcops::model::{AdvisorRecommendationRow, CostDailyRow, ResourceRow};
use azcops::rules::{PriceBook, SubscriptionSnapshot};
use azcops::store::{
    AuditFilter, PageRequest, Recommendation, RecommendationFilter, RecommendationStatus, Store, TenantScope,
};
use chrono::{DateTime, Days, Duration, TimeZone, Utc};
use serde_json::json;

use crate::store_test;
use crate::support::{Ctx, guid, tenant};

store_test!(
    evaluation_is_idempotent_and_keeps_decisions,
    stale_findings_close_with_an_audited_reason,
    thresholds_and_tag_name_are_per_tenant,
    savings_come_from_observed_cost_first,
);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap()
}

fn sub() -> String {
    guid(101)
}

fn res(kind: &str, name: &str, props: serde_json::Value) -> ResourceRow {
    let s = sub();
    ResourceRow {
        subscription_id: s.clone(),
        resource_id: format!("/subscriptions/{s}/resourcegroups/rg/providers/{kind}/{name}"),
        name: name.into(),
        resource_type: kind.into(),
        kind: None,
        location: "eastus".into(),
        resource_group: "rg".into(),
        sku: Some(json!({"name": "Premium_LRS"})),
        tags: BTreeMap::from([("cost-center".to_owned(), "cc-1".to_owned())]),
        properties: props,
        managed_by: None,
    }
}

fn disk(attached: bool) -> ResourceRow {
    let state = if attached { "Attached" } else { "Unattached" };
    let mut r = res("microsoft.compute/disks", "disk1", json!({"diskState": state, "diskSizeGB": 128}));
    if attached {
        r.managed_by = Some("/vm".into());
    }
    r
}

fn ip() -> ResourceRow {
    let mut r =
        res("microsoft.network/publicipaddresses", "pip1", json!({"publicIPAllocationMethod": "Static"}));
    r.sku = Some(json!({"name": "Standard"}));
    r
}

fn untagged_vnet() -> ResourceRow {
    let mut r = res("microsoft.network/virtualnetworks", "vnet1", json!({}));
    r.tags.clear();
    r
}

fn advisor(type_id: &str, resource_id: &str) -> AdvisorRecommendationRow {
    AdvisorRecommendationRow {
        subscription_id: sub(),
        advisor_id: format!("/advisor/{type_id}"),
        recommendation_type_id: type_id.into(),
        resource_id: resource_id.into(),
        impacted_field: "x".into(),
        impacted_value: "y".into(),
        impact: "Medium".into(),
        problem: "problem".into(),
        solution: "solution".into(),
        monthly_savings: 12.5,
        savings_estimated: false,
        currency: "USD".into(),
        confidence: 0.7,
        last_updated: None,
        extended_properties: json!({}),
    }
}

fn snapshot(resources: Vec<ResourceRow>) -> SubscriptionSnapshot {
    SubscriptionSnapshot { subscription_id: sub(), as_of: now(), resources, ..Default::default() }
}

async fn all(store: &Store, scope: &TenantScope) -> Vec<Recommendation> {
    let mut out = store
        .list_recommendations(scope, &RecommendationFilter::default(), PageRequest::new(1, 500).unwrap())
        .await
        .unwrap()
        .items;
    out.sort_by(|a, b| (&a.rule_id, &a.resource_id).cmp(&(&b.rule_id, &b.resource_id)));
    out
}

fn prices() -> FixedPrices {
    FixedPrices::new(PriceBook::default())
}

async fn evaluation_is_idempotent_and_keeps_decisions(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let d = disk(false);
    let mut snap = snapshot(vec![d.clone(), ip(), untagged_vnet()]);
    snap.advisor = vec![
        advisor("48eda464-1485-4dcf-a674-d0905df5054a", &d.resource_id),
        advisor("00000000-aaaa-4000-8000-000000000001", &ip().resource_id),
    ];
    let first = evaluate_subscription(store, &prices(), &scope, &snap, now()).await.unwrap();
    assert_eq!((first.rules_evaluated, first.findings, first.advisor_recommendations), (10, 3, 2));
    assert_eq!(first.advisor_duplicates, 1, "Advisor agrees with our unattached-disk finding");
    let rows = all(store, &scope).await;
    let rules: Vec<(&str, &str, Option<&str>)> =
        rows.iter().map(|r| (r.rule_id.as_str(), r.source.as_str(), r.duplicate_of.as_deref())).collect();
    assert_eq!(
        rules,
        [
            ("advisor:00000000-aaaa-4000-8000-000000000001", "advisor", None),
            ("advisor:48eda464-1485-4dcf-a674-d0905df5054a", "advisor", Some("waste.unattached_disk")),
            ("governance.missing_cost_center_tag", "rule", None),
            ("waste.orphaned_public_ip", "rule", None),
            ("waste.unattached_disk", "rule", None),
        ],
        "Advisor's agreement is kept and linked to the rule's finding"
    );
    let counted: f64 =
        rows.iter().filter(|r| r.duplicate_of.is_none()).map(|r| r.estimated_monthly_savings).sum();
    assert!(
        (first.monthly_savings - (counted * 100.0).round() / 100.0).abs() < 1e-9,
        "the linked saving is not counted twice"
    );
    let disk_rec = rows.iter().find(|r| r.rule_id == "waste.unattached_disk").unwrap();
    assert_eq!((disk_rec.savings_basis.as_str(), disk_rec.estimated_monthly_savings), ("heuristic", 19.2));
    assert_eq!((disk_rec.risk_level.as_str(), disk_rec.category.as_str()), ("high", "waste"));
    assert_eq!(disk_rec.priority_score, 4.32, "19.2 × 0.9 ÷ 4");

    let second = evaluate_subscription(store, &prices(), &scope, &snap, now()).await.unwrap();
    assert_eq!(second.closed, 0);
    assert_eq!(all(store, &scope).await, rows, "an identical evaluation changes no recommendation");

    let pip = rows.iter().find(|r| r.rule_id == "waste.orphaned_public_ip").unwrap();
    store
        .transition_recommendation(
            &scope,
            &pip.id,
            RecommendationStatus::Dismissed,
            "alice",
            Some("kept for DR"),
        )
        .await
        .unwrap();
    evaluate_subscription(store, &prices(), &scope, &snap, now() + Duration::hours(1)).await.unwrap();
    // The IP is gone in the next snapshot: a person's decision is still never overwritten.
    let later = snapshot(vec![d.clone(), untagged_vnet()]);
    evaluate_subscription(store, &prices(), &scope, &later, now() + Duration::hours(2)).await.unwrap();
    let pip_now = store.get_recommendation(&scope, &pip.id).await.unwrap();
    assert_eq!(
        (pip_now.status, pip_now.status_changed_by.as_str()),
        (RecommendationStatus::Dismissed, "alice")
    );
}

async fn stale_findings_close_with_an_audited_reason(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    evaluate_subscription(store, &prices(), &scope, &snapshot(vec![disk(false)]), now()).await.unwrap();
    let rec = all(store, &scope).await.into_iter().find(|r| r.rule_id == "waste.unattached_disk").unwrap();
    assert_eq!(rec.status, RecommendationStatus::Open);
    // Attached again: the finding no longer holds.
    let out =
        evaluate_subscription(store, &prices(), &scope, &snapshot(vec![disk(true)]), now()).await.unwrap();
    assert_eq!(out.closed, 1);
    let closed = store.get_recommendation(&scope, &rec.id).await.unwrap();
    assert_eq!((closed.status, closed.status_changed_by.as_str()), (RecommendationStatus::Closed, "system"));
    let audit =
        store.list_audit(&scope, &AuditFilter::default(), PageRequest::new(1, 100).unwrap()).await.unwrap();
    let entry =
        audit.items.iter().find(|a| a.action == "recommendation.closed" && a.target_id == rec.id).unwrap();
    assert!(entry.metadata.0.to_string().contains("no longer holds"), "{:?}", entry.metadata);
    // Detached again: the same recommendation reopens.
    evaluate_subscription(store, &prices(), &scope, &snapshot(vec![disk(false)]), now()).await.unwrap();
    assert_eq!(store.get_recommendation(&scope, &rec.id).await.unwrap().status, RecommendationStatus::Open);
}

async fn thresholds_and_tag_name_are_per_tenant(ctx: Ctx) {
    let store = &ctx.store;
    let (a, b) = (tenant(store, 1).await, tenant(store, 2).await);
    let created = (now() - Duration::days(40)).to_rfc3339();
    let mut snap =
        res("microsoft.compute/snapshots", "snap1", json!({"timeCreated": created, "diskSizeGB": 64}));
    snap.tags = BTreeMap::from([("CostCentre".to_owned(), "cc".to_owned())]);
    let s = snapshot(vec![snap]);
    store
        .put_rule_settings(
            &a,
            &json!({"stale_snapshot_days": 30, "cost_center_tag": "costcentre"}),
            &azcops::store::Actor::named("test"),
        )
        .await
        .unwrap();
    let found_a = evaluate_subscription(store, &prices(), &a, &s, now()).await.unwrap();
    let found_b = evaluate_subscription(store, &prices(), &b, &s, now()).await.unwrap();
    let ids =
        |o: &azcops::evaluation::EvaluationSummary| o.findings_by_rule.keys().cloned().collect::<Vec<_>>();
    assert_eq!(ids(&found_a), ["waste.stale_snapshot"]);
    assert_eq!(ids(&found_b), ["governance.missing_cost_center_tag"]);
    store
        .put_rule_settings(&b, &json!({"stale_snapshot_days": "soon"}), &azcops::store::Actor::named("test"))
        .await
        .unwrap();
    assert!(
        evaluate_subscription(store, &prices(), &b, &s, now()).await.is_err(),
        "invalid settings are refused"
    );
}

async fn savings_come_from_observed_cost_first(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let d = disk(false);
    let today = now().date_naive();
    let rows: Vec<CostDailyRow> = (1..=30u64)
        .map(|n| CostDailyRow {
            subscription_id: sub(),
            date: today.checked_sub_days(Days::new(n)).unwrap(),
            resource_group: "rg".into(),
            service_name: "Storage".into(),
            meter_category: "Storage".into(),
            resource_id: d.resource_id.clone(),
            cost: 0.648,
            amortized_cost: 0.648,
            currency: "EUR".into(),
        })
        .collect();
    store.upsert_costs_daily(&scope, &rows).await.unwrap();
    evaluate_subscription(store, &prices(), &scope, &snapshot(vec![d]), now()).await.unwrap();
    let rec = all(store, &scope).await.into_iter().find(|r| r.rule_id == "waste.unattached_disk").unwrap();
    assert_eq!(rec.savings_basis, "observed_cost_30d");
    assert_eq!(rec.currency, "EUR");
    // 30 days × 0.648 = 19.44, normalised to a 730-hour month: × 730 / 720.
    assert!((rec.estimated_monthly_savings - 19.71).abs() < 0.005, "{}", rec.estimated_monthly_savings);
    assert_eq!(rec.confidence_score, 0.95);
}
