//! `/budgets`: a tenant's monthly budgets (Admin to change) and how each stands this month.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::api::ApiError;
use crate::api::auth::ROLE_ADMIN;
use crate::api::extract::{ApiJson, Tenant};
use crate::api::middleware::CorrelationId;
use crate::money::round_to_minor_unit;
use crate::store::{Actor, Budget, BudgetInput, CostForecast, CurrencySpend, Store, TenantScope, spend_of};

/// How a budget stands in the current month (UTC).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BudgetStatus {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Month-to-date cost of the budget's metric in its currency.
    pub spent: f64,
    /// `spent` as a percentage of the amount, one decimal.
    pub percent_spent: f64,
    /// The highest alert threshold `spent` has reached, if any.
    pub threshold_reached: Option<u32>,
    /// Month-end forecast of the budget's metric in its currency (`null` without cost history).
    pub forecast: Option<f64>,
    /// Lower bound of the forecast's 80 % interval.
    pub forecast_lower: Option<f64>,
    /// Upper bound of the forecast's 80 % interval.
    pub forecast_upper: Option<f64>,
    /// `forecast` as a percentage of the amount, one decimal.
    pub percent_forecast: Option<f64>,
    /// `ok`; `at_risk` when a threshold is reached or the month-end forecast reaches the amount;
    /// `over` once the amount is spent.
    pub state: String,
    /// Month-to-date cost billed in other currencies, which never counts against the budget.
    pub other_currencies: BTreeMap<String, f64>,
}

/// A budget and its status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetView {
    /// The budget.
    #[serde(flatten)]
    pub budget: Budget,
    /// How it stands this month.
    pub status: BudgetStatus,
}

/// The answer of `GET /budgets`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetList {
    /// Every budget of the tenant, by name (at most 200).
    pub items: Vec<BudgetView>,
}

/// Body of `POST /budgets`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBudgetBody {
    /// Name, unique within the tenant.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// A subscription of the tenant, or absent/`null` for the whole tenant.
    subscription_id: Option<String>,
    /// Monthly amount (positive).
    amount: f64,
    /// ISO 4217 code, e.g. `USD`.
    currency: String,
    /// `actual` (default) or `amortized`.
    metric: Option<String>,
    /// Alert thresholds in percent (default `[50, 80, 100]`).
    alert_thresholds: Option<Vec<u32>>,
}

/// Body of `PATCH /budgets/{id}`: absent fields keep their value; `subscription_id: null` makes
/// it a whole-tenant budget.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    subscription_id: Option<Option<String>>,
    amount: Option<f64>,
    currency: Option<String>,
    metric: Option<String>,
    alert_thresholds: Option<Vec<u32>>,
}

impl From<NewBudgetBody> for BudgetInput {
    fn from(body: NewBudgetBody) -> Self {
        Self {
            name: Some(body.name),
            subscription_id: Some(body.subscription_id),
            amount: Some(body.amount),
            currency: Some(body.currency),
            metric: body.metric,
            alert_thresholds: body.alert_thresholds,
        }
    }
}

impl From<BudgetPatch> for BudgetInput {
    fn from(patch: BudgetPatch) -> Self {
        let BudgetPatch { name, subscription_id, amount, currency, metric, alert_thresholds } = patch;
        Self { name, subscription_id, amount, currency, metric, alert_thresholds }
    }
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

fn actor(tenant: &Tenant, correlation: &CorrelationId) -> Actor {
    Actor { actor: tenant.caller.actor(), correlation_id: Some(correlation.0.clone()) }
}

/// The status of `budget` from month-to-date spend per currency and the month-end forecast of
/// its scope (the forecasts of other currencies are ignored).
pub fn status(
    budget: &Budget,
    spend: &[CurrencySpend],
    forecasts: &[CostForecast],
    today: NaiveDate,
) -> BudgetStatus {
    let amortized = budget.metric == "amortized";
    let amount_of = |s: &CurrencySpend| if amortized { s.amortized_cost } else { s.cost };
    let spent = spend.iter().filter(|s| s.currency == budget.currency).map(amount_of).sum::<f64>();
    let spent = round_to_minor_unit(spent, &budget.currency);
    let percent_of = |value: f64| (value / budget.amount * 1000.0).round() / 10.0;
    let percent = spent / budget.amount * 100.0;
    let threshold_reached =
        budget.alert_thresholds.0.iter().copied().filter(|t| percent >= f64::from(*t)).max();
    let estimate = forecasts
        .iter()
        .find(|f| f.currency == budget.currency && f.subscription_id == budget.subscription_id)
        .map(|f| if amortized { f.amortized.month_end } else { f.actual.month_end });
    let round = |v: f64| round_to_minor_unit(v, &budget.currency);
    let forecast = estimate.map(|e| round(e.forecast.max(spent)));
    let state = if percent >= 100.0 {
        "over"
    } else if threshold_reached.is_some() || forecast.is_some_and(|f| f >= budget.amount) {
        "at_risk"
    } else {
        "ok"
    };
    BudgetStatus {
        month: format!("{:04}-{:02}", today.year(), today.month()),
        spent,
        percent_spent: percent_of(spent),
        threshold_reached,
        forecast,
        forecast_lower: estimate.map(|e| round(e.lower)),
        forecast_upper: estimate.map(|e| round(e.upper)),
        percent_forecast: forecast.map(percent_of),
        state: state.to_owned(),
        other_currencies: spend
            .iter()
            .filter(|s| s.currency != budget.currency)
            .map(|s| (s.currency.clone(), round_to_minor_unit(amount_of(s), &s.currency)))
            .collect(),
    }
}

/// Budgets with their status today, reading the forecasts once for the whole list.
async fn views(
    store: &Store,
    scope: &TenantScope,
    budgets: Vec<Budget>,
) -> Result<Vec<BudgetView>, ApiError> {
    let today = Utc::now().date_naive();
    let forecasts = budget_forecasts(store, scope, &budgets, today, false).await?;
    views_on(store, scope, budgets, &forecasts, today).await
}

/// The month-end forecasts `budgets` are judged against on `day`: the tenant's (when
/// `with_tenant` or a budget covers the whole tenant) and each budgeted subscription's, each
/// scope computed once, rather than every subscription's.
///
/// # Errors
/// The store fails.
pub(crate) async fn budget_forecasts(
    store: &Store,
    scope: &TenantScope,
    budgets: &[Budget],
    day: NaiveDate,
    with_tenant: bool,
) -> Result<Vec<CostForecast>, crate::store::StoreError> {
    let mut subscriptions: Vec<Option<&str>> = budgets.iter().map(|b| b.subscription_id.as_deref()).collect();
    if with_tenant {
        subscriptions.push(None);
    }
    subscriptions.sort_unstable();
    subscriptions.dedup();
    let each =
        subscriptions.into_iter().map(|subscription| store.month_end_forecast(scope, subscription, day));
    Ok(futures::future::try_join_all(each).await?.into_iter().flatten().collect())
}

/// Budgets with their status on `day` (spend from the 1st of its month through it), against
/// `forecasts` already made for that day (the forecast route shares its own).
pub(crate) async fn views_on(
    store: &Store,
    scope: &TenantScope,
    budgets: Vec<Budget>,
    forecasts: &[CostForecast],
    day: NaiveDate,
) -> Result<Vec<BudgetView>, ApiError> {
    if budgets.is_empty() {
        return Ok(Vec::new());
    }
    let first = day.with_day(1).unwrap_or(day);
    let month = store.spend_by_subscription(scope, first, day).await?;
    Ok(budgets
        .into_iter()
        .map(|mut budget| {
            let spend = spend_of(&month, budget.subscription_id.as_deref());
            budget.amount = round_to_minor_unit(budget.amount, &budget.currency);
            let status = status(&budget, &spend, forecasts, day);
            BudgetView { budget, status }
        })
        .collect())
}

async fn view(store: &Store, scope: &TenantScope, budget: Budget) -> Result<BudgetView, ApiError> {
    let mut views = views(store, scope, vec![budget]).await?;
    views.pop().ok_or_else(|| ApiError::Internal("no budget view".into()))
}

/// `GET /budgets` (Reader): every budget of the tenant with its month-to-date status.
#[utoipa::path(
    get,
    path = "/api/v1/budgets",
    tag = "budgets",
    responses((status = 200, description = "Budgets by name", body = BudgetList), crate::api::openapi::Errors)
)]
pub async fn list(tenant: Tenant) -> Result<Response, ApiError> {
    let budgets = tenant.store.list_budgets(&tenant.scope).await?;
    let views = views(&tenant.store, &tenant.scope, budgets).await?;
    Ok(Json(BudgetList { items: views }).into_response())
}

/// `GET /budgets/{id}` (Reader).
#[utoipa::path(
    get,
    path = "/api/v1/budgets/{id}",
    tag = "budgets",
    params(("id" = String, Path, description = "Budget id")),
    responses((status = 200, description = "The budget", body = BudgetView), crate::api::openapi::Errors)
)]
pub async fn get_one(tenant: Tenant, Path(id): Path<String>) -> Result<Response, ApiError> {
    let budget = tenant.store.get_budget(&tenant.scope, &id).await?;
    Ok(Json(view(&tenant.store, &tenant.scope, budget).await?).into_response())
}

/// `POST /budgets` (Admin): audited as `budget.created`.
#[utoipa::path(
    post,
    path = "/api/v1/budgets",
    tag = "budgets",
    request_body = NewBudgetBody,
    responses(
        (status = 201, description = "Created", body = BudgetView),
        (status = 409, description = "A budget of that name exists", body = crate::api::schemas::ErrorBody),
        (status = 422, description = "A field is invalid, the subscription is not the tenant's, or the tenant has 200 budgets", body = crate::api::schemas::ErrorBody),
        crate::api::openapi::Errors
    )
)]
pub async fn create(
    tenant: Tenant,
    correlation: CorrelationId,
    ApiJson(body): ApiJson<NewBudgetBody>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    let input = BudgetInput::from(body);
    let budget = tenant.store.create_budget(&tenant.scope, &input, &actor(&tenant, &correlation)).await?;
    Ok((StatusCode::CREATED, Json(view(&tenant.store, &tenant.scope, budget).await?)).into_response())
}

/// `PATCH /budgets/{id}` (Admin): audited as `budget.updated` with the values before and after.
#[utoipa::path(
    patch,
    path = "/api/v1/budgets/{id}",
    tag = "budgets",
    params(("id" = String, Path, description = "Budget id")),
    request_body = BudgetPatch,
    responses((status = 200, description = "Updated", body = BudgetView), crate::api::openapi::Errors)
)]
pub async fn update(
    tenant: Tenant,
    correlation: CorrelationId,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BudgetPatch>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    let change = BudgetInput::from(body);
    let budget =
        tenant.store.update_budget(&tenant.scope, &id, &change, &actor(&tenant, &correlation)).await?;
    Ok(Json(view(&tenant.store, &tenant.scope, budget).await?).into_response())
}

/// `DELETE /budgets/{id}` (Admin): audited as `budget.deleted`.
#[utoipa::path(
    delete,
    path = "/api/v1/budgets/{id}",
    tag = "budgets",
    params(("id" = String, Path, description = "Budget id")),
    responses((status = 204, description = "Deleted"), crate::api::openapi::Errors)
)]
pub async fn delete(
    tenant: Tenant,
    correlation: CorrelationId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    tenant.store.delete_budget(&tenant.scope, &id, &actor(&tenant, &correlation)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(metric: &str) -> Budget {
        Budget {
            id: "b".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            subscription_id: None,
            amount: 1000.0,
            currency: "EUR".into(),
            metric: metric.into(),
            alert_thresholds: sqlx::types::Json(vec![50, 80, 100]),
            created_by: "x".into(),
            created_at: crate::store::now(),
            updated_at: crate::store::now(),
        }
    }

    fn spend(currency: &str, cost: f64, amortized_cost: f64) -> CurrencySpend {
        CurrencySpend { currency: currency.into(), cost, amortized_cost }
    }

    #[test]
    fn only_the_budget_currency_counts_and_thresholds_set_the_state() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let rows = [spend("EUR", 812.345, 400.0), spend("USD", 5000.0, 5000.0)];
        let s = status(&budget("actual"), &rows, &[], today);
        assert_eq!((s.month.as_str(), s.spent, s.percent_spent), ("2026-12", 812.35, 81.2));
        assert_eq!((s.threshold_reached, s.state.as_str()), (Some(80), "at_risk"));
        assert_eq!(s.other_currencies["USD"], 5000.0);
        let s = status(&budget("amortized"), &rows, &[], today);
        assert_eq!((s.spent, s.state.as_str(), s.threshold_reached), (400.0, "ok", None));
        let s = status(&budget("actual"), &[spend("EUR", 1000.0, 0.0)], &[], today);
        assert_eq!((s.state.as_str(), s.threshold_reached), ("over", Some(100)));
        let s = status(&budget("actual"), &[], &[], today);
        assert_eq!((s.spent, s.state.as_str()), (0.0, "ok"));
    }

    fn forecast(currency: &str, subscription_id: Option<&str>, month_end: f64) -> CostForecast {
        use crate::analytics::forecast::{Estimate, IntervalBasis};
        let measure = crate::store::MeasureForecast {
            month_to_date: 0.0,
            month_end: Estimate { forecast: month_end, lower: month_end * 0.9, upper: month_end * 1.1 },
            next_month: Estimate { forecast: 0.0, lower: 0.0, upper: 0.0 },
        };
        CostForecast {
            scope: if subscription_id.is_some() { "subscription" } else { "tenant" }.into(),
            subscription_id: subscription_id.map(str::to_owned),
            currency: currency.into(),
            month: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            data_through: NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
            actual: measure,
            amortized: measure,
            interval_basis: IntervalBasis::Backtest,
            history_days: 90,
        }
    }

    #[test]
    fn a_forecast_over_the_amount_puts_the_budget_at_risk_before_any_threshold() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let spent = [spend("EUR", 300.0, 300.0)];
        // Only the forecast of the budget's own scope and currency counts.
        let forecasts = [
            forecast("USD", None, 9000.0),
            forecast("EUR", Some("sub"), 9000.0),
            forecast("EUR", None, 1200.0),
        ];
        let s = status(&budget("actual"), &spent, &forecasts, today);
        assert_eq!((s.threshold_reached, s.forecast, s.percent_forecast), (None, Some(1200.0), Some(120.0)));
        assert_eq!((s.forecast_lower, s.forecast_upper), (Some(1080.0), Some(1320.0)));
        assert_eq!(s.state, "at_risk");
        let s = status(&budget("actual"), &spent, &[forecast("EUR", None, 700.0)], today);
        assert_eq!((s.state.as_str(), s.percent_forecast), ("ok", Some(70.0)));
        // A forecast below what is already spent is raised to it.
        let s = status(&budget("actual"), &spent, &[forecast("EUR", None, 100.0)], today);
        assert_eq!(s.forecast, Some(300.0));
    }
}
