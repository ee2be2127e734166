//! Anomaly and forecast quality against the sandbox's planted cost anomalies.
//!
//! The estate's generated cost history (resource rows and resource-less charges, summed to
//! subscription × service × day, exactly the amounts the Cost Management query returns) is
//! loaded into a temporary SQLite store; detection runs per subscription through the store as
//! ingestion runs it, and the stored anomalies are compared with the planted ones: a hit is the
//! same subscription, service, day and kind. The forecast is backtested at mid-month: as of the
//! 16th of every complete month with at least two weeks of history before, the month-end
//! forecast of each subscription is compared with the month's actual total (actual and
//! amortized); MAPE on steady subscriptions (nothing planted) is the target, coverage is the
//! share of month totals inside the 80 % interval.

use std::collections::{BTreeMap, HashSet};

use azcops::model::CostDailyRow;
use azcops::sandbox::estate::Estate;
use azcops::sandbox::spec::EstateSpec;
use azcops::sandbox::truth::anomaly_truth;
use azcops::sandbox::usage;
use azcops::store::{
    Actor, AnomalyFilter, DetectionLimits, NewSubscription, NewTenant, PageRequest, Store, StoreConfig,
    TenantScope, TenantType,
};
use chrono::{Datelike as _, Days, Months, NaiveDate};

/// Totals of one estate's run.
#[derive(Debug, Default)]
pub struct AnalyticsScore {
    pub planted: usize,
    pub detected: usize,
    pub hits: usize,
    pub wrong_kind: usize,
    pub tenant_total_anomalies: usize,
    pub by_kind: BTreeMap<String, (usize, usize)>,
    pub steady_errors: Vec<f64>,
    pub all_errors: Vec<f64>,
    pub covered: usize,
    pub intervals: usize,
    pub steady_covered: usize,
    pub steady_intervals: usize,
}

/// The estate's history summed to subscription × service × day.
fn history(estate: &Estate, sub: usize) -> Vec<CostDailyRow> {
    let first = estate.as_of - Days::new(u64::from(estate.spec.days));
    let mut sums: BTreeMap<(NaiveDate, &str, &str), (f64, f64)> = BTreeMap::new();
    for day in first.iter_days().take_while(|d| *d < estate.as_of) {
        for r in estate.resources_of(sub) {
            let (Some((actual, amortized)), Some((meter, _))) =
                (usage::day_cost(estate, r, day), usage::charge(r))
            else {
                continue;
            };
            let e = sums.entry((day, meter.service_name, meter.meter_category)).or_default();
            e.0 += actual;
            e.1 += amortized;
        }
        for c in usage::subscription_charges(estate, sub, day) {
            let e = sums.entry((day, c.meter.service_name, c.meter.meter_category)).or_default();
            e.0 += c.actual;
            e.1 += c.amortized;
        }
    }
    let id = &estate.subscriptions[sub].id;
    sums.into_iter()
        .map(|((date, service, category), (cost, amortized_cost))| CostDailyRow {
            subscription_id: id.clone(),
            date,
            resource_group: String::new(),
            service_name: service.to_owned(),
            meter_category: category.to_owned(),
            resource_id: String::new(),
            cost,
            amortized_cost,
            currency: "USD".into(),
        })
        .collect()
}

pub async fn run(label: &str, spec: EstateSpec, seed: u64) -> AnalyticsScore {
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let estate = Estate::generate(seed, spec, as_of);
    let truth = anomaly_truth(&estate);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/analytics.db", dir.path().display());
    let store = Store::connect(&StoreConfig::for_url(&url, 4).unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let actor = Actor::named("bench");
    let started = std::time::Instant::now();
    let mut scopes: Vec<(TenantScope, Vec<String>)> = Vec::new();
    let mut rows_by_sub: BTreeMap<String, Vec<CostDailyRow>> = BTreeMap::new();
    for (t, tenant) in estate.tenants.iter().enumerate() {
        let created = store
            .platform_admin()
            .create_tenant(
                &NewTenant {
                    name: tenant.name.clone(),
                    azure_tenant_id: tenant.id.clone(),
                    tenant_type: TenantType::External,
                },
                &actor,
            )
            .await
            .unwrap();
        let scope = TenantScope::from_trusted_trigger(created.id);
        let mut ids = Vec::new();
        for (s, sub) in estate.subscriptions.iter().enumerate().filter(|(_, s)| s.tenant == t && s.delegated)
        {
            let new = NewSubscription {
                subscription_id: sub.id.clone(),
                display_name: sub.name.clone(),
                billing_scope: None,
            };
            store.add_subscription(&scope, &new, &actor).await.unwrap();
            let rows = history(&estate, s);
            store.upsert_costs_daily(&scope, &rows).await.unwrap();
            rows_by_sub.insert(sub.id.clone(), rows);
            ids.push(sub.id.clone());
        }
        scopes.push((scope, ids));
    }
    let mut score = AnalyticsScore { planted: truth.len(), ..Default::default() };
    let mut detected: BTreeMap<(String, String, NaiveDate), String> = BTreeMap::new();
    for (scope, subs) in &scopes {
        for sub in subs {
            store.detect_anomalies(scope, sub, as_of, DetectionLimits::default()).await.unwrap();
        }
        for page in 1.. {
            let got = store
                .list_anomalies(scope, &AnomalyFilter::default(), PageRequest::new(page, 500).unwrap())
                .await
                .unwrap();
            if got.items.is_empty() {
                break;
            }
            for a in got.items {
                if a.scope == "tenant" {
                    score.tenant_total_anomalies += 1;
                } else {
                    detected.insert((a.scope, a.dimension_value, a.day), a.kind);
                }
            }
        }
    }
    println!("quality.{label}.anomaly_detection_s: {:.2} s", started.elapsed().as_secs_f64());
    score.detected = detected.len();
    let mut matched = HashSet::new();
    for t in &truth {
        let key = (t.subscription_id.clone(), t.service_name.clone(), t.day);
        let entry = score.by_kind.entry(t.kind.clone()).or_default();
        entry.0 += 1;
        match detected.get(&key) {
            Some(kind) if *kind == t.kind => {
                score.hits += 1;
                entry.1 += 1;
                matched.insert(key);
            }
            Some(kind) => {
                score.wrong_kind += 1;
                eprintln!(
                    "# {label}: {} {} {} planted {} detected {kind}",
                    t.subscription_id, t.service_name, t.day, t.kind
                );
            }
            None => {
                eprintln!("# {label}: missed {} {} {} {}", t.kind, t.subscription_id, t.service_name, t.day)
            }
        }
    }
    for (key, kind) in detected.iter().filter(|(k, _)| !matched.contains(*k)).take(15) {
        eprintln!("# {label}: unplanted {kind} {} {} {}", key.0, key.1, key.2);
    }

    // Mid-month backtest of each subscription's month-end forecast.
    let planted_subs: HashSet<&str> = truth.iter().map(|t| t.subscription_id.as_str()).collect();
    let first = as_of - Days::new(u64::from(spec.days));
    let mut month = first.with_day(1).unwrap();
    while let Some(next) = month.checked_add_months(Months::new(1)) {
        let origin = month + Days::new(15);
        if next > as_of {
            break;
        }
        if month >= first && (origin - first).num_days() >= 14 {
            for (scope, sub) in scopes.iter().flat_map(|(scope, subs)| subs.iter().map(move |s| (scope, s))) {
                let Some(rows) = rows_by_sub.get(sub) else { continue };
                let forecasts = store.month_end_forecast(scope, Some(sub), origin).await.unwrap();
                let Some(f) = forecasts.first() else { continue };
                let in_month = |r: &&CostDailyRow| r.date >= month && r.date < next;
                let actual: f64 = rows.iter().filter(in_month).map(|r| r.cost).sum();
                let amortized: f64 = rows.iter().filter(in_month).map(|r| r.amortized_cost).sum();
                for (truth_total, estimate) in
                    [(actual, f.actual.month_end), (amortized, f.amortized.month_end)]
                {
                    let error = (estimate.forecast - truth_total).abs() / truth_total;
                    score.all_errors.push(error);
                    if !planted_subs.contains(sub.as_str()) {
                        score.steady_errors.push(error);
                    }
                    score.intervals += 1;
                    let inside = estimate.lower <= truth_total && truth_total <= estimate.upper;
                    score.covered += usize::from(inside);
                    if !planted_subs.contains(sub.as_str()) {
                        score.steady_intervals += 1;
                        score.steady_covered += usize::from(inside);
                    }
                }
            }
        }
        month = next;
    }
    store.close().await;
    score
}
