//! Test fixtures: resources, metrics and an owned evaluation context.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::context::{CostMap, EvaluationContext, ObservedCost};
use super::prices::{PriceBook, PriceKey};
use super::settings::RuleSettings;
use super::snapshot::SubscriptionSnapshot;
use super::{Finding, Rule};
use crate::model::ResourceMetric;
use crate::model::{ResourceRow, VmMetricsRow};

pub const SUB: &str = "00000000-0000-4000-8000-000000000001";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap()
}

/// A resource of `resource_type` named `name` with a cost-center tag.
pub fn resource(resource_type: &str, name: &str, properties: serde_json::Value) -> ResourceRow {
    let mut tags = BTreeMap::new();
    tags.insert("cost-center".to_owned(), "cc-1".to_owned());
    ResourceRow {
        subscription_id: SUB.into(),
        resource_id: format!(
            "/subscriptions/{SUB}/resourcegroups/rg/providers/{resource_type}/{}",
            name.to_lowercase()
        ),
        name: name.into(),
        resource_type: resource_type.into(),
        kind: None,
        location: "eastus".into(),
        resource_group: "rg".into(),
        sku: None,
        tags,
        properties,
        managed_by: None,
    }
}

/// VM metrics over 14 days with `datapoints` of 336 hours.
pub fn vm_metrics(
    resource_id: &str,
    cpu_p95: f64,
    mem_available_p95: Option<f64>,
    datapoints: i64,
) -> VmMetricsRow {
    VmMetricsRow {
        subscription_id: SUB.into(),
        resource_id: resource_id.into(),
        window_start: now() - Duration::days(14),
        window_end: now(),
        cpu_avg: Some(cpu_p95 * 0.8),
        cpu_max: Some(cpu_p95 * 1.5),
        cpu_min: Some(0.5),
        cpu_p95: Some(cpu_p95),
        memory_available_avg_bytes: mem_available_p95,
        memory_available_min_bytes: mem_available_p95,
        memory_available_p95_bytes: mem_available_p95,
        datapoints,
        expected_datapoints: 336,
    }
}

/// One metric's statistics over 14 days.
pub fn metric(resource_id: &str, name: &str, p95: f64, datapoints: i64) -> ResourceMetric {
    ResourceMetric {
        subscription_id: SUB.into(),
        resource_id: resource_id.into(),
        metric: name.into(),
        window_start: now() - Duration::days(14),
        window_end: now(),
        avg: Some(p95 * 0.8),
        max: Some(p95 * 1.5),
        p95: Some(p95),
        datapoints,
        expected_datapoints: 336,
    }
}

/// An owned snapshot with costs, prices and settings.
pub struct Fixture {
    pub snapshot: SubscriptionSnapshot,
    pub settings: RuleSettings,
    pub costs: CostMap,
    pub prices: PriceBook,
    pub now: DateTime<Utc>,
}

impl Fixture {
    pub fn new(resources: Vec<ResourceRow>) -> Self {
        Self {
            snapshot: SubscriptionSnapshot {
                subscription_id: SUB.into(),
                as_of: now(),
                resources,
                ..Default::default()
            },
            settings: RuleSettings::default(),
            costs: CostMap::default(),
            prices: PriceBook::default(),
            now: now(),
        }
    }

    /// Observed monthly (actual, amortized) cost over a full 30-day window.
    pub fn cost(&mut self, resource_id: &str, actual: f64, amortized: f64) {
        self.costs.insert(
            resource_id.to_owned(),
            ObservedCost {
                monthly_actual: actual,
                monthly_amortized: amortized,
                days_observed: 30,
                days_with_cost: 30,
            },
        );
    }

    pub fn price(&mut self, key: PriceKey, monthly: f64) {
        self.prices.insert(key, monthly);
    }

    pub fn run(&self, rule: &dyn Rule) -> Vec<Finding> {
        let ctx = EvaluationContext::new(&self.snapshot, &self.settings, &self.costs, &self.prices, self.now);
        let mut out = Vec::new();
        rule.evaluate(&ctx, &mut out);
        out
    }
}
