//! The rule engine's error type.

/// Why the rule engine cannot evaluate.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The tenant's stored rule settings cannot be used.
    #[error("invalid rule settings: {0}")]
    Settings(String),
    /// Retail prices could not be obtained at all.
    #[error("prices: {0}")]
    Prices(String),
}
