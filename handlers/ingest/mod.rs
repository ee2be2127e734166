//! Ingestion: run planning (fan-out), the per-subscription pipeline, the raw snapshots and the
//! manifest that triggers the rule engine.
//!
//! A run is planned per tenant and schedule occurrence (planning twice is a no-op) with one ledger
//! item and one queue message per subscription. Each message ingests one subscription: Resource
//! Graph → Cost Management (actual + amortized) → Advisor → Monitor, each connector's exchanges
//! written once to the raw layer, curated rows replayed from that snapshot and upserted
//! idempotently, then the manifest naming the snapshots. Every step is safe to repeat, so the
//! platform's retries and redeliveries converge on the same state.

pub mod manifest;
pub mod pipeline;
pub mod plan;
pub mod slots;
pub mod snapshot;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, SettingsSource};

pub use manifest::Manifest;
pub use pipeline::{IngestContext, ItemOutcome, ingest_subscription, prefetch_inventory, record_poisoned};
pub use plan::{PlannedRun, RunKind, RunTrigger, plan_runs};
pub use snapshot::Connector;

/// Settings read by ingestion.
pub const SETTINGS: &[&str] = &[
    "AZCOPS_INGEST_COST_DAYS",
    "AZCOPS_INGEST_REFRESH_DAYS",
    "AZCOPS_INGEST_CONCURRENCY",
    "AZCOPS_REALISED_SAVINGS_MIN_DAYS",
];

/// Ingestion settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestConfig {
    /// Days of daily costs a subscription's first full run collects (ending yesterday).
    pub cost_days: i64,
    /// Days a later full run re-reads beyond the days since the last success: late billing
    /// corrections. Cost Management charges a QPU per month of data per query and caps a tenant
    /// at 600 QPU an hour, so nightly runs must not re-read the whole history.
    pub refresh_days: i64,
    /// Subscriptions `azcops ingest` processes at once.
    pub concurrency: usize,
    /// Days after execution with cost data before the nightly verification (run after each
    /// subscription's evaluation) gives a realised-savings verdict other than `pending`.
    pub realised_min_days: u32,
}

impl IngestConfig {
    /// Reads `AZCOPS_INGEST_COST_DAYS` (default 35: the 30 days savings are priced on, plus late
    /// billing corrections), `AZCOPS_INGEST_REFRESH_DAYS` (default 3),
    /// `AZCOPS_INGEST_CONCURRENCY` (default 10) and `AZCOPS_REALISED_SAVINGS_MIN_DAYS` (default 30).
    ///
    /// # Errors
    /// A value does not parse or is out of range.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let cost_days: i64 = source.parse_or("AZCOPS_INGEST_COST_DAYS", 35)?;
        if !(1..=395).contains(&cost_days) {
            return Err(ConfigError::invalid("AZCOPS_INGEST_COST_DAYS", "must be 1..=395 (13 months)"));
        }
        let refresh_days: i64 = source.parse_or("AZCOPS_INGEST_REFRESH_DAYS", 3)?;
        if !(1..=cost_days).contains(&refresh_days) {
            return Err(ConfigError::invalid(
                "AZCOPS_INGEST_REFRESH_DAYS",
                "must be 1..=AZCOPS_INGEST_COST_DAYS",
            ));
        }
        let concurrency: usize = source.parse_or("AZCOPS_INGEST_CONCURRENCY", 10)?;
        if concurrency == 0 {
            return Err(ConfigError::invalid("AZCOPS_INGEST_CONCURRENCY", "must be at least 1"));
        }
        let realised_min_days: u32 = source.parse_or(
            "AZCOPS_REALISED_SAVINGS_MIN_DAYS",
            crate::analytics::realised::DEFAULT_MIN_DAYS_AFTER,
        )?;
        if !(1..=crate::analytics::realised::WINDOW_DAYS).contains(&realised_min_days) {
            return Err(ConfigError::invalid("AZCOPS_REALISED_SAVINGS_MIN_DAYS", "must be 1..=30"));
        }
        Ok(Self { cost_days, refresh_days, concurrency, realised_min_days })
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            cost_days: 35,
            refresh_days: 3,
            concurrency: 10,
            realised_min_days: crate::analytics::realised::DEFAULT_MIN_DAYS_AFTER,
        }
    }
}

/// The queue message of one subscription in a run (ARCHITECTURE.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestMessage {
    /// The run.
    pub run_id: String,
    /// AzCops tenant id.
    pub tenant_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// `full` or `incremental`.
    pub kind: RunKind,
    /// Connectors to run, in pipeline order.
    pub connectors: Vec<Connector>,
    /// When the run was planned (RFC 3339).
    pub requested_at: chrono::DateTime<chrono::Utc>,
}

/// Why ingestion failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The curated store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The raw store failed.
    #[error(transparent)]
    Raw(#[from] crate::raw::RawError),
    /// Azure failed.
    #[error(transparent)]
    Azure(#[from] crate::azure::AzureError),
    /// A stored snapshot could not be replayed into curated rows.
    #[error("cannot replay the {connector} snapshot: {reason}")]
    Replay {
        /// The connector.
        connector: &'static str,
        /// What failed.
        reason: String,
    },
    /// ARM does not show the subscription in its tenant's directory any more (moved to another
    /// tenant, or the delegation was removed): nothing is ingested, and retrying cannot help.
    #[error("{0}; nothing was ingested")]
    NotOwned(crate::azure::connectors::subscriptions::OwnershipError),
    /// ARM could not confirm the subscription's tenant, so nothing was read (retryable).
    #[error("{0}; nothing was ingested")]
    OwnershipUnknown(crate::azure::connectors::subscriptions::OwnershipError),
    /// A manifest or snapshot could not be serialised for the raw layer.
    #[error("cannot serialise {what}: {reason}")]
    Serialise {
        /// What was being written (`the manifest`, `a snapshot`).
        what: &'static str,
        /// The serialiser's message.
        reason: String,
    },
    /// A blob read as a manifest is not one.
    #[error("not a manifest: {0}")]
    NotAManifest(String),
    /// The message names a tenant or subscription that is unknown or inactive.
    #[error("{0}")]
    Unknown(String),
    /// The ledger has no item for the message's subscription in its run.
    #[error("run {run_id} has no item for {subscription_id}")]
    NoRunItem {
        /// The run.
        run_id: String,
        /// The subscription.
        subscription_id: String,
    },
}
