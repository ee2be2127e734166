//! Writes an estate's FOCUS exports (see [`super::exports`]) into a directory standing for the
//! exports container: one run per customer tenant and month, under the tenant's folder (its
//! Entra tenant id, which is how the exports trigger knows whose export it is), as gzip CSV or
//! snappy Parquet partitions ([`super::exports_parquet`]) with the same rows.

use std::io::Write as _;
use std::path::Path;

use chrono::{Datelike as _, NaiveDate};
use serde_json::json;

use super::estate::{Estate, splitmix64};
use super::exports::{FOCUS_COLUMNS, FocusRow, focus_rows, months};
use super::exports_parquet::ParquetPartition;

/// The file format of the partitions, as an export definition's `format` chooses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV compressed with gzip (`part_<n>_0001.csv.gz`).
    #[default]
    CsvGzip,
    /// Parquet compressed with snappy (`part_<n>_0001.snappy.parquet`).
    Parquet,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" | "csv.gz" | "gzip" => Ok(Self::CsvGzip),
            "parquet" => Ok(Self::Parquet),
            other => Err(format!("export format {other:?} is not csv or parquet")),
        }
    }
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::CsvGzip => "csv.gz",
            Self::Parquet => "snappy.parquet",
        }
    }

    /// `deliveryConfig.fileFormat` and `compressionMode`.
    fn delivery(self) -> (&'static str, &'static str) {
        match self {
            Self::CsvGzip => ("Csv", "Gzip"),
            Self::Parquet => ("Parquet", "Snappy"),
        }
    }
}

/// How the exports are written.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The export definition's name (a folder of each run's path).
    pub export_name: String,
    /// Data rows per partition file.
    pub rows_per_file: usize,
    /// Which delivery of the same runs this is (0 first); a re-sent run gets a new run id and
    /// export time, as a month-to-date export does every day.
    pub delivery: u32,
    /// The partitions' format.
    pub format: ExportFormat,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            export_name: "focus-cost".into(),
            rows_per_file: 50_000,
            delivery: 0,
            format: ExportFormat::CsvGzip,
            row_group_rows: 10_000,
        }
    }
}

/// One written run.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenExport {
    /// Index of the tenant in the estate.
    pub tenant: usize,
    /// The manifest's blob name (relative to the container).
    pub manifest: String,
    /// First day of the month exported.
    pub month: NaiveDate,
    /// Partition files.
    pub files: usize,
    /// Data rows.
    pub rows: u64,
    /// Bytes of the data files.
    pub bytes: u64,
}

fn run_id(estate: &Estate, tenant: usize, month: NaiveDate, delivery: u32) -> String {
    let a = splitmix64(estate.seed ^ ((tenant as u64) << 32) ^ (u64::from(delivery) << 48));
    let b = splitmix64(a ^ u64::from(month.num_days_from_ce().unsigned_abs()));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// A gzip CSV partition being written.
struct CsvPartition {
    csv: csv::Writer<flate2::write::GzEncoder<std::fs::File>>,
    rows: u64,
}

/// A partition being written, in either format.
enum Partition {
    Csv(Box<CsvPartition>),
    Parquet(Box<ParquetPartition>),
}

impl Partition {
    fn create(path: &Path, options: &ExportOptions) -> std::io::Result<Self> {
        if options.format == ExportFormat::Parquet {
            return Ok(Self::Parquet(Box::new(ParquetPartition::create(path, options.row_group_rows)?)));
        }
        let file = std::fs::File::create(path)?;
        let mut csv =
            csv::Writer::from_writer(flate2::write::GzEncoder::new(file, flate2::Compression::fast()));
        csv.write_record(FOCUS_COLUMNS).map_err(std::io::Error::other)?;
        Ok(Self::Csv(Box::new(CsvPartition { csv, rows: 0 })))
    }

    fn rows(&self) -> u64 {
        match self {
            Self::Csv(p) => p.rows,
            Self::Parquet(p) => p.rows(),
        }
    }

    fn push(&mut self, row: FocusRow) -> std::io::Result<()> {
        match self {
            Self::Csv(p) => {
                p.csv.write_record(&row).map_err(std::io::Error::other)?;
                p.rows += 1;
                Ok(())
            }
            Self::Parquet(p) => p.push(row),
        }
    }

    fn finish(self) -> std::io::Result<u64> {
        match self {
            Self::Csv(p) => {
                let gz = p.csv.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?;
                let mut file = gz.finish()?;
                file.flush()?;
                Ok(p.rows)
            }
            Self::Parquet(p) => (*p).finish(),
        }
    }
}

/// Writes every tenant's FOCUS exports under `dir` (the container root) and returns the runs.
///
/// # Errors
/// File-system errors.
pub fn write_exports(
    estate: &Estate,
    dir: &Path,
    options: &ExportOptions,
) -> std::io::Result<Vec<WrittenExport>> {
    let mut written = Vec::new();
    let as_of = estate.as_of;
    for (tenant_index, tenant) in estate.tenants.iter().enumerate() {
        let subs: Vec<usize> = (0..estate.subscriptions.len())
            .filter(|s| estate.subscriptions[*s].tenant == tenant_index)
            .collect();
        for (month, first, last) in months(estate) {
            let month_end =
                month.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(month);
            let current = last < month_end;
            let time = format!("{}{:04}", as_of.format("%Y%m%d"), 500 + options.delivery);
            let run = run_id(estate, tenant_index, month, options.delivery);
            let folder = format!(
                "{}/{}/{}-{}/{time}/{run}",
                tenant.id,
                options.export_name,
                month.format("%Y%m%d"),
                month_end.format("%Y%m%d")
            );
            std::fs::create_dir_all(dir.join(&folder))?;
            let mut blobs = Vec::new();
            let mut partition: Option<(String, Partition)> = None;
            let close =
                |p: Option<(String, Partition)>, blobs: &mut Vec<serde_json::Value>| -> std::io::Result<()> {
                    if let Some((name, part)) = p {
                        let rows = part.finish()?;
                        let bytes = std::fs::metadata(dir.join(&name))?.len();
                        blobs.push(json!({ "blobName": name, "byteCount": bytes, "dataRowCount": rows }));
                    }
                    Ok(())
                };
            for day in first.iter_days().take_while(|d| *d <= last) {
                for &sub in &subs {
                    for row in focus_rows(estate, sub, day) {
                        let full = partition
                            .as_ref()
                            .is_some_and(|(_, p)| p.rows() as usize >= options.rows_per_file);
                        if full || partition.is_none() {
                            close(partition.take(), &mut blobs)?;
                            let name =
                                format!("{folder}/part_{}_0001.{}", blobs.len(), options.format.extension());
                            partition = Some((name.clone(), Partition::create(&dir.join(&name), options)?));
                        }
                        if let Some((_, p)) = partition.as_mut() {
                            p.push(row)?;
                        }
                    }
                }
            }
            close(partition.take(), &mut blobs)?;
            let rows: u64 = blobs.iter().filter_map(|b| b["dataRowCount"].as_u64()).sum();
            let bytes: u64 = blobs.iter().filter_map(|b| b["byteCount"].as_u64()).sum();
            let (file_format, compression) = options.format.delivery();
            let manifest = json!({
                "manifestVersion": "2024-04-01",
                "byteCount": bytes,
                "blobCount": blobs.len(),
                "dataRowCount": rows,
                "exportConfig": {
                    "exportName": options.export_name,
                    "resourceId": format!("/providers/Microsoft.Billing/billingAccounts/{}", tenant.id),
                    "dataVersion": "1.0",
                    "apiVersion": "2023-07-01-preview",
                    "type": "FocusCost",
                    "timeFrame": if current { "MonthToDate" } else { "TheLastMonth" },
                    "granularity": "Daily"
                },
                "deliveryConfig": {
                    "partitionData": true,
                    "dataOverwriteBehavior": "OverwritePreviousReport",
                    "fileFormat": file_format,
                    "compressionMode": compression,
                    "containerUri": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/finops/providers/Microsoft.Storage/storageAccounts/exports",
                    "rootFolderPath": tenant.id
                },
                "runInfo": {
                    "executionType": "Scheduled",
                    "submittedTime": format!("{}T05:00:00Z", as_of),
                    "runId": run,
                    "startDate": format!("{month}T00:00:00"),
                    "endDate": format!("{}T00:00:00", if current { last } else { month_end })
                },
                "blobs": blobs
            });
            let name = format!("{folder}/manifest.json");
            std::fs::write(
                dir.join(&name),
                serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?,
            )?;
            written.push(WrittenExport {
                tenant: tenant_index,
                manifest: name,
                month,
                files: manifest["blobs"].as_array().map_or(0, Vec::len),
                rows,
                bytes,
            });
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_list_the_files_written_with_their_sizes_and_rows() {
        let spec = "tenants=1,subscriptions=2,resources=15,days=35".parse().unwrap();
        let estate = Estate::generate(5, spec, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let options = ExportOptions { rows_per_file: 100, ..ExportOptions::default() };
        let runs = write_exports(&estate, dir.path(), &options).unwrap();
        assert_eq!(runs.len(), 2, "one run per month of history");
        for run in &runs {
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.path().join(&run.manifest)).unwrap()).unwrap();
            assert!(run.files > 1, "partitioned at 100 rows");
            assert_eq!(m["deliveryConfig"]["fileFormat"], "Csv");
            for blob in m["blobs"].as_array().unwrap() {
                let size =
                    std::fs::metadata(dir.path().join(blob["blobName"].as_str().unwrap())).unwrap().len();
                assert_eq!(size, blob["byteCount"].as_u64().unwrap());
            }
            let again = write_exports(&estate, tempfile::tempdir().unwrap().path(), &options).unwrap();
            assert_eq!(
                again.iter().map(|r| r.manifest.clone()).collect::<Vec<_>>(),
                runs.iter().map(|r| r.manifest.clone()).collect::<Vec<_>>(),
                "deterministic"
            );
        }
    }

    #[test]
    fn parquet_runs_hold_the_same_rows_as_csv_runs() {
        let spec = "tenants=1,subscriptions=2,resources=15,days=35".parse().unwrap();
        let estate = Estate::generate(5, spec, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let csv = write_exports(
            &estate,
            dir.path(),
            &ExportOptions { rows_per_file: 100, ..ExportOptions::default() },
        )
        .unwrap();
        let options = ExportOptions {
            rows_per_file: 100,
            row_group_rows: 40,
            format: ExportFormat::Parquet,
            export_name: "focus-parquet".into(),
            ..ExportOptions::default()
        };
        let parquet = write_exports(&estate, dir.path(), &options).unwrap();
        assert_eq!(parquet.len(), csv.len());
        for (p, c) in parquet.iter().zip(&csv) {
            assert_eq!((p.rows, p.files, p.month), (c.rows, c.files, c.month));
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.path().join(&p.manifest)).unwrap()).unwrap();
            assert_eq!(m["deliveryConfig"]["fileFormat"], "Parquet");
            assert_eq!(m["deliveryConfig"]["compressionMode"], "Snappy");
            let first = m["blobs"][0]["blobName"].as_str().unwrap();
            assert!(first.ends_with("part_0_0001.snappy.parquet"), "{first}");
            let bytes = std::fs::read(dir.path().join(first)).unwrap();
            assert_eq!(&bytes[..4], b"PAR1");
            assert_eq!(bytes.len() as u64, m["blobs"][0]["byteCount"].as_u64().unwrap());
        }
    }
}
