//! Azure Resource Manager client and the connectors that read Azure (Resource Graph, Cost
//! Management, Advisor, Monitor, Retail Prices).
//!
//! Layering, from the wire up:
//! - [`retry`] and [`paging`] are pure decision code (what to do with a response, how long to
//!   wait, whether a continuation token is new), tested without I/O;
//! - [`governor`] paces requests per API and principal so a fan-out slows itself down before
//!   Azure throttles it ([`qpu`] models Cost Management's fixed windows; [`slot`] lets a quota
//!   wait give back its caller's work slot); [`counters`] count requests, throttles, retries and
//!   failures per API;
//! - [`credential`] hides azure_identity behind [`credential::TokenSource`] and caches tokens
//!   ([`loopback`] lets its Entra flows reach a local http authority such as the sandbox);
//! - [`client::ArmClient`] is the one request pipeline (governor → token → send → log → retry);
//! - [`connectors`] build requests, decode typed responses and map them to [`crate::model`] rows;
//! - [`collect`] runs every connector for one subscription; [`cli`] is `azcops collect`.

pub mod client;
pub mod collect;
pub mod config;
pub mod connectors;
pub mod counters;
pub mod credential;
pub mod error;
pub mod governor;
pub mod loopback;
pub mod paging;
pub mod qpu;
pub mod retry;
pub mod slot;

pub use client::{ArmClient, CallContext};
pub use config::{AzureConfig, CredentialKind, SETTINGS};
pub use counters::ApiCounters;
pub use error::AzureError;

/// The Azure APIs AzCops calls; each has its own quota, counters and error conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    /// `GET /subscriptions` (ARM reads).
    Subscriptions,
    /// Resource Graph `resources` queries.
    ResourceGraph,
    /// Cost Management `query`.
    CostManagement,
    /// Advisor recommendations (ARM reads).
    Advisor,
    /// Monitor metrics (ARM reads).
    Monitor,
    /// Retail Prices (unauthenticated, outside ARM).
    RetailPrices,
}

impl Api {
    /// Every API, for iterating counters.
    pub const ALL: [Api; 6] = [
        Api::Subscriptions,
        Api::ResourceGraph,
        Api::CostManagement,
        Api::Advisor,
        Api::Monitor,
        Api::RetailPrices,
    ];

    /// The snake_case name used in counters, logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Subscriptions => "subscriptions",
            Api::ResourceGraph => "resource_graph",
            Api::CostManagement => "cost_management",
            Api::Advisor => "advisor",
            Api::Monitor => "monitor",
            Api::RetailPrices => "retail_prices",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
