//! Cost Management exports as a cost source, end to end on SQLite and PostgreSQL: the same estate
//! through queries and through exports, month-to-date re-deliveries, files that are missing or
//! truncated, and tenant isolation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod azurite;
mod legacy;
mod parquet_files;
mod support;
mod trigger;

use std::sync::Arc;

use azcops::exports::{DirContainer, ExportError, ingest_export, ingest_export_in_batches};
use azcops::store::CostSource;
use chrono::NaiveDate;

use azcops::sandbox::exports_write::ExportFormat;
use support::{Binary, Db, Kind, billed_by_subscription, estate, exports, exports_as, register};

/// Declares `mod <name> { sqlite, postgres }` cases running `async fn <name>(Kind)`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Kind::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Kind::Postgres).await;
            }
        }
    )*};
}

both_backends!(
    queries_and_exports_give_the_same_costs,
    queries_and_parquet_exports_give_the_same_costs,
    a_month_to_date_export_sent_three_times_leaves_one_copy,
    a_missing_or_truncated_file_fails_and_writes_nothing,
    rows_of_other_tenants_and_query_sourced_subscriptions_are_dropped,
);

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

fn field(row: &str, n: usize) -> &str {
    row.split('|').nth(n).unwrap()
}

async fn queries_and_exports_give_the_same_costs(kind: Kind) {
    same_costs_through_queries_and_exports(kind, ExportFormat::CsvGzip).await;
}

async fn queries_and_parquet_exports_give_the_same_costs(kind: Kind) {
    same_costs_through_queries_and_exports(kind, ExportFormat::Parquet).await;
}

async fn same_costs_through_queries_and_exports(kind: Kind, format: ExportFormat) {
    let Some(db) = Db::new(kind).await else { return };
    // The pipeline's window ends yesterday by the wall clock, so the sandbox is as of today.
    let today = chrono::Utc::now().date_naive();
    let options = azcops::sandbox::SandboxOptions::new(support::ESTATE.parse().unwrap(), 7, today);
    let sandbox = azcops::sandbox::Sandbox::start(options).await.unwrap();
    let estate = sandbox.estate().clone();
    let mut env = sandbox.exports();
    env.extend([
        ("DATABASE_URL".to_owned(), db.url.clone()),
        ("AZCOPS_RAW_STORE".to_owned(), db.dir.path().join("raw").display().to_string()),
        ("AZCOPS_AZURE_CREDENTIAL".to_owned(), "managed_identity".to_owned()),
        ("AZCOPS_OPERATOR".to_owned(), "exports-test".to_owned()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
    ]);
    let bin = Binary { app: db.dir.path().to_owned(), env };
    for t in &estate.tenants {
        bin.ok(&["tenant", "add", "--name", &t.name, "--azure-tenant-id", &t.id]);
        bin.ok(&["subscription", "discover", "--tenant", &t.id]);
        bin.ok(&["ingest", "--tenant", &t.id]);
    }
    let by_queries = db.costs().await;
    assert!(by_queries.len() > 200, "the query path loaded the estate ({} rows)", by_queries.len());
    let first = by_queries.iter().map(|r| field(r, 2).to_owned()).min().unwrap();
    let last = by_queries.iter().map(|r| field(r, 2).to_owned()).max().unwrap();

    // Exports take over every registered subscription; the query-sourced rows are removed so
    // that only the exports can bring them back.
    for s in estate.subscriptions.iter().filter(|s| s.delegated) {
        let tenant = &estate.tenants[s.tenant].id;
        let out = bin.ok(&["exports", "source", "--tenant", tenant, "--subscription", &s.id, "exports"]);
        assert!(out.contains("cost source exports"), "{out}");
    }
    // The rollups go too, so that only the exports' slice replacement can rebuild them.
    for table in ["costs_daily", "cost_rollup_daily", "cost_rollup_tenant_daily", "cost_rollup_monthly"] {
        db.sql(&format!("DELETE FROM {table}")).await;
    }
    let container = tempfile::tempdir().unwrap();
    let runs = exports_as(&estate, container.path(), 500, 0, format);
    let extension = if format == ExportFormat::Parquet { ".snappy.parquet" } else { ".csv.gz" };
    for run in &runs {
        let m = azcops::exports::ExportManifest::parse(
            &std::fs::read(container.path().join(&run.manifest)).unwrap(),
        )
        .unwrap();
        assert!(m.blobs.iter().all(|b| b.blob_name.ends_with(extension)), "{format:?} partitions");
    }
    let dir = container.path().display().to_string();
    let mut printed = String::new();
    for run in &runs {
        let tenant = &estate.tenants[run.tenant].id;
        printed.push_str(&bin.ok(&[
            "exports",
            "ingest",
            "--tenant",
            tenant,
            "--container-dir",
            &dir,
            &run.manifest,
        ]));
    }
    let undelegated = estate.subscriptions.iter().filter(|s| !s.delegated).count();
    assert_eq!(
        printed.matches("dropped subscription").count(),
        undelegated * 2,
        "each run drops the tenant's unregistered subscriptions:\n{printed}"
    );
    assert!(printed.contains("export rows -> "), "{printed}");
    assert!(printed.contains("recorded in the raw layer at "), "{printed}");

    let by_exports: Vec<String> = db
        .costs()
        .await
        .into_iter()
        .filter(|r| field(r, 2) >= first.as_str() && field(r, 2) <= last.as_str())
        .collect();
    assert_eq!(by_exports.len(), by_queries.len(), "the same keys");
    let differences: Vec<(&String, &String)> =
        by_queries.iter().zip(&by_exports).filter(|(a, b)| a != b).take(5).collect();
    assert!(differences.is_empty(), "to the cent, queries vs exports: {differences:#?}");
    for (key, costs, rollup, tenant_rollup) in db.rollup_check().await {
        assert_eq!((costs, costs), (rollup, tenant_rollup), "rollups follow costs_daily on {key}");
    }
    // Another night: subscriptions whose costs come from exports cost no Cost Management query,
    // and their costs stay as the exports left them.
    let cost_queries = |s: &std::collections::BTreeMap<azcops::sandbox::Api, azcops::sandbox::ApiStats>| {
        s.get(&azcops::sandbox::Api::CostManagement).map_or(0, |a| a.requests)
    };
    let before = cost_queries(&sandbox.stats());
    let after_exports = db.costs().await;
    for t in &estate.tenants {
        bin.ok(&["ingest", "--tenant", &t.id]);
    }
    assert_eq!(cost_queries(&sandbox.stats()), before, "no cost query for exports-sourced subscriptions");
    assert_eq!(db.costs().await, after_exports);
    let audit =
        db.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'subscription.cost_source_changed'").await;
    assert_eq!(audit as usize, estate.subscriptions.iter().filter(|s| s.delegated).count());
    db.finish().await;
}

async fn a_month_to_date_export_sent_three_times_leaves_one_copy(kind: Kind) {
    let Some(db) = Db::new(kind).await else { return };
    let estate = estate(as_of());
    let scope = register(&db.store, &estate, 1, CostSource::Exports).await;
    let container = tempfile::tempdir().unwrap();
    let december = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let mut snapshots = Vec::new();
    let mut manifests = Vec::new();
    for delivery in 0..3 {
        let runs = exports(&estate, container.path(), 100, delivery);
        let mtd = runs.into_iter().find(|r| r.tenant == 1 && r.month == december).unwrap();
        let report =
            ingest_export(&db.store, &scope, Arc::new(DirContainer::new(container.path())), &mtd.manifest)
                .await
                .unwrap();
        assert!(!report.slices.is_empty());
        assert!(
            report.slices.iter().all(|s| s.first_day == december && s.last_day.to_string() == "2026-12-06")
        );
        manifests.push(mtd);
        snapshots.push(db.costs().await);
    }
    assert_ne!(manifests[0].manifest, manifests[2].manifest, "three distinct deliveries");
    assert!(!snapshots[0].is_empty());
    assert_eq!(snapshots[0], snapshots[1]);
    assert_eq!(snapshots[1], snapshots[2]);
    // One copy: each subscription's cost is the export's billed cost once, not three times.
    let billed = billed_by_subscription(container.path(), &[&manifests[2]]);
    let registered: Vec<&String> =
        estate.subscriptions.iter().filter(|s| s.tenant == 1 && s.delegated).map(|s| &s.id).collect();
    for sub in registered {
        let stored = db
            .count(&format!("SELECT CAST(ROUND(SUM(cost) * 100) AS BIGINT) FROM costs_daily WHERE subscription_id = '{sub}'"))
            .await;
        assert!((stored - billed[sub]).abs() <= 1, "{sub}: stored {stored} cents, exported {}", billed[sub]);
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM export_runs").await, 3);
    let subs = estate.subscriptions.iter().filter(|s| s.tenant == 1 && s.delegated).count() as i64;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM export_slices").await,
        subs,
        "one slice per subscription and month"
    );
    for (key, costs, rollup, tenant_rollup) in db.rollup_check().await {
        assert_eq!((costs, costs), (rollup, tenant_rollup), "rollups follow costs_daily on {key}");
    }
    db.finish().await;
}

/// Rewrites a manifest's blob entry `index` (and the totals) with `f`.
fn edit_manifest(path: &std::path::Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut m);
    std::fs::write(path, serde_json::to_vec(&m).unwrap()).unwrap();
}

/// Makes the manifest agree that blob `index` is now `new_size` bytes (it was `old_size`), so
/// only reading the file finds what is wrong with it.
fn resize_in_manifest(path: &std::path::Path, index: usize, old_size: u64, new_size: u64) {
    edit_manifest(path, |m| {
        m["blobs"][index]["byteCount"] = serde_json::json!(new_size);
        let total = m["byteCount"].as_u64().unwrap() - old_size + new_size;
        m["byteCount"] = serde_json::json!(total);
    });
}

async fn a_missing_or_truncated_file_fails_and_writes_nothing(kind: Kind) {
    let Some(db) = Db::new(kind).await else { return };
    let estate = estate(as_of());
    let scope = register(&db.store, &estate, 1, CostSource::Exports).await;
    let december = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    // A good November first, so "nothing written" is checked against existing data.
    let good = tempfile::tempdir().unwrap();
    let runs = exports(&estate, good.path(), 100, 0);
    let november = runs.iter().find(|r| r.tenant == 1 && r.month != december).unwrap();
    ingest_export(&db.store, &scope, Arc::new(DirContainer::new(good.path())), &november.manifest)
        .await
        .unwrap();
    let before = db.costs().await;
    let runs_before = db.count("SELECT COUNT(*) FROM export_runs").await;
    assert!(!before.is_empty());

    for case in ["missing", "short", "truncated"] {
        let dir = tempfile::tempdir().unwrap();
        let runs = exports(&estate, dir.path(), 100, 1);
        // November again: its slice exists, so a partial write would show.
        let run = runs.iter().find(|r| r.tenant == 1 && r.month != december).unwrap();
        assert!(run.files >= 3, "several partitions ({})", run.files);
        let manifest_path = dir.path().join(&run.manifest);
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
        let last = m["blobs"].as_array().unwrap().len() - 1;
        let blob = m["blobs"][last]["blobName"].as_str().unwrap().to_owned();
        let file = dir.path().join(&blob);
        let size = std::fs::metadata(&file).unwrap().len();
        match case {
            "missing" => std::fs::remove_file(&file).unwrap(),
            "short" => {
                let bytes = std::fs::read(&file).unwrap();
                std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
            }
            _ => {
                // Cut mid-stream and make the manifest agree on the size: only reading the
                // data finds the problem, after earlier files were already fed to the store.
                let bytes = std::fs::read(&file).unwrap();
                let cut = bytes.len() / 2;
                std::fs::write(&file, &bytes[..cut]).unwrap();
                resize_in_manifest(&manifest_path, last, size, cut as u64);
            }
        }
        let e = ingest_export_in_batches(
            &db.store,
            &scope,
            Arc::new(DirContainer::new(dir.path())),
            &run.manifest,
            50,
        )
        .await
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&blob), "{case}: the error names the file: {text}");
        match case {
            "missing" => {
                assert!(matches!(e, ExportError::Missing { .. }) && text.contains("missing"), "{text}")
            }
            "short" => assert!(matches!(e, ExportError::Size { .. }) && text.contains("truncated"), "{text}"),
            _ => assert!(matches!(e, ExportError::File { .. } | ExportError::Rows { .. }), "{case}: {text}"),
        }
        assert_eq!(db.costs().await, before, "{case}: nothing written");
        assert_eq!(
            db.count("SELECT COUNT(*) FROM export_runs").await,
            runs_before,
            "{case}: no run recorded"
        );
    }
    db.finish().await;
}

async fn rows_of_other_tenants_and_query_sourced_subscriptions_are_dropped(kind: Kind) {
    let Some(db) = Db::new(kind).await else { return };
    let estate = estate(as_of());
    let zero = register(&db.store, &estate, 0, CostSource::Exports).await;
    let one = register(&db.store, &estate, 1, CostSource::Query).await;
    let dir = tempfile::tempdir().unwrap();
    let runs = exports(&estate, dir.path(), 1000, 0);
    let container = Arc::new(DirContainer::new(dir.path()));
    let of_one = runs.iter().find(|r| r.tenant == 1).unwrap();
    // Tenant 1's export placed in tenant 0's folder: the file's word is not trusted.
    let report = ingest_export(&db.store, &zero, container.clone(), &of_one.manifest).await.unwrap();
    assert!(report.slices.is_empty());
    let subs_of_one = estate.subscriptions.iter().filter(|s| s.tenant == 1).count();
    assert_eq!(report.unregistered.len(), subs_of_one, "{:?}", report.unregistered);
    assert_eq!(report.unregistered.values().sum::<u64>(), report.source_rows);
    // Tenant 1's own subscriptions still take their costs from queries.
    let report = ingest_export(&db.store, &one, container, &of_one.manifest).await.unwrap();
    assert!(report.slices.is_empty());
    let registered = estate.subscriptions.iter().filter(|s| s.tenant == 1 && s.delegated).count();
    assert_eq!(report.query_sourced.len(), registered);
    assert!(db.costs().await.is_empty(), "nothing written for either tenant");
    assert_eq!(db.count("SELECT COUNT(*) FROM export_runs").await, 2, "both runs recorded with their drops");
    assert!(
        !db.store
            .costs_from_exports(
                &one,
                &estate.subscriptions.iter().find(|s| s.tenant == 1 && s.delegated).unwrap().id
            )
            .await
            .unwrap()
    );
    db.finish().await;
}
