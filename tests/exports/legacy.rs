//! Legacy ActualCost and AmortizedCost exports: each carries one figure and replaces only that
//! figure of its slices, so the two exports together fill a row and re-sending one leaves the
//! other's figure alone.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use azcops::exports::{DirContainer, ingest_export};
use azcops::store::CostSource;

use crate::support::{Db, Kind, estate, register};

const HEADER: &str = "Date,SubscriptionId,ResourceGroup,ServiceName,MeterCategory,ResourceId,CostInBillingCurrency,BillingCurrencyCode\n";

/// Writes a one-file legacy run of `kind` with `rows` and returns its manifest's blob name.
fn legacy_run(dir: &Path, kind: &str, run: &str, rows: &[String]) -> String {
    let folder = format!("t/{kind}/20261201-20261231/202612070500/{run}");
    std::fs::create_dir_all(dir.join(&folder)).unwrap();
    let part = format!("{folder}/part_0_0001.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(HEADER.as_bytes()).unwrap();
    for row in rows {
        gz.write_all(row.as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    let bytes = gz.finish().unwrap();
    std::fs::write(dir.join(&part), &bytes).unwrap();
    let manifest = serde_json::json!({
        "manifestVersion": "2024-04-01",
        "blobCount": 1,
        "exportConfig": {"exportName": kind, "resourceId": "/providers/Microsoft.Billing/billingAccounts/1", "dataVersion": "2023-05-01", "type": kind, "timeFrame": "MonthToDate"},
        "deliveryConfig": {"fileFormat": "Csv", "compressionMode": "Gzip"},
        "runInfo": {"runId": run, "startDate": "2026-12-01T00:00:00", "endDate": "2026-12-06T00:00:00"},
        "blobs": [{"blobName": part, "byteCount": bytes.len(), "dataRowCount": rows.len()}]
    });
    let name = format!("{folder}/manifest.json");
    std::fs::write(dir.join(&name), serde_json::to_vec(&manifest).unwrap()).unwrap();
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actual_and_amortized_exports_each_replace_their_own_figure() {
    let db = Db::new(Kind::Sqlite).await.unwrap();
    let estate = estate(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
    let scope = register(&db.store, &estate, 1, CostSource::Exports).await;
    let sub = estate.subscriptions.iter().find(|s| s.tenant == 1 && s.delegated).unwrap().id.clone();
    let vm =
        format!("/subscriptions/{sub}/resourceGroups/RG-A/providers/Microsoft.Compute/virtualMachines/vm1");
    let row = |day: &str, cost: f64| {
        format!("12/{day}/2026,{sub},RG-A,Virtual Machines,Virtual Machines,{vm},{cost},EUR")
    };
    let dir = tempfile::tempdir().unwrap();
    let container = Arc::new(DirContainer::new(dir.path()));
    let actual =
        legacy_run(dir.path(), "ActualCost", "a1", &[row("01", 10.0), row("01", 2.5), row("02", 0.0)]);
    let amortized = legacy_run(dir.path(), "AmortizedCost", "m1", &[row("01", 7.0), row("02", 7.0)]);
    ingest_export(&db.store, &scope, container.clone(), &actual).await.unwrap();
    ingest_export(&db.store, &scope, container.clone(), &amortized).await.unwrap();
    let rows = db.costs().await;
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows[0].contains("|2026-12-01|rg-a|") && rows[0].ends_with("|1250|700|EUR"), "{}", rows[0]);
    assert!(rows[1].contains("|2026-12-02|") && rows[1].ends_with("|0|700|EUR"), "{}", rows[1]);
    // A re-sent ActualCost month with a correction: the actual figure is replaced, the amortized
    // one is kept, and a key no export mentions any more disappears only when both are gone.
    let corrected = legacy_run(dir.path(), "ActualCost", "a2", &[row("01", 11.0)]);
    ingest_export(&db.store, &scope, container, &corrected).await.unwrap();
    let rows = db.costs().await;
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows[0].ends_with("|1100|700|EUR"), "{}", rows[0]);
    assert!(rows[1].ends_with("|0|700|EUR"), "{}", rows[1]);
    db.finish().await;
}
