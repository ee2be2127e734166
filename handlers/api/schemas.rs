//! OpenAPI schemas of the response bodies. A row the API answers as the store returns it is
//! documented by the store's own type (re-exported here); only bodies the API shapes itself
//! (pages, errors, resources, recommendations, audit entries) are defined in this file. The
//! contract test (`scripts/api-contract.sh`) checks real responses against them.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

pub use crate::analytics::{Estimate, IntervalBasis};
/// A resource of the inventory with its `properties` (the store's record).
pub use crate::store::ResourceRecord as Resource;
pub use crate::store::{
    AuditEntry, CostAnomaly, CostForecast, CostRow, CostSummary, DailyCost, IngestionItem, IngestionRun,
    ItemStatus, MeasureForecast, Recommendation, RecommendationGroup, RecommendationStatus, ResourceSummary,
    RunStatus, ServiceCost, Subscription, Tenant, TenantType,
};

/// `{"error": {...}}`: the one error shape.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`validation_failed`, `not_found`, ...).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Extra details, e.g. `{"field": "page_size"}` for validation errors.
    pub details: Option<BTreeMap<String, serde_json::Value>>,
}

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub struct PaginatedResponse<T: ToSchema> {
    /// Rows on this page.
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
    /// Rows matching across all pages.
    pub total: u64,
    /// Number of pages.
    pub total_pages: u64,
}

/// `GET /me`.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The token's Entra tenant.
    pub azure_tenant_id: String,
    /// The internal tenant id, when registered.
    pub tenant_id: Option<String>,
    /// AzCops app roles held.
    pub roles: Vec<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Object id.
    pub object_id: Option<String>,
    /// Platform admin of the control plane.
    pub platform_admin: bool,
}

/// `GET /ingestion/status/{run_id}`.
#[derive(Serialize, ToSchema)]
pub struct IngestionStatus {
    /// The run.
    pub run: IngestionRun,
    /// Its items.
    pub items: Vec<IngestionItem>,
}

/// Savings of one currency.
#[derive(Serialize, ToSchema)]
pub struct CurrencySavings {
    /// Savings of open recommendations.
    pub open_monthly_savings: f64,
    /// Savings by category.
    pub by_category: BTreeMap<String, f64>,
    /// Savings by status.
    pub by_status: BTreeMap<String, f64>,
}

/// `GET /recommendations/summary`. Amounts of different currencies are never added: the
/// top-level figures are those of `currency` (the one with the most open savings), and
/// `by_currency` has every currency's own. Advisor recommendations that agree with one of
/// AzCops's findings are counted in `advisor_agreements`, not in the savings.
#[derive(Serialize, ToSchema)]
pub struct RecommendationSummary {
    /// The currency of the top-level figures (`null` when there are no recommendations).
    pub currency: Option<String>,
    /// Savings of open recommendations.
    pub open_monthly_savings: f64,
    /// Savings by category.
    pub by_category: BTreeMap<String, f64>,
    /// Savings by status.
    pub by_status: BTreeMap<String, f64>,
    /// The same figures for each currency.
    pub by_currency: BTreeMap<String, CurrencySavings>,
    /// Advisor recommendations linked to one of AzCops's own findings.
    pub advisor_agreements: i64,
    /// Every group.
    pub groups: Vec<RecommendationGroup>,
    /// Executed recommendations of the last 12 months: identified vs realised savings per
    /// month of execution and currency (see `GET /savings/realised`).
    pub realised_by_month: Vec<crate::store::RealisedMonth>,
}
