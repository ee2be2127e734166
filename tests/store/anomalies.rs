//! `cost_anomalies`: detection over seeded daily costs, idempotent upserts, filters,
//! acknowledgement with its audit row, tenant isolation, the detection bounds and forecasts.

use azcops::model::CostDailyRow;
use azcops::store::{
    AnomalyFilter, AuditFilter, DetectionLimits, PageRequest, Store, StoreError, TenantScope,
};
use chrono::{Days, NaiveDate};

use crate::store_test;
use crate::support::{Ctx, cost, day, guid, tenant};

store_test!(
    detection_is_idempotent_and_finds_each_kind,
    acknowledge_writes_audit_and_is_tenant_scoped,
    list_filters,
    detection_bounds,
    series_and_forecast,
    restated_costs_resolve_an_open_anomaly,
);

const START: (i32, u32, u32) = (2026, 8, 1);

fn nth(i: u64) -> NaiveDate {
    day(START.0, START.1, START.2).checked_add_days(Days::new(i)).unwrap()
}

/// 70 days of a subscription: a weekly-seasonal Bandwidth series (spike on day 50), flat
/// Storage over two resources, and a service first billed on day 60.
fn estate_rows(sub: &str) -> Vec<CostDailyRow> {
    let mut rows = Vec::new();
    for i in 0..70u64 {
        let weekend = matches!(nth(i).format("%a").to_string().as_str(), "Sat" | "Sun");
        let noise = ((i * 7919 + 13) % 101) as f64 / 100.0 - 0.5;
        let mut bandwidth = if weekend { 30.0 } else { 50.0 } * (1.0 + 0.06 * noise);
        if i == 50 {
            bandwidth *= 3.0;
        }
        rows.push(cost(sub, nth(i), "Bandwidth", "", bandwidth));
        rows.push(cost(sub, nth(i), "Storage", &format!("/subscriptions/{sub}/disk-a"), 10.0));
        rows.push(cost(sub, nth(i), "Storage", &format!("/subscriptions/{sub}/disk-b"), 5.0));
        if i >= 60 {
            rows.push(cost(sub, nth(i), "Cognitive Services", "", 25.0));
        }
    }
    rows
}

async fn seeded(store: &Store, n: u32) -> TenantScope {
    let scope = tenant(store, n).await;
    store.upsert_costs_daily(&scope, &estate_rows(&guid(100 + n))).await.unwrap();
    scope
}

async fn all(store: &Store, scope: &TenantScope, filter: &AnomalyFilter) -> Vec<azcops::store::CostAnomaly> {
    store.list_anomalies(scope, filter, PageRequest::new(1, 500).unwrap()).await.unwrap().items
}

fn as_of() -> NaiveDate {
    nth(70)
}

async fn detection_is_idempotent_and_finds_each_kind(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &seeded(store, 1).await;
    let sub = guid(101);
    let report = store.detect_anomalies(scope, &sub, as_of(), DetectionLimits::default()).await.unwrap();
    assert_eq!(report.series, 4, "three services and the tenant total: {report:?}");
    let found = all(store, scope, &AnomalyFilter::default()).await;
    let keys: Vec<(String, String, NaiveDate, String)> =
        found.iter().map(|a| (a.scope.clone(), a.dimension_value.clone(), a.day, a.kind.clone())).collect();
    assert!(keys.contains(&(sub.clone(), "Bandwidth".into(), nth(50), "spike".into())), "{keys:?}");
    assert!(
        keys.contains(&(sub.clone(), "Cognitive Services".into(), nth(60), "new_service".into())),
        "{keys:?}"
    );
    // The tenant total sees the new service's step as a level shift, the spike as a spike.
    assert!(keys.contains(&("tenant".into(), "total".into(), nth(60), "level_shift".into())), "{keys:?}");
    assert!(found.iter().all(|a| a.status == "open" && a.currency == "EUR"));
    let spike = found.iter().find(|a| a.kind == "spike" && a.scope == sub).unwrap();
    assert!((spike.actual - spike.expected - spike.deviation).abs() < 1e-9);
    // Day 50 is a Sunday: the baseline is the weekend level, amortized (0.9 × 30).
    assert!((spike.expected - 27.0).abs() < 2.0 && spike.actual > 2.0 * spike.expected, "{spike:?}");
    assert_eq!(report.changed as usize, found.len());

    let again = store.detect_anomalies(scope, &sub, as_of(), DetectionLimits::default()).await.unwrap();
    assert_eq!(again.changed, 0, "the same data changes nothing");
    assert_eq!(
        all(store, scope, &AnomalyFilter::default()).await,
        found,
        "rows identical, updated_at included"
    );
}

async fn acknowledge_writes_audit_and_is_tenant_scoped(ctx: Ctx) {
    let store = &ctx.store;
    let one = &seeded(store, 1).await;
    let two = &seeded(store, 2).await;
    store.detect_anomalies(one, &guid(101), as_of(), DetectionLimits::default()).await.unwrap();
    store.detect_anomalies(two, &guid(102), as_of(), DetectionLimits::default()).await.unwrap();
    let mine = all(store, one, &AnomalyFilter::default()).await;
    let theirs = all(store, two, &AnomalyFilter::default()).await;
    assert!(!mine.is_empty() && !theirs.is_empty());
    assert!(theirs.iter().all(|a| a.scope != guid(101) && !mine.iter().any(|m| m.id == a.id)));

    let target = &mine[0];
    assert!(matches!(store.get_anomaly(two, &target.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.acknowledge_anomaly(two, &target.id, "mallory", None).await,
        Err(StoreError::NotFound)
    ));

    let acked = store.acknowledge_anomaly(one, &target.id, "alice", Some("corr-1")).await.unwrap();
    assert_eq!(acked.status, "acknowledged");
    assert_eq!(acked.acknowledged_by.as_deref(), Some("alice"));
    assert!(acked.acknowledged_at.is_some());
    let audit = store
        .list_audit(
            one,
            &AuditFilter { target_id: Some(target.id.clone()), ..Default::default() },
            PageRequest::new(1, 10).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].action, "cost_anomaly.acknowledged");
    assert_eq!(audit.items[0].actor, "alice");
    assert_eq!(audit.items[0].metadata.0["correlation_id"], "corr-1");
    let other_audit =
        store.list_audit(two, &AuditFilter::default(), PageRequest::new(1, 50).unwrap()).await.unwrap();
    assert!(other_audit.items.iter().all(|e| e.target_id != target.id));

    assert!(matches!(
        store.acknowledge_anomaly(one, &target.id, "alice", None).await,
        Err(StoreError::Conflict { .. })
    ));
    // Detection again keeps the person's decision.
    store.detect_anomalies(one, &guid(101), as_of(), DetectionLimits::default()).await.unwrap();
    assert_eq!(store.get_anomaly(one, &target.id).await.unwrap().status, "acknowledged");
}

async fn list_filters(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &seeded(store, 1).await;
    store.detect_anomalies(scope, &guid(101), as_of(), DetectionLimits::default()).await.unwrap();
    let every = all(store, scope, &AnomalyFilter::default()).await;
    assert!(every.windows(2).all(|w| w[0].day >= w[1].day), "newest day first");
    let sub = all(
        store,
        scope,
        &AnomalyFilter { subscription_id: Some(guid(101).to_uppercase()), ..Default::default() },
    )
    .await;
    assert!(!sub.is_empty() && sub.len() < every.len() && sub.iter().all(|a| a.scope == guid(101)));
    let window = AnomalyFilter { from: Some(nth(55)), to: Some(nth(65)), ..Default::default() };
    let got = all(store, scope, &window).await;
    assert!(!got.is_empty() && got.iter().all(|a| a.day >= nth(55) && a.day <= nth(65)));
    for severity in ["low", "medium", "high"] {
        let got =
            all(store, scope, &AnomalyFilter { severity: Some(severity.into()), ..Default::default() }).await;
        assert_eq!(got.len(), every.iter().filter(|a| a.severity == severity).count());
    }
    store.acknowledge_anomaly(scope, &every[0].id, "alice", None).await.unwrap();
    let open = all(store, scope, &AnomalyFilter { status: Some("open".into()), ..Default::default() }).await;
    assert_eq!(open.len(), every.len() - 1);
    let acked =
        all(store, scope, &AnomalyFilter { status: Some("acknowledged".into()), ..Default::default() }).await;
    assert_eq!(acked.len(), 1);
    let paged = store
        .list_anomalies(scope, &AnomalyFilter::default(), PageRequest::new(2, 1).unwrap())
        .await
        .unwrap();
    assert_eq!((paged.total as usize, paged.items.len()), (every.len(), 1));
    assert_eq!(paged.items[0].id, every[1].id);
}

async fn detection_bounds(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &seeded(store, 1).await;
    let sub = guid(101);
    for window_days in [0, 401] {
        let limits = DetectionLimits { window_days, ..Default::default() };
        assert!(matches!(
            store.detect_anomalies(scope, &sub, as_of(), limits).await,
            Err(StoreError::Validation { field: "window_days", .. })
        ));
    }
    let none = DetectionLimits { max_series_per_subscription: 0, ..Default::default() };
    assert!(store.detect_anomalies(scope, &sub, as_of(), none).await.is_err());
    // A 15-day window holds too little history to judge any day: nothing is read before it.
    let short = DetectionLimits { window_days: 15, ..Default::default() };
    let report = store.detect_anomalies(scope, &sub, as_of(), short).await.unwrap();
    assert_eq!((report.series, report.anomalies), (4, 0));
    // One series per subscription: the largest (Bandwidth) is kept, the other two are dropped.
    let one = DetectionLimits { max_series_per_subscription: 1, ..Default::default() };
    let report = store.detect_anomalies(scope, &sub, as_of(), one).await.unwrap();
    assert_eq!((report.series, report.series_dropped), (2, 2), "{report:?}");
    let found =
        all(store, scope, &AnomalyFilter { subscription_id: Some(sub.clone()), ..Default::default() }).await;
    assert!(!found.is_empty() && found.iter().all(|a| a.dimension_value == "Bandwidth"), "{found:?}");
}

async fn series_and_forecast(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &seeded(store, 1).await;
    let other = &seeded(store, 2).await;
    let sub = guid(101);
    let points = store.daily_cost_series(scope, nth(10), nth(11), None).await.unwrap();
    assert_eq!(points.len(), 4, "two days × two services, the two Storage resources summed: {points:?}");
    let storage = points.iter().find(|p| p.service_name == "Storage").unwrap();
    assert_eq!((storage.cost, storage.currency.as_str()), (15.0, "EUR"));
    assert!((storage.amortized_cost - 13.5).abs() < 1e-9);
    assert!(store.daily_cost_series(scope, nth(11), nth(10), None).await.is_err());
    assert!(store.daily_cost_series(other, nth(10), nth(11), Some(&sub)).await.unwrap().is_empty());

    // As of day 70 (2026-10-10): October's first nine days are known.
    let forecasts = store.month_end_forecast(scope, Some(&sub), as_of()).await.unwrap();
    assert_eq!(forecasts.len(), 1);
    let f = &forecasts[0];
    assert_eq!(
        (f.scope.as_str(), f.subscription_id.as_deref(), f.currency.as_str()),
        ("subscription", Some(sub.as_str()), "EUR")
    );
    assert_eq!(f.month, day(2026, 10, 1));
    assert_eq!(f.data_through, nth(69));
    let known: f64 = estate_rows(&sub).iter().filter(|r| r.date >= day(2026, 10, 1)).map(|r| r.cost).sum();
    assert!((f.actual.month_to_date - known).abs() < 1e-6);
    assert!(f.actual.month_end.forecast > known + 22.0 * 60.0, "{f:?}");
    assert!(
        f.actual.month_end.lower <= f.actual.month_end.forecast
            && f.actual.month_end.forecast <= f.actual.month_end.upper
    );
    assert!((f.amortized.month_to_date - 0.9 * known).abs() < 1e-6);
    // The forecast reads the 120 days before as_of: costs older than that are not used.
    assert!(store.month_end_forecast(scope, Some(&sub), nth(70 + 120)).await.unwrap().is_empty());
    assert_eq!(
        store.month_end_forecast(scope, Some(&sub), nth(62 + 120)).await.unwrap().len(),
        1,
        "days 62..=69"
    );
    let all_of_tenant = store.cost_forecasts(scope, as_of()).await.unwrap();
    assert_eq!(all_of_tenant.len(), 2, "the tenant and its one subscription");
    assert_eq!(all_of_tenant[0].scope, "tenant");
    assert!((all_of_tenant[0].actual.month_to_date - f.actual.month_to_date).abs() < 1e-6);
}

async fn restated_costs_resolve_an_open_anomaly(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &seeded(store, 1).await;
    let sub = guid(101);
    store.detect_anomalies(scope, &sub, as_of(), DetectionLimits::default()).await.unwrap();
    let spike = all(store, scope, &AnomalyFilter::default())
        .await
        .into_iter()
        .find(|a| a.kind == "spike" && a.scope == sub)
        .unwrap();
    // Day 50's Bandwidth is restated to its usual weekend amount.
    let fixed: Vec<CostDailyRow> = estate_rows(&sub)
        .into_iter()
        .filter(|r| r.date == nth(50) && r.service_name == "Bandwidth")
        .map(|r| CostDailyRow { cost: r.cost / 3.0, amortized_cost: r.amortized_cost / 3.0, ..r })
        .collect();
    store.upsert_costs_daily(scope, &fixed).await.unwrap();
    let report = store.detect_anomalies(scope, &sub, as_of(), DetectionLimits::default()).await.unwrap();
    // The service's spike and the tenant total's spike of that day.
    assert_eq!(report.resolved, 2, "{report:?}");
    let resolved =
        all(store, scope, &AnomalyFilter { status: Some("resolved".into()), ..Default::default() }).await;
    assert!(resolved.iter().all(|a| a.day == nth(50)) && resolved.iter().any(|a| a.scope == "tenant"));
    let after = store.get_anomaly(scope, &spike.id).await.unwrap();
    assert_eq!(after.status, "resolved");
    let open = all(store, scope, &AnomalyFilter { status: Some("open".into()), ..Default::default() }).await;
    assert!(!open.is_empty() && open.iter().all(|a| a.id != spike.id), "the others stay open");
    let again = store.detect_anomalies(scope, &sub, as_of(), DetectionLimits::default()).await.unwrap();
    assert_eq!((again.resolved, again.changed), (0, 0));
    assert!(matches!(
        store.acknowledge_anomaly(scope, &spike.id, "alice", None).await,
        Err(StoreError::Conflict { .. })
    ));
}
