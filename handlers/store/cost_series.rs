//! Daily cost series grouped from `costs_daily`, and the analytics run over them: anomaly
//! detection after a subscription's cost ingestion, and month-end forecasts (for the API and for
//! budgets). The reads are the only place that knows which table holds the daily grain.

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::anomalies::AnomalyUpsert;
use super::{Store, StoreError, TenantScope, on_pool};
use crate::analytics::{
    self, CostPoint, DetectParams, Estimate, ForecastParams, IntervalBasis, Measure, SeriesLimits,
};

/// Bounds of one detection run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectionLimits {
    /// Days of history read, ending on the as-of day's eve.
    pub window_days: u32,
    /// Service series per subscription; the largest by spend are checked.
    pub max_series_per_subscription: usize,
}

impl Default for DetectionLimits {
    fn default() -> Self {
        Self { window_days: 91, max_series_per_subscription: 200 }
    }
}

/// The most days one detection window may span.
pub const MAX_DETECTION_WINDOW_DAYS: u32 = 400;

/// What one detection run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct DetectionReport {
    /// Series checked (service series of the subscription plus tenant totals).
    pub series: usize,
    /// Service series left out by [`DetectionLimits::max_series_per_subscription`].
    pub series_dropped: usize,
    /// Anomalies found in the window.
    pub anomalies: usize,
    /// Anomaly rows inserted or changed.
    pub changed: u64,
    /// Open anomalies on settled days that detection no longer finds, now resolved.
    pub resolved: u64,
}

/// One scope's forecast in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CostForecast {
    /// `tenant` or `subscription`.
    pub scope: String,
    /// The subscription, for a subscription's forecast.
    pub subscription_id: Option<String>,
    /// Currency of every amount.
    pub currency: String,
    /// The first day of the month forecast.
    pub month: NaiveDate,
    /// The last day with cost data.
    pub data_through: NaiveDate,
    /// Actual (billed) cost.
    pub actual: MeasureForecast,
    /// Amortized cost.
    pub amortized: MeasureForecast,
    /// Where the month-end intervals came from.
    pub interval_basis: IntervalBasis,
    /// Days the model was fitted on.
    pub history_days: usize,
}

/// The forecast of one measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeasureForecast {
    /// Cost of the month so far.
    pub month_to_date: f64,
    /// The month's total, with its 80 % interval.
    pub month_end: Estimate,
    /// Next month's total, with its 80 % interval.
    pub next_month: Estimate,
}

/// Days read for a forecast: the model's window plus its backtest origins.
const FORECAST_WINDOW_DAYS: u64 = 120;

impl Store {
    /// The tenant's daily cost per subscription, service and currency over `[from, to]`
    /// (optionally one subscription's), read from `cost_rollup_daily`, which the cost load keeps
    /// equal to the sums over `costs_daily` in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when `from > to`; database errors.
    pub async fn daily_cost_series(
        &self,
        scope: &TenantScope,
        from: NaiveDate,
        to: NaiveDate,
        subscription: Option<&str>,
    ) -> Result<Vec<CostPoint>, StoreError> {
        self.series_rows(scope, from, to, subscription, true).await
    }

    /// As [`Store::daily_cost_series`], with services summed (the service name is empty).
    async fn series_rows(
        &self,
        scope: &TenantScope,
        from: NaiveDate,
        to: NaiveDate,
        subscription: Option<&str>,
        by_service: bool,
    ) -> Result<Vec<CostPoint>, StoreError> {
        if from > to {
            return Err(StoreError::validation("from", "must not be after to"));
        }
        let (service, grouped) = if by_service { ("service_name", ", service_name") } else { ("''", "") };
        let sub_filter = if subscription.is_some() { " AND subscription_id = $4" } else { "" };
        let sql = format!(
            "SELECT date, subscription_id, {service} AS service_name, currency, SUM(cost) AS cost, \
             SUM(amortized_cost) AS amortized_cost FROM cost_rollup_daily \
             WHERE tenant_id = $1 AND date >= $2 AND date <= $3{sub_filter} \
             GROUP BY date, subscription_id{grouped}, currency ORDER BY date, subscription_id"
        );
        let subscription = subscription.map(|s| s.trim().to_ascii_lowercase());
        let rows: Vec<(NaiveDate, String, String, String, f64, f64)> = on_pool!(self, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(scope.tenant_id()).bind(from).bind(to);
            if let Some(sub) = &subscription {
                q = q.bind(sub.clone());
            }
            q.fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(date, subscription_id, service_name, currency, cost, amortized_cost)| CostPoint {
                date,
                subscription_id,
                service_name,
                currency,
                cost,
                amortized_cost,
            })
            .collect())
    }

    /// The tenant's daily total per currency over `[from, to]` from `cost_rollup_tenant_daily`
    /// (a few rows a day whatever the number of subscriptions), as points of one unnamed
    /// subscription: detection runs after every subscription's load and needs only the total.
    async fn tenant_total_rows(
        &self,
        scope: &TenantScope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CostPoint>, StoreError> {
        let rows: Vec<(NaiveDate, String, f64, f64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT date, currency, SUM(cost) AS cost, SUM(amortized_cost) AS amortized_cost \
                 FROM cost_rollup_tenant_daily WHERE tenant_id = $1 AND date >= $2 AND date <= $3 \
                 GROUP BY date, currency ORDER BY date",
            )
            .bind(scope.tenant_id())
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(date, currency, cost, amortized_cost)| CostPoint {
                date,
                subscription_id: String::new(),
                service_name: String::new(),
                currency,
                cost,
                amortized_cost,
            })
            .collect())
    }

    /// Detects daily amortized-cost anomalies of one subscription's services and of the tenant
    /// total over the `limits.window_days` before `as_of`, and stores them (idempotently). Open
    /// anomalies on settled days (see [`analytics::settled_days`]) that are no longer found
    /// (restated costs) become `resolved`.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when the window is outside `1..=400` days or the series limit
    /// is 0; database errors.
    pub async fn detect_anomalies(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        as_of: NaiveDate,
        limits: DetectionLimits,
    ) -> Result<DetectionReport, StoreError> {
        if !(1..=MAX_DETECTION_WINDOW_DAYS).contains(&limits.window_days) {
            return Err(StoreError::validation(
                "window_days",
                format!("must be between 1 and {MAX_DETECTION_WINDOW_DAYS}"),
            ));
        }
        if limits.max_series_per_subscription == 0 {
            return Err(StoreError::validation("max_series_per_subscription", "must be at least 1"));
        }
        let to = as_of.pred_opt().ok_or_else(|| StoreError::validation("as_of", "out of range"))?;
        let from = to
            .checked_sub_days(Days::new(u64::from(limits.window_days - 1)))
            .ok_or_else(|| StoreError::validation("as_of", "out of range"))?;
        let series_limits = SeriesLimits { max_series_per_subscription: limits.max_series_per_subscription };
        let points = self.daily_cost_series(scope, from, to, Some(subscription_id)).await?;
        let services = analytics::group(&points, from, to, Measure::Amortized, series_limits, false);
        let totals_points = self.tenant_total_rows(scope, from, to).await?;
        let unbounded = SeriesLimits { max_series_per_subscription: usize::MAX };
        let totals = analytics::group(&totals_points, from, to, Measure::Amortized, unbounded, true);
        let tenant_series = totals.series.into_iter().filter(|s| s.key.scope == analytics::TENANT_SCOPE);
        let mut report = DetectionReport { series_dropped: services.dropped, ..Default::default() };
        let mut rows = Vec::new();
        let params = DetectParams::default();
        let mut settled = Vec::new();
        for series in services.series.into_iter().chain(tenant_series) {
            report.series += 1;
            let found = analytics::detect(&series, &params);
            if let Some(days) = analytics::settled_days(&series, &params) {
                settled.push((series.key.clone(), days, found.iter().map(|f| f.day).collect::<Vec<_>>()));
            }
            for f in found {
                rows.push(AnomalyUpsert {
                    scope: series.key.scope.clone(),
                    dimension: series.key.dimension.clone(),
                    dimension_value: series.key.dimension_value.clone(),
                    day: f.day,
                    currency: series.key.currency.clone(),
                    expected: f.expected,
                    actual: f.actual,
                    deviation: f.deviation,
                    severity: f.severity.as_str().to_owned(),
                    kind: f.kind.as_str().to_owned(),
                });
            }
        }
        report.anomalies = rows.len();
        report.changed = self.upsert_anomalies(scope, &rows).await?;
        for (key, days, found) in settled {
            let key = [key.scope.as_str(), &key.dimension, &key.dimension_value, &key.currency];
            report.resolved += self.resolve_anomalies(scope, key, days, &found).await?;
        }
        Ok(report)
    }

    /// The month-end (and next-month) forecast of the tenant, or of one subscription, one per
    /// currency, from the daily cost before `as_of`. What budgets compare against.
    ///
    /// # Errors
    /// Database errors.
    pub async fn month_end_forecast(
        &self,
        scope: &TenantScope,
        subscription: Option<&str>,
        as_of: NaiveDate,
    ) -> Result<Vec<CostForecast>, StoreError> {
        let (from, to) = forecast_window(as_of)?;
        // The tenant's total from the tenant-wide rollup: a few rows a day instead of one per
        // subscription, which the overview reads on every render.
        let points = match subscription {
            Some(_) => self.series_rows(scope, from, to, subscription, false).await?,
            None => self.tenant_total_rows(scope, from, to).await?,
        };
        let label = subscription.map(|s| s.trim().to_ascii_lowercase());
        Ok(forecasts_of(&points, from, as_of, label.as_deref()))
    }

    /// The forecasts of the tenant total and of each of its subscriptions, one per currency.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cost_forecasts(
        &self,
        scope: &TenantScope,
        as_of: NaiveDate,
    ) -> Result<Vec<CostForecast>, StoreError> {
        let (from, to) = forecast_window(as_of)?;
        let points = self.series_rows(scope, from, to, None, false).await?;
        let mut out = forecasts_of(&points, from, as_of, None);
        let mut subs: Vec<&str> = points.iter().map(|p| p.subscription_id.as_str()).collect();
        subs.sort_unstable();
        subs.dedup();
        for sub in subs {
            let own: Vec<CostPoint> = points.iter().filter(|p| p.subscription_id == sub).cloned().collect();
            out.extend(forecasts_of(&own, from, as_of, Some(sub)));
        }
        Ok(out)
    }
}

fn forecast_window(as_of: NaiveDate) -> Result<(NaiveDate, NaiveDate), StoreError> {
    let to = as_of.pred_opt().ok_or_else(|| StoreError::validation("as_of", "out of range"))?;
    let from = as_of
        .checked_sub_days(Days::new(FORECAST_WINDOW_DAYS))
        .ok_or_else(|| StoreError::validation("as_of", "out of range"))?;
    Ok((from, to))
}

/// One currency's daily actual and amortized cost, with the (first, last + 1) day index that
/// has data.
type Daily = (Vec<f64>, Vec<f64>, (usize, usize));

/// One forecast per currency of the summed `points` (the tenant's when `subscription` is None).
fn forecasts_of(
    points: &[CostPoint],
    from: NaiveDate,
    as_of: NaiveDate,
    subscription: Option<&str>,
) -> Vec<CostForecast> {
    let to = as_of.pred_opt().unwrap_or(as_of);
    let days = (to - from).num_days().max(-1) + 1;
    let mut by_currency: std::collections::BTreeMap<&str, Daily> = Default::default();
    for p in points {
        let Ok(i) = usize::try_from((p.date - from).num_days()) else { continue };
        if i as i64 >= days {
            continue;
        }
        let entry = by_currency
            .entry(&p.currency)
            .or_insert_with(|| (vec![0.0; days as usize], vec![0.0; days as usize], (i, i + 1)));
        entry.0[i] += p.cost;
        entry.1[i] += p.amortized_cost;
        entry.2 = (entry.2.0.min(i), entry.2.1.max(i + 1));
    }
    let params = ForecastParams::default();
    let mut out = Vec::new();
    for (currency, (actual, amortized, (first, end))) in by_currency {
        // From the first day with data (days before are unknown, not zero spend) to the last
        // (days not ingested yet are forecast, not taken as zeros).
        let start = from + Days::new(first as u64);
        let (Some(a), Some(m)) = (
            analytics::forecast(start, &actual[first..end], as_of, &params),
            analytics::forecast(start, &amortized[first..end], as_of, &params),
        ) else {
            continue;
        };
        let measure = |f: &analytics::Forecast| MeasureForecast {
            month_to_date: f.month_to_date,
            month_end: f.month_end,
            next_month: f.next_month,
        };
        out.push(CostForecast {
            scope: if subscription.is_some() { "subscription" } else { "tenant" }.into(),
            subscription_id: subscription.map(str::to_owned),
            currency: currency.to_owned(),
            month: a.month,
            data_through: a.data_through,
            actual: measure(&a),
            amortized: measure(&m),
            interval_basis: a.basis,
            history_days: a.history_days,
        });
    }
    out
}
