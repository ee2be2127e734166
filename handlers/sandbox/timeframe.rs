//! Cost Management's `TimeframeType` values and the dates each one covers.
//!
//! Every value of `TimeframeType` in the Query API (azure-rest-api-specs, cost-management
//! 2025-03-01; the Python SDK's `TimeframeType` enum) is served: `MonthToDate`,
//! `BillingMonthToDate`, `TheLastMonth`, `TheLastBillingMonth`, `WeekToDate`, `TheCurrentMonth`
//! and `Custom`. The estate's billing months are calendar months (MOSP/MCA subscriptions), so the
//! billing variants cover the same days as the calendar ones. Periods run to "today" (the
//! estate's as-of date) or the period's end; cost data exists only up to yesterday, so the
//! caller clips. Values outside the enum (e.g. `TheLast7Days`, a report-only value) are refused.
//!
//! `../shared/research/azure-api-pitfalls.md` records `TheLastMonth` being refused by the
//! service in 2024 (Azure/azure-rest-api-specs#27650); the spec's own examples send it and the
//! enum lists it, so the sandbox serves it like `TheLastBillingMonth`.

use chrono::{Datelike, Days, NaiveDate};
use serde_json::Value;

/// Why a timeframe cannot be served (the text of Cost Management's 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeframeError(pub String);

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn last_of_month(day: NaiveDate) -> NaiveDate {
    let first = first_of_month(day);
    first.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(day)
}

fn parse_day(v: Option<&Value>) -> Option<NaiveDate> {
    let s = v?.as_str()?;
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// The inclusive days `[from, to]` a query's `timeframe` (and `timePeriod` for `Custom`) covers
/// when "today" is `today`.
///
/// # Errors
/// An unknown timeframe, or `Custom` without a valid `timePeriod`.
pub fn period(
    timeframe: &str,
    time_period: Option<&Value>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), TimeframeError> {
    let previous_month = first_of_month(today).pred_opt().unwrap_or(today);
    match timeframe {
        "Custom" => match (
            parse_day(time_period.and_then(|p| p.get("from"))),
            parse_day(time_period.and_then(|p| p.get("to"))),
        ) {
            (Some(f), Some(t)) if f <= t => Ok((f, t)),
            _ => Err(TimeframeError("timePeriod with from <= to is required for a Custom timeframe".into())),
        },
        "MonthToDate" | "BillingMonthToDate" => Ok((first_of_month(today), today)),
        "TheCurrentMonth" => Ok((first_of_month(today), last_of_month(today))),
        "TheLastMonth" | "TheLastBillingMonth" => Ok((first_of_month(previous_month), previous_month)),
        "WeekToDate" => {
            let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
            Ok((monday, today))
        }
        other => Err(TimeframeError(format!("timeframe {other} is currently not supported"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn every_documented_timeframe_has_azures_dates() {
        let today = d(2026, 3, 4); // a Wednesday
        assert_eq!(period("MonthToDate", None, today), Ok((d(2026, 3, 1), today)));
        assert_eq!(period("BillingMonthToDate", None, today), Ok((d(2026, 3, 1), today)));
        assert_eq!(period("TheCurrentMonth", None, today), Ok((d(2026, 3, 1), d(2026, 3, 31))));
        assert_eq!(period("TheLastMonth", None, today), Ok((d(2026, 2, 1), d(2026, 2, 28))));
        assert_eq!(period("TheLastBillingMonth", None, today), Ok((d(2026, 2, 1), d(2026, 2, 28))));
        assert_eq!(period("WeekToDate", None, today), Ok((d(2026, 3, 2), today)));
        let custom = json!({"from": "2026-01-05T00:00:00Z", "to": "2026-01-09T23:59:59Z"});
        assert_eq!(period("Custom", Some(&custom), today), Ok((d(2026, 1, 5), d(2026, 1, 9))));
        assert!(period("Custom", None, today).is_err());
        assert!(period("TheLast7Days", None, today).is_err());
    }

    #[test]
    fn month_edges() {
        // On the first of a month, "to date" is that one day and the last month is the previous one.
        let first = d(2026, 1, 1);
        assert_eq!(period("MonthToDate", None, first), Ok((first, first)));
        assert_eq!(period("TheLastMonth", None, first), Ok((d(2025, 12, 1), d(2025, 12, 31))));
        assert_eq!(period("TheCurrentMonth", None, d(2024, 2, 10)), Ok((d(2024, 2, 1), d(2024, 2, 29))));
        assert_eq!(period("WeekToDate", None, d(2026, 3, 2)), Ok((d(2026, 3, 2), d(2026, 3, 2))));
    }
}
