//! One export run into the curated store: the same code for the `ingest_exports` trigger and
//! `azcops exports ingest`.
//!
//! Order matters for "nothing is written on failure": the manifest is parsed and every file it
//! lists is checked for presence and size before the transaction opens; files are then read on
//! a blocking thread that hands bounded batches to the store's slice replacement, and a row
//! count or byte count that disagrees with the manifest fails the feed, which rolls back.
//! CSV is streamed and its bytes counted; Parquet is read by ranges from its footer (its size
//! is the one checked against the manifest, and a truncated file has no footer).
//!
//! Tenant isolation: the tenant comes from the caller (the container folder the trigger fired
//! on, or the operator's `--tenant`), never from the files. Rows of subscriptions not registered
//! to that tenant are dropped and counted, as are rows of subscriptions whose cost source is
//! `query` (so two sources never write the same slice).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;

use super::manifest::{Dataset, ExportManifest, FileFormat, MAX_MANIFEST_BYTES};
use super::mapping::Aggregator;
use super::parquet_read::read_parquet;
use super::reader::read_file;
use super::{Container, ExportError};
use crate::store::{
    CostSource, ExportMeasure, ExportRunRecord, ExportTotals, ReplacedSlice, SliceFeed, Store, TenantScope,
};

/// Curated keys summed in memory before a batch goes to the store: the bound on memory that
/// does not depend on the size of the export.
pub const BATCH_KEYS: usize = 20_000;
/// Batches queued between the reader and the store.
const BATCHES_IN_FLIGHT: usize = 2;

/// What one export run did.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// The manifest's blob name.
    pub manifest: String,
    /// `runInfo.runId`.
    pub run_id: String,
    /// `exportConfig.exportName`.
    pub export_name: String,
    /// `exportConfig.resourceId`.
    pub scope: String,
    /// `exportConfig.type`.
    pub dataset: String,
    /// The run's period (first and last day).
    pub period: (NaiveDate, NaiveDate),
    /// Files read.
    pub files: usize,
    /// Data rows read.
    pub source_rows: u64,
    /// Subscriptions in the export that are not registered to the tenant (rows dropped).
    pub unregistered: BTreeMap<String, u64>,
    /// Registered subscriptions whose cost source is `query` (rows skipped).
    pub query_sourced: BTreeMap<String, u64>,
    /// Rows dated outside the run's period (dropped).
    pub outside_period: u64,
    /// The slices replaced.
    pub slices: Vec<ReplacedSlice>,
    /// The manifest as read (at most [`MAX_MANIFEST_BYTES`]).
    pub manifest_content: Vec<u8>,
}

/// What the reader thread counted besides the totals it hands to the store.
#[derive(Debug, Default)]
struct Skipped {
    unregistered: BTreeMap<String, u64>,
    query_sourced: BTreeMap<String, u64>,
    outside_period: u64,
}

/// Ingests the export run whose manifest is `manifest_name` in `container` for the tenant of
/// `scope` (see the module docs).
///
/// # Errors
/// A missing or inconsistent manifest, a listed file that is missing, truncated or holds other
/// rows than the manifest says, a bad row, or a store failure. Nothing is written then.
pub async fn ingest_export(
    store: &Store,
    scope: &TenantScope,
    container: Arc<dyn Container>,
    manifest_name: &str,
) -> Result<ExportReport, ExportError> {
    ingest_export_in_batches(store, scope, container, manifest_name, BATCH_KEYS).await
}

/// The raw-layer path of an ingested run's record:
/// `{tenant}/exports/{yyyy}/{mm}/{run id}.json` (the month the run's period starts in).
pub fn raw_record_path(tenant_id: &str, report: &ExportReport) -> String {
    let run: String = report
        .run_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    format!("{tenant_id}/exports/{}/{run}.json", report.period.0.format("%Y/%m"))
}

/// Records an ingested run in the raw layer (write-once): the manifest as delivered and what was
/// ingested from it. The first ingestion of a run writes it; `None` when a record of the run
/// already exists (a redelivered event ingests the run again, and what it drops may differ if
/// registrations changed in between, so the first record is kept rather than refused).
///
/// # Errors
/// [`ExportError::Container`] when the raw layer cannot store the record.
pub async fn record_in_raw(
    raw: &dyn crate::raw::RawStore,
    tenant_id: &str,
    report: &ExportReport,
) -> Result<Option<String>, ExportError> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&report.manifest_content).map_err(|e| ExportError::Manifest(e.to_string()))?;
    let slices: Vec<serde_json::Value> = report
        .slices
        .iter()
        .map(|s| {
            serde_json::json!({
                "subscription_id": s.subscription_id,
                "first_day": s.first_day,
                "last_day": s.last_day,
                "source_rows": s.source_rows,
                "cost_rows": s.cost_rows,
            })
        })
        .collect();
    let record = serde_json::json!({
        "manifest_blob": report.manifest,
        "manifest": manifest,
        "source_rows": report.source_rows,
        "slices": slices,
        "unregistered_subscriptions": report.unregistered,
        "query_sourced_subscriptions": report.query_sourced,
        "outside_period_rows": report.outside_period,
    });
    let path = raw_record_path(tenant_id, report);
    let bytes = serde_json::to_vec_pretty(&record).map_err(|e| ExportError::Manifest(e.to_string()))?;
    match raw.put_create_only(&path, &bytes).await {
        Ok(_) => Ok(Some(path)),
        Err(crate::raw::RawError::Conflict { .. }) => Ok(None),
        Err(e) => Err(ExportError::Container(format!("cannot record the run in the raw layer: {e}"))),
    }
}

/// As [`ingest_export`], summing at most `batch_keys` curated keys in memory per batch.
///
/// # Errors
/// As [`ingest_export`].
pub async fn ingest_export_in_batches(
    store: &Store,
    scope: &TenantScope,
    container: Arc<dyn Container>,
    manifest_name: &str,
    batch_keys: usize,
) -> Result<ExportReport, ExportError> {
    let bytes = container.read_small(manifest_name, MAX_MANIFEST_BYTES).await?;
    let manifest = ExportManifest::parse(&bytes)?;
    manifest.check_blobs_beside(manifest_name)?;
    let (period_start, period_end) = manifest.period()?;
    for blob in &manifest.blobs {
        match container.size(&blob.blob_name).await? {
            None => return Err(ExportError::Missing { blob: blob.blob_name.clone() }),
            Some(actual) if actual != blob.byte_count => {
                return Err(ExportError::Size {
                    blob: blob.blob_name.clone(),
                    expected: blob.byte_count,
                    actual,
                });
            }
            Some(_) => {}
        }
    }
    let registered: BTreeSet<String> =
        store.list_active_subscriptions(scope).await?.into_iter().map(|s| s.subscription_id).collect();
    let sources = store.cost_sources(scope).await?;
    let accepted: BTreeSet<String> = registered
        .iter()
        .filter(|s| sources.get(*s).copied().unwrap_or_default() != CostSource::Query)
        .cloned()
        .collect();
    let dataset = manifest.dataset();
    let run = ExportRunRecord {
        manifest: manifest_name.to_owned(),
        run_id: manifest.run_info.run_id.clone(),
        export_name: manifest.export_config.export_name.clone(),
        scope: manifest.export_config.resource_id.clone(),
        dataset: manifest.export_config.kind.clone(),
        data_version: manifest.export_config.data_version.clone().unwrap_or_default(),
        period_start,
        period_end,
        files: manifest.blobs.len() as u64,
        measure: match dataset {
            Dataset::Focus => ExportMeasure::Both,
            Dataset::ActualCost => ExportMeasure::Actual,
            Dataset::AmortizedCost => ExportMeasure::Amortized,
        },
    };

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<SliceFeed, ExportError>>(BATCHES_IN_FLIGHT);
    let handle = tokio::runtime::Handle::current();
    let reader_manifest = manifest.clone();
    let reader_accepted = accepted.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut skipped = Skipped::default();
        let filter = Filter { registered: &registered, accepted: &reader_accepted };
        let outcome =
            read_all(batch_keys, &handle, container.as_ref(), &reader_manifest, &filter, &tx, &mut skipped);
        match outcome {
            Ok(totals) => {
                let _ = tx.blocking_send(Ok(SliceFeed::Done(totals)));
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
            }
        }
        skipped
    });
    let feed = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let loaded = store.replace_export_slices(scope, &run, accepted.into_iter().collect(), feed).await;
    let skipped = reader.await.map_err(|e| ExportError::Container(format!("the reader stopped: {e}")))?;
    let load = loaded?;
    Ok(ExportReport {
        manifest: run.manifest,
        run_id: run.run_id,
        export_name: run.export_name,
        scope: run.scope,
        dataset: run.dataset,
        period: (period_start, period_end),
        files: manifest.blobs.len(),
        source_rows: load.totals.source_rows,
        unregistered: skipped.unregistered,
        query_sourced: skipped.query_sourced,
        outside_period: skipped.outside_period,
        slices: load.slices,
        manifest_content: bytes,
    })
}

/// Which subscriptions' rows are kept: registered to the tenant, and taking exports.
struct Filter<'a> {
    registered: &'a BTreeSet<String>,
    accepted: &'a BTreeSet<String>,
}

/// Reads every listed file in order, feeding bounded batches to `tx` (runs on a blocking thread).
fn read_all(
    batch_keys: usize,
    handle: &tokio::runtime::Handle,
    container: &dyn Container,
    manifest: &ExportManifest,
    filter: &Filter<'_>,
    tx: &tokio::sync::mpsc::Sender<Result<SliceFeed, ExportError>>,
    skipped: &mut Skipped,
) -> Result<ExportTotals, ExportError> {
    let (start, end) = manifest.period()?;
    let dataset = manifest.dataset();
    let mut aggregator = Aggregator::new(batch_keys);
    let mut source_rows = 0u64;
    for blob in &manifest.blobs {
        let name = &blob.blob_name;
        let format = FileFormat::of(name, &manifest.delivery_config)?;
        let mut each = |row: crate::model::CostDailyRow| -> Result<(), String> {
            source_rows += 1;
            if row.date < start || row.date > end {
                skipped.outside_period += 1;
                return Ok(());
            }
            if !filter.registered.contains(&row.subscription_id) {
                *skipped.unregistered.entry(row.subscription_id).or_default() += 1;
                return Ok(());
            }
            if !filter.accepted.contains(&row.subscription_id) {
                *skipped.query_sourced.entry(row.subscription_id).or_default() += 1;
                return Ok(());
            }
            if let Some(batch) = aggregator.push(row)? {
                tx.blocking_send(Ok(SliceFeed::Rows(batch)))
                    .map_err(|_| "the store stopped taking rows".to_owned())?;
            }
            Ok(())
        };
        let counts = if format == FileFormat::Parquet {
            let input = handle.block_on(container.open_ranges(name))?;
            read_parquet(input, dataset, &mut each)
        } else {
            let input = handle.block_on(container.open(name))?;
            read_file(input, format, dataset, &mut each)
        }
        .map_err(|message| ExportError::File { blob: name.clone(), message })?;
        if counts.bytes != blob.byte_count {
            return Err(ExportError::Size {
                blob: name.clone(),
                expected: blob.byte_count,
                actual: counts.bytes,
            });
        }
        if let Some(expected) = blob.data_row_count
            && expected != counts.rows
        {
            return Err(ExportError::Rows { blob: name.clone(), expected, actual: counts.rows });
        }
    }
    let rest = aggregator.take();
    if !rest.is_empty() {
        tx.blocking_send(Ok(SliceFeed::Rows(rest)))
            .map_err(|_| ExportError::Container("the store stopped taking rows".into()))?;
    }
    let dropped: u64 =
        skipped.unregistered.values().sum::<u64>() + skipped.query_sourced.values().sum::<u64>();
    Ok(ExportTotals {
        source_rows,
        dropped_rows: dropped,
        dropped_subscriptions: (skipped.unregistered.len() + skipped.query_sourced.len()) as u64,
        slice_rows: std::mem::take(&mut aggregator.slice_rows),
    })
}
