//! OpenAPI schemas of the response bodies. The store's row types carry no OpenAPI derive (the
//! store knows nothing of HTTP), so these mirror what they serialise to; the contract test
//! (`scripts/api-contract.sh`) checks real responses against them, which catches any drift.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

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

/// Internal or external tenant.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantType {
    /// The operator.
    Internal,
    /// A customer.
    External,
}

/// A tenant.
#[derive(Serialize, ToSchema)]
pub struct Tenant {
    /// Internal id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Entra tenant id.
    pub azure_tenant_id: String,
    /// Type.
    pub tenant_type: TenantType,
    /// Active.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
}

/// A subscription.
#[derive(Serialize, ToSchema)]
pub struct Subscription {
    /// Internal id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Display name.
    pub display_name: String,
    /// Billing scope.
    pub billing_scope: Option<String>,
    /// Active.
    pub active: bool,
    /// Last completed ingestion.
    pub last_ingested_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
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

/// A daily cost row.
#[derive(Serialize, ToSchema)]
pub struct CostRow {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Usage date.
    pub date: NaiveDate,
    /// Resource group.
    pub resource_group: String,
    /// `ServiceName`.
    pub service_name: String,
    /// `MeterCategory`.
    pub meter_category: String,
    /// Resource id ('' when unknown).
    pub resource_id: String,
    /// Actual cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
    /// Currency.
    pub currency: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Updated.
    pub updated_at: DateTime<Utc>,
}

/// Spend of one service.
#[derive(Serialize, ToSchema)]
pub struct ServiceCost {
    /// `ServiceName`.
    pub service_name: String,
    /// Actual.
    pub cost: f64,
    /// Amortized.
    pub amortized_cost: f64,
}

/// Spend of one day.
#[derive(Serialize, ToSchema)]
pub struct DailyCost {
    /// Day.
    pub date: NaiveDate,
    /// Actual.
    pub cost: f64,
    /// Amortized.
    pub amortized_cost: f64,
}

/// `GET /costs/summary`.
#[derive(Serialize, ToSchema)]
pub struct CostSummary {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Total actual.
    pub total_cost: f64,
    /// Total amortized.
    pub total_amortized_cost: f64,
    /// By service, largest first.
    pub by_service: Vec<ServiceCost>,
    /// Daily trend, oldest first.
    pub daily: Vec<DailyCost>,
}

/// Run status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Queued.
    Queued,
    /// Running.
    Running,
    /// Succeeded.
    Succeeded,
    /// Some items failed.
    PartiallyFailed,
    /// Failed.
    Failed,
}

/// Item status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Queued.
    Queued,
    /// Running.
    Running,
    /// Succeeded.
    Succeeded,
    /// Failed.
    Failed,
}

/// An ingestion run.
#[derive(Serialize, ToSchema)]
pub struct IngestionRun {
    /// Run id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Kind (scheduled, manual, ...).
    pub kind: String,
    /// Idempotency key.
    pub schedule_key: String,
    /// Status.
    pub status: RunStatus,
    /// Who asked.
    pub requested_by: String,
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

/// Recommendation lifecycle status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationStatus {
    /// Awaiting a decision.
    Open,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
    /// Dismissed.
    Dismissed,
    /// Executed.
    Executed,
    /// Closed by the system.
    Closed,
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

/// One (category, status, currency) group.
#[derive(Serialize, ToSchema)]
pub struct RecommendationGroup {
    /// Category.
    pub category: String,
    /// Status.
    pub status: String,
    /// Currency of the savings.
    pub currency: String,
    /// Count.
    pub count: i64,
    /// Savings, rounded to the currency's minor unit.
    pub estimated_monthly_savings: f64,
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
