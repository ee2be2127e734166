//! The rule engine: turns one subscription's snapshot into priced, scored findings.
//!
//! Rules are pure ([`Rule::evaluate`] does no I/O and is not async): everything a rule reads —
//! inventory, metrics, Advisor, the last 30 days of cost per resource, retail prices and the
//! tenant's thresholds — is gathered beforehand into an [`EvaluationContext`] by
//! `crate::evaluation::evaluate_subscription`, which then stores the findings as
//! recommendations. This module does no I/O: no store, no Azure client, no async.
//! [`registry::all`] lists every rule in one place; rule ids are stable (they appear in the
//! API, CSV exports and users' automation).

pub mod context;
pub mod error;
pub mod evidence;
pub mod facts;
pub mod governance;
pub mod prices;
pub mod rate;
pub mod registry;
pub mod rightsizing;
pub mod scoring;
pub mod settings;
pub mod snapshot;
pub mod waste;

#[cfg(test)]
pub(crate) mod testkit;

use serde::Serialize;

pub use context::{EvaluationContext, ObservedCost};
pub use error::RulesError;
pub use evidence::Evidence;
pub use prices::{PriceBook, PriceKey};
pub use scoring::{Effort, Risk};
pub use settings::{ActionSetting, REMEDIABLE_RULES, RemediationSettings, RuleSettings};
pub use snapshot::SubscriptionSnapshot;

/// What kind of saving a rule finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Resources paid for and not used.
    Waste,
    /// Resources larger than their load.
    Rightsizing,
    /// Usage paid at pay-as-you-go that a commitment would price lower.
    Rate,
    /// Hygiene that makes cost attributable.
    Governance,
}

impl Category {
    /// The category as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waste => "waste",
            Self::Rightsizing => "rightsizing",
            Self::Rate => "rate",
            Self::Governance => "governance",
        }
    }
}

/// How a finding's monthly savings were estimated (stored as `savings_basis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SavingsBasis {
    /// The resource's observed cost over the last 30 days (`costs_daily`), normalised to a month.
    ObservedCost,
    /// Retail (list) prices from the Retail Prices API.
    RetailPrice,
    /// A documented per-rule heuristic (neither cost rows nor a price were available).
    Heuristic,
    /// The finding saves nothing by itself (hygiene, free resources).
    NotApplicable,
}

impl SavingsBasis {
    /// The basis as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ObservedCost => "observed_cost_30d",
            Self::RetailPrice => "retail_price",
            Self::Heuristic => "heuristic",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// One thing a rule found on one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule that found it.
    pub rule_id: &'static str,
    /// Lower-cased resource id.
    pub resource_id: String,
    /// A human title naming the resource and the action.
    pub title: String,
    /// Estimated monthly savings (billing currency).
    pub monthly_savings: f64,
    /// How `monthly_savings` was estimated.
    pub basis: SavingsBasis,
    /// Confidence 0..=1 that acting on the finding saves the amount.
    pub confidence: f64,
    /// The facts the finding rests on (a JSON object).
    pub evidence: Evidence,
}

/// A rule: a stable id, what it is about, and a pure evaluation over one subscription.
pub trait Rule: Send + Sync {
    /// Stable rule id (`waste.unattached_disk`).
    fn id(&self) -> &'static str;
    /// Category.
    fn category(&self) -> Category;
    /// Short human title of the rule.
    fn title(&self) -> &'static str;
    /// Risk of acting on a finding (divides the priority).
    fn risk(&self) -> Risk;
    /// Effort of acting on a finding.
    fn effort(&self) -> Effort;
    /// Retail prices this rule will want for `snapshot` (pure; fetched before evaluation).
    fn price_queries(&self, _snapshot: &SubscriptionSnapshot, _settings: &RuleSettings) -> Vec<PriceKey> {
        Vec::new()
    }
    /// Appends this rule's findings for the subscription in `ctx` to `out`.
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>);
}
