//! OpenAPI schemas of the response bodies. A row the API answers as the store returns it is
//! documented by the store's own type (re-exported here); only bodies the API shapes itself
//! (pages, errors, resources, recommendations, audit entries) are defined in this file. The
//! contract test (`scripts/api-contract.sh`) checks real responses against them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::store::{
    AuditEntry, CostRow, CostSummary, DailyCost, IngestionItem, IngestionRun, ItemStatus, Recommendation,
    RecommendationGroup, RecommendationStatus, RunStatus, ServiceCost, Subscription, Tenant, TenantType,
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

/// A resource of the inventory.
#[derive(Serialize, ToSchema)]
pub struct Resource {
    /// Subscription GUID.
    pub subscription_id: String,
    /// ARM id (lower-case).
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Type (lower-case).
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Kind.
    pub kind: Option<String>,
    /// Region.
    pub location: String,
    /// Resource group.
    pub resource_group: String,
    /// SKU object.
    pub sku: Option<serde_json::Value>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Properties.
    pub properties: serde_json::Value,
    /// `managedBy`.
    pub managed_by: Option<String>,
    /// First seen.
    pub first_seen: DateTime<Utc>,
    /// Last seen.
    pub last_seen: DateTime<Utc>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
}

/// A resource as `GET /resources` lists it: without `properties`.
#[derive(Serialize, ToSchema)]
pub struct ResourceSummary {
    /// Subscription GUID.
    pub subscription_id: String,
    /// ARM id (lower-case); URL-encode it for `GET /resources/{id}`.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Type (lower-case).
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Kind.
    pub kind: Option<String>,
    /// Region.
    pub location: String,
    /// Resource group.
    pub resource_group: String,
    /// SKU object.
    pub sku: Option<serde_json::Value>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// `managedBy`.
    pub managed_by: Option<String>,
    /// First seen.
    pub first_seen: DateTime<Utc>,
    /// Last seen.
    pub last_seen: DateTime<Utc>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
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
}

/// `GET /api/health`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `healthy` or `degraded`.
    pub status: String,
    /// Binary version.
    pub version: String,
    /// `connected` or `disconnected`.
    pub database: String,
}
