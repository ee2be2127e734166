//! Rule quality against the sandbox's ground truth: starts the sandbox in-process for the demo
//! estate and a larger seed, collects every subscription with the real connectors, evaluates
//! the rules into a temporary SQLite store, and compares the open recommendations with the
//! planted findings: per rule recall, precision and mean absolute savings error.
//!
//! Exits non-zero when a waste or governance rule misses recall 100 % / precision 98 %, or
//! any rule's mean savings error exceeds 5 %. `AZCOPS_QUALITY_ESTATES` picks estates
//! (`demo,large`, the default).
//!
//! The analytics section (see `quality/analytics.rs`) scores anomaly detection against the
//! planted anomalies and backtests the month-end forecast; it exits non-zero when recall is
//! under 95 %, precision under 90 %, fewer than 200 anomalies were planted over the estates, or
//! the steady subscriptions' mid-month MAPE exceeds 5 %. `AZCOPS_QUALITY_SECTIONS` picks
//! sections (`rules,analytics`, the default).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "quality/analytics.rs"]
mod analytics;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azcops::azure::collect::collect_subscription;
use azcops::azure::connectors::retail_prices::RetailPriceCache;
use azcops::azure::connectors::subscriptions;
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::azure::{ArmClient, AzureConfig, AzureError, CallContext};
use azcops::config::Secret;
use azcops::evaluation::{RetailPriceSource, evaluate_subscription};
use azcops::rules::SubscriptionSnapshot;
use azcops::sandbox::spec::EstateSpec;
use azcops::sandbox::truth::{FINDING_KINDS, TruthRow};
use azcops::sandbox::{Sandbox, SandboxOptions};
use azcops::store::{
    NewTenant, PageRequest, RecommendationFilter, RecommendationStatus, Store, StoreConfig, TenantScope,
    TenantType,
};
use chrono::{Days, Utc};

/// The sandbox's managed-identity token for the managing tenant (the crate forbids `unsafe`,
/// so the harness hands the client a token source instead of setting `IDENTITY_*` in its env).
struct SandboxToken(String);

#[async_trait]
impl TokenSource for SandboxToken {
    async fn token(&self, _tenant: Option<&str>, _scope: &str) -> Result<BearerToken, AzureError> {
        Ok(BearerToken {
            token: Secret::new(self.0.clone()),
            expires_at: SystemTime::now() + Duration::from_secs(3000),
        })
    }
}

#[derive(Default)]
struct Score {
    truth: usize,
    found: usize,
    hits: usize,
    abs_err_pct: Vec<f64>,
    zero_mismatch: usize,
}

async fn run_estate(label: &str, spec: EstateSpec, seed: u64) -> BTreeMap<String, Score> {
    let now = Utc::now();
    // The estate's "today" is tomorrow so the 14-day metric window ending now is fully covered.
    let as_of = now.date_naive().checked_add_days(Days::new(1)).unwrap();
    let sandbox = Sandbox::start(SandboxOptions::new(spec, seed, as_of)).await.unwrap();
    let home = sandbox.estate().tenants[0].id.clone();
    let mut config = AzureConfig::for_base_url(sandbox.base_url()).unwrap();
    config.timeout = Duration::from_secs(120);
    // The sandbox enforces no quotas by default; pacing to real Azure quotas would make the
    // 100-subscription estate take an hour.
    config.governor_enabled = false;
    let client = ArmClient::new(config, Arc::new(SandboxToken(sandbox.managed_identity_token()))).unwrap();
    let prices =
        RetailPriceSource::new(client.clone(), CallContext::new(home.clone(), ""), RetailPriceCache::new());

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/quality.db", dir.path().display());
    let store = Store::connect(&StoreConfig::for_url(&url, 4).unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = store
        .platform_admin()
        .create_tenant(
            &NewTenant {
                name: "quality".into(),
                azure_tenant_id: home.clone(),
                tenant_type: TenantType::Internal,
            },
            &azcops::store::Actor::named("bench"),
        )
        .await
        .unwrap();
    let scope = TenantScope::from_trusted_trigger(tenant.id);

    let subs = subscriptions::list_subscriptions(&client, &CallContext::new(home.clone(), "")).await.unwrap();
    let (from, to) = (now.date_naive().checked_sub_days(Days::new(31)).unwrap(), now.date_naive());
    let started = std::time::Instant::now();
    for sub in &subs {
        let c = collect_subscription(&client, &sub.context(), &sub.subscription_id, from, to).await.unwrap();
        assert!(c.metric_errors.is_empty(), "{:?}", c.metric_errors);
        store.upsert_costs_daily(&scope, &c.costs).await.unwrap();
        let snapshot = SubscriptionSnapshot {
            subscription_id: sub.subscription_id.clone(),
            as_of: now,
            resources: c.resources,
            advisor: c.advisor,
            vm_metrics: c.vm_metrics,
            resource_metrics: c.resource_metrics,
        };
        evaluate_subscription(&store, &prices, &scope, &snapshot, now).await.unwrap();
    }
    println!("quality.{label}.subscriptions: {} subscriptions", subs.len());
    println!("quality.{label}.collect_and_evaluate_s: {:.2} s", started.elapsed().as_secs_f64());

    let mut found: HashMap<(String, String), f64> = HashMap::new();
    for page in 1.. {
        let filter = RecommendationFilter { status: Some(RecommendationStatus::Open), ..Default::default() };
        let got =
            store.list_recommendations(&scope, &filter, PageRequest::new(page, 500).unwrap()).await.unwrap();
        if got.items.is_empty() {
            break;
        }
        for r in got.items.into_iter().filter(|r| r.source == "rule") {
            found.insert((r.resource_id, r.rule_id), r.estimated_monthly_savings);
        }
    }
    let truth: Vec<&TruthRow> = sandbox.ground_truth().iter().collect();
    let truth_keys: HashSet<(String, String)> =
        truth.iter().map(|t| (t.resource_id.clone(), t.finding.clone())).collect();
    let mut scores: BTreeMap<String, Score> =
        FINDING_KINDS.iter().map(|k| ((*k).to_owned(), Score::default())).collect();
    for t in &truth {
        let s = scores.entry(t.finding.clone()).or_default();
        s.truth += 1;
        if let Some(est) = found.get(&(t.resource_id.clone(), t.finding.clone())) {
            s.hits += 1;
            if t.true_monthly_savings > 0.0 {
                s.abs_err_pct.push(100.0 * (est - t.true_monthly_savings).abs() / t.true_monthly_savings);
            } else if est.abs() > 0.005 {
                s.zero_mismatch += 1;
            }
        }
    }
    let mut false_positives: Vec<String> = Vec::new();
    for key in found.keys() {
        scores.entry(key.1.clone()).or_default().found += 1;
        if !truth_keys.contains(key) && false_positives.len() < 10 {
            false_positives.push(format!("{} {}", key.1, key.0));
        }
    }
    for fp in &false_positives {
        eprintln!("# {label}: false positive {fp}");
    }
    for t in
        truth.iter().filter(|t| !found.contains_key(&(t.resource_id.clone(), t.finding.clone()))).take(10)
    {
        eprintln!("# {label}: missed {} {}", t.finding, t.resource_id);
    }
    store.close().await;
    sandbox.shutdown().await.unwrap();
    scores
}

fn main() {
    let estates = std::env::var("AZCOPS_QUALITY_ESTATES").unwrap_or_else(|_| "demo,large".into());
    let sections = std::env::var("AZCOPS_QUALITY_SECTIONS").unwrap_or_else(|_| "rules,analytics".into());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut failed = Vec::new();
    if sections.split(',').any(|s| s.trim() == "rules") {
        rules_section(&rt, &estates, &mut failed);
    }
    if sections.split(',').any(|s| s.trim() == "analytics") {
        analytics_section(&rt, &estates, &mut failed);
    }
    if failed.is_empty() {
        println!("quality: all targets met");
    } else {
        for f in &failed {
            eprintln!("quality: target missed: {f}");
        }
        std::process::exit(1);
    }
}

fn estate_of(label: &str) -> (EstateSpec, u64) {
    match label {
        "demo" => (EstateSpec::DEMO, 42),
        "large" => (EstateSpec::LARGE, 7),
        other => panic!("unknown estate {other} (demo, large)"),
    }
}

fn analytics_section(rt: &tokio::runtime::Runtime, estates: &str, failed: &mut Vec<String>) {
    let mut total = analytics::AnalyticsScore::default();
    println!(
        "{:<8} {:>8} {:>8} {:>6} {:>8} {:>10} {:>10} {:>10} {:>9}",
        "estate", "planted", "detected", "hits", "recall", "precision", "mape", "mape.all", "coverage"
    );
    let pct = |a: usize, b: usize| if b == 0 { 100.0 } else { 100.0 * a as f64 / b as f64 };
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { 100.0 * v.iter().sum::<f64>() / v.len() as f64 };
    for label in estates.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (spec, seed) = estate_of(label);
        let s = rt.block_on(analytics::run(label, spec, seed));
        let (recall, precision) = (pct(s.hits, s.planted), pct(s.hits, s.detected));
        let (mape, mape_all, coverage) =
            (mean(&s.steady_errors), mean(&s.all_errors), pct(s.covered, s.intervals));
        println!(
            "{label:<8} {:>8} {:>8} {:>6} {recall:>7.1}% {precision:>9.1}% {mape:>9.2}% {mape_all:>9.2}% {coverage:>8.1}%",
            s.planted, s.detected, s.hits
        );
        println!("quality.{label}.anomalies.planted: {}", s.planted);
        println!("quality.{label}.anomalies.recall: {recall:.1} %");
        println!("quality.{label}.anomalies.precision: {precision:.1} %");
        println!("quality.{label}.anomalies.wrong_kind: {}", s.wrong_kind);
        println!("quality.{label}.anomalies.tenant_total_found: {}", s.tenant_total_anomalies);
        for (kind, (planted, hits)) in &s.by_kind {
            println!(
                "quality.{label}.anomalies.{kind}.recall: {:.1} % ({hits}/{planted})",
                pct(*hits, *planted)
            );
        }
        println!(
            "quality.{label}.forecast.mape_steady: {mape:.2} % ({} month totals)",
            s.steady_errors.len()
        );
        println!("quality.{label}.forecast.mape_all: {mape_all:.2} % ({} month totals)", s.all_errors.len());
        println!("quality.{label}.forecast.coverage_80: {coverage:.1} % ({} intervals)", s.intervals);
        println!(
            "quality.{label}.forecast.coverage_80_steady: {:.1} % ({} intervals)",
            pct(s.steady_covered, s.steady_intervals),
            s.steady_intervals
        );
        total.planted += s.planted;
        total.detected += s.detected;
        total.hits += s.hits;
        total.steady_errors.extend(s.steady_errors);
        total.all_errors.extend(s.all_errors);
        total.covered += s.covered;
        total.intervals += s.intervals;
        total.steady_covered += s.steady_covered;
        total.steady_intervals += s.steady_intervals;
    }
    let (recall, precision) = (pct(total.hits, total.planted), pct(total.hits, total.detected));
    let mape = mean(&total.steady_errors);
    println!("quality.anomalies.planted: {}", total.planted);
    println!("quality.anomalies.recall: {recall:.1} %");
    println!("quality.anomalies.precision: {precision:.1} %");
    println!("quality.forecast.mape_steady: {mape:.2} % ({} month totals)", total.steady_errors.len());
    println!(
        "quality.forecast.mape_all: {:.2} % ({} month totals)",
        mean(&total.all_errors),
        total.all_errors.len()
    );
    println!("quality.forecast.coverage_80: {:.1} %", pct(total.covered, total.intervals));
    println!(
        "quality.forecast.coverage_80_steady: {:.1} %",
        pct(total.steady_covered, total.steady_intervals)
    );
    if total.planted < 200 {
        failed.push(format!("anomalies: only {} planted (at least 200 needed)", total.planted));
    }
    if recall < 95.0 || precision < 90.0 {
        failed.push(format!("anomalies: recall {recall:.1}% precision {precision:.1}%"));
    }
    if total.steady_errors.is_empty() || mape > 5.0 {
        failed.push(format!(
            "forecast: steady mid-month MAPE {mape:.2}% over {} month totals",
            total.steady_errors.len()
        ));
    }
}

fn rules_section(rt: &tokio::runtime::Runtime, estates: &str, failed: &mut Vec<String>) {
    println!(
        "{:<8} {:<36} {:>6} {:>6} {:>6} {:>8} {:>10} {:>10}",
        "estate", "rule", "truth", "found", "hits", "recall", "precision", "sav.err"
    );
    for label in estates.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (spec, seed) = estate_of(label);
        let scores = rt.block_on(run_estate(label, spec, seed));
        for (rule, s) in &scores {
            let recall = if s.truth == 0 { 100.0 } else { 100.0 * s.hits as f64 / s.truth as f64 };
            let precision = if s.found == 0 { 100.0 } else { 100.0 * s.hits as f64 / s.found as f64 };
            let err = if s.abs_err_pct.is_empty() {
                0.0
            } else {
                s.abs_err_pct.iter().sum::<f64>() / s.abs_err_pct.len() as f64
            };
            println!(
                "{label:<8} {rule:<36} {:>6} {:>6} {:>6} {:>7.1}% {:>9.1}% {:>9.2}%",
                s.truth, s.found, s.hits, recall, precision, err
            );
            println!("quality.{label}.{rule}.recall: {recall:.1} %");
            println!("quality.{label}.{rule}.precision: {precision:.1} %");
            println!("quality.{label}.{rule}.savings_error: {err:.2} %");
            let strict = rule.starts_with("waste.") || rule.starts_with("governance.");
            if strict && (recall < 100.0 || precision < 98.0) {
                failed.push(format!("{label} {rule}: recall {recall:.1}% precision {precision:.1}%"));
            }
            if err > 5.0 || s.zero_mismatch > 0 {
                failed.push(format!(
                    "{label} {rule}: savings error {err:.2}% ({} zero-savings mismatches)",
                    s.zero_mismatch
                ));
            }
        }
    }
}
