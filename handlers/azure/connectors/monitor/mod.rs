//! Monitor metrics (ARM API): hourly statistics per resource over a window.
//!
//! VMs: 14 days at PT1H of `Percentage CPU` and `Available Memory Bytes` → [`VmMetricsRow`],
//! fetched with bounded concurrency; one VM's failure is reported beside the others' rows and
//! never fails them. The same statistics serve App Service plans (`CpuPercentage`,
//! `MemoryPercentage`) and SQL databases (`dtu_consumption_percent`) →
//! [`crate::model::ResourceMetric`] rows ([`fetch_resource_metrics`]).
//!
//! A bucket with no data is a `data[]` entry with only `timeStamp`: absent and null are
//! "missing", 0 is a value. A metric can fail inside a 200 (`errorCode` ≠ `Success`); its
//! statistics are then empty.

mod exchanges;

pub use exchanges::{ResourceStats, rows_from_exchanges};

use chrono::{DateTime, Duration as ChronoDuration, DurationRound, Utc};
use futures::StreamExt;
use serde::Deserialize;

use crate::azure::client::ApiRequest;
use crate::azure::connectors::{MONITOR_API_VERSION, subscription_of};
use crate::azure::{Api, ArmClient, AzureError, CallContext};
use crate::model::VmMetricsRow;

/// VM CPU metric.
pub const VM_CPU: &str = "Percentage CPU";
/// VM available memory metric.
pub const VM_MEMORY: &str = "Available Memory Bytes";
/// App Service plan metrics.
pub const APP_SERVICE_PLAN_METRICS: &[&str] = &["CpuPercentage", "MemoryPercentage"];
/// SQL database (DTU model) metric.
pub const SQL_DTU_METRICS: &[&str] = &["dtu_consumption_percent"];
/// Days of history for VM utilisation.
pub const VM_WINDOW_DAYS: i64 = 14;

/// A metrics window `[start, end)` on whole hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricWindow {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

impl MetricWindow {
    /// The `days` days ending at the last whole hour before `now` (the open hour is dropped).
    pub fn last_days(days: i64, now: DateTime<Utc>) -> Self {
        let end = now.duration_trunc(ChronoDuration::hours(1)).unwrap_or(now);
        Self { start: end - ChronoDuration::days(days), end }
    }

    /// Hours in the window: the datapoints a PT1H series should have.
    pub fn hours(&self) -> i64 {
        (self.end - self.start).num_hours()
    }

    fn timespan(&self) -> String {
        format!("{}/{}", self.start.format("%Y-%m-%dT%H:%M:%SZ"), self.end.format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// Wire: the metrics response.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsResponse {
    /// One entry per requested metric.
    #[serde(default)]
    pub value: Vec<MetricWire>,
    /// The granularity actually used.
    pub interval: Option<String>,
}

/// Wire: one metric.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricWire {
    /// `{ value, localizedValue }`.
    pub name: Option<LocalizedName>,
    /// Unit.
    pub unit: Option<String>,
    /// Series (one without dimension splitting).
    #[serde(default)]
    pub timeseries: Vec<TimeSeries>,
    /// `Success` or a failure code.
    pub error_code: Option<String>,
    /// Failure text.
    pub error_message: Option<String>,
}

/// Wire: localized name.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedName {
    /// Invariant name.
    pub value: Option<String>,
}

/// Wire: one series.
#[derive(Debug, Clone, Deserialize)]
pub struct TimeSeries {
    /// Points.
    #[serde(default)]
    pub data: Vec<DataPoint>,
}

/// Wire: one point; aggregates absent when the bucket has no data.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataPoint {
    /// Bucket start.
    pub time_stamp: Option<String>,
    /// Mean.
    pub average: Option<f64>,
    /// Maximum.
    pub maximum: Option<f64>,
    /// Minimum.
    pub minimum: Option<f64>,
    /// Sum.
    pub total: Option<f64>,
    /// Sample count.
    pub count: Option<f64>,
}

/// Statistics of one metric over a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricStats {
    /// Metric name.
    pub name: String,
    /// Mean of bucket averages.
    pub avg: Option<f64>,
    /// Largest bucket maximum (average when maxima are absent).
    pub max: Option<f64>,
    /// Smallest bucket minimum (average when minima are absent).
    pub min: Option<f64>,
    /// 95th percentile (nearest rank) of bucket averages.
    pub p95: Option<f64>,
    /// 5th percentile of bucket averages.
    pub p05: Option<f64>,
    /// Buckets that carried an average.
    pub datapoints: i64,
    /// The metric failed inside a 200.
    pub error: Option<String>,
}

/// Nearest-rank percentile of `sorted` (ascending), `q` in (0, 1].
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Statistics of one metric's points.
pub fn stats_of(metric: &MetricWire) -> MetricStats {
    let name = metric.name.as_ref().and_then(|n| n.value.clone()).unwrap_or_default();
    if let Some(code) = metric.error_code.as_deref().filter(|c| !c.eq_ignore_ascii_case("success")) {
        return MetricStats {
            name,
            error: Some(format!("{code}: {}", metric.error_message.clone().unwrap_or_default())),
            ..Default::default()
        };
    }
    let points: Vec<&DataPoint> = metric.timeseries.iter().flat_map(|t| &t.data).collect();
    let mut avgs: Vec<f64> = points.iter().filter_map(|p| p.average).filter(|v| v.is_finite()).collect();
    avgs.sort_by(f64::total_cmp);
    let max = points.iter().filter_map(|p| p.maximum.or(p.average)).reduce(f64::max);
    let min = points.iter().filter_map(|p| p.minimum.or(p.average)).reduce(f64::min);
    MetricStats {
        name,
        avg: (!avgs.is_empty()).then(|| avgs.iter().sum::<f64>() / avgs.len() as f64),
        max,
        min,
        p95: percentile(&avgs, 0.95),
        p05: percentile(&avgs, 0.05),
        datapoints: avgs.len() as i64,
        error: None,
    }
}

use crate::azure::client::encode_query_part as encode;

/// Fetches hourly `metrics` of `resource_id` over `window` and returns their statistics in
/// the order asked (a metric absent from the response gets empty statistics).
///
/// # Errors
/// Any [`AzureError`] of the call.
pub async fn fetch_metric_stats(
    client: &ArmClient,
    ctx: &CallContext,
    resource_id: &str,
    metrics: &[&str],
    window: MetricWindow,
) -> Result<Vec<MetricStats>, AzureError> {
    let resp = query_metrics(client, ctx, resource_id, metrics, window).await?;
    let all: Vec<MetricStats> = resp.value.iter().map(stats_of).collect();
    Ok(metrics
        .iter()
        .map(|m| {
            all.iter()
                .find(|s| s.name.eq_ignore_ascii_case(m))
                .cloned()
                .unwrap_or_else(|| MetricStats { name: (*m).to_owned(), ..Default::default() })
        })
        .collect())
}

/// Asks for `metrics` of one resource over `window` (hourly average, maximum and minimum), for
/// a caller that records the exchange and maps it later with [`rows_from_exchanges`].
///
/// # Errors
/// Any [`AzureError`] of the call.
pub async fn query_metrics(
    client: &ArmClient,
    ctx: &CallContext,
    resource_id: &str,
    metrics: &[&str],
    window: MetricWindow,
) -> Result<MetricsResponse, AzureError> {
    let mut url = client.arm_url(&format!("{resource_id}/providers/Microsoft.Insights/metrics"), &[])?;
    let names: Vec<String> = metrics.iter().map(|m| encode(m)).collect();
    url.set_query(Some(&format!(
        "api-version={MONITOR_API_VERSION}&metricnames={}&timespan={}&interval=PT1H&aggregation=average,maximum,minimum",
        names.join(","),
        window.timespan()
    )));
    client.send_json(ctx, &ApiRequest::get(Api::Monitor, url)).await
}

/// Builds a VM row from its CPU and memory statistics.
pub fn vm_row(
    resource_id: &str,
    window: MetricWindow,
    cpu: &MetricStats,
    memory: &MetricStats,
) -> VmMetricsRow {
    VmMetricsRow {
        subscription_id: subscription_of(resource_id),
        resource_id: resource_id.to_ascii_lowercase(),
        window_start: window.start,
        window_end: window.end,
        cpu_avg: cpu.avg,
        cpu_max: cpu.max,
        cpu_min: cpu.min,
        cpu_p95: cpu.p95,
        memory_available_avg_bytes: memory.avg,
        memory_available_min_bytes: memory.min,
        memory_available_p95_bytes: memory.p05,
        datapoints: cpu.datapoints,
        expected_datapoints: window.hours(),
    }
}

/// VM rows plus the VMs that failed (each failure isolated).
#[derive(Debug, Default)]
pub struct VmMetricsOutcome {
    /// One row per VM that answered.
    pub rows: Vec<VmMetricsRow>,
    /// `(resource id, error)` per VM that did not.
    pub errors: Vec<(String, AzureError)>,
}

/// Fetches VM utilisation for every id, at most `concurrency` at a time.
pub async fn fetch_vm_metrics(
    client: &ArmClient,
    ctx: &CallContext,
    vm_ids: &[String],
    window: MetricWindow,
    concurrency: usize,
) -> VmMetricsOutcome {
    let results: Vec<(String, Result<Vec<MetricStats>, AzureError>)> =
        futures::stream::iter(vm_ids.iter().cloned())
            .map(|id| async move {
                let r = fetch_metric_stats(client, ctx, &id, &[VM_CPU, VM_MEMORY], window).await;
                (id, r)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    let mut out = VmMetricsOutcome::default();
    for (id, r) in results {
        match r {
            Ok(stats) if stats.len() == 2 => out.rows.push(vm_row(&id, window, &stats[0], &stats[1])),
            Ok(_) => out.errors.push((id, AzureError::InvalidRequest("metric count mismatch".into()))),
            Err(e) => {
                tracing::warn!(resource_id = %id, error = %e, "vm metrics failed");
                out.errors.push((id, e));
            }
        }
    }
    out.rows.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    out
}

/// Builds App Service plan / SQL rows from one resource's statistics.
pub fn resource_metric_rows(
    resource_id: &str,
    window: MetricWindow,
    stats: &[MetricStats],
) -> Vec<crate::model::ResourceMetric> {
    stats
        .iter()
        .filter(|s| s.error.is_none())
        .map(|s| crate::model::ResourceMetric {
            subscription_id: subscription_of(resource_id),
            resource_id: resource_id.to_ascii_lowercase(),
            metric: s.name.clone(),
            window_start: window.start,
            window_end: window.end,
            avg: s.avg,
            max: s.max,
            p95: s.p95,
            datapoints: s.datapoints,
            expected_datapoints: window.hours(),
        })
        .collect()
}

/// Plan / SQL metric rows plus the resources that failed (each failure isolated).
#[derive(Debug, Default)]
pub struct ResourceMetricsOutcome {
    /// One row per (resource, metric) that answered.
    pub rows: Vec<crate::model::ResourceMetric>,
    /// `(resource id, error)` per resource that did not.
    pub errors: Vec<(String, AzureError)>,
}

/// Fetches `metrics` for each `(resource id, metrics)` target, at most `concurrency` at a time.
pub async fn fetch_resource_metrics(
    client: &ArmClient,
    ctx: &CallContext,
    targets: &[(String, &'static [&'static str])],
    window: MetricWindow,
    concurrency: usize,
) -> ResourceMetricsOutcome {
    let results: Vec<(String, Result<Vec<MetricStats>, AzureError>)> =
        futures::stream::iter(targets.iter().cloned())
            .map(|(id, metrics)| async move {
                let r = fetch_metric_stats(client, ctx, &id, metrics, window).await;
                (id, r)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    let mut out = ResourceMetricsOutcome::default();
    for (id, r) in results {
        match r {
            Ok(stats) => out.rows.extend(resource_metric_rows(&id, window, &stats)),
            Err(e) => {
                tracing::warn!(resource_id = %id, error = %e, "resource metrics failed");
                out.errors.push((id, e));
            }
        }
    }
    out.rows.sort_by(|a, b| (&a.resource_id, &a.metric).cmp(&(&b.resource_id, &b.metric)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.95), Some(95.0));
        assert_eq!(percentile(&v, 0.05), Some(5.0));
        assert_eq!(percentile(&[7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.95), None);
    }

    #[test]
    fn missing_buckets_are_not_zeros() {
        let m: MetricWire = serde_json::from_value(json!({
            "name": {"value": "Percentage CPU"}, "errorCode": "Success",
            "timeseries": [{"data": [
                {"timeStamp": "t0", "average": 10.0, "maximum": 50.0, "minimum": 1.0},
                {"timeStamp": "t1"},
                {"timeStamp": "t2", "average": 0.0, "maximum": 0.0, "minimum": 0.0},
                {"timeStamp": "t3", "average": null}
            ]}]
        }))
        .unwrap();
        let s = stats_of(&m);
        assert_eq!(s.datapoints, 2);
        assert_eq!((s.avg, s.max, s.min, s.p95), (Some(5.0), Some(50.0), Some(0.0), Some(10.0)));
    }

    #[test]
    fn metric_errors_inside_a_200_give_empty_stats() {
        let m: MetricWire = serde_json::from_value(json!({
            "name": {"value": "Available Memory Bytes"}, "errorCode": "InvalidMetric", "errorMessage": "nope", "timeseries": []
        }))
        .unwrap();
        let s = stats_of(&m);
        assert_eq!((s.datapoints, s.avg), (0, None));
        assert!(s.error.unwrap().contains("InvalidMetric"));
    }

    #[test]
    fn plan_and_sql_rows_keep_the_metric_name_and_skip_failed_metrics() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T14:37:12Z").unwrap().with_timezone(&Utc);
        let w = MetricWindow::last_days(14, now);
        let ok = MetricStats {
            name: "CpuPercentage".into(),
            p95: Some(12.0),
            datapoints: 320,
            ..Default::default()
        };
        let failed =
            MetricStats { name: "MemoryPercentage".into(), error: Some("x".into()), ..Default::default() };
        let rows = resource_metric_rows(
            "/subscriptions/S/resourceGroups/R/providers/Microsoft.Web/serverfarms/P",
            w,
            &[ok, failed],
        );
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].metric.as_str(), rows[0].subscription_id.as_str()), ("CpuPercentage", "s"));
        assert_eq!((rows[0].p95, rows[0].datapoints, rows[0].expected_datapoints), (Some(12.0), 320, 336));
        assert!(rows[0].resource_id.ends_with("serverfarms/p"));
    }

    #[test]
    fn window_is_whole_hours_and_rows_carry_coverage() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T14:37:12Z").unwrap().with_timezone(&Utc);
        let w = MetricWindow::last_days(14, now);
        assert_eq!(w.end.to_rfc3339(), "2026-11-25T14:00:00+00:00");
        assert_eq!(w.hours(), 336);
        assert_eq!(w.timespan(), "2026-11-11T14:00:00Z/2026-11-25T14:00:00Z");
        let cpu = MetricStats { avg: Some(3.0), datapoints: 300, ..Default::default() };
        let mem = MetricStats { p05: Some(1e9), min: Some(5e8), ..Default::default() };
        let r = vm_row(
            "/subscriptions/S/resourceGroups/R/providers/Microsoft.Compute/virtualMachines/V",
            w,
            &cpu,
            &mem,
        );
        assert_eq!((r.subscription_id.as_str(), r.datapoints, r.expected_datapoints), ("s", 300, 336));
        assert_eq!((r.memory_available_p95_bytes, r.memory_available_min_bytes), (Some(1e9), Some(5e8)));
        assert_eq!(encode("Percentage CPU"), "Percentage%20CPU");
    }
}
