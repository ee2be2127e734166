//! Realised savings: did the bill go down after a recommendation was executed?
//!
//! Pure like the rest of `analytics/`: the store hands over one resource's daily cost around
//! the execution day and the span its subscription has cost data for; [`assess`] compares the
//! 30 days before execution with the 30 days after and returns plain data.
//!
//! - The execution day itself is in neither window (it is part before, part after).
//! - A window only counts days the subscription has cost data for: days before the first
//!   ingested day, after the last one (ingestion lag) or from `as_of` on are not known yet, so
//!   they are neither zero cost nor a saving.
//! - Only rows in the recommendation's currency are compared; rows in another currency are
//!   counted and left out, never converted or added.
//! - Rate findings (reservations, savings plans) compare the covered usage's amortized cost:
//!   once a commitment covers it, the usage's actual cost drops to zero while the commitment is
//!   paid elsewhere, and amortized cost spreads that payment back onto the usage.

use chrono::{Days, NaiveDate};
use serde::Serialize;

/// Days in each window, before and after execution.
pub const WINDOW_DAYS: u32 = 30;

/// Days after execution with cost data before a verdict is given (the setting's default).
pub const DEFAULT_MIN_DAYS_AFTER: u32 = 30;

/// Share of the identified monthly savings the realised savings must reach to count as realised.
pub const REALISED_SHARE: f64 = 0.5;

/// Days in the "month" the savings are expressed per (the same 30 days the rules price with).
const MONTH_DAYS: f64 = 30.0;

/// One day of the resource's cost in one currency (all its meters summed).
#[derive(Debug, Clone, PartialEq)]
pub struct DayCost {
    /// The usage day.
    pub date: NaiveDate,
    /// ISO 4217 currency.
    pub currency: String,
    /// Actual (billed) cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
}

/// What is being verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// The day the recommendation was executed (UTC).
    pub executed_on: NaiveDate,
    /// The recommendation's estimated monthly savings.
    pub identified_monthly: f64,
    /// The recommendation's currency.
    pub currency: String,
    /// A rate finding: compare the covered usage's amortized cost.
    pub covered_usage: bool,
}

/// The days known to the store: the first and last day the subscription has cost data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSpan {
    /// First day with cost data.
    pub from: NaiveDate,
    /// Last day with cost data.
    pub through: NaiveDate,
}

/// How the verification is tuned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Days in each window.
    pub window_days: u32,
    /// Days after execution with data before a verdict other than `pending`.
    pub min_days_after: u32,
    /// Share of the identified savings that must be realised.
    pub realised_share: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            window_days: WINDOW_DAYS,
            min_days_after: DEFAULT_MIN_DAYS_AFTER,
            realised_share: REALISED_SHARE,
        }
    }
}

/// What the realised figure is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The resource's actual cost before and after.
    ResourceCostBeforeAfter,
    /// The resource has no cost rows after execution: its whole run rate is saved.
    ResourceGone,
    /// A rate finding: the covered usage's amortized cost before and after.
    CoveredUsage,
    /// The resource's cost rows are all in another currency than the recommendation's.
    CurrencyMismatch,
}

/// Whether the savings materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fewer days after execution than required; the figure (if any) is a partial estimate.
    Pending,
    /// The cost fell by at least the required share of the identified savings.
    Realised,
    /// The cost did not fall enough.
    NotRealised,
    /// No cost before execution to compare with.
    NoData,
}

/// How far the figure can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Score below 0.4.
    Low,
    /// Score from 0.4.
    Medium,
    /// Score from 0.75.
    High,
}

macro_rules! text {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The value as stored and sent over the API.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// The value of a stored text, if it is one.
            pub fn parse(text: &str) -> Option<Self> {
                [$(Self::$variant),+].into_iter().find(|v| v.as_str() == text)
            }
        }
    };
}

text!(Basis {
    ResourceCostBeforeAfter => "resource_cost_before_after",
    ResourceGone => "resource_gone",
    CoveredUsage => "covered_usage",
    CurrencyMismatch => "currency_mismatch",
});
text!(Verdict { Pending => "pending", Realised => "realised", NotRealised => "not_realised", NoData => "no_data" });
text!(Confidence { Low => "low", Medium => "medium", High => "high" });

impl Confidence {
    /// The level of a score in `0..=1`.
    pub fn of(score: f64) -> Self {
        if score >= 0.75 {
            Self::High
        } else if score >= 0.4 {
            Self::Medium
        } else {
            Self::Low
        }
    }
}

/// The outcome for one recommendation.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// What was measured.
    pub basis: Basis,
    /// The verdict.
    pub verdict: Verdict,
    /// Realised savings per 30 days, full precision (rounded where shown); `None` when there is
    /// nothing to compare.
    pub realised_monthly: Option<f64>,
    /// Confidence level.
    pub confidence: Confidence,
    /// Confidence score `0..=1`: the covered share of the shorter window, times the share of
    /// baseline days the resource was billed, times `1 / (1 + cv)` of its baseline daily cost.
    pub confidence_score: f64,
    /// Cost in the before window.
    pub before_amount: f64,
    /// Days of the before window with cost data.
    pub before_days: u32,
    /// Of those, days the resource was billed.
    pub before_cost_days: u32,
    /// Cost in the after window.
    pub after_amount: f64,
    /// Days of the after window with cost data.
    pub after_days: u32,
    /// Of those, days the resource was billed.
    pub after_cost_days: u32,
    /// Rows left out because they are in another currency.
    pub other_currency_rows: u32,
}

/// The window of days the store should read for `executed_on`: `[D - window, D + window]`.
pub fn read_window(executed_on: NaiveDate, params: &Params) -> (NaiveDate, NaiveDate) {
    let days = Days::new(u64::from(params.window_days));
    (
        executed_on.checked_sub_days(days).unwrap_or(executed_on),
        executed_on.checked_add_days(days).unwrap_or(executed_on),
    )
}

/// Days in `[from, to]` (zero when empty).
fn span_days(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days() + 1).unwrap_or(0)
}

/// Sums of one window: amount, days billed and each billed day's amount.
#[derive(Default)]
struct Window {
    amount: f64,
    daily: Vec<f64>,
}

/// Compares the cost before and after `subject.executed_on` as of `as_of` (days from `as_of`
/// on are still accruing and are not read). `span` is `None` when the subscription has no cost
/// data at all.
pub fn assess(
    subject: &Subject,
    days: &[DayCost],
    span: Option<DataSpan>,
    as_of: NaiveDate,
    params: &Params,
) -> Assessment {
    let d = subject.executed_on;
    let (read_from, read_to) = read_window(d, params);
    let (before_days, before_range, after_days, after_range) = match span {
        Some(span) => {
            let before = (read_from.max(span.from), d.pred_opt().unwrap_or(d));
            let yesterday = as_of.pred_opt().unwrap_or(as_of);
            let after = (d.succ_opt().unwrap_or(d), read_to.min(span.through).min(yesterday));
            let before_days = if before.1 < d { span_days(before.0, before.1) } else { 0 };
            let after_days = if after.0 > d { span_days(after.0, after.1) } else { 0 };
            (before_days, Some(before), after_days, Some(after))
        }
        None => (0, None, 0, None),
    };
    let within = |range: Option<(NaiveDate, NaiveDate)>, date: NaiveDate| {
        range.is_some_and(|(from, to)| date >= from && date <= to)
    };
    let mut before = Window::default();
    let mut after = Window::default();
    let mut other_currency_rows = 0u32;
    let mut own_currency_rows = 0u32;
    let mut sorted: Vec<&DayCost> = days.iter().collect();
    sorted.sort_by_key(|day| day.date);
    let mut last: Option<(NaiveDate, bool)> = None;
    for day in sorted {
        if !day.currency.trim().eq_ignore_ascii_case(subject.currency.trim()) {
            other_currency_rows += 1;
            continue;
        }
        own_currency_rows += 1;
        let amount = if subject.covered_usage { day.amortized_cost } else { day.cost };
        let is_before = within(before_range, day.date) && day.date < d;
        let is_after = within(after_range, day.date) && day.date > d;
        let window = match (is_before, is_after) {
            (true, _) => &mut before,
            (_, true) => &mut after,
            _ => continue,
        };
        window.amount += amount;
        // Rows of one day (should the store send several) add up to that day's cost.
        match (last, window.daily.last_mut()) {
            (Some((date, was_before)), Some(total)) if date == day.date && was_before == is_before => {
                *total += amount;
            }
            _ => window.daily.push(amount),
        }
        last = Some((day.date, is_before));
    }
    let count = |w: &Window| u32::try_from(w.daily.len()).unwrap_or(u32::MAX);
    let (before_cost_days, after_cost_days) = (count(&before), count(&after));
    let base = Assessment {
        basis: if subject.covered_usage { Basis::CoveredUsage } else { Basis::ResourceCostBeforeAfter },
        verdict: Verdict::NoData,
        realised_monthly: None,
        confidence: Confidence::Low,
        confidence_score: 0.0,
        before_amount: before.amount,
        before_days,
        before_cost_days,
        after_amount: after.amount,
        after_days,
        after_cost_days,
        other_currency_rows,
    };
    if before_cost_days == 0 || before_days == 0 {
        let basis = if own_currency_rows == 0 && other_currency_rows > 0 {
            Basis::CurrencyMismatch
        } else {
            base.basis
        };
        return Assessment { basis, ..base };
    }
    let gone = !subject.covered_usage && after_days > 0 && after_cost_days == 0;
    let basis = if gone { Basis::ResourceGone } else { base.basis };
    // A resource that is gone saves its whole run rate: the baseline is its cost per day it was
    // billed. Otherwise the baseline is the cost per known day, unbilled days counting as zero.
    let baseline_days = if gone { before_cost_days } else { before_days };
    let baseline_daily = before.amount / f64::from(baseline_days);
    let realised_monthly =
        (after_days > 0).then(|| (baseline_daily - after.amount / f64::from(after_days)) * MONTH_DAYS);
    let window = f64::from(params.window_days.max(1));
    let coverage = (f64::from(before_days.min(after_days)) / window).min(1.0);
    let continuity = if gone { 1.0 } else { f64::from(before_cost_days) / f64::from(before_days) };
    let stability = 1.0 / (1.0 + variation(&before.daily));
    let confidence_score = ((coverage * continuity.min(1.0) * stability) * 100.0).round() / 100.0;
    let verdict = match realised_monthly {
        _ if after_days < params.min_days_after => Verdict::Pending,
        Some(realised)
            if realised > 0.0 && realised >= params.realised_share * subject.identified_monthly =>
        {
            Verdict::Realised
        }
        _ => Verdict::NotRealised,
    };
    Assessment {
        basis,
        verdict,
        realised_monthly,
        confidence: Confidence::of(confidence_score),
        confidence_score,
        ..base
    }
}

/// Coefficient of variation (population standard deviation over the mean) of `values`; zero
/// for fewer than two values or a zero mean.
fn variation(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean.abs() < f64::EPSILON {
        return 0.0;
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    variance.sqrt() / mean.abs()
}

#[cfg(test)]
#[path = "realised_tests.rs"]
mod tests;
