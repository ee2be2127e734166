//! Export files read from a Blob container over HTTP (Azurite, account SAS in the URL), as
//! `azcops exports ingest --container-url` and the trigger in Azure read them.

use std::sync::Arc;

use azcops::azurite::StorageAccount;
use azcops::exports::{DirContainer, ExportError, HttpContainer, ingest_export};
use azcops::sandbox::exports_write::ExportFormat;
use azcops::store::CostSource;

use crate::support::{Db, Kind, estate, exports, exports_as, register};

/// The test Azurite account, or `None` when skipped on purpose.
fn account() -> Option<StorageAccount> {
    match std::env::var("AZCOPS_TEST_AZURITE") {
        Ok(v) if !v.is_empty() => {
            Some(StorageAccount::from_connection_string("AZCOPS_TEST_AZURITE", &v).unwrap())
        }
        _ if std::env::var("AZCOPS_SKIP_AZURITE").as_deref() == Ok("1") => None,
        _ => panic!("AZCOPS_TEST_AZURITE is not set: run `eval \"$(scripts/start-azurite.sh)\"`"),
    }
}

/// A container of its own per test in the test Azurite account, written with the account SAS.
struct Blobs {
    http: reqwest::Client,
    base: String,
    sas: String,
}

impl Blobs {
    async fn create(account: &StorageAccount) -> Self {
        let container = format!("exports-{}", uuid::Uuid::new_v4().simple());
        let sas = account.account_sas(chrono::Utc::now() + chrono::Duration::hours(1));
        let base = format!("{}/{container}", account.blob_endpoint.as_str().trim_end_matches('/'));
        let http = reqwest::Client::new();
        let created = http
            .put(format!("{base}?restype=container&{sas}"))
            .header("x-ms-version", "2021-08-06")
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success(), "create container: {}", created.status());
        Self { http, base, sas }
    }

    /// Uploads every file of the run folder of `manifest` under `local`; returns their names.
    async fn upload_run(&self, local: &std::path::Path, manifest: &str) -> Vec<String> {
        let folder = std::path::Path::new(manifest).parent().unwrap().to_owned();
        let mut names: Vec<String> = std::fs::read_dir(local.join(&folder))
            .unwrap()
            .map(|e| folder.join(e.unwrap().file_name()).display().to_string())
            .collect();
        names.sort();
        for name in &names {
            let body = std::fs::read(local.join(name)).unwrap();
            let put = self
                .http
                .put(format!("{}/{name}?{}", self.base, self.sas))
                .header("x-ms-version", "2021-08-06")
                .header("x-ms-blob-type", "BlockBlob")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(put.status().is_success(), "upload {name}: {}", put.status());
        }
        names
    }

    fn reader(&self) -> Arc<HttpContainer> {
        Arc::new(HttpContainer::new(&format!("{}?{}", self.base, self.sas), None).unwrap())
    }

    async fn delete(&self, name: &str) {
        let deleted = self
            .http
            .delete(format!("{}/{name}?{}", self.base, self.sas))
            .header("x-ms-version", "2021-08-06")
            .send()
            .await
            .unwrap();
        assert!(deleted.status().is_success());
    }

    async fn drop_container(self) {
        let _ = self
            .http
            .delete(format!("{}?restype=container&{}", self.base, self.sas))
            .header("x-ms-version", "2021-08-06")
            .send()
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_read_from_a_blob_container_and_a_missing_blob_is_named() {
    let Some(account) = account() else { return };
    let db = Db::new(Kind::Sqlite).await.unwrap();
    let estate = estate(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
    let scope = register(&db.store, &estate, 1, CostSource::Exports).await;
    let local = tempfile::tempdir().unwrap();
    let runs = exports(&estate, local.path(), 300, 0);
    let run = runs.iter().find(|r| r.tenant == 1 && r.month.to_string() == "2026-12-01").unwrap();
    let blobs = Blobs::create(&account).await;
    let names = blobs.upload_run(local.path(), &run.manifest).await;

    let reader = blobs.reader();
    let report = ingest_export(&db.store, &scope, reader.clone(), &run.manifest).await.unwrap();
    assert_eq!(report.files, run.files);
    assert_eq!(report.source_rows, run.rows);
    let rows = db.count("SELECT COUNT(*) FROM costs_daily").await;
    assert!(rows > 50, "{rows} cost rows");

    // Remove one part: the run fails naming it, and the December slice stays as it was.
    let victim = names.iter().find(|n| n.ends_with(".csv.gz")).unwrap();
    blobs.delete(victim).await;
    let before = db.costs().await;
    let e = ingest_export(&db.store, &scope, reader, &run.manifest).await.unwrap_err();
    assert!(matches!(&e, ExportError::Missing { blob } if blob == victim), "{e}");
    assert_eq!(db.costs().await, before);
    blobs.drop_container().await;
    db.finish().await;
}

/// The rows of `costs_daily` without the tenant id (which differs between two databases).
async fn costs_without_tenant(db: &Db) -> Vec<String> {
    db.costs().await.into_iter().map(|r| r.split_once('|').unwrap().1.to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_export_is_read_by_ranges_from_a_blob_container_with_the_csv_costs() {
    let Some(account) = account() else { return };
    let estate = estate(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
    let local = tempfile::tempdir().unwrap();
    let parquet = exports_as(&estate, local.path(), 300, 0, ExportFormat::Parquet);
    let run = parquet.iter().find(|r| r.tenant == 1 && r.month.to_string() == "2026-11-01").unwrap();
    let blobs = Blobs::create(&account).await;
    let names = blobs.upload_run(local.path(), &run.manifest).await;
    assert!(names.iter().filter(|n| n.ends_with(".snappy.parquet")).count() >= 2, "{names:?}");

    let db = Db::new(Kind::Sqlite).await.unwrap();
    let scope = register(&db.store, &estate, 1, CostSource::Exports).await;
    let report = ingest_export(&db.store, &scope, blobs.reader(), &run.manifest).await.unwrap();
    assert_eq!((report.files, report.source_rows), (run.files, run.rows));

    // The same month as gzip CSV from a directory, into another database: the same costs.
    let csv_dir = tempfile::tempdir().unwrap();
    let csv = exports(&estate, csv_dir.path(), 300, 0);
    let csv_run = csv.iter().find(|r| r.tenant == 1 && r.month == run.month).unwrap();
    let other = Db::new(Kind::Sqlite).await.unwrap();
    let other_scope = register(&other.store, &estate, 1, CostSource::Exports).await;
    ingest_export(&other.store, &other_scope, Arc::new(DirContainer::new(csv_dir.path())), &csv_run.manifest)
        .await
        .unwrap();
    let through_parquet = costs_without_tenant(&db).await;
    assert!(through_parquet.len() > 50, "{} cost rows", through_parquet.len());
    assert_eq!(through_parquet, costs_without_tenant(&other).await, "Parquet by ranges = CSV, to the cent");

    // A part cut in half (the blob replaced, the manifest unchanged): refused by size before
    // anything is read.
    let victim = names.iter().find(|n| n.ends_with(".parquet")).unwrap();
    let bytes = std::fs::read(local.path().join(victim)).unwrap();
    let put = blobs
        .http
        .put(format!("{}/{victim}?{}", blobs.base, blobs.sas))
        .header("x-ms-version", "2021-08-06")
        .header("x-ms-blob-type", "BlockBlob")
        .body(bytes[..bytes.len() / 2].to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let e = ingest_export(&db.store, &scope, blobs.reader(), &run.manifest).await.unwrap_err();
    assert!(matches!(&e, ExportError::Size { blob, .. } if blob == victim), "{e}");
    assert_eq!(costs_without_tenant(&db).await, through_parquet, "nothing written");
    blobs.drop_container().await;
    db.finish().await;
    other.finish().await;
}
