//! The rule engine's store inputs: per-tenant rule settings and per-resource window costs.

use chrono::Days;
use serde_json::json;

use crate::store_test;
use crate::support::{Ctx, cost, day, guid, tenant};

store_test!(rule_settings_round_trip_per_tenant, resource_costs_sum_a_window_per_resource);

async fn rule_settings_round_trip_per_tenant(ctx: Ctx) {
    let store = &ctx.store;
    let (a, b) = (tenant(store, 1).await, tenant(store, 2).await);
    assert_eq!(store.rule_settings(&a).await.unwrap(), None);
    store
        .put_rule_settings(&a, &json!({"stale_snapshot_days": 30}), &azcops::store::Actor::named("test"))
        .await
        .unwrap();
    store
        .put_rule_settings(
            &a,
            &json!({"cost_center_tag": "CostCentre"}),
            &azcops::store::Actor::named("test"),
        )
        .await
        .unwrap();
    assert_eq!(store.rule_settings(&a).await.unwrap(), Some(json!({"cost_center_tag": "CostCentre"})));
    assert_eq!(store.rule_settings(&b).await.unwrap(), None, "another tenant sees nothing");
    assert!(store.put_rule_settings(&a, &json!([1, 2]), &azcops::store::Actor::named("test")).await.is_err());
}

async fn resource_costs_sum_a_window_per_resource(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let other = tenant(store, 2).await;
    let sub = guid(101);
    let disk = format!("/subscriptions/{sub}/disks/d1");
    let vm = format!("/subscriptions/{sub}/vms/v1");
    let mut rows = Vec::new();
    for d in 0..40u64 {
        let date = day(2026, 10, 1).checked_add_days(Days::new(d)).unwrap();
        rows.push(cost(&sub, date, "Storage", &disk, 1.0));
        if d >= 30 {
            rows.push(cost(&sub, date, "Virtual Machines", &vm, 10.0));
        }
        rows.push(cost(&sub, date, "Support", "", 100.0));
    }
    store.upsert_costs_daily(&scope, &rows).await.unwrap();
    store.upsert_costs_daily(&other, &rows).await.unwrap();
    // Window 2026-10-11 ..= 2026-11-09: 30 days of the disk, the VM's last 10 days.
    let got =
        store.resource_costs(&scope, &sub.to_uppercase(), day(2026, 10, 11), day(2026, 11, 9)).await.unwrap();
    assert_eq!(got.len(), 2, "the resource-less support charge is left out: {got:?}");
    let d = got.iter().find(|r| r.resource_id == disk).unwrap();
    assert!((d.cost - 30.0).abs() < 1e-9 && (d.amortized_cost - 27.0).abs() < 1e-9, "{d:?}");
    assert_eq!((d.days_with_cost, d.first_date.as_str(), d.currency.as_str()), (30, "2026-10-11", "EUR"));
    let v = got.iter().find(|r| r.resource_id == vm).unwrap();
    assert!((v.cost - 100.0).abs() < 1e-9);
    assert_eq!((v.days_with_cost, v.first_date.as_str()), (10, "2026-10-31"));
    assert!(store.resource_costs(&scope, &sub, day(2026, 11, 9), day(2026, 10, 11)).await.is_err());
}
