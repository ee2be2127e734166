//! The raw layer: write-once JSON snapshots of what Azure returned, on the local filesystem (the
//! embedded default) or Azure Blob Storage / ADLS Gen2 (production; Azurite locally).
//!
//! Paths are relative to the `raw` container: `{tenant}/{connector}/{yyyy}/{mm}/{dd}/{subscription}/{run_id}.json`
//! for snapshots and `{tenant}/manifests/{yyyy}/{mm}/{dd}/{subscription}.json` for manifests.
//! Nothing ever overwrites or edits a blob: a second write of the same path succeeds only when the
//! content is byte-identical (a retried step converging), and is a conflict otherwise.

mod blob;
mod config;
mod local;
mod path;

use std::sync::Arc;

use async_trait::async_trait;

pub use blob::{BlobRawStore, TokenSourceCredential};
pub use config::{DEFAULT_CONTAINER, DEFAULT_LOCAL_ROOT, RawConfig, SETTINGS};
pub use local::LocalRawStore;
pub use path::{validate_path, validate_prefix};

/// The outcome of a create-only write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The blob did not exist and was written.
    Created,
    /// The blob already existed with exactly this content; nothing was written.
    AlreadyExists,
}

/// Why a raw-store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    /// The path exists with different content; write-once forbids replacing it.
    #[error("{path} already exists with different content")]
    Conflict {
        /// The blob path.
        path: String,
    },
    /// The path is empty, absolute, or escapes the container (`..`).
    #[error("invalid raw path {path:?}")]
    InvalidPath {
        /// The offending path.
        path: String,
    },
    /// The storage could not be reached or refused the operation.
    #[error("raw store: {0}")]
    Storage(String),
}

/// A write-once store of raw snapshots.
#[async_trait]
pub trait RawStore: Send + Sync {
    /// Writes `content` at `path` unless it exists (see [`PutOutcome`]).
    ///
    /// # Errors
    /// [`RawError::Conflict`] when `path` holds different content; storage failures.
    async fn put_create_only(&self, path: &str, content: &[u8]) -> Result<PutOutcome, RawError>;

    /// Reads `path`, or `None` when it does not exist.
    ///
    /// # Errors
    /// Storage failures.
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, RawError>;

    /// Every path under `prefix`, sorted.
    ///
    /// # Errors
    /// Storage failures.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, RawError>;
}

/// Opens the store `config` describes: the local directory, the Blob container with the
/// configured Azure identity, or the Azurite container (created when missing).
///
/// # Errors
/// The identity cannot be set up, or Azurite cannot be reached.
pub async fn open(config: &RawConfig) -> Result<Arc<dyn RawStore>, RawError> {
    match config {
        RawConfig::Local { root } => Ok(Arc::new(LocalRawStore::new(root.clone()))),
        RawConfig::Blob { container_url, azure } => {
            let tokens = crate::azure::credential::from_config(azure).map_err(|e| {
                RawError::Storage(format!("cannot set up the identity for Blob Storage: {e}"))
            })?;
            let credential = Arc::new(TokenSourceCredential(tokens));
            Ok(Arc::new(BlobRawStore::with_credential(container_url.clone(), credential)?))
        }
        RawConfig::Azurite { account, container } => {
            Ok(Arc::new(BlobRawStore::azurite(account, container).await?))
        }
    }
}
