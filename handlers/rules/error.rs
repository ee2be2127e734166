//! The rule engine's error type.

use crate::store::StoreError;

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The store failed (loading settings or costs, writing recommendations).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The tenant's stored rule settings cannot be used.
    #[error("invalid rule settings: {0}")]
    Settings(String),
    /// Retail prices could not be obtained at all.
    #[error("prices: {0}")]
    Prices(String),
}
