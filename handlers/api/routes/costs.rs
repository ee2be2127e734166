//! Costs: the daily rows and their export, and the summary (the explorer is in
//! [`super::explore`]). The summary reads the cost rollups, so its cost does not grow with the
//! number of cost rows.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike as _, NaiveDate};
use serde::Deserialize;

use super::data::cached_json;
use crate::api::extract::{ApiQuery, Paging, Tenant, check_window, check_year};
use crate::api::money::RoundMoney;
use crate::api::{ApiError, csv_stream};
use crate::money::round_to_minor_unit;
use crate::state::AppState;
use crate::store::{CostCursor, CostFilter, CostRow};

/// Filters of `GET /costs` and its export.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CostQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    subscription_id: Option<String>,
    service: Option<String>,
    resource_group: Option<String>,
    #[serde(default = "crate::api::extract::first_page")]
    #[param(minimum = 1)]
    page: u32,
    #[serde(default = "crate::api::extract::default_page_size")]
    #[param(minimum = 1, maximum = 500)]
    page_size: u32,
}

impl CostQuery {
    fn filter(&self) -> Result<CostFilter, ApiError> {
        check_window(self.from, self.to)?;
        Ok(CostFilter {
            from: self.from,
            to: self.to,
            subscription_id: self.subscription_id.clone(),
            service_name: self.service.clone(),
            resource_group: self.resource_group.clone(),
        })
    }
}

/// `GET /costs`.
#[utoipa::path(
    get,
    path = "/api/v1/costs",
    tag = "data",
    params(CostQuery),
    responses((status = 200, description = "Daily cost rows, newest first", body = crate::api::schemas::PaginatedResponse<crate::api::schemas::CostRow>), crate::api::openapi::Errors)
)]
pub async fn list_costs(tenant: Tenant, ApiQuery(query): ApiQuery<CostQuery>) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let page = Paging { page: query.page, page_size: query.page_size }.request()?;
    Ok(Json(tenant.store.list_costs(&tenant.scope, &filter, page).await?.round_money()).into_response())
}

/// `GET /costs/export.csv`: every matching cost row, newest day first (see [`csv_stream`]
/// for the row cap and the concurrency limit).
#[utoipa::path(
    get,
    path = "/api/v1/costs/export.csv",
    tag = "data",
    params(CostQuery),
    responses(crate::api::openapi::Errors, crate::api::openapi::ExportResponses)
)]
pub async fn export_costs(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(query): ApiQuery<CostQuery>,
) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let Tenant { store, scope, .. } = tenant;
    let tenant_id = scope.tenant_id().to_owned();
    let (count_store, count_scope, count_filter) = (store.clone(), scope.clone(), filter.clone());
    csv_stream::export(
        &state,
        &tenant_id,
        csv_stream::CsvSpec {
            filename: "costs.csv",
            header: &[
                "date",
                "subscription_id",
                "resource_group",
                "service_name",
                "meter_category",
                "resource_id",
                "cost",
                "amortized_cost",
                "currency",
            ],
            row: cost_row,
        },
        |upto| async move { count_store.count_costs_upto(&count_scope, &count_filter, upto).await },
        move |after, limit| {
            let (store, scope, filter) = (store.clone(), scope.clone(), filter.clone());
            async move { store.export_costs_page(&scope, &filter, after.as_ref(), limit).await }
        },
        CostCursor::after,
    )
    .await
}

fn cost_row(c: &CostRow) -> Vec<String> {
    vec![
        c.date.to_string(),
        c.subscription_id.clone(),
        c.resource_group.clone(),
        c.service_name.clone(),
        c.meter_category.clone(),
        c.resource_id.clone(),
        round_to_minor_unit(c.cost, &c.currency).to_string(),
        round_to_minor_unit(c.amortized_cost, &c.currency).to_string(),
        c.currency.clone(),
    ]
}

/// Parameters of `GET /costs/summary`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    #[serde(default = "thirty")]
    #[param(minimum = 1, maximum = 400)]
    days: u32,
    to: Option<NaiveDate>,
    subscription_id: Option<String>,
}

fn thirty() -> u32 {
    30
}

/// `GET /costs/summary?days=30`: totals, by service, daily trend, actual and amortized. Answers
/// are cached per (tenant, window) for `AZCOPS_API_CACHE_SECONDS`: cost data only changes when
/// ingestion runs.
#[utoipa::path(
    get,
    path = "/api/v1/costs/summary",
    tag = "data",
    params(SummaryQuery),
    responses((status = 200, description = "Totals, by service, daily trend", body = crate::api::schemas::CostSummary), crate::api::openapi::Errors)
)]
pub async fn cost_summary(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(query): ApiQuery<SummaryQuery>,
) -> Result<Response, ApiError> {
    if !(1..=400).contains(&query.days) {
        return Err(ApiError::validation("days", "must be between 1 and 400"));
    }
    check_year("to", query.to.map(|d| d.year()))?;
    let to = query.to.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let subscription = query.subscription_id.as_deref().map(|s| s.trim().to_ascii_lowercase());
    // From the parsed values, with `to` resolved: `days=07`, `to=<today>` and omitted `to` share
    // an entry, while an empty `subscription_id` stays distinct from none.
    let key =
        serde_json::json!(["summary", tenant.scope.tenant_id(), query.days, to, subscription]).to_string();
    cached_json(&state, key, || async move {
        tenant
            .store
            .cost_summary(&tenant.scope, to, query.days, subscription.as_deref())
            .await
            .map(RoundMoney::round_money)
    })
    .await
}
