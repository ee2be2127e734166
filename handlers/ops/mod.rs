//! Operator commands: `azcops tenant …`, `azcops subscription …`, `azcops ingest`, `azcops collect`,
//! `azcops migrate`, `azcops rollups`. They use the same store, connectors and pipeline as the functions, so the
//! command line and the function app can never disagree.

pub mod channels;
pub mod cli;
pub mod collect;
pub mod demo;
pub mod dev;
pub mod evaluate;
pub mod exports;
pub mod ingest;
pub mod migrate;
pub mod rollups;
pub mod sandbox;
pub mod savings;
pub mod serve;
pub mod subscriptions;
pub mod tenants;

use crate::store::{Store, StoreError, Tenant};

/// Settings read by the operator commands themselves.
pub const SETTINGS: &[&str] = &["AZCOPS_OPERATOR"];

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Settings are invalid (every problem is named).
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// A service of the application is unavailable.
    #[error(transparent)]
    Application(#[from] crate::application::ApplicationError),
    /// The curated store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Azure failed.
    #[error(transparent)]
    Azure(#[from] crate::azure::AzureError),
    /// Ingestion failed.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// The rule evaluation failed.
    #[error(transparent)]
    Evaluation(#[from] crate::evaluation::EvaluationError),
    /// The raw store failed.
    #[error(transparent)]
    Raw(#[from] crate::raw::RawError),
    /// The local host failed.
    #[error(transparent)]
    Dev(#[from] crate::dev::DevError),
    /// The command's arguments do not fit the data.
    #[error("{0}")]
    Invalid(String),
    /// Some subscriptions failed (the summary names them).
    #[error("{failed} of {total} subscriptions failed")]
    Failed {
        /// Failed subscriptions.
        failed: usize,
        /// All subscriptions.
        total: usize,
    },
}

/// The audit actor of a command-line change: `operator:<AZCOPS_OPERATOR or USER>`, so the log
/// says which operator ran it (the CLI has no token to take an identity from).
pub fn operator(source: &crate::config::SettingsSource) -> crate::store::Actor {
    let name = source
        .get("AZCOPS_OPERATOR")
        .or_else(|| source.get("USER"))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("unknown");
    crate::store::Actor::named(format!("operator:{name}"))
}

/// Finds a tenant by its Azure tenant id or its AzCops id.
///
/// # Errors
/// [`OpsError::Invalid`] when no tenant matches.
pub async fn resolve_tenant(store: &Store, key: &str) -> Result<Tenant, OpsError> {
    let admin = store.platform_admin();
    match admin.get_tenant_by_azure_tenant_id(key).await {
        Ok(tenant) => Ok(tenant),
        Err(StoreError::NotFound) => match admin.get_tenant(key).await {
            Ok(tenant) => Ok(tenant),
            Err(StoreError::NotFound) => {
                Err(OpsError::Invalid(format!("no tenant {key}: register it with `azcops tenant add`")))
            }
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}
