//! Parquet exports that cannot be read: a file cut short (with a manifest that agrees on its
//! size, so only reading finds it) or a file without a required column fails the run with an
//! error naming the file and the problem, and nothing is written, on SQLite and PostgreSQL.

use std::sync::Arc;

use azcops::exports::{DirContainer, ExportError, ingest_export, ingest_export_in_batches};
use azcops::sandbox::exports_write::ExportFormat;
use azcops::store::CostSource;
use chrono::NaiveDate;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::support::{Db, Kind, estate, exports_as, register};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    a_truncated_parquet_file_or_a_missing_column_fails_and_writes_nothing(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    a_truncated_parquet_file_or_a_missing_column_fails_and_writes_nothing(Kind::Postgres).await;
}

/// A Parquet file of `rows` FOCUS-like rows without an `EffectiveCost` column.
fn without_effective_cost(rows: usize, sub: &str) -> Vec<u8> {
    let schema = "message FocusCost { required binary SubAccountId (STRING); required double BilledCost;
        required binary ChargePeriodStart (STRING); required binary BillingCurrency (STRING); }";
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let mut writer =
        SerializedFileWriter::new(Vec::new(), schema, Arc::new(WriterProperties::builder().build())).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let text = |v: &str| vec![ByteArray::from(v); rows];
    let subscription = format!("/subscriptions/{sub}");
    for column in [Some(subscription.as_str()), None, Some("2026-11-03T00:00:00Z"), Some("USD")] {
        let mut c = group.next_column().unwrap().unwrap();
        match column {
            Some(v) => c.typed::<ByteArrayType>().write_batch(&text(v), None, None).unwrap(),
            None => c.typed::<DoubleType>().write_batch(&vec![1.0; rows], None, None).unwrap(),
        };
        c.close().unwrap();
    }
    group.close().unwrap();
    writer.into_inner().unwrap()
}

async fn a_truncated_parquet_file_or_a_missing_column_fails_and_writes_nothing(kind: Kind) {
    let Some(db) = Db::new(kind).await else { return };
    let estate = estate(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
    let scope = register(&db.store, &estate, 1, CostSource::Exports).await;
    let december = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let good = tempfile::tempdir().unwrap();
    let runs = exports_as(&estate, good.path(), 100, 0, ExportFormat::Parquet);
    let november = runs.iter().find(|r| r.tenant == 1 && r.month != december).unwrap();
    let report =
        ingest_export(&db.store, &scope, Arc::new(DirContainer::new(good.path())), &november.manifest)
            .await
            .unwrap();
    assert_eq!(report.source_rows, november.rows, "every Parquet row read");
    let before = db.costs().await;
    let runs_before = db.count("SELECT COUNT(*) FROM export_runs").await;
    assert!(!before.is_empty());
    let sub = &estate.subscriptions.iter().find(|s| s.tenant == 1 && s.delegated).unwrap().id;

    for case in ["truncated", "no EffectiveCost"] {
        let dir = tempfile::tempdir().unwrap();
        let runs = exports_as(&estate, dir.path(), 100, 1, ExportFormat::Parquet);
        let run = runs.iter().find(|r| r.tenant == 1 && r.month != december).unwrap();
        assert!(run.files >= 3, "several partitions ({})", run.files);
        let manifest_path = dir.path().join(&run.manifest);
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
        let last = m["blobs"].as_array().unwrap().len() - 1;
        let blob = m["blobs"][last]["blobName"].as_str().unwrap().to_owned();
        let rows = m["blobs"][last]["dataRowCount"].as_u64().unwrap();
        let file = dir.path().join(&blob);
        let bytes = std::fs::read(&file).unwrap();
        let replaced = match case {
            "truncated" => bytes[..bytes.len() / 2].to_vec(),
            _ => without_effective_cost(rows as usize, sub),
        };
        std::fs::write(&file, &replaced).unwrap();
        // The manifest agrees on the new size: only reading the file finds the problem, after
        // earlier files were fed to the store.
        crate::resize_in_manifest(&manifest_path, last, bytes.len() as u64, replaced.len() as u64);
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
        assert!(matches!(e, ExportError::File { .. }), "{case}: {text}");
        assert!(text.contains(&blob), "{case}: the error names the file: {text}");
        let wanted = if case == "truncated" {
            "not a complete Parquet file"
        } else {
            "the header has no EffectiveCost column"
        };
        assert!(text.contains(wanted), "{case}: {text}");
        assert_eq!(db.costs().await, before, "{case}: nothing written");
        assert_eq!(
            db.count("SELECT COUNT(*) FROM export_runs").await,
            runs_before,
            "{case}: no run recorded"
        );
    }
    db.finish().await;
}
