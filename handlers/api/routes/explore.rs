//! The cost explorer: `GET /costs/explore` and its CSV, answered from the cost rollups (see
//! `store::rollups`) with top-N, an "other" bucket and one total per currency.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{Datelike as _, Days, NaiveDate};

use super::data::cached_json;
use crate::api::extract::{Tenant, check_year};
use crate::api::money::RoundMoney;
use crate::api::{ApiError, csv_stream};
use crate::money::round_to_minor_unit;
use crate::state::AppState;
use crate::store::{CostExplorer, DIMENSIONS, Dimension, ExploreQuery, Granularity, Metric, shape_explorer};

/// Longest explorer window: 13 months, as long as costs are kept.
pub const MAX_WINDOW_DAYS: u64 = 400;
/// Most groups kept per currency before the rest becomes "other".
pub const MAX_TOP: usize = 50;
/// Most filter values one explorer query may carry.
pub const MAX_FILTER_VALUES: usize = 100;

/// Parameters of `GET /costs/explore` (filters are `<dimension>=<value>`, see the README).
#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExploreParams {
    /// First day (default: 29 days before `to`).
    from: Option<NaiveDate>,
    /// Last day, inclusive (default: today, UTC). At most 400 days after `from`.
    to: Option<NaiveDate>,
    /// `day` (default) or `month`.
    granularity: Option<String>,
    /// `service` (default), `subscription`, `resource_group`, `location`, `resource_type`,
    /// `meter_category` or `tag:<key>` (the tenant's allocation tag).
    group_by: Option<String>,
    /// `actual` (default) or `amortized`.
    metric: Option<String>,
    /// Groups kept per currency, 1..=50 (default 10); the rest is one "other" group.
    #[param(minimum = 1, maximum = 50)]
    top: Option<u32>,
    /// Filter: keep these services (repeat the parameter for several; values of one dimension
    /// are ORed, dimensions ANDed). Likewise `subscription`, `resource_group`, `location`,
    /// `resource_type`, `meter_category` and `tag:<key>` (an empty value is untagged cost).
    service: Option<String>,
}

/// A parsed explorer request.
struct Explore {
    query: ExploreQuery,
    top: usize,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, ApiError> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::validation(field, "must be a date (YYYY-MM-DD)"))?;
    check_year(field, Some(date.year()))?;
    Ok(date)
}

/// Parses the explorer's query string: the fixed parameters once each, every dimension name
/// as a filter; anything else is a 400 naming it.
fn parse_explore(raw: Option<&str>) -> Result<Explore, ApiError> {
    let mut fixed: BTreeMap<String, String> = BTreeMap::new();
    let mut filters: BTreeMap<Dimension, BTreeSet<String>> = BTreeMap::new();
    let mut values = 0usize;
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if value.contains('\0') {
            return Err(ApiError::validation(name.into_owned(), "must not contain NUL characters"));
        }
        match name.as_ref() {
            "from" | "to" | "granularity" | "group_by" | "metric" | "top" => {
                if fixed.insert(name.clone().into_owned(), value.into_owned()).is_some() {
                    return Err(bad(format!("`{name}` is given more than once")));
                }
            }
            other => {
                let dimension = Dimension::parse(other).ok_or_else(|| {
                    bad(format!("unknown parameter `{other}`: filters are one of {DIMENSIONS}"))
                })?;
                values += 1;
                if values > MAX_FILTER_VALUES {
                    return Err(bad(format!("at most {MAX_FILTER_VALUES} filter values per query")));
                }
                let value = dimension.normalise(&value);
                filters.entry(dimension).or_default().insert(value);
            }
        }
    }
    let get = |name: &str| fixed.get(name).map(String::as_str);
    let to = match get("to") {
        Some(v) => parse_date("to", v)?,
        None => chrono::Utc::now().date_naive(),
    };
    let from = match get("from") {
        Some(v) => parse_date("from", v)?,
        None => {
            to.checked_sub_days(Days::new(29)).ok_or_else(|| ApiError::validation("to", "out of range"))?
        }
    };
    if from > to {
        return Err(ApiError::validation("from", "must not be after to"));
    }
    let days = (to - from).num_days() + 1;
    if days > MAX_WINDOW_DAYS as i64 {
        return Err(bad(format!(
            "the window from {from} to {to} is {days} days; at most {MAX_WINDOW_DAYS} days (13 months) are kept"
        )));
    }
    let granularity = match get("granularity").unwrap_or("day") {
        "day" => Granularity::Day,
        "month" => Granularity::Month,
        _ => return Err(ApiError::validation("granularity", "must be `day` or `month`")),
    };
    let metric = match get("metric").unwrap_or("actual") {
        "actual" => Metric::Actual,
        "amortized" => Metric::Amortized,
        _ => return Err(ApiError::validation("metric", "must be `actual` or `amortized`")),
    };
    let group = get("group_by").unwrap_or("service");
    let group_by = Dimension::parse(group)
        .ok_or_else(|| bad(format!("unknown dimension `{group}` in `group_by`: one of {DIMENSIONS}")))?;
    let top = match get("top") {
        None => 10,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_TOP).contains(n))
            .ok_or_else(|| ApiError::validation("top", format!("must be between 1 and {MAX_TOP}")))?,
    };
    let filters = filters.into_iter().map(|(d, v)| (d, v.into_iter().collect())).collect();
    Ok(Explore { query: ExploreQuery { from, to, granularity, group_by, metric, filters }, top })
}

async fn explore_answer(
    tenant: &Tenant,
    explore: &Explore,
) -> Result<CostExplorer, crate::store::StoreError> {
    let cells = tenant.store.explore_costs(&tenant.scope, &explore.query).await?;
    Ok(shape_explorer(&explore.query, explore.top, cells).round_money())
}

/// `GET /costs/explore`: costs by period and group with top-N and "other", one total per
/// currency, read from the rollups. Cached like the summary.
#[utoipa::path(
    get,
    path = "/api/v1/costs/explore",
    tag = "data",
    params(ExploreParams),
    responses(
        (status = 200, description = "Series per group and currency, group totals, one grand total per currency", body = crate::store::CostExplorer),
        crate::api::openapi::Errors
    )
)]
pub async fn explore(
    State(state): State<AppState>,
    tenant: Tenant,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let explore = parse_explore(raw.as_deref())?;
    // The parsed, normalised question (filters sorted and deduplicated): every spelling of one
    // question shares an entry.
    let key = format!("explore|{}|{:?}|{}", tenant.scope.tenant_id(), explore.query, explore.top);
    cached_json(&state, key, || async move { explore_answer(&tenant, &explore).await }).await
}

/// `GET /costs/explore/export.csv`: the explorer view as CSV, one row per group, currency and
/// period (`period,group,label,currency,amount`), under the same bounds as the other exports.
#[utoipa::path(
    get,
    path = "/api/v1/costs/explore/export.csv",
    tag = "data",
    params(ExploreParams),
    responses(crate::api::openapi::Errors, crate::api::openapi::ExportResponses)
)]
pub async fn export_explore(
    State(state): State<AppState>,
    tenant: Tenant,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let explore = parse_explore(raw.as_deref())?;
    let answer = explore_answer(&tenant, &explore).await?;
    let mut lines: Vec<Vec<String>> = Vec::new();
    for group in &answer.groups {
        for (period, amount) in answer.periods.iter().zip(&group.series) {
            lines.push(vec![
                period.to_string(),
                group.key.clone().unwrap_or_default(),
                group.label.clone(),
                group.currency.clone(),
                round_to_minor_unit(*amount, &group.currency).to_string(),
            ]);
        }
    }
    let lines = Arc::new(lines);
    let total = lines.len() as u64;
    csv_stream::export(
        &state,
        tenant.scope.tenant_id(),
        csv_stream::CsvSpec {
            filename: "cost-explorer.csv",
            header: &["period", "group", "label", "currency", "amount"],
            row: |line: &(usize, Vec<String>)| line.1.clone(),
        },
        |_| async move { Ok(total) },
        move |after: Option<usize>, limit| {
            let lines = Arc::clone(&lines);
            async move {
                let start = after.map_or(0, |i| i + 1);
                Ok(lines
                    .iter()
                    .enumerate()
                    .skip(start)
                    .take(limit as usize)
                    .map(|(i, l)| (i, l.clone()))
                    .collect())
            }
        },
        |line: &(usize, Vec<String>)| line.0,
    )
    .await
}
