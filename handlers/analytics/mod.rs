//! Cost analytics over daily series: anomaly detection, month-end forecasts and realised
//! savings.
//!
//! Pure like `rules/`: no I/O, no async, no store or Azure imports. The store reads the daily
//! series (see `Store::daily_cost_series`) and hands them here; what comes back is plain data
//! the store persists or the API renders.
//!
//! Every series is one currency: [`series::group`] keys series by currency, so amounts in two
//! currencies are never added together.

pub mod anomaly;
pub mod forecast;
pub mod realised;
pub mod series;
mod stats;

pub use anomaly::{AnomalyKind, DetectParams, Finding, Severity, detect, settled_days};
pub use forecast::{Estimate, Forecast, ForecastParams, IntervalBasis, forecast};
pub use series::{CostPoint, Measure, Series, SeriesKey, SeriesLimits, TENANT_SCOPE, TOTAL_DIMENSION, group};
