//! Cost analytics: anomalies found after ingestion (list, acknowledge) and month-end forecasts.
//!
//! Roles: listing and forecasts need `AzCops.Reader`; acknowledging an anomaly needs
//! `AzCops.Approver` (a decision that the change is understood), audited in the same transaction.

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike as _, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::api::auth::ROLE_APPROVER;
use crate::api::extract::{ApiQuery, Paging, Tenant, check_window, check_year};
use crate::api::middleware::CorrelationId;
use crate::api::money::RoundMoney;
use crate::store::{AnomalyFilter, CostForecast};

/// Anomaly status as a query parameter.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnomalyStatusParam {
    /// Not looked at yet.
    Open,
    /// Acknowledged by an Approver.
    Acknowledged,
    /// No longer anomalous.
    Resolved,
}

/// Severity as a query parameter.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SeverityParam {
    /// Under 50 % off.
    Low,
    /// 50–100 % off, or a new service.
    Medium,
    /// At least double.
    High,
}

/// Filters of `GET /costs/anomalies`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnomalyQuery {
    status: Option<AnomalyStatusParam>,
    /// One subscription's anomalies (the tenant total's are listed without this filter).
    subscription_id: Option<String>,
    /// First day included (`YYYY-MM-DD`).
    from: Option<NaiveDate>,
    /// Last day included (`YYYY-MM-DD`).
    to: Option<NaiveDate>,
    severity: Option<SeverityParam>,
    #[serde(default = "crate::api::extract::first_page")]
    #[param(minimum = 1)]
    page: u32,
    #[serde(default = "crate::api::extract::default_page_size")]
    #[param(minimum = 1, maximum = 500)]
    page_size: u32,
}

impl AnomalyQuery {
    fn filter(&self) -> Result<AnomalyFilter, ApiError> {
        check_window(self.from, self.to)?;
        Ok(AnomalyFilter {
            status: self.status.map(|s| {
                match s {
                    AnomalyStatusParam::Open => "open",
                    AnomalyStatusParam::Acknowledged => "acknowledged",
                    AnomalyStatusParam::Resolved => "resolved",
                }
                .to_owned()
            }),
            subscription_id: self.subscription_id.clone(),
            from: self.from,
            to: self.to,
            severity: self.severity.map(|s| {
                match s {
                    SeverityParam::Low => "low",
                    SeverityParam::Medium => "medium",
                    SeverityParam::High => "high",
                }
                .to_owned()
            }),
        })
    }
}

/// `GET /costs/anomalies`: detected anomalies, newest day first.
#[utoipa::path(
    get,
    path = "/api/v1/costs/anomalies",
    tag = "analytics",
    params(AnomalyQuery),
    responses((status = 200, description = "Cost anomalies", body = crate::api::schemas::PaginatedResponse<crate::api::schemas::CostAnomaly>), crate::api::openapi::Errors)
)]
pub async fn list_anomalies(
    tenant: Tenant,
    ApiQuery(query): ApiQuery<AnomalyQuery>,
) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let page = Paging { page: query.page, page_size: query.page_size }.request()?;
    Ok(Json(tenant.store.list_anomalies(&tenant.scope, &filter, page).await?.round_money()).into_response())
}

/// `POST /costs/anomalies/{id}/acknowledge` (Approver): an open anomaly becomes acknowledged.
#[utoipa::path(
    post,
    path = "/api/v1/costs/anomalies/{id}/acknowledge",
    tag = "analytics",
    params(("id" = String, Path, description = "Anomaly id")),
    responses(
        (status = 200, description = "The anomaly after the change", body = crate::api::schemas::CostAnomaly),
        crate::api::openapi::Errors
    )
)]
pub async fn acknowledge(
    tenant: Tenant,
    correlation: CorrelationId,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_APPROVER)?;
    let acked = tenant
        .store
        .acknowledge_anomaly(&tenant.scope, &id, &tenant.caller.actor(), Some(&correlation.0))
        .await?;
    Ok(Json(acked.round_money()).into_response())
}

/// Parameters of `GET /costs/forecast`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// Only this subscription's forecast (otherwise the tenant's and each subscription's).
    subscription_id: Option<String>,
    /// The day the forecast is made on (`YYYY-MM-DD`, default today): data before it is used,
    /// and its month is forecast.
    as_of: Option<NaiveDate>,
}

/// The answer of `GET /costs/forecast`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastResponse {
    /// The day the forecast is made on.
    pub as_of: NaiveDate,
    /// How the forecast and its interval are computed.
    pub method: &'static str,
    /// One forecast per scope and currency: the tenant first, then each subscription.
    pub forecasts: Vec<CostForecast>,
    /// The budgets of the scopes answered (the tenant's and each subscription's, or the one
    /// subscription's), each with its spend and forecast against its amount on `as_of`.
    pub budgets: Vec<super::budgets::BudgetView>,
}

/// The method, as the answer documents it.
const METHOD: &str = "Weekday-aware run rate over the last 28 days (weekday medians, deseasonalised \
     level = median of the last 7 days) with half the Theil-Sen trend; charges billed on the 1st above the \
     run rate recur monthly. Month end = month-to-date actual + forecast of the remaining days. 80% interval \
     = 10th-90th percentile of the model's backtested errors over the same horizon on this series' history \
     (interval_basis 'backtest'), or the in-sample residual spread when there are fewer than 5 backtests \
     (interval_basis 'residuals'). One answer per currency; amounts are never converted.";

/// `GET /costs/forecast`: month-end and next-month forecasts of actual and amortized cost.
#[utoipa::path(
    get,
    path = "/api/v1/costs/forecast",
    tag = "analytics",
    params(ForecastQuery),
    responses((status = 200, description = "Forecasts per scope and currency", body = ForecastResponse), crate::api::openapi::Errors)
)]
pub async fn forecast(
    tenant: Tenant,
    ApiQuery(query): ApiQuery<ForecastQuery>,
) -> Result<Response, ApiError> {
    check_year("as_of", query.as_of.map(|d| d.year()))?;
    let as_of = query.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let subscription = query.subscription_id.as_deref().map(|s| s.trim().to_ascii_lowercase());
    let forecasts = match subscription.as_deref() {
        Some("") => return Err(ApiError::validation("subscription_id", "must not be empty")),
        Some(sub) => tenant.store.month_end_forecast(&tenant.scope, Some(sub), as_of).await?,
        None => tenant.store.cost_forecasts(&tenant.scope, as_of).await?,
    };
    let mut budgets = tenant.store.list_budgets(&tenant.scope).await?;
    if let Some(sub) = &subscription {
        budgets.retain(|b| b.subscription_id.as_ref() == Some(sub));
    }
    let budgets = super::budgets::views_on(&tenant.store, &tenant.scope, budgets, &forecasts, as_of).await?;
    let forecasts = forecasts.into_iter().map(RoundMoney::round_money).collect();
    Ok(Json(ForecastResponse { as_of, method: METHOD, forecasts, budgets }).into_response())
}
