//! `rightsizing.app_service_plan`: an App Service plan that hosts no apps (delete it), or whose
//! CPU and memory stayed low (step down to the next-lower size of its tier).
//!
//! Default thresholds and why (rule catalog §1.7, §2.3):
//! - Empty: `numberOfSites == 0` on a billed tier (not Free, Shared or Dynamic), as AOE
//!   `EmptyAppServicePlans` and the FinOps hubs query.
//! - Low: P95 of hourly `CpuPercentage` < 30 % (`plan_cpu_p95_max`) and of `MemoryPercentage`
//!   < 50 % (`plan_memory_p95_max`): AOE's `UnderusedAppServicePlans` thresholds, taken at P95
//!   over 14 days as the catalog proposes; with at least 80 % of the hours observed.
//!
//! Savings: an empty plan saves its whole cost (observed → list price × instances → 0). A step
//! down saves observed cost × (1 − lower/current price), else (current − lower) × instances,
//! else half the observed cost (AOE S3's flat 50 %). Confidence 0.9 empty, 0.75 low. Risk
//! medium (a resize recycles the apps); effort low.
//!
//! | case | expected |
//! |---|---|
//! | no sites on a Premium v3 plan | finding, whole cost |
//! | CPU 12 %, memory 30 %, 3 × P2v3 | finding, (P2v3 − P1v3) × 3 |
//! | CPU 55 % | none |
//! | smallest size of the tier, busy or not | none unless empty |
//! | Free tier, no sites | none |
//! | too few datapoints | none |

use serde_json::json;

use crate::model::ResourceRow;
use crate::rules::context::{step_savings, whole_cost_savings};
use crate::rules::facts::{AppServicePlanFacts, ResourceFacts, extract};
use crate::rules::prices::PriceKey;
use crate::rules::rightsizing::plan_step_down;
use crate::rules::{
    Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule, RuleSettings, SubscriptionSnapshot,
};

/// The rule.
#[derive(Debug, Default)]
pub struct AppServicePlan;

/// The plan resource type.
pub const TYPE: &str = "microsoft.web/serverfarms";

/// What the rule concluded about one plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanAssessment {
    /// Hosts no apps.
    Empty,
    /// Low load: step down to `target`.
    Low {
        /// Next-lower size.
        target: String,
        /// P95 CPU.
        cpu_p95: f64,
        /// P95 memory.
        memory_p95: f64,
    },
}

/// The plan's facts when it is on a billed tier.
pub fn billed<'f, 'a>(facts: &'f ResourceFacts<'a>) -> Option<&'f AppServicePlanFacts<'a>> {
    let ResourceFacts::AppServicePlan(p) = facts else { return None };
    let tier = p.tier.unwrap_or("");
    let free = ["free", "shared", "dynamic"].iter().any(|t| t.eq_ignore_ascii_case(tier));
    (!free).then_some(p)
}

/// The plan's SKU name when it is on a billed tier (for price queries).
pub fn billed_sku(row: &ResourceRow) -> Option<String> {
    billed(&extract(row)).and_then(|p| p.sku_name).map(str::to_owned)
}

/// Whether `row` is an empty or underused plan (also used by `rate.savings_plan`).
pub fn assess(
    ctx: &EvaluationContext<'_>,
    row: &ResourceRow,
    facts: &ResourceFacts<'_>,
) -> Option<PlanAssessment> {
    let p = billed(facts)?;
    if p.sites == Some(0) {
        return Some(PlanAssessment::Empty);
    }
    let s = ctx.settings;
    // Both metrics from one lookup of the resource (the first of each name, as `metric`).
    let (mut cpu, mut mem) = (None, None);
    for m in ctx.metrics_of(&row.resource_id) {
        if cpu.is_none() && m.metric.eq_ignore_ascii_case("CpuPercentage") {
            cpu = Some(m);
        } else if mem.is_none() && m.metric.eq_ignore_ascii_case("MemoryPercentage") {
            mem = Some(m);
        }
    }
    let (cpu, mem) = (cpu?, mem?);
    if cpu.coverage() < s.min_metric_coverage || mem.coverage() < s.min_metric_coverage {
        return None;
    }
    let (cpu_p95, memory_p95) = (cpu.p95?, mem.p95?);
    if cpu_p95 >= s.plan_cpu_p95_max || memory_p95 >= s.plan_memory_p95_max {
        return None;
    }
    let target = plan_step_down(p.sku_name?)?;
    Some(PlanAssessment::Low { target, cpu_p95, memory_p95 })
}

impl Rule for AppServicePlan {
    fn id(&self) -> &'static str {
        "rightsizing.app_service_plan"
    }
    fn category(&self) -> Category {
        Category::Rightsizing
    }
    fn title(&self) -> &'static str {
        "Empty or underused App Service plan"
    }
    fn risk(&self) -> Risk {
        Risk::Medium
    }
    fn effort(&self) -> Effort {
        Effort::Low
    }
    fn price_queries(&self, snapshot: &SubscriptionSnapshot, _: &RuleSettings) -> Vec<PriceKey> {
        let mut keys = Vec::new();
        for row in snapshot.resources.iter().filter(|r| r.resource_type == TYPE) {
            let Some(sku) = billed_sku(row) else { continue };
            if let Some(lower) = plan_step_down(&sku) {
                keys.push(PriceKey::Plan { region: row.location.clone(), sku: lower });
            }
            keys.push(PriceKey::Plan { region: row.location.clone(), sku });
        }
        keys
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        for (row, facts) in ctx.typed(TYPE) {
            let Some(a) = assess(ctx, row, facts) else { continue };
            let Some(p) = billed(facts) else { continue };
            let workers = p.workers.unwrap_or(1).max(1) as f64;
            let sku = p.sku_name.unwrap_or_default();
            let price =
                |s: &str| ctx.prices.get(&PriceKey::Plan { region: row.location.clone(), sku: s.to_owned() });
            let observed = ctx.cost(&row.resource_id);
            let (title, savings, basis, confidence, detail) = match &a {
                PlanAssessment::Empty => {
                    let (s, b) = whole_cost_savings(observed, price(sku).map(|p| p * workers), 0.0);
                    (format!("Delete empty App Service plan {}", row.name), s, b, 0.9, json!({"sites": 0}))
                }
                PlanAssessment::Low { target, cpu_p95, memory_p95 } => {
                    let (s, b) = step_savings(observed, price(sku), price(target), workers, 0.5);
                    (
                        format!("Scale App Service plan {} down from {sku} to {target}", row.name),
                        s,
                        b,
                        0.75,
                        json!({"target_sku": target, "cpu_p95": cpu_p95, "memory_p95": memory_p95}),
                    )
                }
            };
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title,
                monthly_savings: savings,
                basis,
                confidence,
                evidence: Evidence::object()
                    .field("sku", sku)
                    .field("tier", p.tier)
                    .field("workers", p.workers)
                    .field("sites", p.sites)
                    .field("assessment", detail)
                    .field("observed_cost", observed)
                    .build(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::SavingsBasis;
    use crate::rules::testkit::{Fixture, metric, resource};
    use serde_json::json;

    fn plan(sku: &str, tier: &str, workers: i64, sites: i64) -> ResourceRow {
        let mut r = resource(TYPE, "asp", json!({"numberOfSites": sites, "numberOfWorkers": workers}));
        r.sku = Some(json!({"name": sku, "tier": tier, "capacity": workers}));
        r
    }

    #[test]
    fn cases() {
        // (plan, cpu p95, mem p95, datapoints, expected (savings, basis))
        let cases = [
            (plan("P1v3", "PremiumV3", 1, 0), 1.0, 10.0, 336, Some((91.25, SavingsBasis::RetailPrice))),
            (
                plan("P2v3", "PremiumV3", 3, 2),
                12.0,
                30.0,
                336,
                Some(((182.5 - 91.25) * 3.0, SavingsBasis::RetailPrice)),
            ),
            (plan("P2v3", "PremiumV3", 3, 2), 55.0, 30.0, 336, None),
            (plan("P2v3", "PremiumV3", 3, 2), 12.0, 60.0, 336, None),
            (plan("P1v3", "PremiumV3", 1, 2), 5.0, 10.0, 336, None),
            (plan("F1", "Free", 1, 0), 0.0, 0.0, 336, None),
            (plan("P2v3", "PremiumV3", 3, 2), 12.0, 30.0, 100, None),
        ];
        for (row, cpu, mem, points, want) in cases {
            let mut f = Fixture::new(vec![row.clone()]);
            f.snapshot.resource_metrics.push(metric(&row.resource_id, "CpuPercentage", cpu, points));
            f.snapshot.resource_metrics.push(metric(&row.resource_id, "MemoryPercentage", mem, points));
            f.price(PriceKey::Plan { region: "eastus".into(), sku: "P1v3".into() }, 91.25);
            f.price(PriceKey::Plan { region: "eastus".into(), sku: "P2v3".into() }, 182.5);
            let got = f.run(&AppServicePlan);
            let label = format!("{:?} {cpu} {mem} {points}", row.sku);
            match want {
                None => assert!(got.is_empty(), "{label}: {got:?}"),
                Some((s, b)) => {
                    assert_eq!(got.len(), 1, "{label}");
                    assert!((got[0].monthly_savings - s).abs() < 1e-9, "{label}: {}", got[0].monthly_savings);
                    assert_eq!(got[0].basis, b, "{label}");
                }
            }
        }
    }

    #[test]
    fn empty_plan_with_cost_rows_saves_the_observed_cost() {
        let row = plan("S1", "Standard", 1, 0);
        let mut f = Fixture::new(vec![row.clone()]);
        f.cost(&row.resource_id, 69.35, 69.35);
        let got = f.run(&AppServicePlan);
        assert_eq!((got[0].monthly_savings, got[0].basis), (69.35, SavingsBasis::ObservedCost));
    }
}
