//! The cost explorer's answer: per currency, the largest groups with their series and an
//! "other" bucket for the rest, group totals and one grand total per currency.

use std::collections::BTreeMap;

use chrono::{Datelike as _, Months, NaiveDate};
use serde::Serialize;

use super::cost_explore::{Dimension, ExploreCell, ExploreQuery, Granularity, Metric};

/// One currency's grand total.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CurrencyTotal {
    /// Billing currency.
    pub currency: String,
    /// Sum of every group of this currency.
    pub amount: f64,
}

/// One group's series in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExploreGroup {
    /// The dimension's value ('' for none); `null` for the "other" bucket.
    pub key: Option<String>,
    /// What to show: the value, `(untagged)`, `(none)` or `(other)`.
    pub label: String,
    /// Whether this is the bucket of the groups beyond `top`.
    pub other: bool,
    /// Billing currency of every amount of the group.
    pub currency: String,
    /// Sum over the window.
    pub total: f64,
    /// One amount per entry of `periods`.
    pub series: Vec<f64>,
}

/// The explorer's answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CostExplorer {
    /// First day of the window.
    pub from: NaiveDate,
    /// Last day of the window (inclusive).
    pub to: NaiveDate,
    /// `day` or `month`.
    #[schema(value_type = String)]
    pub granularity: Granularity,
    /// The grouping dimension.
    pub group_by: String,
    /// `actual` or `amortized`.
    #[schema(value_type = String)]
    pub metric: Metric,
    /// Groups kept per currency before the rest becomes "other".
    pub top: usize,
    /// First day of each period (a month's first period starts at `from`).
    pub periods: Vec<NaiveDate>,
    /// One grand total per currency (amounts of different currencies are never added).
    pub totals: Vec<CurrencyTotal>,
    /// Per currency (alphabetical): groups by descending total, then "other".
    pub groups: Vec<ExploreGroup>,
}

/// The periods of the window, by their first day as the store labels them.
pub fn periods(from: NaiveDate, to: NaiveDate, granularity: Granularity) -> Vec<NaiveDate> {
    match granularity {
        Granularity::Day => from.iter_days().take_while(|d| *d <= to).collect(),
        Granularity::Month => {
            let mut out = Vec::new();
            let mut month = from.with_day(1).unwrap_or(from);
            while month <= to {
                out.push(month);
                match month.checked_add_months(Months::new(1)) {
                    Some(next) => month = next,
                    None => break,
                }
            }
            out
        }
    }
}

fn label(dimension: &Dimension, key: &str) -> String {
    match (dimension, key) {
        (Dimension::Tag(_), "") => "(untagged)".into(),
        (_, "") => "(none)".into(),
        _ => key.to_owned(),
    }
}

/// Shapes the store's cells into the answer, keeping the `top` largest groups of each
/// currency (ties by key) and summing the rest into one "other" group.
pub fn shape_explorer(query: &ExploreQuery, top: usize, cells: Vec<ExploreCell>) -> CostExplorer {
    let periods = periods(query.from, query.to, query.granularity);
    let index: BTreeMap<NaiveDate, usize> = periods.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    // currency -> key -> series
    let mut series: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for cell in cells {
        let Some(&at) = index.get(&cell.period) else { continue };
        let row = series
            .entry(cell.currency)
            .or_default()
            .entry(cell.key)
            .or_insert_with(|| vec![0.0; periods.len()]);
        row[at] += cell.amount;
    }
    let mut totals = Vec::new();
    let mut groups = Vec::new();
    for (currency, by_key) in series {
        let mut ranked: Vec<(String, f64, Vec<f64>)> =
            by_key.into_iter().map(|(key, s)| (key, s.iter().sum(), s)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        totals.push(CurrencyTotal { currency: currency.clone(), amount: ranked.iter().map(|r| r.1).sum() });
        let rest = ranked.split_off(top.min(ranked.len()));
        for (key, total, series) in ranked {
            let label = label(&query.group_by, &key);
            groups.push(ExploreGroup {
                key: Some(key),
                label,
                other: false,
                currency: currency.clone(),
                total,
                series,
            });
        }
        if !rest.is_empty() {
            let mut sum = vec![0.0; periods.len()];
            for (_, _, s) in &rest {
                for (acc, v) in sum.iter_mut().zip(s) {
                    *acc += v;
                }
            }
            groups.push(ExploreGroup {
                key: None,
                label: "(other)".into(),
                other: true,
                currency,
                total: rest.iter().map(|r| r.1).sum(),
                series: sum,
            });
        }
    }
    CostExplorer {
        from: query.from,
        to: query.to,
        granularity: query.granularity,
        group_by: query.group_by.name(),
        metric: query.metric,
        top,
        periods,
        totals,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn the_rest_beyond_top_is_one_other_group_per_currency() {
        let query = ExploreQuery {
            from: day(1),
            to: day(2),
            granularity: Granularity::Day,
            group_by: Dimension::Tag("cost-center".into()),
            metric: Metric::Actual,
            filters: vec![],
        };
        let cell = |d, key: &str, currency: &str, amount| ExploreCell {
            period: day(d),
            key: key.into(),
            currency: currency.into(),
            amount,
        };
        let cells = vec![
            cell(1, "a", "EUR", 5.0),
            cell(2, "a", "EUR", 5.0),
            cell(1, "b", "EUR", 3.0),
            cell(2, "", "EUR", 1.0),
            cell(1, "a", "USD", 7.0),
        ];
        let out = shape_explorer(&query, 1, cells);
        assert_eq!(out.periods, [day(1), day(2)]);
        assert_eq!(
            out.totals.iter().map(|t| (t.currency.as_str(), t.amount)).collect::<Vec<_>>(),
            [("EUR", 14.0), ("USD", 7.0)]
        );
        assert_eq!(out.groups.len(), 3);
        assert_eq!(out.groups[0].series, [5.0, 5.0]);
        assert!(out.groups[1].other && out.groups[1].key.is_none());
        assert_eq!(out.groups[1].series, [3.0, 1.0]);
        assert_eq!(out.groups[2].currency, "USD");
        assert_eq!(label(&query.group_by, ""), "(untagged)");
    }

    #[test]
    fn month_periods_start_on_the_first() {
        let from = NaiveDate::from_ymd_opt(2025, 11, 15).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 1, 3).unwrap();
        let months = periods(from, to, Granularity::Month);
        assert_eq!(months.len(), 3);
        assert_eq!(months[0], NaiveDate::from_ymd_opt(2025, 11, 1).unwrap());
    }
}
