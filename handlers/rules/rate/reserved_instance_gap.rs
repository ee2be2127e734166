//! `rate.reserved_instance_gap`: a running VM billed at pay-as-you-go around the clock for the
//! last 30 days and not covered by a reservation; priced with 1- and 3-year reservations.
//!
//! Default thresholds and why (rule catalog §3.1):
//! - Steady: actual cost over the window ≥ 90 % of the size's list price for the same hours
//!   (`steady_min_share`; without a price, charges on ≥ 90 % of days). The catalog proposes a
//!   coefficient of variation < 0.2 per family; one VM billed ≥ 90 % of hours has at most a
//!   tenth idle, which a 1-year reservation (60 % of list) still beats by far.
//! - Already covered: actual cost below half the amortized cost (`covered_actual_share`) —
//!   reservation-covered usage bills 0 actual while amortized carries the reservation's share.
//! - A VM that `rightsizing.underutilised_vm` flags is left out: resize first, then reserve
//!   (Advisor's known gap the catalog warns about).
//!
//! Savings (1-year term; the 3-year figure is in the evidence): observed monthly actual cost
//! × (1 − reservation/list price) → heuristic 40 % of the observed cost (the usual 1-year
//! Linux discount) when no reservation price is known. Confidence 0.8. Risk medium (a
//! 1-year commitment); effort medium.
//!
//! | case | expected |
//! |---|---|
//! | running always, no reservation | finding, list − 1-year price |
//! | covered (actual 0, amortized > 0) | none |
//! | weekday schedule (36 % of hours) | none |
//! | underutilised | none |
//! | no cost rows | none (steadiness unknown) |

use crate::rules::facts::extract;
use crate::rules::prices::PriceKey;
use crate::rules::rate::steady_uncovered;
use crate::rules::rightsizing::underutilised_vm::{self, TYPE, running_size};
use crate::rules::{
    Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule, RuleSettings, SavingsBasis,
    SubscriptionSnapshot,
};

/// The rule.
#[derive(Debug, Default)]
pub struct ReservedInstanceGap;

impl Rule for ReservedInstanceGap {
    fn id(&self) -> &'static str {
        "rate.reserved_instance_gap"
    }
    fn category(&self) -> Category {
        Category::Rate
    }
    fn title(&self) -> &'static str {
        "Steady VM not covered by a reservation"
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
            let region = row.location.clone();
            keys.push(PriceKey::Vm { region: region.clone(), size: size.clone() });
            for years in [1, 3] {
                keys.push(PriceKey::VmReservation { region: region.clone(), size: size.clone(), years });
            }
        }
        keys
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        for (row, facts) in ctx.typed(TYPE) {
            let Some(size) = running_size(facts) else { continue };
            // Steadiness is unknown without cost rows; skipped before any price key is built.
            let Some(observed) = ctx.cost(&row.resource_id) else { continue };
            let region = &row.location;
            let list = ctx.prices.get(&PriceKey::Vm { region: region.clone(), size: size.to_owned() });
            let Some(cost) = steady_uncovered(ctx.settings, observed, list) else { continue };
            if underutilised_vm::assess(ctx, row, facts).is_some() {
                continue;
            }
            let ri = |years| {
                ctx.prices.get(&PriceKey::VmReservation {
                    region: region.clone(),
                    size: size.to_owned(),
                    years,
                })
            };
            let (ri1, ri3) = (ri(1), ri(3));
            let saving = |reserved: Option<f64>| match (list, reserved) {
                (Some(l), Some(r)) if l > 0.0 => Some(cost.monthly_actual * (1.0 - r / l).max(0.0)),
                _ => None,
            };
            let (savings, basis) = match saving(ri1) {
                Some(s) => (s, SavingsBasis::ObservedCost),
                None => (cost.monthly_actual * 0.4, SavingsBasis::Heuristic),
            };
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!("Reserve {} ({size}) for 1 year", row.name),
                monthly_savings: savings,
                basis,
                confidence: 0.8,
                evidence: Evidence::object()
                    .field("size", size)
                    .field("region", region)
                    .field("list_monthly", list)
                    .field("reserved_1y_monthly", ri1)
                    .field("reserved_3y_monthly", ri3)
                    .field("savings_1y", saving(ri1))
                    .field("savings_3y", saving(ri3))
                    .field("observed_cost", cost)
                    .build(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::{Fixture, resource, vm_metrics};
    use serde_json::json;

    #[test]
    fn cases() {
        // (actual, amortized, cpu p95, expected savings)
        let list = 140.16;
        let cases = [
            (140.16, 140.16, 45.0, Some(140.16 * 0.4)),
            (0.0, 84.1, 45.0, None),
            (50.0, 50.0, 45.0, None),
            (140.16, 140.16, 10.0, None),
        ];
        for (actual, amortized, cpu, want) in cases {
            let row = resource(
                TYPE,
                "vm",
                json!({
                    "hardwareProfile": {"vmSize": "Standard_D4s_v5"},
                    "extended": {"instanceView": {"powerState": {"code": "PowerState/running"}}}
                }),
            );
            let mut f = Fixture::new(vec![row.clone()]);
            f.cost(&row.resource_id, actual, amortized);
            f.snapshot.vm_metrics.push(vm_metrics(&row.resource_id, cpu, None, 336));
            f.price(PriceKey::Vm { region: "eastus".into(), size: "Standard_D4s_v5".into() }, list);
            f.price(
                PriceKey::VmReservation { region: "eastus".into(), size: "Standard_D4s_v5".into(), years: 1 },
                list * 0.6,
            );
            f.price(
                PriceKey::VmReservation { region: "eastus".into(), size: "Standard_D4s_v5".into(), years: 3 },
                list * 0.4,
            );
            let got = f.run(&ReservedInstanceGap);
            match want {
                None => assert!(got.is_empty(), "{actual} {amortized} {cpu}"),
                Some(s) => {
                    assert!((got[0].monthly_savings - s).abs() < 1e-9);
                    assert!(
                        (got[0].evidence.to_value()["savings_3y"].as_f64().unwrap() - list * 0.6).abs()
                            < 1e-9
                    );
                }
            }
        }
        // No cost rows: steadiness unknown.
        let row = resource(
            TYPE,
            "vm",
            json!({"extended": {"instanceView": {"powerState": {"code": "PowerState/running"}}}, "hardwareProfile": {"vmSize": "Standard_D4s_v5"}}),
        );
        assert!(Fixture::new(vec![row]).run(&ReservedInstanceGap).is_empty());
    }
}
