//! Month-end and next-month forecasts from a daily series, with an 80 % interval.
//!
//! Method: a weekday-aware run rate with a damped trend, fitted on the last
//! [`ForecastParams::history_days`] days. Each weekday's factor is the median of that weekday
//! over the window divided by the mean of the seven medians; the deseasonalised level is the
//! median of the last seven days; the trend is half the Theil–Sen slope of the deseasonalised
//! window (damped, so a recent step is not extrapolated at full speed). A day is forecast as
//! `(level + trend × days ahead) × weekday factor`. Charges billed on the 1st of a month above
//! the run rate (support plans, commitment purchases in actual cost) recur on the next 1st.
//!
//! The month-end forecast is the month-to-date actual plus the forecast of the remaining days.
//! The interval comes from backtesting the same model on the series' own history: for every
//! origin with enough history before it and the same horizon after it, the relative error of
//! the forecast sum; the interval is the 10th–90th percentile of those errors applied to the
//! forecast part, widened where needed to the spread of one-day-ahead errors scaled to the
//! horizon (`1.2816 σ √(1/h + 1/7)`, σ the robust spread of those errors). With fewer than
//! [`ForecastParams::min_backtests`] origins only the latter is used, and [`IntervalBasis`]
//! says so.

use chrono::{Datelike as _, Days, Months, NaiveDate};
use serde::Serialize;

use super::stats::{median, quantile};

const EPSILON: f64 = 1e-9;
/// The standard normal quantile of 90 %: an 80 % central interval.
const Z_80: f64 = 1.2816;
/// The trend's damping: the share of the fitted slope that is extrapolated.
const TREND_DAMPING: f64 = 0.5;

/// The forecast's knobs; [`ForecastParams::default`] is what the API uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastParams {
    /// Days the model is fitted on.
    pub history_days: usize,
    /// Fewest days of data to forecast at all.
    pub min_history_days: usize,
    /// Fewest backtest origins for a backtested interval.
    pub min_backtests: usize,
    /// Most recent backtest origins used.
    pub max_backtests: usize,
}

impl Default for ForecastParams {
    fn default() -> Self {
        Self { history_days: 28, min_history_days: 7, min_backtests: 5, max_backtests: 56 }
    }
}

/// Where an interval came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalBasis {
    /// Percentiles of backtested errors over the same horizon.
    Backtest,
    /// The in-sample residual spread (too little history to backtest).
    Residuals,
}

/// A forecast amount with its 80 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    /// Point forecast.
    pub forecast: f64,
    /// Lower bound of the 80 % interval.
    pub lower: f64,
    /// Upper bound of the 80 % interval.
    pub upper: f64,
}

/// The forecast of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The first day of the month forecast (the month of the as-of day).
    pub month: NaiveDate,
    /// The last day with data.
    pub data_through: NaiveDate,
    /// Cost of the month so far.
    pub month_to_date: f64,
    /// The month's total.
    pub month_end: Estimate,
    /// Next month's total.
    pub next_month: Estimate,
    /// Where the intervals came from (the month-end's; next month is usually `residuals`).
    pub basis: IntervalBasis,
    /// Days the model was fitted on.
    pub history_days: usize,
}

struct Model {
    start: NaiveDate,
    factor: [f64; 7],
    level: f64,
    slope: f64,
    anchor: f64,
    first_of_month: f64,
}

impl Model {
    /// Fits on `x[..=end]` (indices from `start`), or `None` with too little history.
    fn fit(start: NaiveDate, x: &[f64], end: usize, p: &ForecastParams) -> Option<Self> {
        let lo = (end + 1).saturating_sub(p.history_days);
        if end + 1 - lo < p.min_history_days || end >= x.len() {
            return None;
        }
        let weekday = |i: usize| (start + Days::new(i as u64)).weekday().num_days_from_monday() as usize;
        let mut by_day: [Vec<f64>; 7] = Default::default();
        for i in lo..=end {
            by_day[weekday(i)].push(x[i]);
        }
        let medians: Vec<Option<f64>> = by_day.iter().map(|v| median(v)).collect();
        let known: Vec<f64> = medians.iter().flatten().copied().collect();
        let base = known.iter().sum::<f64>() / known.len().max(1) as f64;
        let mut factor = [1.0; 7];
        if base > EPSILON {
            for (k, m) in medians.iter().enumerate() {
                factor[k] = m.map_or(1.0, |m| m / base);
            }
        }
        let deseason: Vec<(f64, f64)> = (lo..=end)
            .filter(|i| factor[weekday(*i)] > EPSILON)
            .map(|i| (i as f64, x[i] / factor[weekday(i)]))
            .collect();
        let recent: Vec<f64> = deseason.iter().filter(|(i, _)| *i + 7.0 > end as f64).map(|p| p.1).collect();
        let level = median(&recent).unwrap_or(0.0);
        let mut slopes = Vec::with_capacity(deseason.len() * deseason.len() / 2);
        for (a, pa) in deseason.iter().enumerate() {
            for pb in &deseason[a + 1..] {
                slopes.push((pb.1 - pa.1) / (pb.0 - pa.0));
            }
        }
        let slope = TREND_DAMPING * median(&slopes).unwrap_or(0.0);
        let mut model = Self { start, factor, level, slope, anchor: end as f64 - 3.0, first_of_month: 0.0 };
        // The latest 1st of a month in the window: its excess over the run rate recurs.
        if let Some(i) = (lo..=end).rev().find(|i| (start + Days::new(*i as u64)).day() == 1) {
            let usual = model.run_rate(i);
            if x[i] - usual > 0.25 * usual + EPSILON {
                model.first_of_month = x[i] - usual;
            }
        }
        Some(model)
    }

    fn run_rate(&self, i: usize) -> f64 {
        let k = (self.start + Days::new(i as u64)).weekday().num_days_from_monday() as usize;
        ((self.level + self.slope * (i as f64 - self.anchor)) * self.factor[k]).max(0.0)
    }

    fn predict(&self, i: usize) -> f64 {
        let monthly = if (self.start + Days::new(i as u64)).day() == 1 { self.first_of_month } else { 0.0 };
        self.run_rate(i) + monthly
    }

    fn sum(&self, from: usize, to: usize) -> f64 {
        (from..=to).map(|i| self.predict(i)).sum()
    }
}

/// Forecasts the month of `as_of` and the next one from `values` (day `start + i`), using data
/// before `as_of` only; `None` when there are fewer than `min_history_days` days of data.
pub fn forecast(start: NaiveDate, values: &[f64], as_of: NaiveDate, p: &ForecastParams) -> Option<Forecast> {
    let available = usize::try_from((as_of - start).num_days()).ok()?.min(values.len());
    let end = available.checked_sub(1)?;
    let x = &values[..available];
    let model = Model::fit(start, x, end, p)?;
    let month = as_of.with_day(1)?;
    let next = month.checked_add_months(Months::new(1))?;
    let after = next.checked_add_months(Months::new(1))?;
    let idx = |d: NaiveDate| (d - start).num_days();
    let (month_i, next_i, after_i) = (idx(month), idx(next), idx(after));
    let data_from = usize::try_from(month_i.max(0)).ok()?;
    let month_to_date: f64 = x.iter().skip(data_from).sum();
    // Forecast offsets after the last data day: the rest of this month, then next month.
    let rest = (next_i - 1 - end as i64).max(0) as usize;
    let next_len = (after_i - next_i) as usize;
    let horizons = [(1, rest), (rest + 1, rest + next_len)];
    let point = |(a, b): (usize, usize)| if b < a { 0.0 } else { model.sum(end + a, end + b) };
    let errors = backtest(start, x, end, &horizons, p);
    let mut estimates = [Estimate { forecast: 0.0, lower: 0.0, upper: 0.0 }; 2];
    let mut basis = IntervalBasis::Backtest;
    for (h, horizon) in horizons.iter().enumerate() {
        let predicted = point(*horizon);
        let width = residual_width(start, x, end, p, horizon.1 + 1 - horizon.0.min(horizon.1 + 1));
        // The wider of the two on each side: backtests miss noise the window did not show,
        // the residual spread misses level changes the backtests saw.
        let (lo, hi, b) = if errors[h].len() >= p.min_backtests {
            let lo = quantile(&errors[h], 0.1).unwrap_or(0.0).min(-width);
            let hi = quantile(&errors[h], 0.9).unwrap_or(0.0).max(width);
            (lo, hi, IntervalBasis::Backtest)
        } else {
            (-width, width, IntervalBasis::Residuals)
        };
        if h == 0 {
            basis = b;
        }
        let known = if h == 0 { month_to_date } else { 0.0 };
        let forecast = known + predicted;
        estimates[h] = Estimate {
            forecast,
            lower: (known + predicted * (1.0 + lo)).min(forecast).max(known),
            upper: (known + predicted * (1.0 + hi)).max(forecast),
        };
    }
    Some(Forecast {
        month,
        data_through: start + Days::new(end as u64),
        month_to_date,
        month_end: estimates[0],
        next_month: estimates[1],
        basis,
        history_days: end + 1 - (end + 1).saturating_sub(p.history_days),
    })
}

/// Relative errors (`actual / forecast - 1`) of each horizon's sum over past origins.
fn backtest(
    start: NaiveDate,
    x: &[f64],
    end: usize,
    horizons: &[(usize, usize)],
    p: &ForecastParams,
) -> Vec<Vec<f64>> {
    let mut errors = vec![Vec::new(); horizons.len()];
    let last_origin = end.saturating_sub(horizons.iter().map(|h| h.1).min().unwrap_or(0));
    let first_origin = (p.min_history_days - 1).max(last_origin.saturating_sub(p.max_backtests));
    for origin in first_origin..=last_origin {
        let Some(model) = Model::fit(start, x, origin, p) else { continue };
        for (h, (a, b)) in horizons.iter().enumerate() {
            if *b < *a || origin + b > end {
                continue;
            }
            let predicted = model.sum(origin + a, origin + b);
            let actual: f64 = x[origin + a..=origin + b].iter().sum();
            if predicted > EPSILON {
                errors[h].push(actual / predicted - 1.0);
            }
        }
    }
    errors
}

/// The relative half-width of an 80 % interval for a sum over `h` days, from the spread of
/// one-day-ahead out-of-sample errors over the window (each day forecast from the days before).
fn residual_width(start: NaiveDate, x: &[f64], end: usize, p: &ForecastParams, h: usize) -> f64 {
    let lo = (end + 1).saturating_sub(p.history_days).max(p.min_history_days);
    let errors: Vec<f64> = (lo..=end)
        .filter_map(|i| {
            let f = Model::fit(start, x, i - 1, p)?.predict(i);
            (f > EPSILON).then(|| (x[i] / f - 1.0).abs())
        })
        .collect();
    let sigma = 1.4826 * median(&errors).unwrap_or(0.0);
    Z_80 * sigma * (1.0 / h.max(1) as f64 + 1.0 / 7.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    /// Weekly seasonal series from 2026-08-01 (weekends at half) with ±3 % noise.
    fn series(days: usize, base: f64) -> Vec<f64> {
        (0..days)
            .map(|i| {
                let wd = (day(8, 1) + Days::new(i as u64)).weekday().num_days_from_monday();
                let season = if wd >= 5 { 0.5 } else { 1.0 };
                let noise = ((i * 7919 + 13) % 101) as f64 / 100.0 - 0.5;
                base * season * (1.0 + 0.06 * noise)
            })
            .collect()
    }

    #[test]
    fn a_steady_series_is_forecast_within_a_few_percent() {
        let values = series(122, 100.0); // through 2026-11-30
        let november: f64 = values[(day(11, 1) - day(8, 1)).num_days() as usize..].iter().sum();
        let f = forecast(day(8, 1), &values, day(11, 16), &ForecastParams::default()).unwrap();
        assert_eq!(f.month, day(11, 1));
        assert_eq!(f.data_through, day(11, 15));
        let error = (f.month_end.forecast - november).abs() / november;
        assert!(error < 0.02, "{error} {f:?}");
        assert!(f.month_end.lower <= november && november <= f.month_end.upper, "{f:?}");
        assert_eq!(f.basis, IntervalBasis::Backtest);
        assert!(f.month_end.lower >= f.month_to_date);
        assert!(
            f.next_month.forecast > 2000.0
                && f.next_month.lower <= f.next_month.forecast
                && f.next_month.upper > f.next_month.forecast,
            "{f:?}"
        );
    }

    #[test]
    fn a_charge_on_the_first_recurs_and_is_not_run_rate() {
        let mut values = vec![10.0; 76]; // 2026-08-01 .. 2026-10-15
        values[(day(9, 1) - day(8, 1)).num_days() as usize] += 300.0;
        values[(day(10, 1) - day(8, 1)).num_days() as usize] += 300.0;
        let f = forecast(day(8, 1), &values, day(10, 16), &ForecastParams::default()).unwrap();
        assert!((f.month_end.forecast - (310.0 + 30.0 * 10.0)).abs() < 1.0, "{f:?}");
        assert!((f.next_month.forecast - (300.0 + 30.0 * 10.0)).abs() < 1.0, "{f:?}");
    }

    #[test]
    fn backtests_are_bounded_to_the_most_recent_origins() {
        let values = series(200, 100.0);
        let p = ForecastParams::default();
        let errors = backtest(day(8, 1), &values, 199, &[(1, 10)], &p);
        assert_eq!(errors[0].len(), p.max_backtests + 1, "origins last-56 ..= last");
        let few = ForecastParams { max_backtests: 3, ..p };
        assert_eq!(backtest(day(8, 1), &values, 199, &[(1, 10)], &few)[0].len(), 4);
    }

    #[test]
    fn short_history_uses_residuals_and_too_short_gives_none() {
        let values = series(10, 50.0);
        let f = forecast(day(8, 1), &values, day(8, 11), &ForecastParams::default()).unwrap();
        assert_eq!(f.basis, IntervalBasis::Residuals);
        assert!(f.month_end.lower < f.month_end.forecast && f.month_end.forecast < f.month_end.upper);
        assert!(forecast(day(8, 1), &values[..5], day(8, 6), &ForecastParams::default()).is_none());
    }
}
