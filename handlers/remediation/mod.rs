//! Remediation of approved waste findings: the actions (pure plans and refusals in [`plan`],
//! ARM's asynchronous operations in [`poll`]), their I/O against ARM ([`arm`]) and the service
//! the API's dry run, the `remediate` function and retention call ([`service`]).
//!
//! Remediation acts with its own identity (`AZCOPS_REMEDIATION_CLIENT_ID`, a user-assigned
//! managed identity holding a least-privilege custom role); without it nothing is remediated and
//! `execute` records a change made by hand, as before.

pub mod arm;
pub mod plan;
pub mod poll;
pub mod service;

use std::sync::Arc;
use std::time::Duration;

use crate::azure::{ArmClient, AzureConfig, AzureError, CredentialKind};
use crate::config::SettingsSource;
use crate::raw::{RawError, RawStore};
use crate::store::StoreError;

/// Every setting this module reads (checked against `local.settings.json.example`).
pub const SETTINGS: &[&str] = &["AZCOPS_REMEDIATION_CLIENT_ID"];

/// The queue `remediation_execute` writes and `remediate` reads.
pub const QUEUE: &str = "remediate";

/// Longest wait between two status polls, whatever `Retry-After` says.
pub const MAX_POLL_WAIT: Duration = Duration::from_secs(60);

/// Remediation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemediationConfig {
    /// Client id of the user-assigned managed identity remediation acts with; `None` disables
    /// remediation.
    pub client_id: Option<String>,
}

impl RemediationConfig {
    /// Reads `AZCOPS_REMEDIATION_CLIENT_ID` (absent or empty: remediation is off).
    pub fn from_source(source: &SettingsSource) -> Self {
        Self { client_id: source.get("AZCOPS_REMEDIATION_CLIENT_ID").map(|v| v.trim().to_owned()) }
    }

    /// The ARM client of the remediation identity: the platform's Azure settings with the
    /// managed-identity credential of `client_id`.
    ///
    /// # Errors
    /// Remediation is off, or the client cannot be built.
    pub fn client(&self, azure: &AzureConfig) -> Result<ArmClient, String> {
        let client_id = self.client_id.clone().ok_or("AZCOPS_REMEDIATION_CLIENT_ID is not set")?;
        let mut config = azure.clone();
        config.credential = CredentialKind::ManagedIdentity;
        config.client_id = Some(client_id);
        config.client_secret = None;
        config.federated_token_file = None;
        ArmClient::from_config(config).map_err(|e| e.to_string())
    }
}

/// What remediation works with: the remediation identity's ARM client and the raw layer.
#[derive(Clone)]
pub struct RemediationContext {
    /// ARM as the remediation identity.
    pub arm: ArmClient,
    /// Where every exchange is kept.
    pub raw: Arc<dyn RawStore>,
    /// Longest wait between status polls (`Retry-After` is honoured up to this).
    pub wait_cap: Duration,
}

/// Why a remediation could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RemediationError {
    /// ARM could not be reached or kept failing (transient: the delivery is retried).
    #[error(transparent)]
    Azure(#[from] AzureError),
    /// ARM answered something unexpected while reading the state.
    #[error("{0}")]
    Arm(String),
    /// The action failed for good (ARM refused it, or its operation failed or never settled).
    #[error("{0}")]
    Failed(String),
    /// The status of an accepted operation could not be read for several polls in a row
    /// (transient: a redelivery reads the resource again).
    #[error("{0}")]
    PollsFailing(String),
    /// The raw layer refused the exchanges.
    #[error(transparent)]
    Raw(#[from] RawError),
    /// The curated store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RemediationError {
    /// True when another delivery may succeed (transport, throttling, 5xx, storage).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Azure(e) => matches!(
                e,
                AzureError::Throttled { .. } | AzureError::Transport(_) | AzureError::RetriesExhausted { .. }
            ),
            Self::PollsFailing(_) | Self::Raw(_) | Self::Store(_) => true,
            Self::Arm(_) | Self::Failed(_) => false,
        }
    }
}
