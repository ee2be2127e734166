//! Cost Management exports (FOCUS 1.0/1.2 and the legacy ActualCost/AmortizedCost datasets) as
//! a second cost source: an export run's `manifest.json` lists its files; every listed file is
//! checked (present, size, rows), read as a stream, mapped to curated cost rows and summed to
//! the curated key, and each (subscription, month) slice the run covers is replaced in one
//! transaction. The files stay in their container; the store records the run and its slices.
//!
//! Layers: [`manifest`] and [`mapping`] are pure; [`reader`] reads CSV from any blocking byte
//! stream and [`parquet_read`] reads Parquet from byte ranges ([`ranges`]); [`container`] reaches a
//! directory or a Blob container; [`ingest`] ties them to the store.

pub mod config;
pub mod container;
pub mod ingest;
pub mod manifest;
pub mod mapping;
pub mod parquet_read;
pub mod parquet_values;
pub mod ranges;
pub mod reader;

pub use config::ExportsConfig;
pub use container::{Container, DirContainer, HttpContainer};
pub use ingest::{
    BATCH_KEYS, ExportReport, ingest_export, ingest_export_in_batches, raw_record_path, record_in_raw,
};
pub use manifest::{Dataset, ExportManifest, FileFormat};
pub use ranges::RandomRead;

/// Settings read by this module (checked against `local.settings.json.example`).
pub const SETTINGS: &[&str] = &["AZCOPS_EXPORTS_CONTAINER"];

/// Why an export run could not be ingested. Nothing is written when any of these occurs.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The manifest is missing, unreadable or inconsistent.
    #[error("invalid export manifest: {0}")]
    Manifest(String),
    /// A file the manifest lists is not in the container.
    #[error("export file {blob} listed by the manifest is missing from the container")]
    Missing {
        /// The blob name.
        blob: String,
    },
    /// A file is not the size the manifest gives (truncated or still being written).
    #[error("export file {blob} is {actual} bytes but the manifest says {expected}: truncated or incomplete")]
    Size {
        /// The blob name.
        blob: String,
        /// The manifest's `byteCount`.
        expected: u64,
        /// What was found.
        actual: u64,
    },
    /// A file does not hold the rows the manifest gives.
    #[error("export file {blob} holds {actual} data rows but the manifest says {expected}")]
    Rows {
        /// The blob name.
        blob: String,
        /// The manifest's `dataRowCount`.
        expected: u64,
        /// What was read.
        actual: u64,
    },
    /// A file could not be read or parsed.
    #[error("export file {blob}: {message}")]
    File {
        /// The blob name.
        blob: String,
        /// What went wrong, with the row.
        message: String,
    },
    /// The container could not be reached.
    #[error("export container: {0}")]
    Container(String),
    /// The curated store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
