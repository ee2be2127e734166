//! Realised savings: the monthly roll-up (`GET /savings/realised`), the `?realised=` filter of
//! the recommendation list, and the rounding of realised figures at the edge.

use axum::Json;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike as _, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::analytics::realised::Verdict;
use crate::api::ApiError;
use crate::api::extract::{ApiQuery, Tenant};
use crate::api::money::RoundMoney;
use crate::money::round_to_minor_unit;
use crate::store::{MAX_ROLLUP_MONTHS, RealisedMonth, RealisedSavings, Store, StoreError, TenantScope};

/// Months the summary's `realised_by_month` covers, the current one included.
pub const SUMMARY_MONTHS: u32 = 12;

/// A realised-savings verdict as a query parameter (`?realised=not_realised`).
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RealisedParam {
    /// Too few days after execution yet.
    Pending,
    /// The savings materialised.
    Realised,
    /// The savings did not materialise.
    NotRealised,
    /// No cost data to compare.
    NoData,
}

impl From<RealisedParam> for Verdict {
    fn from(value: RealisedParam) -> Self {
        match value {
            RealisedParam::Pending => Self::Pending,
            RealisedParam::Realised => Self::Realised,
            RealisedParam::NotRealised => Self::NotRealised,
            RealisedParam::NoData => Self::NoData,
        }
    }
}

impl RoundMoney for RealisedSavings {
    fn round_money(mut self) -> Self {
        let currency = self.currency.clone();
        let round = |amount: f64| round_to_minor_unit(amount, &currency);
        self.identified_monthly_savings = round(self.identified_monthly_savings);
        self.realised_monthly_savings = self.realised_monthly_savings.map(round);
        self.before_amount = round(self.before_amount);
        self.after_amount = round(self.after_amount);
        self
    }
}

impl RoundMoney for RealisedMonth {
    fn round_money(mut self) -> Self {
        let currency = self.currency.clone();
        let round = |amount: f64| round_to_minor_unit(amount, &currency);
        self.identified_monthly_savings = round(self.identified_monthly_savings);
        self.realised_monthly_savings = round(self.realised_monthly_savings);
        self.verified_identified_monthly_savings = round(self.verified_identified_monthly_savings);
        self
    }
}

/// The realised-savings cells of a recommendation's CSV row (empty until verified): the
/// figure rounded to its currency, the basis, the confidence level and the verdict.
pub(crate) fn csv_cells(realised: Option<&RealisedSavings>) -> [String; 4] {
    match realised {
        Some(r) => [
            r.realised_monthly_savings
                .map(|v| round_to_minor_unit(v, &r.currency).to_string())
                .unwrap_or_default(),
            r.basis.as_str().to_owned(),
            r.confidence.as_str().to_owned(),
            r.verdict.as_str().to_owned(),
        ],
        None => Default::default(),
    }
}

/// Filters of `GET /savings/realised`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RollupQuery {
    /// First month (`YYYY-MM`, month of execution); default 11 months before `to`.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    from: Option<String>,
    /// Last month (`YYYY-MM`); default the current month (UTC).
    #[param(pattern = r"^\d{4}-\d{2}$")]
    to: Option<String>,
}

/// `GET /savings/realised`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RealisedRollup {
    /// First month covered (`YYYY-MM`).
    pub from: String,
    /// Last month covered (`YYYY-MM`).
    pub to: String,
    /// One row per month of execution and currency with executed recommendations, by month
    /// then currency (currencies are never added).
    pub months: Vec<RealisedMonth>,
}

/// The first day of a `YYYY-MM` month.
fn parse_month(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    let bad = || ApiError::validation(field, "must be a month YYYY-MM");
    let (year, month) = text.split_once('-').ok_or_else(bad)?;
    if year.len() != 4 || month.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(bad());
    }
    let (year, month): (i32, u32) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?);
    if !(1900..=2200).contains(&year) {
        return Err(ApiError::validation(field, "must be between the years 1900 and 2200"));
    }
    NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)
}

fn month_text(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// The `months` months ending with the current one (UTC), first days.
fn recent_months(months: u32) -> (NaiveDate, NaiveDate) {
    let today = Utc::now().date_naive();
    let to = today.with_day(1).unwrap_or(today);
    (to.checked_sub_months(Months::new(months - 1)).unwrap_or(to), to)
}

/// The roll-up of the last [`SUMMARY_MONTHS`] months, rounded, for the recommendation summary.
///
/// # Errors
/// Database errors.
pub(crate) async fn summary_months(
    store: &Store,
    scope: &TenantScope,
) -> Result<Vec<RealisedMonth>, StoreError> {
    let (from, to) = recent_months(SUMMARY_MONTHS);
    Ok(store.realised_rollup(scope, from, to).await?.into_iter().map(RoundMoney::round_money).collect())
}

/// `GET /savings/realised`: per month of execution and currency, the savings identified by the
/// recommendations executed that month and what they realised.
#[utoipa::path(
    get,
    path = "/api/v1/savings/realised",
    tag = "recommendations",
    params(RollupQuery),
    responses(
        (status = 200, description = "Identified and realised savings per month of execution and currency", body = RealisedRollup),
        crate::api::openapi::Errors
    )
)]
pub async fn realised(tenant: Tenant, ApiQuery(query): ApiQuery<RollupQuery>) -> Result<Response, ApiError> {
    let to = match &query.to {
        Some(text) => parse_month("to", text)?,
        None => recent_months(1).1,
    };
    let from = match &query.from {
        Some(text) => parse_month("from", text)?,
        None => to.checked_sub_months(Months::new(SUMMARY_MONTHS - 1)).unwrap_or(to),
    };
    if from > to {
        return Err(ApiError::validation("from", "must not be after to"));
    }
    let span = (to.year() - from.year()) * 12 + i32::try_from(to.month0()).unwrap_or(0)
        - i32::try_from(from.month0()).unwrap_or(0)
        + 1;
    if span > i32::try_from(MAX_ROLLUP_MONTHS).unwrap_or(i32::MAX) {
        return Err(ApiError::validation(
            "to",
            format!("the span must be at most {MAX_ROLLUP_MONTHS} months"),
        ));
    }
    let months = tenant.store.realised_rollup(&tenant.scope, from, to).await?;
    Ok(Json(RealisedRollup {
        from: month_text(from),
        to: month_text(to),
        months: months.into_iter().map(RoundMoney::round_money).collect(),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        assert_eq!(parse_month("from", "2026-02").unwrap(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        for bad in ["2026-2", "2026-13", "26-02", "2026-02-01", "2026/02", "+026-02", "abcd-ef", "1800-01"] {
            assert!(parse_month("from", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn realised_figures_round_in_their_currency() {
        let row = RealisedMonth {
            month: "2026-11".into(),
            currency: "JPY".into(),
            executed: 1,
            identified_monthly_savings: 100.4,
            realised_monthly_savings: 99.6,
            verified_identified_monthly_savings: 100.4,
            realised_count: 1,
            not_realised_count: 0,
            pending_count: 0,
            no_data_count: 0,
            unverified_count: 0,
        }
        .round_money();
        assert_eq!((row.identified_monthly_savings, row.realised_monthly_savings), (100.0, 100.0));
    }
}
