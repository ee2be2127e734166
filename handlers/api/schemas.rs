//! OpenAPI schemas of the response bodies. A row the API answers as the store returns it is
//! documented by the store's own type (re-exported here); only bodies the API shapes itself
//! (pages, errors, resources, recommendations, audit entries) are defined in this file. The
//! contract test (`scripts/api-contract.sh`) checks real responses against them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::store::{
    CostRow, CostSummary, DailyCost, IngestionRun, ItemStatus, RecommendationGroup, RecommendationStatus,
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

/// One subscription of a run.
#[derive(Serialize, ToSchema)]
pub struct IngestionItem {
    /// Item id.
    pub id: String,
    /// Run id.
    pub run_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Status.
    pub status: ItemStatus,
    /// Attempts.
    pub attempts: i64,
    /// Last error.
    pub error: Option<String>,
    /// Row counts by kind.
    pub counts: BTreeMap<String, i64>,
    /// Duration.
    pub duration_ms: Option<i64>,
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

/// A recommendation with its evidence.
#[derive(Serialize, ToSchema)]
pub struct Recommendation {
    /// Id.
    pub id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Resource id.
    pub resource_id: String,
    /// Rule id.
    pub rule_id: String,
    /// `rule` or `advisor`.
    pub source: String,
    /// Category.
    pub category: String,
    /// Title.
    pub title: String,
    /// Estimated monthly savings.
    pub estimated_monthly_savings: f64,
    /// How the savings were estimated.
    pub savings_basis: String,
    /// Currency.
    pub currency: String,
    /// Confidence 0..1.
    pub confidence_score: f64,
    /// Risk.
    pub risk_level: String,
    /// Effort.
    pub effort_level: String,
    /// Priority.
    pub priority_score: f64,
    /// Status.
    pub status: RecommendationStatus,
    /// Evidence.
    pub evidence: serde_json::Value,
    /// First detection.
    pub first_detected_at: DateTime<Utc>,
    /// Latest detection.
    pub last_detected_at: DateTime<Utc>,
    /// Status change.
    pub status_changed_at: DateTime<Utc>,
    /// Who changed the status.
    pub status_changed_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
    /// For an Advisor recommendation: the rule id of AzCops's own finding on the same resource
    /// it agrees with (left out of savings totals); `null` otherwise.
    pub duplicate_of: Option<String>,
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

/// An audit record.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// Object kind.
    pub target_type: String,
    /// Object id.
    pub target_id: String,
    /// Details.
    pub metadata: serde_json::Value,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// When recorded.
    pub created_at: DateTime<Utc>,
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
