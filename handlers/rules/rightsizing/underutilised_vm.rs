//! `rightsizing.underutilised_vm`: a running VM whose CPU (and memory, when known) stayed low
//! over the 14-day metric window, resized to the next smaller size in its family.
//!
//! Default thresholds and why (rule catalog §2.1):
//! - P95 of hourly CPU averages < 20 % (`vm_cpu_p95_max`): the catalog's proposal between
//!   Thrifty's 20 % alarm and Flexera's 40 %; P95 rather than the mean so a daily peak is not
//!   averaged away, and stricter than AOE's P99 < 30 % because we halve rather than pick a fit.
//! - P95 of memory in use < 50 % (`vm_memory_p95_max`), as AOE's 50 % memory fit; without
//!   memory data the finding stands with lower confidence (Flexera treats CPU alone as enough).
//! - Projected P95 CPU on the smaller size ≤ 40 % (`vm_projected_cpu_max`), Advisor's
//!   user-facing target.
//! - At least 80 % of the window's hours carry a datapoint (`min_metric_coverage`): a VM
//!   with gaps may have been busy when unobserved (the catalog proposes 90 % for idle VMs;
//!   80 % tolerates the agent restarts real estates show).
//!
//! Savings: observed 30-day cost × (1 − smaller/current list price); else the list price
//! difference; else half the observed cost (AOE S2's vCPU-ratio fallback). Confidence 0.8, 0.65
//! without memory data. Risk medium (a resize restarts the VM); effort medium.
//!
//! | case | expected |
//! |---|---|
//! | P95 CPU 12 %, memory 20 %, full coverage | finding, D4s → D2s |
//! | too few datapoints (50 % coverage) | none |
//! | memory under pressure (88 % used) | none |
//! | no memory data | finding, confidence 0.65 |
//! | deallocated | none |
//! | smallest size of the family | none |

use crate::model::ResourceRow;
use crate::rules::context::step_savings;
use crate::rules::facts::{ResourceFacts, extract};
use crate::rules::prices::PriceKey;
use crate::rules::rightsizing::{vm_memory_gib, vm_step_down};
use crate::rules::{
    Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule, RuleSettings, SubscriptionSnapshot,
};

/// The rule.
#[derive(Debug, Default)]
pub struct UnderutilisedVm;

/// The VM resource type.
pub const TYPE: &str = "microsoft.compute/virtualmachines";

/// Why a VM is underutilised.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Current size.
    pub size: String,
    /// Suggested size.
    pub target: String,
    /// P95 CPU.
    pub cpu_p95: f64,
    /// P95 memory in use (%), when known.
    pub memory_p95: Option<f64>,
    /// Datapoint coverage.
    pub coverage: f64,
}

/// The size of a running VM (`None` for anything else).
pub fn running_size<'a>(facts: &ResourceFacts<'a>) -> Option<&'a str> {
    match facts {
        ResourceFacts::VirtualMachine(v) if v.power_state.as_deref() == Some("running") => v.vm_size,
        _ => None,
    }
}

/// Whether `row` is an underutilised VM under `ctx`'s thresholds (also used by the rate rules,
/// which leave such VMs to be resized before anything is committed for them).
pub fn assess(
    ctx: &EvaluationContext<'_>,
    row: &ResourceRow,
    facts: &ResourceFacts<'_>,
) -> Option<Assessment> {
    let s = ctx.settings;
    let size = running_size(facts)?;
    let m = ctx.vm_metrics(&row.resource_id)?;
    let coverage =
        if m.expected_datapoints > 0 { m.datapoints as f64 / m.expected_datapoints as f64 } else { 0.0 };
    if coverage < s.min_metric_coverage {
        return None;
    }
    let cpu_p95 = m.cpu_p95?;
    if cpu_p95 >= s.vm_cpu_p95_max {
        return None;
    }
    let (target, ratio) = vm_step_down(size)?;
    if cpu_p95 * ratio > s.vm_projected_cpu_max {
        return None;
    }
    let total = vm_memory_gib(size).map(|g| g * 1_073_741_824.0);
    let memory_p95 = match (total, m.memory_available_p95_bytes) {
        (Some(t), Some(a)) if t > 0.0 => Some(100.0 * (1.0 - a / t).clamp(0.0, 1.0)),
        _ => None,
    };
    if memory_p95.is_some_and(|u| u >= s.vm_memory_p95_max) {
        return None;
    }
    Some(Assessment { size: size.to_owned(), target, cpu_p95, memory_p95, coverage })
}

impl Rule for UnderutilisedVm {
    fn id(&self) -> &'static str {
        "rightsizing.underutilised_vm"
    }
    fn category(&self) -> Category {
        Category::Rightsizing
    }
    fn title(&self) -> &'static str {
        "Underutilised virtual machine"
    }
    fn risk(&self) -> Risk {
        Risk::Medium
    }
    fn effort(&self) -> Effort {
        Effort::Medium
    }
    fn price_queries(&self, snapshot: &SubscriptionSnapshot, _: &RuleSettings) -> Vec<PriceKey> {
        let mut keys = Vec::new();
        for row in snapshot.resources.iter().filter(|r| r.resource_type == TYPE) {
            let Some(size) = running_size(&extract(row)).map(str::to_owned) else { continue };
            if let Some((target, _)) = vm_step_down(&size) {
                keys.push(PriceKey::Vm { region: row.location.clone(), size: target });
            }
            keys.push(PriceKey::Vm { region: row.location.clone(), size });
        }
        keys
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        for (row, facts) in ctx.typed(TYPE) {
            let Some(a) = assess(ctx, row, facts) else { continue };
            let price = |size: &str| {
                ctx.prices.get(&PriceKey::Vm { region: row.location.clone(), size: size.to_owned() })
            };
            let (current, target) = (price(&a.size), price(&a.target));
            let observed = ctx.cost(&row.resource_id);
            let (savings, basis) = step_savings(observed, current, target, 1.0, 0.5);
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!("Resize {} from {} to {}", row.name, a.size, a.target),
                monthly_savings: savings,
                basis,
                confidence: if a.memory_p95.is_some() { 0.8 } else { 0.65 },
                evidence: Evidence::object()
                    .field("size", a.size)
                    .field("target_size", a.target)
                    .field("cpu_p95", a.cpu_p95)
                    .field("memory_used_p95", a.memory_p95)
                    .field("coverage", a.coverage)
                    .field("current_monthly_price", current)
                    .field("target_monthly_price", target)
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
    use crate::rules::testkit::{Fixture, resource, vm_metrics};
    use serde_json::json;

    const GIB: f64 = 1_073_741_824.0;

    fn vm(power: &str) -> ResourceRow {
        resource(
            TYPE,
            "vm1",
            json!({
                "hardwareProfile": {"vmSize": "Standard_D4s_v5"},
                "extended": {"instanceView": {"powerState": {"code": format!("PowerState/{power}")}}}
            }),
        )
    }

    #[test]
    fn cases() {
        // (power, cpu p95, available memory p95 (of 16 GiB), datapoints, expected confidence)
        let cases = [
            ("running", 12.0, Some(12.8 * GIB), 330, Some(0.8)),
            ("running", 12.0, Some(12.8 * GIB), 168, None),
            ("running", 12.0, Some(1.9 * GIB), 330, None),
            ("running", 12.0, None, 330, Some(0.65)),
            ("running", 25.0, Some(12.8 * GIB), 330, None),
            ("deallocated", 12.0, Some(12.8 * GIB), 330, None),
        ];
        for (power, cpu, mem, points, want) in cases {
            let row = vm(power);
            let mut f = Fixture::new(vec![row.clone()]);
            f.snapshot.vm_metrics.push(vm_metrics(&row.resource_id, cpu, mem, points));
            f.price(PriceKey::Vm { region: "eastus".into(), size: "Standard_D4s_v5".into() }, 140.16);
            f.price(PriceKey::Vm { region: "eastus".into(), size: "Standard_D2s_v5".into() }, 70.08);
            let got = f.run(&UnderutilisedVm);
            assert_eq!(got.first().map(|g| g.confidence), want, "{power} {cpu} {mem:?} {points}");
            if want.is_some() {
                assert_eq!((got[0].monthly_savings, got[0].basis), (70.08, SavingsBasis::RetailPrice));
                assert_eq!(got[0].evidence.to_value()["target_size"], "Standard_D2s_v5");
            }
        }
    }

    #[test]
    fn observed_cost_scales_by_the_price_ratio() {
        let row = vm("running");
        let mut f = Fixture::new(vec![row.clone()]);
        f.snapshot.vm_metrics.push(vm_metrics(&row.resource_id, 10.0, None, 336));
        f.cost(&row.resource_id, 100.0, 100.0);
        f.price(PriceKey::Vm { region: "eastus".into(), size: "Standard_D4s_v5".into() }, 140.16);
        f.price(PriceKey::Vm { region: "eastus".into(), size: "Standard_D2s_v5".into() }, 70.08);
        let got = f.run(&UnderutilisedVm);
        assert_eq!((got[0].monthly_savings, got[0].basis), (50.0, SavingsBasis::ObservedCost));
    }
}
