//! Recommendations: idempotent upserts that respect people's decisions, the full lifecycle
//! through the database with its audit rows, system close/reopen, filters and sort.

use azcops::store::{
    AuditFilter, Changer, PageRequest, Recommendation, RecommendationFilter, RecommendationSort,
    RecommendationStatus::{self, Approved, Closed, Dismissed, Executed, Open, Rejected},
    StaleFindingKey, Store, StoreError, TenantScope,
};

use crate::store_test;
use crate::support::{Ctx, finding, guid, tenant};

store_test!(
    recommendation_upserts_are_idempotent_and_keep_decisions,
    every_transition_through_the_database,
    stale_findings_close_and_reappearing_ones_reopen,
    recommendation_filters_and_sort,
    concurrent_decisions_apply_once,
);

async fn audit_count(store: &Store, scope: &TenantScope, target: &str) -> u64 {
    let filter = AuditFilter { target_id: Some(target.to_owned()), ..Default::default() };
    store.list_audit(scope, &filter, PageRequest::first(1).unwrap()).await.unwrap().total
}

async fn all(store: &Store, scope: &TenantScope) -> Vec<Recommendation> {
    store
        .list_recommendations(scope, &RecommendationFilter::default(), PageRequest::first(500).unwrap())
        .await
        .unwrap()
        .items
}

async fn recommendation_upserts_are_idempotent_and_keep_decisions(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let sub = guid(101);
    let batch: Vec<_> = (0..600)
        .map(|i| finding(&sub, &format!("/r/{i}"), "waste.unattached_disk", 10.0, f64::from(i)))
        .collect();
    store.upsert_recommendations(scope, &batch).await.unwrap();
    let first = all(store, scope).await;
    assert_eq!(first.len(), 500);
    store.upsert_recommendations(scope, &batch).await.unwrap();
    assert_eq!(
        all(store, scope).await,
        first,
        "re-applying leaves identical rows (ids, timestamps included)"
    );

    let target = first[0].clone();
    let approved =
        store.transition_recommendation(scope, &target.id, Approved, "alice", Some("go")).await.unwrap();
    assert_eq!((approved.status, approved.status_changed_by.as_str()), (Approved, "alice"));

    // The next evaluation re-detects it with new figures: figures move, the decision stays.
    let mut again = batch.iter().find(|f| f.resource_id == target.resource_id).unwrap().clone();
    again.estimated_monthly_savings = 12.5;
    again.detected_at += chrono::Duration::days(1);
    store.upsert_recommendations(scope, &[again.clone()]).await.unwrap();
    let after = store.get_recommendation(scope, &target.id).await.unwrap();
    assert_eq!(after.status, Approved);
    assert_eq!(after.status_changed_by, "alice");
    assert_eq!(after.estimated_monthly_savings, 12.5);
    assert_eq!(after.first_detected_at, target.first_detected_at);
    assert_eq!(after.last_detected_at, again.detected_at);
    assert_eq!(after.id, target.id);

    let bad = azcops::store::RecommendationUpsert { source: "guess".into(), ..again };
    assert!(matches!(
        store.upsert_recommendations(scope, &[bad]).await,
        Err(StoreError::Validation { field: "source", .. })
    ));
}

/// Drives a fresh recommendation to `status` through allowed steps.
async fn reach(store: &Store, scope: &TenantScope, n: usize, status: RecommendationStatus) -> String {
    let sub = guid(101);
    let rule = "rightsizing.vm";
    let resource = format!("/r/{n}");
    store.upsert_recommendations(scope, &[finding(&sub, &resource, rule, 5.0, 1.0)]).await.unwrap();
    let rec = store
        .list_recommendations(scope, &RecommendationFilter::default(), PageRequest::first(500).unwrap())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|r| r.resource_id == resource)
        .unwrap();
    let steps: &[RecommendationStatus] = match status {
        Open | Closed => &[],
        Approved => &[Approved],
        Rejected => &[Rejected],
        Dismissed => &[Dismissed],
        Executed => &[Approved, Executed],
    };
    for step in steps {
        store.transition_recommendation(scope, &rec.id, *step, "setup", None).await.unwrap();
    }
    if status == Closed {
        let closed = store.close_stale(scope, &sub, &[rule.to_owned()], &[], "gone").await.unwrap();
        assert!(closed.contains(&rec.id));
    }
    assert_eq!(store.get_recommendation(scope, &rec.id).await.unwrap().status, status);
    rec.id
}

async fn every_transition_through_the_database(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let mut n = 0;
    let mut allowed = 0;
    for from in RecommendationStatus::ALL {
        for to in RecommendationStatus::ALL {
            n += 1;
            let id = reach(store, scope, n, from).await;
            let audits_before = audit_count(store, scope, &id).await;
            let result = store.transition_recommendation(scope, &id, to, "bob", Some("because")).await;
            let stored = store.get_recommendation(scope, &id).await.unwrap();
            if from.can_transition(to, Changer::Person) {
                allowed += 1;
                let rec = result.unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
                assert_eq!((rec.status, stored.status), (to, to));
                assert_eq!(audit_count(store, scope, &id).await, audits_before + 1, "{from} -> {to} audited");
                let latest = store
                    .list_audit(
                        scope,
                        &AuditFilter { target_id: Some(id.clone()), ..Default::default() },
                        PageRequest::first(1).unwrap(),
                    )
                    .await
                    .unwrap()
                    .items
                    .remove(0);
                assert_eq!(
                    (latest.actor.as_str(), latest.action.clone()),
                    ("bob", format!("recommendation.{to}"))
                );
                assert_eq!(latest.metadata.0["from"], from.as_str());
                assert_eq!(latest.metadata.0["reason"], "because");
            } else {
                match result {
                    Err(StoreError::InvalidTransition { from: f, to: t }) => assert_eq!((f, t), (from, to)),
                    other => panic!("{from} -> {to} should be refused, got {other:?}"),
                }
                assert_eq!(stored.status, from, "refused transition leaves the status");
                assert_eq!(
                    audit_count(store, scope, &id).await,
                    audits_before,
                    "refused transition not audited"
                );
            }
        }
    }
    assert_eq!(allowed, 7);
    assert!(matches!(
        store.transition_recommendation(scope, "missing", Approved, "bob", None).await,
        Err(StoreError::NotFound)
    ));
}

async fn stale_findings_close_and_reappearing_ones_reopen(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let sub = guid(101);
    let rule = "waste.unattached_disk";
    let findings: Vec<_> = (0..4).map(|i| finding(&sub, &format!("/d/{i}"), rule, 3.0, 1.0)).collect();
    let other_rule = finding(&sub, "/d/9", "rightsizing.vm", 3.0, 1.0);
    store.upsert_recommendations(scope, &[findings.clone(), vec![other_rule]].concat()).await.unwrap();
    let by_resource =
        |recs: &[Recommendation], r: &str| recs.iter().find(|x| x.resource_id == r).unwrap().clone();
    let recs = all(store, scope).await;
    let approved = by_resource(&recs, "/d/1");
    store.transition_recommendation(scope, &approved.id, Approved, "alice", None).await.unwrap();

    // The rule ran again and only /d/0 still holds: /d/2 and /d/3 close; the approved one and
    // the other rule's finding are left alone.
    let still = [StaleFindingKey { resource_id: "/d/0".into(), rule_id: rule.into() }];
    let mut closed =
        store.close_stale(scope, &sub, &[rule.to_owned()], &still, "disk attached").await.unwrap();
    closed.sort();
    let recs = all(store, scope).await;
    let mut expected = vec![by_resource(&recs, "/d/2").id, by_resource(&recs, "/d/3").id];
    expected.sort();
    assert_eq!(closed, expected);
    assert_eq!(by_resource(&recs, "/d/1").status, Approved);
    assert_eq!(by_resource(&recs, "/d/0").status, Open);
    assert_eq!(by_resource(&recs, "/d/9").status, Open);
    let closed_rec = by_resource(&recs, "/d/2");
    assert_eq!((closed_rec.status, closed_rec.status_changed_by.as_str()), (Closed, "system"));
    assert_eq!(audit_count(store, scope, &closed_rec.id).await, 1);
    // Closing again is a no-op.
    assert!(store.close_stale(scope, &sub, &[rule.to_owned()], &still, "again").await.unwrap().is_empty());

    // /d/2 shows up again: the system reopens it, keeping its id and first detection.
    store.upsert_recommendations(scope, &[findings[2].clone()]).await.unwrap();
    let reopened = store.get_recommendation(scope, &closed_rec.id).await.unwrap();
    assert_eq!(reopened.status, Open);
    assert_eq!(reopened.first_detected_at, closed_rec.first_detected_at);
    assert_eq!(audit_count(store, scope, &closed_rec.id).await, 2);
    let filter = AuditFilter { action: Some("recommendation.reopened".into()), ..Default::default() };
    assert_eq!(store.list_audit(scope, &filter, PageRequest::first(10).unwrap()).await.unwrap().total, 1);
}

async fn recommendation_filters_and_sort(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let (a, b) = (guid(101), guid(102));
    store
        .upsert_recommendations(
            scope,
            &[
                finding(&a, "/r/1", "waste.unattached_disk", 50.0, 0.2),
                finding(&a, "/r/2", "rightsizing.vm", 10.0, 0.9),
                finding(&b, "/r/3", "waste.idle_ip", 5.0, 0.5),
            ],
        )
        .await
        .unwrap();
    let page = PageRequest::first(10).unwrap();
    let ids = |filter: RecommendationFilter| async move {
        let got = store.list_recommendations(scope, &filter, page).await.unwrap();
        got.items.into_iter().map(|r| r.resource_id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(RecommendationFilter::default()).await,
        ["/r/2", "/r/3", "/r/1"],
        "priority, highest first"
    );
    assert_eq!(
        ids(RecommendationFilter { sort: RecommendationSort::Savings, ..Default::default() }).await,
        ["/r/1", "/r/2", "/r/3"]
    );
    assert_eq!(
        ids(RecommendationFilter { category: Some("waste".into()), ..Default::default() }).await,
        ["/r/3", "/r/1"]
    );
    assert_eq!(
        ids(RecommendationFilter { rule_id: Some("waste.idle_ip".into()), ..Default::default() }).await,
        ["/r/3"]
    );
    assert_eq!(
        ids(RecommendationFilter { subscription_id: Some(a.clone()), ..Default::default() }).await,
        ["/r/2", "/r/1"]
    );
    assert_eq!(
        ids(RecommendationFilter { min_savings: Some(10.0), ..Default::default() }).await,
        ["/r/2", "/r/1"]
    );
    let r2 = store
        .list_recommendations(scope, &RecommendationFilter::default(), page)
        .await
        .unwrap()
        .items
        .remove(0);
    store.transition_recommendation(scope, &r2.id, Dismissed, "carol", None).await.unwrap();
    assert_eq!(
        ids(RecommendationFilter { status: Some(Open), ..Default::default() }).await,
        ["/r/3", "/r/1"]
    );
    assert_eq!(ids(RecommendationFilter { status: Some(Dismissed), ..Default::default() }).await, ["/r/2"]);
}

async fn concurrent_decisions_apply_once(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let sub = guid(101);
    let batch: Vec<_> =
        (0..20).map(|i| finding(&sub, &format!("/c/{i}"), "waste.idle_ip", 1.0, 1.0)).collect();
    store.upsert_recommendations(scope, &batch).await.unwrap();
    for rec in all(store, scope).await {
        // Approve and dismiss race; whichever lands second is no longer allowed from the new status.
        let (approve, dismiss) = tokio::join!(
            store.transition_recommendation(scope, &rec.id, Approved, "alice", None),
            store.transition_recommendation(scope, &rec.id, Dismissed, "bob", None),
        );
        let winners = [approve.is_ok(), dismiss.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(winners, 1, "exactly one decision applies: {approve:?} / {dismiss:?}");
        for loser in [approve, dismiss].into_iter().filter_map(Result::err) {
            assert!(
                matches!(loser, StoreError::InvalidTransition { from: Approved | Dismissed, .. }),
                "{loser:?}"
            );
        }
        assert_eq!(audit_count(store, scope, &rec.id).await, 1);
    }
}
