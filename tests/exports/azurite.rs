//! Export files read from a Blob container over HTTP (Azurite, account SAS in the URL), as
//! `azcops exports ingest --container-url` and the trigger in Azure read them.

use std::sync::Arc;

use azcops::azurite::StorageAccount;
use azcops::exports::{ExportError, HttpContainer, ingest_export};
use azcops::store::CostSource;

use crate::support::{Db, Kind, estate, exports, register};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_read_from_a_blob_container_and_a_missing_blob_is_named() {
    let Some(account) = account() else { return };
    let db = Db::new(Kind::Sqlite).await.unwrap();
    let estate = estate(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
    let scope = register(&db.store, &estate, 1, CostSource::Exports).await;
    let local = tempfile::tempdir().unwrap();
    let runs = exports(&estate, local.path(), 300, 0);
    let run = runs.iter().find(|r| r.tenant == 1 && r.month.to_string() == "2026-12-01").unwrap();

    // A container of its own per test run; the blobs are uploaded with the account SAS.
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
    let folder = std::path::Path::new(&run.manifest).parent().unwrap().to_owned();
    let mut names: Vec<String> = std::fs::read_dir(local.path().join(&folder))
        .unwrap()
        .map(|e| folder.join(e.unwrap().file_name()).display().to_string())
        .collect();
    names.sort();
    for name in &names {
        let body = std::fs::read(local.path().join(name)).unwrap();
        let put = http
            .put(format!("{base}/{name}?{sas}"))
            .header("x-ms-version", "2021-08-06")
            .header("x-ms-blob-type", "BlockBlob")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "upload {name}: {}", put.status());
    }

    let reader = Arc::new(HttpContainer::new(&format!("{base}?{sas}"), None).unwrap());
    let report = ingest_export(&db.store, &scope, reader.clone(), &run.manifest).await.unwrap();
    assert_eq!(report.files, run.files);
    assert_eq!(report.source_rows, run.rows);
    let rows = db.count("SELECT COUNT(*) FROM costs_daily").await;
    assert!(rows > 50, "{rows} cost rows");

    // Remove one part: the run fails naming it, and the December slice stays as it was.
    let victim = names.iter().find(|n| n.ends_with(".csv.gz")).unwrap();
    let deleted = http
        .delete(format!("{base}/{victim}?{sas}"))
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    let before = db.costs().await;
    let e = ingest_export(&db.store, &scope, reader, &run.manifest).await.unwrap_err();
    assert!(matches!(&e, ExportError::Missing { blob } if blob == victim), "{e}");
    assert_eq!(db.costs().await, before);
    let _ = http
        .delete(format!("{base}?restype=container&{sas}"))
        .header("x-ms-version", "2021-08-06")
        .send()
        .await;
    db.finish().await;
}
