//! `costs_daily`: idempotent bulk upserts, filters and the overview summary.

use azcops::store::{CostFilter, CostRow, PageRequest, Store, StoreError, TenantScope};
use chrono::Days;

use crate::store_test;
use crate::support::{Ctx, cost, day, guid, tenant};

store_test!(
    cost_upserts_are_idempotent,
    cost_filters,
    cost_summary_totals_services_and_trend,
    large_batches_span_many_statements,
    concurrent_batches_for_the_same_keys,
);

async fn all_costs(store: &Store, scope: &TenantScope) -> Vec<CostRow> {
    let mut rows = Vec::new();
    for page in 1.. {
        let got = store
            .list_costs(scope, &CostFilter::default(), PageRequest::new(page, 500).unwrap())
            .await
            .unwrap();
        if got.items.is_empty() {
            break;
        }
        rows.extend(got.items);
    }
    rows
}

async fn cost_upserts_are_idempotent(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let sub = guid(101);
    // 2,300 rows: crosses the SQLite chunk size and leaves a partial last chunk.
    let mut batch = Vec::new();
    for d in 0..230u64 {
        for s in 0..10 {
            let date = day(2026, 1, 1).checked_add_days(Days::new(d)).unwrap();
            let resource = if s == 0 { String::new() } else { format!("/subscriptions/{sub}/r{s}") };
            batch.push(cost(&sub, date, &format!("svc{s}"), &resource, f64::from(s) + 0.25));
        }
    }
    store.upsert_costs_daily(scope, &batch).await.unwrap();
    let first = all_costs(store, scope).await;
    assert_eq!(first.len(), 2_300);

    store.upsert_costs_daily(scope, &batch).await.unwrap();
    let second = all_costs(store, scope).await;
    assert_eq!(first, second, "re-applying the same batch leaves identical rows, updated_at included");

    // A changed figure updates that row only; a duplicate key inside one batch keeps the last.
    let mut changed = batch[5].clone();
    changed.cost = 99.0;
    let mut superseded = changed.clone();
    superseded.cost = 42.0;
    store.upsert_costs_daily(scope, &[superseded, changed.clone()]).await.unwrap();
    let third = all_costs(store, scope).await;
    assert_eq!(third.len(), 2_300);
    let moved: Vec<&CostRow> = third.iter().filter(|r| !second.contains(r)).collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].cost, 99.0);
    assert_eq!(moved[0].resource_id, changed.resource_id);
    assert!(moved[0].updated_at > moved[0].created_at);
}

async fn cost_filters(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let (a, b) = (guid(101), guid(102));
    let mut rows = vec![
        cost(&a, day(2026, 11, 1), "Virtual Machines", "", 10.0),
        cost(&a, day(2026, 11, 2), "Storage", "", 2.0),
        cost(&b, day(2026, 11, 3), "Virtual Machines", "", 5.0),
    ];
    rows[1].resource_group = "rg-data".into();
    store.upsert_costs_daily(scope, &rows).await.unwrap();
    let page = PageRequest::first(50).unwrap();
    let list = |filter: CostFilter| async move { store.list_costs(scope, &filter, page).await.unwrap() };

    let all = list(CostFilter::default()).await;
    assert_eq!(
        all.items.iter().map(|r| r.date).collect::<Vec<_>>(),
        [day(2026, 11, 3), day(2026, 11, 2), day(2026, 11, 1)]
    );
    let ranged =
        list(CostFilter { from: Some(day(2026, 11, 2)), to: Some(day(2026, 11, 2)), ..Default::default() })
            .await;
    assert_eq!((ranged.total, ranged.items[0].cost), (1, 2.0));
    assert_eq!(
        list(CostFilter { subscription_id: Some(b.to_uppercase()), ..Default::default() }).await.total,
        1
    );
    assert_eq!(
        list(CostFilter { service_name: Some("Virtual Machines".into()), ..Default::default() }).await.total,
        2
    );
    assert_eq!(
        list(CostFilter { resource_group: Some("RG-DATA".into()), ..Default::default() }).await.total,
        1
    );
}

async fn cost_summary_totals_services_and_trend(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let (a, b) = (guid(101), guid(102));
    store
        .upsert_costs_daily(
            scope,
            &[
                cost(&a, day(2026, 11, 20), "Virtual Machines", "", 10.0),
                cost(&a, day(2026, 11, 21), "Virtual Machines", "", 20.0),
                cost(&a, day(2026, 11, 21), "Storage", "", 4.0),
                cost(&b, day(2026, 11, 22), "Storage", "", 6.0),
                // Outside a 3-day window ending on the 22nd.
                cost(&a, day(2026, 11, 19), "Virtual Machines", "", 1000.0),
            ],
        )
        .await
        .unwrap();
    let summary = store.cost_summary(scope, day(2026, 11, 22), 3, None).await.unwrap();
    assert_eq!((summary.from, summary.to), (day(2026, 11, 20), day(2026, 11, 22)));
    assert!((summary.total_cost - 40.0).abs() < 1e-9);
    assert!((summary.total_amortized_cost - 36.0).abs() < 1e-9);
    let services: Vec<(&str, f64)> =
        summary.by_service.iter().map(|s| (s.service_name.as_str(), s.cost)).collect();
    assert_eq!(services, [("Virtual Machines", 30.0), ("Storage", 10.0)]);
    let trend: Vec<f64> = summary.daily.iter().map(|d| d.cost).collect();
    assert_eq!(trend, [10.0, 24.0, 6.0]);

    let one_sub = store.cost_summary(scope, day(2026, 11, 22), 3, Some(&b)).await.unwrap();
    assert_eq!(one_sub.daily.iter().map(|d| d.cost).collect::<Vec<_>>(), [0.0, 0.0, 6.0]);
    assert!(matches!(
        store.cost_summary(scope, day(2026, 11, 22), 0, None).await,
        Err(StoreError::Validation { field: "days", .. })
    ));
}

async fn large_batches_span_many_statements(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let sub = guid(101);
    // 45,000 rows: several PostgreSQL statements and dozens of SQLite ones, given unsorted.
    let mut batch = Vec::new();
    for d in (0..45u64).rev() {
        for k in 0..1_000 {
            let date = day(2026, 10, 1).checked_add_days(Days::new(d)).unwrap();
            batch.push(cost(&sub, date, &format!("svc{}", k % 7), &format!("/r/{k}"), f64::from(k % 10)));
        }
    }
    let expected: f64 = batch.iter().map(|r| r.cost).sum();
    store.upsert_costs_daily(scope, &batch).await.unwrap();
    let page = PageRequest::first(500).unwrap();
    let first = store.list_costs(scope, &CostFilter::default(), page).await.unwrap();
    assert_eq!(first.total, 45_000);
    let summary = store.cost_summary(scope, day(2026, 11, 14), 45, None).await.unwrap();
    assert!((summary.total_cost - expected).abs() < 1e-6, "{} vs {expected}", summary.total_cost);
    assert!(summary.daily.iter().all(|d| d.cost > 0.0));
    store.upsert_costs_daily(scope, &batch).await.unwrap();
    assert_eq!(store.list_costs(scope, &CostFilter::default(), page).await.unwrap(), first);
}

async fn concurrent_batches_for_the_same_keys(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let sub = guid(101);
    let batch = |amount: f64| -> Vec<_> {
        (0..2_000u64)
            .map(|i| {
                let date = day(2026, 11, 1).checked_add_days(Days::new(i % 20)).unwrap();
                cost(&sub, date, "Storage", &format!("/r/{}", i / 20), amount)
            })
            .collect()
    };
    let (a, b) = (batch(1.0), batch(2.0));
    // Two ingestions of the same subscription race: both succeed and one wins every row.
    let (first, second) =
        tokio::join!(store.upsert_costs_daily(scope, &a), store.upsert_costs_daily(scope, &b));
    first.unwrap();
    second.unwrap();
    let rows =
        store.list_costs(scope, &CostFilter::default(), PageRequest::first(500).unwrap()).await.unwrap();
    assert_eq!(rows.total, 2_000);
    let summary = store.cost_summary(scope, day(2026, 11, 20), 20, None).await.unwrap();
    assert!(summary.total_cost == 2_000.0 || summary.total_cost == 4_000.0, "{}", summary.total_cost);
}
