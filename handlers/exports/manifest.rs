//! The manifest Cost Management writes beside each export run (`manifest.json`): which export
//! produced the run, for which scope and period, and the exact files (`blobs[]`) it delivered,
//! with their sizes and row counts. Ingestion reads only the files listed here.

use chrono::NaiveDate;
use serde::Deserialize;

use super::ExportError;

/// The largest manifest accepted (a manifest lists files, it never holds data).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// The parts of `manifest.json` ingestion uses; unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportManifest {
    /// Manifest format version.
    #[serde(default)]
    pub manifest_version: Option<String>,
    /// Total bytes of all blobs.
    #[serde(default)]
    pub byte_count: Option<u64>,
    /// Number of blobs.
    #[serde(default)]
    pub blob_count: Option<u64>,
    /// Total data rows of all blobs.
    #[serde(default)]
    pub data_row_count: Option<u64>,
    /// The export definition the run came from.
    pub export_config: ExportConfig,
    /// How the files were delivered.
    #[serde(default)]
    pub delivery_config: DeliveryConfig,
    /// The run.
    pub run_info: RunInfo,
    /// The files of the run.
    pub blobs: Vec<ManifestBlob>,
}

/// `exportConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportConfig {
    /// The export's name.
    #[serde(default)]
    pub export_name: String,
    /// The scope exported (`/subscriptions/…`, a billing account, …).
    pub resource_id: String,
    /// Dataset version (`1.0`, `1.0r2`, `1.2`, `2023-05-01`, …).
    #[serde(default)]
    pub data_version: Option<String>,
    /// Dataset type: `FocusCost`, `ActualCost`, `AmortizedCost`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `MonthToDate`, `TheLastMonth`, `Custom`, …
    #[serde(default)]
    pub time_frame: Option<String>,
}

/// `deliveryConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryConfig {
    /// Whether the data was split into partitions.
    #[serde(default)]
    pub partition_data: Option<bool>,
    /// `OverwritePreviousReport` or `CreateNewReport`.
    #[serde(default)]
    pub data_overwrite_behavior: Option<String>,
    /// `Csv` or `Parquet`.
    #[serde(default)]
    pub file_format: Option<String>,
    /// `Gzip`, `Snappy` or `None`.
    #[serde(default)]
    pub compression_mode: Option<String>,
}

/// `runInfo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// `Scheduled` or `OnDemand`.
    #[serde(default)]
    pub execution_type: Option<String>,
    /// When the run was submitted.
    #[serde(default)]
    pub submitted_time: Option<String>,
    /// The run's id.
    pub run_id: String,
    /// First instant of the exported period.
    pub start_date: String,
    /// Last instant of the exported period.
    pub end_date: String,
}

/// One entry of `blobs[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestBlob {
    /// The blob's name inside the container.
    pub blob_name: String,
    /// Its size in bytes.
    pub byte_count: u64,
    /// Its data rows (header excluded), when the manifest states them.
    #[serde(default)]
    pub data_row_count: Option<u64>,
}

/// The datasets ingestion understands, and which figure each carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// FOCUS 1.0/1.2 (`FocusCost`): billed and effective cost in one row.
    Focus,
    /// Legacy actual cost: only the billed figure.
    ActualCost,
    /// Legacy amortized cost: only the amortized figure.
    AmortizedCost,
}

impl Dataset {
    /// The dataset of an `exportConfig.type`.
    ///
    /// # Errors
    /// [`ExportError::Manifest`] for datasets that are not cost data.
    pub fn of(kind: &str) -> Result<Self, ExportError> {
        match kind.to_ascii_lowercase().as_str() {
            "focuscost" => Ok(Self::Focus),
            "actualcost" | "usage" => Ok(Self::ActualCost),
            "amortizedcost" => Ok(Self::AmortizedCost),
            other => Err(ExportError::Manifest(format!(
                "export type {other:?} is not a cost dataset (expected FocusCost, ActualCost or AmortizedCost)"
            ))),
        }
    }
}

/// The format of one data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// CSV, plain.
    Csv,
    /// CSV compressed with gzip.
    CsvGzip,
    /// Parquet (compressed inside the file).
    Parquet,
}

impl FileFormat {
    /// The format of `blob_name`, from its extension (what was written), else from the
    /// manifest's delivery settings.
    ///
    /// # Errors
    /// [`ExportError::Manifest`] when neither names a readable format.
    pub fn of(blob_name: &str, delivery: &DeliveryConfig) -> Result<Self, ExportError> {
        let lower = blob_name.to_ascii_lowercase();
        if lower.ends_with(".csv.gz") || lower.ends_with(".csv.gzip") {
            return Ok(Self::CsvGzip);
        }
        if lower.ends_with(".csv") {
            return Ok(Self::Csv);
        }
        if lower.ends_with(".parquet") {
            return Ok(Self::Parquet);
        }
        let format = delivery.file_format.as_deref().unwrap_or("").to_ascii_lowercase();
        let compression = delivery.compression_mode.as_deref().unwrap_or("").to_ascii_lowercase();
        match (format.as_str(), compression.as_str()) {
            ("csv", "gzip") => Ok(Self::CsvGzip),
            ("csv", "" | "none") => Ok(Self::Csv),
            ("parquet", _) => Ok(Self::Parquet),
            _ => Err(ExportError::Manifest(format!("blob {blob_name} has no readable format"))),
        }
    }
}

impl ExportManifest {
    /// Parses and checks a manifest: at most [`MAX_MANIFEST_BYTES`], a cost dataset, a period,
    /// safe blob names, and totals that agree with the blob list.
    ///
    /// # Errors
    /// [`ExportError::Manifest`] naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, ExportError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ExportError::Manifest(format!(
                "the manifest is {} bytes, more than the {MAX_MANIFEST_BYTES} accepted",
                bytes.len()
            )));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let manifest: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            ExportError::Manifest(format!("not an export manifest at {}: {}", e.path(), e.inner()))
        })?;
        if manifest.blobs.len() > MAX_BLOBS {
            return Err(ExportError::Manifest(format!(
                "blobs[] lists {} files, more than the {MAX_BLOBS} accepted",
                manifest.blobs.len()
            )));
        }
        Dataset::of(&manifest.export_config.kind)?;
        let (start, end) = manifest.period()?;
        if end < start {
            return Err(ExportError::Manifest(format!("runInfo ends ({end}) before it starts ({start})")));
        }
        for blob in &manifest.blobs {
            check_blob_name(&blob.blob_name)?;
            FileFormat::of(&blob.blob_name, &manifest.delivery_config)?;
        }
        if let Some(count) = manifest.blob_count
            && count != manifest.blobs.len() as u64
        {
            return Err(ExportError::Manifest(format!(
                "blobCount is {count} but blobs[] lists {}",
                manifest.blobs.len()
            )));
        }
        let listed = manifest
            .blobs
            .iter()
            .try_fold(0u64, |sum, b| sum.checked_add(b.byte_count))
            .ok_or_else(|| ExportError::Manifest("the blobs' byteCount values overflow".into()))?;
        if let Some(total) = manifest.byte_count
            && total != listed
        {
            return Err(ExportError::Manifest(format!(
                "byteCount is {total} but the blobs add up to {listed}"
            )));
        }
        if let Some(total) = manifest.data_row_count {
            let rows: Option<u64> = manifest.blobs.iter().map(|b| b.data_row_count).sum();
            if let Some(rows) = rows
                && rows != total
            {
                return Err(ExportError::Manifest(format!(
                    "dataRowCount is {total} but the blobs add up to {rows}"
                )));
            }
        }
        Ok(manifest)
    }

    /// Refuses a blob outside the folder of the manifest named `manifest_name`: Cost Management
    /// writes a run's files beside its manifest, and the folder is what names the tenant, so a
    /// manifest in one tenant's folder must not make the platform read another tenant's files.
    ///
    /// # Errors
    /// [`ExportError::Manifest`] naming the first blob outside the folder.
    pub fn check_blobs_beside(&self, manifest_name: &str) -> Result<(), ExportError> {
        let folder = manifest_name.rsplit_once('/').map_or("", |(folder, _)| folder);
        for blob in &self.blobs {
            let inside = folder.is_empty()
                || blob.blob_name.strip_prefix(folder).is_some_and(|rest| rest.starts_with('/'));
            if !inside {
                return Err(ExportError::Manifest(format!(
                    "blob {:?} is outside the manifest's folder {folder:?}",
                    blob.blob_name
                )));
            }
        }
        Ok(())
    }

    /// The dataset (checked by [`ExportManifest::parse`]).
    pub fn dataset(&self) -> Dataset {
        Dataset::of(&self.export_config.kind).unwrap_or(Dataset::Focus)
    }

    /// The exported period as calendar days (first and last, inclusive).
    ///
    /// # Errors
    /// [`ExportError::Manifest`] when `runInfo` dates are not dates.
    pub fn period(&self) -> Result<(NaiveDate, NaiveDate), ExportError> {
        Ok((day_of(&self.run_info.start_date, "startDate")?, day_of(&self.run_info.end_date, "endDate")?))
    }
}

/// The calendar day an ISO date or date-time starts with.
fn day_of(value: &str, field: &str) -> Result<NaiveDate, ExportError> {
    value
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| ExportError::Manifest(format!("runInfo.{field} {value:?} is not an ISO date")))
}

/// A blob name must stay inside the container: relative, no `..` segment, no backslash.
/// Most files one export run may list: months of a large billing account's partitions, with
/// room; each is checked (a request) before anything is read.
pub const MAX_BLOBS: usize = 2_000;

fn check_blob_name(name: &str) -> Result<(), ExportError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.split('/').any(|s| s == ".." || s == "." || s.is_empty());
    if bad {
        return Err(ExportError::Manifest(format!("blob name {name:?} is not a path inside the container")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest without the run's totals (they are optional), listing `blobs`.
    fn untotalled(blobs: &str) -> String {
        manifest(blobs).replace(r#""byteCount":30,"blobCount":2,"dataRowCount":5,"#, "")
    }

    #[test]
    fn a_manifest_reads_only_the_files_beside_it() {
        let text = untotalled(r#"[{"blobName": "t1/e/r/part_0.csv.gz", "byteCount": 10}]"#);
        let parsed = ExportManifest::parse(text.as_bytes()).unwrap();
        assert!(parsed.check_blobs_beside("t1/e/r/manifest.json").is_ok());
        assert!(parsed.check_blobs_beside("t1/e/manifest.json").is_ok(), "a subfolder of the manifest's");
        let err = parsed.check_blobs_beside("t2/e/r/manifest.json").unwrap_err().to_string();
        assert!(err.contains("outside the manifest's folder"), "{err}");
        assert!(parsed.check_blobs_beside("t1/e/r2/manifest.json").is_err());
        assert!(
            parsed.check_blobs_beside("t1/e/r/part/manifest.json").is_err(),
            "a sibling prefix is not inside"
        );
    }

    #[test]
    fn a_manifest_lists_a_bounded_number_of_files() {
        let one = r#"{"blobName": "r/p.csv.gz", "byteCount": 1}"#;
        let many = format!("[{}]", vec![one; MAX_BLOBS + 1].join(","));
        let err = ExportManifest::parse(untotalled(&many).as_bytes()).unwrap_err().to_string();
        assert!(err.contains("more than the 2000 accepted"), "{err}");
        let huge = format!(
            r#"[{{"blobName": "r/a.csv.gz", "byteCount": {max}}}, {{"blobName": "r/b.csv.gz", "byteCount": {max}}}]"#,
            max = u64::MAX
        );
        let err = ExportManifest::parse(untotalled(&huge).as_bytes()).unwrap_err().to_string();
        assert!(err.contains("overflow"), "{err}");
    }

    fn manifest(blobs: &str) -> String {
        format!(
            r#"{{"manifestVersion":"2024-04-01","byteCount":30,"blobCount":2,"dataRowCount":5,
            "exportConfig":{{"exportName":"focus-daily","resourceId":"/subscriptions/s1","dataVersion":"1.0",
            "apiVersion":"2023-07-01-preview","type":"FocusCost","timeFrame":"MonthToDate","granularity":"Daily"}},
            "deliveryConfig":{{"partitionData":true,"dataOverwriteBehavior":"OverwritePreviousReport",
            "fileFormat":"Csv","compressionMode":"Gzip","containerUri":"/x","rootFolderPath":"t1"}},
            "runInfo":{{"executionType":"Scheduled","submittedTime":"2026-12-02T05:00:00Z","runId":"r1",
            "startDate":"2026-12-01T00:00:00","endDate":"2026-12-31T00:00:00"}},
            "blobs":{blobs}}}"#
        )
    }

    #[test]
    fn a_documented_manifest_parses() {
        let m = ExportManifest::parse(
            manifest(
                r#"[{"blobName":"t1/a/part_0_0001.csv.gz","byteCount":10,"dataRowCount":2},
                         {"blobName":"t1/a/part_1_0001.csv.gz","byteCount":20,"dataRowCount":3}]"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(m.dataset(), Dataset::Focus);
        assert_eq!(m.blobs.len(), 2);
        let (start, end) = m.period().unwrap();
        assert_eq!((start.to_string(), end.to_string()), ("2026-12-01".into(), "2026-12-31".into()));
        assert_eq!(FileFormat::of(&m.blobs[0].blob_name, &m.delivery_config).unwrap(), FileFormat::CsvGzip);
    }

    #[test]
    fn totals_that_disagree_with_the_blob_list_are_refused() {
        let e = ExportManifest::parse(
            manifest(r#"[{"blobName":"t1/a/p.csv.gz","byteCount":10,"dataRowCount":2}]"#).as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("blobCount is 2 but blobs[] lists 1"), "{e}");
    }

    #[test]
    fn blob_names_leaving_the_container_are_refused() {
        let e = ExportManifest::parse(
            manifest(
                r#"[{"blobName":"../x.csv.gz","byteCount":10,"dataRowCount":2},
                         {"blobName":"t1/p.csv.gz","byteCount":20,"dataRowCount":3}]"#,
            )
            .as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a path inside the container"), "{e}");
    }

    #[test]
    fn a_price_sheet_is_not_a_cost_dataset() {
        let text = manifest("[]").replace("FocusCost", "PriceSheet").replace(r#""blobCount":2,"#, "");
        let e = ExportManifest::parse(
            text.replace(r#""byteCount":30,"#, "").replace(r#""dataRowCount":5,"#, "").as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a cost dataset"), "{e}");
    }

    #[test]
    fn an_oversized_manifest_is_refused_before_parsing() {
        let e = ExportManifest::parse(&vec![b' '; MAX_MANIFEST_BYTES + 1]).unwrap_err();
        assert!(e.to_string().contains("more than the"), "{e}");
    }
}
