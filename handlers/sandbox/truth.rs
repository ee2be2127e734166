//! Ground truth: the findings planted in an estate, with their true monthly cost and savings,
//! and the estate summary the CLI prints.
//!
//! Only subscriptions the managing tenant can read are included (a non-delegated subscription
//! is invisible to AzCops, so nothing there can be found). Resource ids are lower-cased like the
//! curated rows. Savings rules: waste = the whole monthly cost (orphaned NICs are free, so 0);
//! VM / plan / SQL rightsizing = the price difference to the next-lower size in the family
//! (planted utilisation makes exactly that step fit); an empty plan = its whole cost;
//! reservation gap = pay-as-you-go minus the 1-year reservation rate; savings plan =
//! pay-as-you-go minus the 1-year savings-plan rate; missing cost-center tag = 0 savings.
//! A VM planted as underutilised is not also listed as a reservation gap (rightsize first).
//!
//! Cost anomalies are planted apart, on metered services without a resource; their truth is
//! [`anomaly_truth`] (subscription, service, day, kind), see [`super::metered`].

use std::collections::BTreeMap;

use chrono::Days;
use serde::Serialize;

use super::estate::{Estate, Kind, Plant, Resource};
use super::prices::{self, HOURS_PER_MONTH, round_to};
use super::usage;

pub use super::metered::{AnomalyTruth, anomaly_truth};

/// Every finding kind the estate plants.
pub const FINDING_KINDS: &[&str] = &[
    "waste.unattached_disk",
    "waste.orphaned_public_ip",
    "waste.orphaned_nic",
    "waste.stale_snapshot",
    "rightsizing.underutilised_vm",
    "rightsizing.app_service_plan",
    "rightsizing.sql_dtu",
    "rate.reserved_instance_gap",
    "rate.savings_plan",
    "governance.missing_cost_center_tag",
];

/// One planted finding.
#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize)]
pub struct TruthRow {
    /// Tenant owning the subscription.
    pub tenant_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Lower-cased resource id.
    pub resource_id: String,
    /// Finding kind (one of [`FINDING_KINDS`]).
    pub finding: String,
    /// Monthly cost of the resource (amortized, USD).
    pub true_monthly_cost: f64,
    /// Monthly savings of acting on the finding (USD).
    pub true_monthly_savings: f64,
}

/// The estate summary printed by `azcops sandbox`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Tenants.
    pub tenants: usize,
    /// Subscriptions (all, including non-delegated).
    pub subscriptions: usize,
    /// Resources.
    pub resources: usize,
    /// Daily cost rows at resource grain (resource × day with a charge, plus resource-less charges).
    pub cost_rows: u64,
    /// Planted findings (ground-truth rows).
    pub planted_findings: usize,
    /// Planted findings by kind.
    pub findings_by_kind: BTreeMap<String, usize>,
    /// Sum of true monthly savings (USD).
    pub total_true_monthly_waste: f64,
    /// Planted cost anomalies (anomaly ground-truth rows).
    pub planted_anomalies: usize,
}

fn savings(r: &Resource, finding: &str, cost: f64) -> f64 {
    let step = |from: f64, to: Option<f64>| to.map_or(0.0, |to| (from - to) * HOURS_PER_MONTH);
    match (finding, &r.kind) {
        ("waste.orphaned_nic" | "governance.missing_cost_center_tag", _) => 0.0,
        ("rightsizing.underutilised_vm", Kind::Vm { size, .. }) => step(
            prices::VM_SIZES[*size].meter.price,
            prices::vm_step_down(*size).map(|l| prices::VM_SIZES[l].meter.price),
        ),
        ("rightsizing.app_service_plan", Kind::Plan { sites: 0, .. }) => cost,
        ("rightsizing.app_service_plan", Kind::Plan { sku, workers, .. }) => {
            let lower = prices::plan_step_down(*sku).map(|l| prices::PLAN_SKUS[l].meter.price);
            step(prices::PLAN_SKUS[*sku].meter.price, lower) * f64::from(*workers)
        }
        ("rightsizing.sql_dtu", Kind::SqlDb { objective, .. }) => {
            let m = |i: usize| prices::SQL_OBJECTIVES[i].meter.hourly(1.0);
            step(m(*objective), objective.checked_sub(1).map(m))
        }
        ("rate.reserved_instance_gap", Kind::Vm { size, .. }) => {
            let m = prices::VM_SIZES[*size].meter;
            (m.price - m.reserved_hourly_1y()) * HOURS_PER_MONTH
        }
        ("rate.savings_plan", Kind::Plan { sku, workers, .. }) => {
            let m = prices::PLAN_SKUS[*sku].meter;
            (m.price - m.savings_plan_hourly(1)) * HOURS_PER_MONTH * f64::from(*workers)
        }
        _ => cost,
    }
}

/// The ground truth of an estate, sorted.
pub fn ground_truth(estate: &Estate) -> Vec<TruthRow> {
    let mut rows = Vec::new();
    for (s, sub) in estate.subscriptions.iter().enumerate() {
        if !sub.delegated {
            continue;
        }
        let tenant_id = &estate.tenant_of(s).id;
        for r in estate.resources_of(s) {
            let cost = usage::monthly_cost(r);
            let mut push = |finding: &str| {
                rows.push(TruthRow {
                    tenant_id: tenant_id.clone(),
                    subscription_id: sub.id.clone(),
                    resource_id: r.id.to_lowercase(),
                    finding: finding.to_owned(),
                    true_monthly_cost: round_to(cost, 4),
                    true_monthly_savings: round_to(savings(r, finding, cost), 4),
                });
            };
            if let Plant::Finding(kind) = r.plant {
                push(kind);
            }
            if r.cost_center.as_deref().is_none_or(|v| v.trim().is_empty()) {
                push("governance.missing_cost_center_tag");
            }
        }
    }
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    rows
}

/// Counts the estate's resource-grain daily cost rows without materialising them.
pub fn count_cost_rows(estate: &Estate) -> u64 {
    let first = estate.as_of.checked_sub_days(Days::new(u64::from(estate.spec.days))).unwrap_or(estate.as_of);
    let days: Vec<_> = first.iter_days().take_while(|d| *d < estate.as_of).collect();
    let mut rows = 0u64;
    for (s, range) in estate.sub_ranges.iter().enumerate() {
        for day in &days {
            rows += usage::subscription_charges(estate, s, *day).len() as u64;
            for r in &estate.resources[range.clone()] {
                rows += u64::from(usage::day_cost(estate, r, *day).is_some());
            }
        }
    }
    rows
}

/// Summarises an estate and its ground truth.
pub fn summarize(estate: &Estate, truth: &[TruthRow]) -> Summary {
    let mut findings_by_kind = BTreeMap::new();
    for row in truth {
        *findings_by_kind.entry(row.finding.clone()).or_insert(0) += 1;
    }
    Summary {
        tenants: estate.tenants.len(),
        subscriptions: estate.subscriptions.len(),
        resources: estate.resources.len(),
        cost_rows: count_cost_rows(estate),
        planted_findings: truth.len(),
        findings_by_kind,
        total_true_monthly_waste: round_to(truth.iter().map(|r| r.true_monthly_savings).sum(), 2),
        planted_anomalies: anomaly_truth(estate).len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::spec::EstateSpec;
    use chrono::NaiveDate;

    #[test]
    fn every_kind_is_planted_in_the_demo_estate() {
        let e = Estate::generate(42, EstateSpec::DEMO, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        let truth = ground_truth(&e);
        let summary = summarize(&e, &truth);
        for kind in FINDING_KINDS {
            assert!(summary.findings_by_kind.get(*kind).copied().unwrap_or(0) > 0, "{kind} missing");
        }
        assert!(truth.windows(2).all(|w| w[0] <= w[1]));
        assert!(summary.total_true_monthly_waste > 100.0);
        let nic = truth.iter().find(|r| r.finding == "waste.orphaned_nic").unwrap();
        assert_eq!(nic.true_monthly_savings, 0.0);
    }
}
