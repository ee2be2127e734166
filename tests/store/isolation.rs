//! Tenant isolation: tenant A's data is invisible and untouchable through every repository
//! function called with tenant B's scope.

use azcops::store::{
    AuditFilter, CostFilter, ItemStatus, ItemUpdate, NewRun, PageRequest, RecommendationFilter,
    RecommendationStatus, ResourceFilter, Store, StoreError, SubscriptionUpdate, TenantScope,
};

use crate::store_test;
use crate::support::{Ctx, at, by, cost, day, finding, guid, resource, tenant, vm_metrics};

store_test!(tenant_b_cannot_see_or_touch_tenant_a);

/// Everything tenant A can see, to compare before and after tenant B's calls.
async fn snapshot(store: &Store, scope: &TenantScope) -> String {
    let page = PageRequest::first(500).unwrap();
    let sub = guid(101);
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.list_subscriptions(scope, page).await.unwrap(),
        store.list_resources(scope, &ResourceFilter::default(), page).await.unwrap(),
        store.list_costs(scope, &CostFilter::default(), page).await.unwrap(),
        store.list_vm_metrics(scope, &sub).await.unwrap(),
        store.list_recommendations(scope, &RecommendationFilter::default(), page).await.unwrap(),
        store.list_audit(scope, &AuditFilter::default(), page).await.unwrap(),
        store.list_runs(scope, page).await.unwrap(),
    )
}

async fn tenant_b_cannot_see_or_touch_tenant_a(ctx: Ctx) {
    let store = &ctx.store;
    let a = tenant(store, 1).await;
    let b = tenant(store, 2).await;
    let sub = guid(101); // tenant A's subscription
    let disk = resource(&sub, "disk1", "microsoft.compute/disks", "westeurope", "prod");
    let costs = [cost(&sub, day(2026, 11, 20), "Storage", "", 7.0)];
    let metrics = [vm_metrics(&sub, "vm1", 3.0)];
    let found = finding(&sub, &disk.resource_id, "waste.unattached_disk", 9.0, 1.0);
    store.upsert_resources(&a, std::slice::from_ref(&disk), at(2026, 11, 24, 2)).await.unwrap();
    store.upsert_costs_daily(&a, &costs).await.unwrap();
    store.upsert_vm_metrics(&a, &metrics).await.unwrap();
    store.upsert_recommendations(&a, std::slice::from_ref(&found)).await.unwrap();
    let page = PageRequest::first(500).unwrap();
    let rec =
        store.list_recommendations(&a, &RecommendationFilter::default(), page).await.unwrap().items.remove(0);
    store
        .transition_recommendation(&a, &rec.id, RecommendationStatus::Dismissed, "alice", None)
        .await
        .unwrap();
    store.transition_recommendation(&a, &rec.id, RecommendationStatus::Open, "alice", None).await.unwrap();
    let new_run = NewRun {
        kind: "full".into(),
        schedule_key: "full:2026-11-25".into(),
        requested_by: "timer".into(),
        subscription_ids: vec![sub.clone()],
    };
    let (run, _) = store.create_run(&a, &new_run).await.unwrap();
    let before = snapshot(store, &a).await;

    // Reads through B see nothing of A.
    let not_found = |r: Result<_, StoreError>| matches!(r, Err(StoreError::NotFound));
    assert!(not_found(store.get_subscription(&b, &sub).await.map(drop)));
    let b_subs = store.list_subscriptions(&b, page).await.unwrap();
    assert!(b_subs.items.iter().all(|s| s.subscription_id != sub && s.tenant_id == b.tenant_id()));
    assert_eq!(store.list_resources(&b, &ResourceFilter::default(), page).await.unwrap().total, 0);
    assert!(not_found(store.get_resource(&b, &disk.resource_id).await.map(drop)));
    assert!(store.resource_history_dates(&b, &disk.resource_id).await.unwrap().is_empty());
    assert_eq!(store.list_costs(&b, &CostFilter::default(), page).await.unwrap().total, 0);
    let summary = store.cost_summary(&b, day(2026, 11, 22), 30, None).await.unwrap();
    assert_eq!((summary.total_cost, summary.by_service.len()), (0.0, 0));
    assert!(store.list_vm_metrics(&b, &sub).await.unwrap().is_empty());
    assert_eq!(
        store.list_recommendations(&b, &RecommendationFilter::default(), page).await.unwrap().total,
        0
    );
    assert!(not_found(store.get_recommendation(&b, &rec.id).await.map(drop)));
    let b_audit = store.list_audit(&b, &AuditFilter::default(), page).await.unwrap();
    assert_eq!(b_audit.total, 2, "only B's own tenant.created and subscription.created");
    assert!(b_audit.items.iter().all(|e| e.tenant_id == b.tenant_id() && e.target_id != rec.id));
    assert!(not_found(store.get_run(&b, &run.run.id).await.map(drop)));
    assert_eq!(store.list_runs(&b, page).await.unwrap().total, 0);

    // Writes through B cannot reach A's rows.
    assert!(not_found(
        store
            .transition_recommendation(&b, &rec.id, RecommendationStatus::Approved, "mallory", None)
            .await
            .map(drop)
    ));
    assert!(
        store
            .close_stale(&b, &sub, &["waste.unattached_disk".to_owned()], &[], "x")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(not_found(
        store
            .update_subscription(
                &b,
                &sub,
                &SubscriptionUpdate { active: Some(false), ..Default::default() },
                &by()
            )
            .await
            .map(drop)
    ));
    assert!(not_found(store.delete_subscription(&b, &sub, &by()).await));
    assert!(not_found(store.mark_subscription_ingested(&b, &sub, at(2026, 11, 25, 0)).await));
    let update = ItemUpdate {
        status: ItemStatus::Failed,
        attempts: None,
        error: None,
        counts: None,
        duration_ms: None,
    };
    assert!(not_found(store.update_run_item(&b, &run.run.id, &sub, &update).await.map(drop)));
    let (b_run, created) = store.create_run(&b, &new_run).await.unwrap();
    assert!(created, "schedule keys are per tenant");
    assert_ne!(b_run.run.id, run.run.id);

    // Upserting the same natural keys under B creates B's own rows and leaves A's alone.
    let mut b_disk = disk.clone();
    b_disk.name = "renamed-by-b".into();
    store.upsert_resources(&b, &[b_disk], at(2026, 11, 25, 2)).await.unwrap();
    let mut b_costs = costs.clone();
    b_costs[0].cost = 1000.0;
    store.upsert_costs_daily(&b, &b_costs).await.unwrap();
    let mut b_metrics = metrics.clone();
    b_metrics[0].cpu_avg = Some(99.0);
    store.upsert_vm_metrics(&b, &b_metrics).await.unwrap();
    let b_found = azcops::store::RecommendationUpsert { title: "b".into(), ..found };
    store.upsert_recommendations(&b, &[b_found]).await.unwrap();
    store
        .append_audit(
            &b,
            &azcops::store::NewAuditEntry {
                actor: "mallory".into(),
                action: "x".into(),
                target_type: "recommendation".into(),
                target_id: rec.id.clone(),
                metadata: serde_json::json!({}),
                occurred_at: at(2026, 11, 25, 0),
            },
        )
        .await
        .unwrap();
    assert_eq!(store.list_resources(&b, &ResourceFilter::default(), page).await.unwrap().total, 1);

    assert_eq!(snapshot(store, &a).await, before, "tenant A's data is unchanged");
}
