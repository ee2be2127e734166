//! The evaluation's error type.

use crate::ingest::IngestError;
use crate::rules::RulesError;
use crate::store::StoreError;

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// The store failed (loading settings or costs, writing recommendations).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The rule engine refused its inputs (the tenant's stored settings).
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The manifest's snapshots could not be read back or replayed.
    #[error(transparent)]
    Load(#[from] IngestError),
}
