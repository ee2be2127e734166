//! Daily cost anomalies: a robust seasonal baseline with a MAD band.
//!
//! For day `t` the expected amount is the median of the same weekday over the previous
//! [`DetectParams::weeks`] weeks (weekly seasonality), scaled by the series' current level (the
//! median ratio of the last seven days to their own seasonal baselines, so a gentle trend is
//! followed). The band is [`DetectParams::threshold`] robust standard deviations
//! (1.4826 × the median absolute relative residual of the last [`DetectParams::noise_days`])
//! but never narrower than [`DetectParams::min_relative`]; a day outside the band and at least
//! [`DetectParams::min_absolute`] away from the baseline is anomalous.
//!
//! - If the next [`DetectParams::confirm_days`] days stay outside half the band on the same
//!   side, the day starts a **level shift**: the history before it is rescaled to the new level, so the
//!   following days are judged against the new normal and are not reported again.
//! - Otherwise it is a **spike**, and the baseline uses the expected amount in its place.
//! - A service's first cost after at least [`DetectParams::new_service_after_days`] days of known
//!   history of its subscription is a **new service**.
//! - An excess that the same day of the previous month also had over its week (a monthly
//!   charge such as a support plan) is not a spike.

use chrono::{Datelike as _, Months, NaiveDate};
use serde::Serialize;

use super::series::{SERVICE_DIMENSION, Series};
use super::stats::median;

/// Below this an expected amount counts as zero.
const EPSILON: f64 = 1e-9;
/// The share of the band the days after a level shift's first day must stay out of: three days
/// in a row on the same side are evidence enough without each being a full outlier.
const CONFIRM_BAND: f64 = 0.5;
/// Scales a median absolute deviation to a standard deviation under normal noise.
const MAD_TO_SIGMA: f64 = 1.4826;

/// What kind of anomaly a day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// One day out of line, back to normal after.
    Spike,
    /// A sustained change of level starting that day.
    LevelShift,
    /// The first cost of a service not billed before.
    NewService,
}

impl AnomalyKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spike => "spike",
            Self::LevelShift => "level_shift",
            Self::NewService => "new_service",
        }
    }
}

/// How far out of line a day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Under 50 % off the expected amount.
    Low,
    /// 50–100 % off, and every new service.
    Medium,
    /// At least double (or nothing) compared with the expected amount.
    High,
}

impl Severity {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// The detector's knobs; [`DetectParams::default`] is what ingestion uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectParams {
    /// Same-weekday values the seasonal baseline takes the median of.
    pub weeks: usize,
    /// Days of a series' own history before its days are judged.
    pub min_history_days: usize,
    /// Days of its subscription's known history before a service's first cost counts as new.
    pub new_service_after_days: usize,
    /// Band half-width in robust standard deviations.
    pub threshold: f64,
    /// Narrowest band, as a share of the expected amount.
    pub min_relative: f64,
    /// Smallest deviation reported, in the series' currency per day.
    pub min_absolute: f64,
    /// Following days that must stay out of line for a level shift.
    pub confirm_days: usize,
    /// Days of residuals the noise estimate looks back over.
    pub noise_days: usize,
}

impl Default for DetectParams {
    fn default() -> Self {
        Self {
            weeks: 4,
            min_history_days: 21,
            new_service_after_days: 35,
            threshold: 5.0,
            min_relative: 0.25,
            min_absolute: 2.0,
            confirm_days: 3,
            noise_days: 28,
        }
    }
}

/// One anomalous day of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The day.
    pub day: NaiveDate,
    /// The baseline amount.
    pub expected: f64,
    /// The amount billed.
    pub actual: f64,
    /// `actual - expected`.
    pub deviation: f64,
    /// How far out of line.
    pub severity: Severity,
    /// Spike, level shift or new service.
    pub kind: AnomalyKind,
}

/// The anomalies of one series, oldest first.
pub fn detect(series: &Series, params: &DetectParams) -> Vec<Finding> {
    let x = &series.values;
    let n = x.len();
    let Some(mut first) = x.iter().position(|v| v.abs() > EPSILON) else { return Vec::new() };
    let mut out = Vec::new();
    if series.key.dimension == SERVICE_DIMENSION
        && first >= series.history_start + params.new_service_after_days
        && x[first] >= params.min_absolute
    {
        out.push(Finding {
            day: series.day(first),
            expected: 0.0,
            actual: x[first],
            deviation: x[first],
            severity: Severity::Medium,
            kind: AnomalyKind::NewService,
        });
    }
    // The history the baseline reads: spikes replaced by their expected amount, and the days
    // before a level shift rescaled to the new level.
    let mut adj = x.clone();
    let mut expected: Vec<Option<f64>> = vec![None; n];
    let mut t = first + params.min_history_days;
    while t < n {
        let Some(e) = baseline(&adj, first, t, params) else {
            t += 1;
            continue;
        };
        expected[t] = Some(e);
        let band = (params.threshold * noise(&adj, &expected, first, t, params)).max(params.min_relative);
        let v = x[t];
        if !out_of_band(v, e, band, params) || (v > e && recurs_monthly(series, first, t, e)) {
            t += 1;
            continue;
        }
        let level = level(&adj, first, t, params);
        let ahead: Vec<usize> = (t + 1..n.min(t + 1 + params.confirm_days)).collect();
        let shifted = ahead.len() >= params.confirm_days.min(2)
            && ahead.iter().all(|&d| {
                let ed = seasonal(&adj, first, d, params).map_or(e, |s| s * level);
                out_of_band(x[d], ed, band * CONFIRM_BAND, params) && (x[d] > ed) == (v > e)
            });
        let kind = if shifted {
            if e > EPSILON {
                let ratios: Vec<f64> = std::iter::once(t)
                    .chain(ahead.iter().copied())
                    .filter_map(|d| {
                        let ed = seasonal(&adj, first, d, params).map_or(e, |s| s * level);
                        (ed > EPSILON).then(|| x[d] / ed)
                    })
                    .collect();
                let r = median(&ratios).unwrap_or(v / e);
                for d in first..t {
                    adj[d] *= r;
                    expected[d] = expected[d].map(|ed| ed * r);
                }
            } else {
                // Nothing to rescale from: the series starts afresh.
                first = t;
            }
            AnomalyKind::LevelShift
        } else {
            adj[t] = e;
            AnomalyKind::Spike
        };
        let off = (v - e).abs() / e.max(params.min_absolute);
        let severity = if off >= 1.0 {
            Severity::High
        } else if off >= 0.5 {
            Severity::Medium
        } else {
            Severity::Low
        };
        out.push(Finding { day: series.day(t), expected: e, actual: v, deviation: v - e, severity, kind });
        t = if first == t { t + params.min_history_days } else { t + 1 };
    }
    out
}

/// The days of `series` whose verdict is settled: judged with a full baseline and noise window
/// behind them and the level-shift look-ahead after them, so more data (or a later window) does
/// not change it. An anomaly stored for such a day that detection no longer reports was
/// restated away and can be resolved. `None` when no day is settled yet.
pub fn settled_days(series: &Series, params: &DetectParams) -> Option<(NaiveDate, NaiveDate)> {
    let first = series.values.iter().position(|v| v.abs() > EPSILON)?;
    let from = first.max(series.history_start) + params.min_history_days + params.noise_days;
    let to = series.values.len().checked_sub(1 + params.confirm_days)?;
    (from <= to).then(|| (series.day(from), series.day(to)))
}

/// Median of the same weekday over the previous weeks (at least three of them, so one odd week cannot move it).
fn seasonal(adj: &[f64], first: usize, t: usize, p: &DetectParams) -> Option<f64> {
    let same: Vec<f64> =
        (1..=p.weeks).filter_map(|k| t.checked_sub(7 * k)).filter(|d| *d >= first).map(|d| adj[d]).collect();
    if same.len() < 3 { None } else { median(&same) }
}

/// The series' current level relative to its seasonal baseline (1 when unknown).
fn level(adj: &[f64], first: usize, t: usize, p: &DetectParams) -> f64 {
    let ratios: Vec<f64> = (t.saturating_sub(7).max(first)..t)
        .filter_map(|d| seasonal(adj, first, d, p).filter(|s| *s > EPSILON).map(|s| adj[d] / s))
        .collect();
    median(&ratios).unwrap_or(1.0)
}

fn baseline(adj: &[f64], first: usize, t: usize, p: &DetectParams) -> Option<f64> {
    seasonal(adj, first, t, p).map(|s| s * level(adj, first, t, p))
}

/// Robust relative standard deviation of the recent residuals (0 without any).
fn noise(adj: &[f64], expected: &[Option<f64>], first: usize, t: usize, p: &DetectParams) -> f64 {
    let residuals: Vec<f64> = (t.saturating_sub(p.noise_days).max(first)..t)
        .filter_map(|d| expected[d].filter(|e| *e > EPSILON).map(|e| (adj[d] / e - 1.0).abs()))
        .collect();
    median(&residuals).map_or(0.0, |m| MAD_TO_SIGMA * m)
}

fn out_of_band(v: f64, e: f64, band: f64, p: &DetectParams) -> bool {
    if (v - e).abs() < p.min_absolute {
        return false;
    }
    e <= EPSILON || (v / e - 1.0).abs() > band
}

/// Whether the same day of the previous month stood out from its week by about the same
/// amount as day `t` stands out from its baseline `e` (a monthly charge, not an anomaly).
fn recurs_monthly(series: &Series, first: usize, t: usize, e: f64) -> bool {
    let day = series.day(t);
    let Some(prev) = day.checked_sub_months(Months::new(1)) else { return false };
    // The 31st has no match in a 30-day month; neither does a charge there recur.
    if prev.day() != day.day() || prev < series.day(first) {
        return false;
    }
    let x = &series.values;
    let i = (prev - series.start).num_days() as usize;
    let around: Vec<f64> =
        (i.saturating_sub(3).max(first)..(i + 4).min(x.len())).filter(|d| *d != i).map(|d| x[d]).collect();
    let then = x[i] - median(&around).unwrap_or(0.0);
    let now = x[t] - e;
    then > EPSILON && (then - now).abs() <= 0.25 * now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::series::{SeriesKey, TOTAL_DIMENSION};

    /// 2026-09-07 is a Monday.
    fn start() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, 7).unwrap()
    }

    /// Weekly seasonal series (weekends at 60 %) with ±4 % deterministic noise.
    fn seasonal_series(days: usize, base: f64) -> Vec<f64> {
        (0..days)
            .map(|i| {
                let weekday = if i % 7 >= 5 { 0.6 } else { 1.0 };
                let noise = ((i * 7919 + 13) % 101) as f64 / 100.0 - 0.5;
                base * weekday * (1.0 + 0.08 * noise)
            })
            .collect()
    }

    fn series(values: Vec<f64>) -> Series {
        Series {
            key: SeriesKey {
                scope: "sub".into(),
                dimension: SERVICE_DIMENSION.into(),
                dimension_value: "Bandwidth".into(),
                currency: "EUR".into(),
            },
            start: start(),
            history_start: 0,
            values,
        }
    }

    fn kinds(found: &[Finding]) -> Vec<(usize, AnomalyKind)> {
        found.iter().map(|f| ((f.day - start()).num_days() as usize, f.kind)).collect()
    }

    #[test]
    fn a_seasonal_series_without_anomalies_has_none() {
        assert!(detect(&series(seasonal_series(90, 50.0)), &DetectParams::default()).is_empty());
        // A weekday-only meter (nothing at weekends) is seasonal too.
        let weekdays: Vec<f64> = (0..60).map(|i| if i % 7 >= 5 { 0.0 } else { 30.0 }).collect();
        assert!(detect(&series(weekdays), &DetectParams::default()).is_empty());
    }

    #[test]
    fn a_spike_is_detected_once() {
        let mut v = seasonal_series(70, 50.0);
        v[38] *= 3.0;
        let found = detect(&series(v), &DetectParams::default());
        assert_eq!(kinds(&found), [(38, AnomalyKind::Spike)]);
        assert_eq!(found[0].severity, Severity::High);
        assert!(found[0].deviation > 60.0 && (found[0].expected - 50.0).abs() < 5.0, "{found:?}");
    }

    #[test]
    fn a_level_shift_is_reported_on_its_first_day_only() {
        let mut v = seasonal_series(80, 50.0);
        for x in &mut v[45..] {
            *x *= 1.6;
        }
        v[65] *= 2.5;
        let found = detect(&series(v), &DetectParams::default());
        assert_eq!(kinds(&found), [(45, AnomalyKind::LevelShift), (65, AnomalyKind::Spike)]);
    }

    #[test]
    fn a_new_service_is_detected_after_enough_history() {
        let mut v = vec![0.0; 60];
        for (i, x) in v.iter_mut().enumerate().skip(40) {
            *x = 20.0 + (i % 3) as f64;
        }
        let found = detect(&series(v.clone()), &DetectParams::default());
        assert_eq!(kinds(&found), [(40, AnomalyKind::NewService)]);
        assert_eq!(found[0].expected, 0.0);
        // Its subscription's history only starts 10 days before: not known to be new.
        let short = Series { history_start: 30, ..series(v) };
        assert!(detect(&short, &DetectParams::default()).is_empty());
    }

    #[test]
    fn a_monthly_charge_is_not_a_spike() {
        // A support plan billed on the 1st: 2026-10-01 and 2026-11-01.
        let mut v = vec![0.0; 70];
        let index = |m: u32| (NaiveDate::from_ymd_opt(2026, m, 1).unwrap() - start()).num_days() as usize;
        v[index(10)] = 100.0;
        v[index(11)] = 100.0;
        let found = detect(&series(v), &DetectParams::default());
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn settled_days_need_history_before_and_look_ahead_after() {
        let p = DetectParams::default();
        let settled = settled_days(&series(seasonal_series(60, 10.0)), &p).unwrap();
        assert_eq!(settled, (start() + chrono::Days::new(49), start() + chrono::Days::new(56)));
        assert_eq!(settled_days(&series(seasonal_series(50, 10.0)), &p), None);
        assert_eq!(settled_days(&series(vec![0.0; 80]), &p), None);
    }

    #[test]
    fn the_tenant_total_has_no_new_service() {
        let mut v = vec![0.0; 60];
        v[50] = 40.0;
        let total = Series {
            key: SeriesKey {
                scope: "tenant".into(),
                dimension: TOTAL_DIMENSION.into(),
                dimension_value: TOTAL_DIMENSION.into(),
                currency: "EUR".into(),
            },
            ..series(v)
        };
        assert!(detect(&total, &DetectParams::default()).iter().all(|f| f.kind != AnomalyKind::NewService));
    }
}
