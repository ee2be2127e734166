//! Evaluation: everything around the pure rule engine ([`crate::rules`]) that does I/O.
//!
//! It reads a manifest's snapshots back from the raw layer ([`load`]), gathers what the rules
//! read — the tenant's thresholds and the last 30 days of cost from the store, retail prices
//! from a [`PriceSource`] — runs [`crate::rules::registry`], and stores the findings as
//! recommendations ([`evaluate_subscription`]). It sits above `rules/`, `ingest/`, `store/` and
//! `azure/`, and below the triggers and commands that call it (see `handlers/README.md`).

pub mod error;
pub mod load;
pub mod prices;
pub mod service;

pub use error::EvaluationError;
pub use load::{ReplayedRows, evaluate, load, parse_manifest, rules_snapshot};
pub use prices::{FixedPrices, PriceSource, RetailPriceSource};
pub use service::{EvaluationSummary, evaluate_subscription};
