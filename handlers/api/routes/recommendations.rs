//! Recommendations (list, detail with evidence, decisions, summary, export) and audit logs.
//!
//! Roles: approve, reject, dismiss and reopen need `AzCops.Approver` (decisions about what
//! should change); execute needs `AzCops.Admin`, because marking a change as carried out
//! asserts something was done to the estate, which is an administrator's responsibility.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike as _, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::api::auth::{ROLE_ADMIN, ROLE_APPROVER};
use crate::api::extract::{ApiQuery, Paging, Tenant, check_year, parse_json};
use crate::api::money::RoundMoney;
use crate::api::{ApiError, csv_stream};
use crate::money::round_to_minor_unit;
use crate::state::AppState;
use crate::store::{
    AuditFilter, Recommendation, RecommendationCursor, RecommendationFilter, RecommendationGroup,
    RecommendationSort, RecommendationStatus, SortDirection,
};

/// Sort keys of `GET /recommendations`.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortParam {
    /// Priority score (default).
    #[default]
    Priority,
    /// Estimated monthly savings.
    Savings,
}

/// Status as a query parameter.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusParam {
    /// Open.
    Open,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
    /// Dismissed.
    Dismissed,
    /// Executed.
    Executed,
    /// Closed.
    Closed,
}

impl From<StatusParam> for RecommendationStatus {
    fn from(value: StatusParam) -> Self {
        match value {
            StatusParam::Open => Self::Open,
            StatusParam::Approved => Self::Approved,
            StatusParam::Rejected => Self::Rejected,
            StatusParam::Dismissed => Self::Dismissed,
            StatusParam::Executed => Self::Executed,
            StatusParam::Closed => Self::Closed,
        }
    }
}

/// Filters of `GET /recommendations` and its export.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<StatusParam>,
    category: Option<String>,
    rule: Option<String>,
    subscription_id: Option<String>,
    #[param(minimum = 0)]
    min_savings: Option<f64>,
    /// Only executed recommendations with this realised-savings verdict.
    realised: Option<super::savings::RealisedParam>,
    #[serde(default)]
    sort: SortParam,
    #[serde(default = "crate::api::extract::first_page")]
    #[param(minimum = 1)]
    page: u32,
    #[serde(default = "crate::api::extract::default_page_size")]
    #[param(minimum = 1, maximum = 500)]
    page_size: u32,
}

impl ListQuery {
    fn filter(&self) -> Result<RecommendationFilter, ApiError> {
        if let Some(min) = self.min_savings
            && (!min.is_finite() || min < 0.0)
        {
            return Err(ApiError::validation("min_savings", "must be a non-negative number"));
        }
        Ok(RecommendationFilter {
            status: self.status.map(Into::into),
            category: self.category.clone(),
            rule_id: self.rule.clone(),
            subscription_id: self.subscription_id.clone(),
            min_savings: self.min_savings,
            realised: self.realised.map(Into::into),
            sort: match self.sort {
                SortParam::Priority => RecommendationSort::Priority,
                SortParam::Savings => RecommendationSort::Savings,
            },
            direction: Some(SortDirection::Desc),
        })
    }
}

/// `GET /recommendations`.
#[utoipa::path(
    get,
    path = "/api/v1/recommendations",
    tag = "recommendations",
    params(ListQuery),
    responses((status = 200, description = "Recommendations", body = crate::api::schemas::PaginatedResponse<crate::api::schemas::Recommendation>), crate::api::openapi::Errors)
)]
pub async fn list(tenant: Tenant, ApiQuery(query): ApiQuery<ListQuery>) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let page = Paging { page: query.page, page_size: query.page_size }.request()?;
    Ok(Json(tenant.store.list_recommendations(&tenant.scope, &filter, page).await?.round_money())
        .into_response())
}

/// `GET /recommendations/{id}` with its evidence.
#[utoipa::path(
    get,
    path = "/api/v1/recommendations/{id}",
    tag = "recommendations",
    params(("id" = String, Path, description = "Object id")),
    responses((status = 200, description = "The recommendation with its evidence and, once one was queued, its latest `remediation` (status, error, at)", body = crate::api::schemas::Recommendation), crate::api::openapi::Errors)
)]
pub async fn get_one(tenant: Tenant, Path(id): Path<String>) -> Result<Response, ApiError> {
    let rec = tenant.store.get_recommendation(&tenant.scope, &id).await?;
    let remediation = tenant.store.latest_remediation(&tenant.scope, &id).await?;
    Ok(Json(super::remediation::with_remediation(rec, remediation)).into_response())
}

/// Body of the decision endpoints.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    reason: Option<String>,
}

macro_rules! decision {
    ($name:ident, $action:literal, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            post,
            path = concat!("/api/v1/recommendations/{id}/", $action),
            tag = "recommendations",
            params(("id" = String, Path, description = "Recommendation id")),
            request_body(content = Option<DecisionBody>, description = "Optional; `reason` is required to reject or dismiss"),
            responses(
                (status = 200, description = "The recommendation after the change", body = crate::api::schemas::Recommendation),
                crate::api::openapi::Errors
            )
        )]
        pub async fn $name(
            tenant: Tenant,
            Path(id): Path<String>,
            body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
        ) -> Result<Response, ApiError> {
            decide(tenant, id, $action, body.map_err(crate::api::extract::body_rejection)?).await
        }
    };
}

decision!(approve, "approve", "`POST /recommendations/{id}/approve` (Approver).");
decision!(reject, "reject", "`POST /recommendations/{id}/reject` (Approver; reason required).");
decision!(dismiss, "dismiss", "`POST /recommendations/{id}/dismiss` (Approver; reason required).");
decision!(reopen, "reopen", "`POST /recommendations/{id}/reopen` (Approver).");

/// The status a decision moves to and the role it needs (the dashboard uses the same table).
pub(crate) fn decision(action: &str) -> Option<(RecommendationStatus, &'static str)> {
    match action {
        "approve" => Some((RecommendationStatus::Approved, ROLE_APPROVER)),
        "reject" => Some((RecommendationStatus::Rejected, ROLE_APPROVER)),
        "dismiss" => Some((RecommendationStatus::Dismissed, ROLE_APPROVER)),
        "reopen" => Some((RecommendationStatus::Open, ROLE_APPROVER)),
        "execute" => Some((RecommendationStatus::Executed, ROLE_ADMIN)),
        _ => None,
    }
}

/// The trimmed reason: required to reject or dismiss, at most 2000 characters.
pub(crate) fn check_reason(
    to: RecommendationStatus,
    reason: Option<String>,
) -> Result<Option<String>, ApiError> {
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if matches!(to, RecommendationStatus::Rejected | RecommendationStatus::Dismissed) && reason.is_none() {
        return Err(ApiError::validation("reason", "is required to reject or dismiss"));
    }
    if reason.as_ref().is_some_and(|r| r.len() > 2000) {
        return Err(ApiError::validation("reason", "must be at most 2000 characters"));
    }
    Ok(reason)
}

/// Applies one decision to a recommendation.
async fn decide(
    tenant: Tenant,
    id: String,
    action: &str,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let (to, role) = decision(action).ok_or_else(|| ApiError::NotFound("no such route".into()))?;
    tenant.require(role)?;
    // An empty body is allowed for the decisions that need no reason.
    let body: DecisionBody =
        if body.iter().all(u8::is_ascii_whitespace) { DecisionBody::default() } else { parse_json(&body)? };
    let reason = check_reason(to, body.reason)?;
    let updated = tenant
        .store
        .transition_recommendation(&tenant.scope, &id, to, &tenant.caller.actor(), reason.as_deref())
        .await?;
    Ok(Json(updated.round_money()).into_response())
}

/// `GET /recommendations/summary`: count and savings by category and status.
#[utoipa::path(
    get,
    path = "/api/v1/recommendations/summary",
    tag = "recommendations",
    responses((status = 200, description = "Savings by category and status", body = crate::api::schemas::RecommendationSummary), crate::api::openapi::Errors)
)]
pub async fn summary(tenant: Tenant) -> Result<Response, ApiError> {
    let groups: Vec<RecommendationGroup> = tenant
        .store
        .recommendation_summary(&tenant.scope)
        .await?
        .into_iter()
        .map(RoundMoney::round_money)
        .collect();
    let agreements = tenant.store.count_advisor_agreements(&tenant.scope).await?;
    let mut body = summary_body(&groups, agreements);
    body["realised_by_month"] = json!(super::savings::summary_months(&tenant.store, &tenant.scope).await?);
    Ok(Json(body).into_response())
}

/// Totals per currency (never added across currencies); the top-level figures are those of the
/// currency with the most open savings, which for a tenant billed in one currency is all of them.
fn summary_body(groups: &[RecommendationGroup], advisor_agreements: i64) -> serde_json::Value {
    let mut by_currency: BTreeMap<&str, CurrencyTotals> = BTreeMap::new();
    for group in groups {
        let totals = by_currency.entry(&group.currency).or_default();
        *totals.by_category.entry(group.category.clone()).or_default() += group.estimated_monthly_savings;
        *totals.by_status.entry(group.status.clone()).or_default() += group.estimated_monthly_savings;
        if group.status == "open" {
            totals.open += group.estimated_monthly_savings;
        }
    }
    let rounded: BTreeMap<&str, serde_json::Value> =
        by_currency.iter().map(|(currency, totals)| (*currency, totals.to_json(currency))).collect();
    let main = by_currency
        .iter()
        .max_by(|a, b| a.1.open.total_cmp(&b.1.open).then_with(|| b.0.cmp(a.0)))
        .map(|(currency, _)| *currency);
    let empty = json!({"open_monthly_savings": 0.0, "by_category": {}, "by_status": {}});
    let headline = main.and_then(|c| rounded.get(c)).unwrap_or(&empty);
    json!({
        "currency": main,
        "open_monthly_savings": headline["open_monthly_savings"],
        "by_category": headline["by_category"],
        "by_status": headline["by_status"],
        "by_currency": rounded,
        "advisor_agreements": advisor_agreements,
        "groups": groups,
    })
}

/// Savings of one currency.
#[derive(Default)]
struct CurrencyTotals {
    open: f64,
    by_category: BTreeMap<String, f64>,
    by_status: BTreeMap<String, f64>,
}

impl CurrencyTotals {
    fn to_json(&self, currency: &str) -> serde_json::Value {
        let round = |m: &BTreeMap<String, f64>| -> BTreeMap<String, f64> {
            m.iter().map(|(k, v)| (k.clone(), round_to_minor_unit(*v, currency))).collect()
        };
        json!({
            "open_monthly_savings": round_to_minor_unit(self.open, currency),
            "by_category": round(&self.by_category),
            "by_status": round(&self.by_status),
        })
    }
}

/// `GET /recommendations/export.csv`: every matching recommendation in the list's order (see
/// [`csv_stream`] for the row cap and the concurrency limit).
#[utoipa::path(
    get,
    path = "/api/v1/recommendations/export.csv",
    tag = "recommendations",
    params(ListQuery),
    responses(crate::api::openapi::Errors, crate::api::openapi::ExportResponses)
)]
pub async fn export(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let Tenant { store, scope, .. } = tenant;
    let tenant_id = scope.tenant_id().to_owned();
    let sort = filter.sort;
    let (count_store, count_scope, count_filter) = (store.clone(), scope.clone(), filter.clone());
    csv_stream::export(
        &state,
        &tenant_id,
        csv_stream::CsvSpec {
            filename: "recommendations.csv",
            header: &[
                "id",
                "subscription_id",
                "resource_id",
                "rule_id",
                "source",
                "category",
                "title",
                "estimated_monthly_savings",
                "savings_basis",
                "currency",
                "confidence_score",
                "risk_level",
                "effort_level",
                "priority_score",
                "status",
                "first_detected_at",
                "last_detected_at",
                "duplicate_of",
                "realised_monthly_savings",
                "realised_basis",
                "realised_confidence",
                "realised_verdict",
            ],
            row: recommendation_row,
        },
        |upto| async move { count_store.count_recommendations_upto(&count_scope, &count_filter, upto).await },
        move |after, limit| {
            let (store, scope, filter) = (store.clone(), scope.clone(), filter.clone());
            async move { store.export_recommendations_page(&scope, &filter, after.as_ref(), limit).await }
        },
        move |row: &Recommendation| RecommendationCursor::after(row, sort),
    )
    .await
}

fn recommendation_row(r: &Recommendation) -> Vec<String> {
    vec![
        r.id.clone(),
        r.subscription_id.clone(),
        r.resource_id.clone(),
        r.rule_id.clone(),
        r.source.clone(),
        r.category.clone(),
        r.title.clone(),
        round_to_minor_unit(r.estimated_monthly_savings, &r.currency).to_string(),
        r.savings_basis.clone(),
        r.currency.clone(),
        r.confidence_score.to_string(),
        r.risk_level.clone(),
        r.effort_level.clone(),
        r.priority_score.to_string(),
        r.status.to_string(),
        r.first_detected_at.to_rfc3339(),
        r.last_detected_at.to_rfc3339(),
        r.duplicate_of.clone().unwrap_or_default(),
    ]
    .into_iter()
    .chain(super::savings::csv_cells(r.realised.as_ref()))
    .collect()
}

/// Filters of `GET /audit-logs`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    #[serde(default = "crate::api::extract::first_page")]
    #[param(minimum = 1)]
    page: u32,
    #[serde(default = "crate::api::extract::default_page_size")]
    #[param(minimum = 1, maximum = 500)]
    page_size: u32,
}

/// `GET /audit-logs`: newest first, paginated and filterable.
#[utoipa::path(
    get,
    path = "/api/v1/audit-logs",
    tag = "audit",
    params(AuditQuery),
    responses((status = 200, description = "Audit records, newest first", body = crate::api::schemas::PaginatedResponse<crate::api::schemas::AuditEntry>), crate::api::openapi::Errors)
)]
pub async fn audit_logs(tenant: Tenant, ApiQuery(query): ApiQuery<AuditQuery>) -> Result<Response, ApiError> {
    check_year("from", query.from.map(|d| d.year()))?;
    check_year("to", query.to.map(|d| d.year()))?;
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        return Err(ApiError::validation("from", "must be before to"));
    }
    let filter = AuditFilter {
        actor: query.actor,
        action: query.action,
        target_type: query.target_type,
        target_id: query.target_id,
        from: query.from,
        to: query.to,
    };
    let page = Paging { page: query.page, page_size: query.page_size }.request()?;
    Ok(Json(tenant.store.list_audit(&tenant.scope, &filter, page).await?).into_response())
}
