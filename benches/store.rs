//! Store benchmarks: bulk `costs_daily` upsert throughput and cost-summary latency, on SQLite
//! and PostgreSQL (`AZCOPS_TEST_POSTGRES_URL`; skipped with a printed line when unset).
//!
//! Sizes: `AZCOPS_BENCH_UPSERT_ROWS` (default 1,000,000), `AZCOPS_BENCH_SUMMARY_RUNS` (default
//! 200), `AZCOPS_BENCH_SUMMARY_DAYS` (window of each summary, default 30). The summary data set is
//! one tenant with 10 subscriptions × 395 days × 40 rows per day.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use azcops::model::CostDailyRow;
use azcops::store::{NewTenant, Store, StoreConfig, TenantScope, TenantType};
use chrono::{Days, NaiveDate};
use sqlx::Connection;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn subscription(s: usize) -> String {
    format!("00000000-0000-4000-8000-{s:012x}")
}

/// `subs` × `days` × `per_day` deterministic rows ending on `end`.
fn rows(subs: usize, days: usize, per_day: usize, end: NaiveDate) -> Vec<CostDailyRow> {
    let services =
        ["Virtual Machines", "Storage", "Bandwidth", "Azure App Service", "SQL Database", "Key Vault"];
    let mut out = Vec::with_capacity(subs * days * per_day);
    for s in 0..subs {
        let sub = subscription(s);
        for d in 0..days {
            let date = end.checked_sub_days(Days::new(d as u64)).unwrap();
            for k in 0..per_day {
                let service = services[k % services.len()];
                out.push(CostDailyRow {
                    subscription_id: sub.clone(),
                    date,
                    resource_group: format!("rg-{:02}", k % 12),
                    service_name: service.to_owned(),
                    meter_category: service.to_owned(),
                    resource_id: format!(
                        "/subscriptions/{sub}/resourcegroups/rg-{:02}/providers/microsoft.compute/disks/d{k:05}",
                        k % 12
                    ),
                    cost: ((s * 31 + d * 7 + k) % 1000) as f64 / 10.0,
                    amortized_cost: ((s * 31 + d * 7 + k) % 1000) as f64 / 11.0,
                    currency: "EUR".to_owned(),
                });
            }
        }
    }
    out
}

async fn tenant(store: &Store, n: u32) -> TenantScope {
    let t = store
        .platform_admin()
        .create_tenant(
            &NewTenant {
                name: format!("bench {n}"),
                azure_tenant_id: format!("00000000-0000-4000-9000-{n:012x}"),
                tenant_type: TenantType::External,
            },
            &azcops::store::Actor::named("bench"),
        )
        .await
        .unwrap();
    TenantScope::from_trusted_trigger(t.id)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx].as_secs_f64() * 1000.0
}

async fn bench(label: &str, store: &Store) {
    let end = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let upsert_rows = env_usize("AZCOPS_BENCH_UPSERT_ROWS", 1_000_000);
    let runs = env_usize("AZCOPS_BENCH_SUMMARY_RUNS", 200);
    let window = env_usize("AZCOPS_BENCH_SUMMARY_DAYS", 30) as u32;

    // Throughput: 10 subscriptions × 400 days × N rows a day, one call (one transaction).
    let per_day = upsert_rows.div_ceil(10 * 400);
    let mut batch = rows(10, 400, per_day, end);
    batch.truncate(upsert_rows);
    let scope = tenant(store, 1).await;
    let start = Instant::now();
    store.upsert_costs_daily(&scope, &batch).await.unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    println!("store_{label}_costs_upsert_rows: {} rows", batch.len());
    println!("store_{label}_costs_upsert_seconds: {elapsed:.2} s");
    println!("store_{label}_costs_upsert_throughput: {:.0} rows/s", batch.len() as f64 / elapsed);
    let start = Instant::now();
    store.upsert_costs_daily(&scope, &batch).await.unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    println!("store_{label}_costs_reupsert_throughput: {:.0} rows/s", batch.len() as f64 / elapsed);
    drop(batch);

    // Latency: one tenant with 10 subscriptions × 395 days × 40 rows a day.
    let scope = tenant(store, 2).await;
    store.upsert_costs_daily(&scope, &rows(10, 395, 40, end)).await.unwrap();
    for days in [window, 395] {
        // Warm the cache and the statement cache first, as a serving process would be.
        for _ in 0..5 {
            store.cost_summary(&scope, end, days, None).await.unwrap();
        }
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let summary = store.cost_summary(&scope, end, days, None).await.unwrap();
            samples.push(start.elapsed());
            assert_eq!(summary.daily.len(), days as usize);
        }
        samples.sort();
        println!("store_{label}_cost_summary_{days}d_p50: {:.2} ms", percentile(&samples, 0.50));
        println!("store_{label}_cost_summary_{days}d_p95: {:.2} ms", percentile(&samples, 0.95));
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let store = Store::connect(&StoreConfig::for_url(&url, 4).unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    bench("sqlite", &store).await;
    store.close().await;

    let Some(server) = std::env::var("AZCOPS_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) else {
        println!("store_postgres: skipped (AZCOPS_TEST_POSTGRES_URL not set; run scripts/start-postgres.sh)");
        return;
    };
    let database = format!("azcops_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut db_url = url::Url::parse(&server).unwrap();
    db_url.set_path(&format!("/{database}"));
    let store = Store::connect(&StoreConfig::for_url(db_url.as_str(), 4).unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    bench("postgres", &store).await;
    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")))
        .execute(&mut admin)
        .await
        .unwrap();
}
