//! `rate.savings_plan`: steady compute that reservations do not cover — App Service plans on
//! savings-plan-eligible tiers (Premium v3 and up) billed at pay-as-you-go all month; priced
//! with the 1-year compute savings-plan rate.
//!
//! Default thresholds and why (rule catalog §3.2): the catalog proposes savings plans only for
//! residual on-demand spend after reservation recommendations. Steady VMs are left to
//! `rate.reserved_instance_gap` (a reservation prices lower than the savings plan for the same
//! VM), so this rule covers eligible compute reservations do not: plans billed for at least
//! 90 % of the window's hours (`steady_min_share`), not already covered (actual ≥ half of
//! amortized, `covered_actual_share`), and neither empty nor underused
//! (`rightsizing.app_service_plan` goes first). Eligibility is the presence of a savings-plan
//! price in Retail Prices.
//!
//! Savings: observed monthly actual cost × (1 − savings-plan/list price); no savings-plan price
//! means not eligible, so there is no heuristic. Confidence 0.7 (the commitment is hourly and
//! shared). Risk medium; effort medium.
//!
//! | case | expected |
//! |---|---|
//! | 2 × P2v3 all month, busy | finding, (list − SP) × 2 |
//! | Standard tier (no SP price) | none |
//! | empty plan | none |
//! | underused plan | none |
//! | no cost rows | none |

use crate::rules::prices::PriceKey;
use crate::rules::rate::steady_uncovered;
use crate::rules::rightsizing::app_service_plan::{self, TYPE, billed, billed_sku};
use crate::rules::{
    Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule, RuleSettings, SavingsBasis,
    SubscriptionSnapshot,
};

/// The rule.
#[derive(Debug, Default)]
pub struct SavingsPlan;

impl Rule for SavingsPlan {
    fn id(&self) -> &'static str {
        "rate.savings_plan"
    }
    fn category(&self) -> Category {
        Category::Rate
    }
    fn title(&self) -> &'static str {
        "Steady compute not covered by a savings plan"
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
            let Some(sku) = billed_sku(row) else { continue };
            keys.push(PriceKey::Plan { region: row.location.clone(), sku: sku.clone() });
            keys.push(PriceKey::PlanSavingsPlan { region: row.location.clone(), sku, years: 1 });
        }
        keys
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        for (row, facts) in ctx.typed(TYPE) {
            let Some(p) = billed(facts) else { continue };
            let Some(sku) = p.sku_name else { continue };
            // Steadiness is unknown without cost rows; skipped before any price key is built.
            let Some(observed) = ctx.cost(&row.resource_id) else { continue };
            let region = row.location.clone();
            let Some(sp) = ctx.prices.get(&PriceKey::PlanSavingsPlan {
                region: region.clone(),
                sku: sku.to_owned(),
                years: 1,
            }) else {
                continue;
            };
            let Some(list) = ctx.prices.get(&PriceKey::Plan { region, sku: sku.to_owned() }) else {
                continue;
            };
            let workers = p.workers.unwrap_or(1).max(1) as f64;
            let Some(cost) = steady_uncovered(ctx.settings, observed, Some(list * workers)) else { continue };
            if app_service_plan::assess(ctx, row, facts).is_some() || list <= 0.0 {
                continue;
            }
            let savings = cost.monthly_actual * (1.0 - sp / list).max(0.0);
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!(
                    "Cover App Service plan {} ({workers} × {sku}) with a 1-year savings plan",
                    row.name
                ),
                monthly_savings: savings,
                basis: SavingsBasis::ObservedCost,
                confidence: 0.7,
                evidence: Evidence::object()
                    .field("sku", sku)
                    .field("workers", p.workers)
                    .field("list_monthly", list)
                    .field("savings_plan_1y_monthly", sp)
                    .field("hourly_commitment", sp / crate::rules::prices::HOURS_PER_MONTH * workers)
                    .field("observed_cost", cost)
                    .build(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::{Fixture, metric, resource};
    use serde_json::json;

    #[test]
    fn cases() {
        // (sku, tier, sites, cpu p95, cost rows, expected savings)
        let list = 182.5;
        let cases = [
            ("P2v3", "PremiumV3", 4, 55.0, true, Some(2.0 * list * 0.28)),
            ("S2", "Standard", 4, 55.0, true, None),
            ("P2v3", "PremiumV3", 0, 0.0, true, None),
            ("P2v3", "PremiumV3", 4, 10.0, true, None),
            ("P2v3", "PremiumV3", 4, 55.0, false, None),
        ];
        for (sku, tier, sites, cpu, costed, want) in cases {
            let mut row = resource(TYPE, "asp", json!({"numberOfSites": sites, "numberOfWorkers": 2}));
            row.sku = Some(json!({"name": sku, "tier": tier}));
            let mut f = Fixture::new(vec![row.clone()]);
            if costed {
                f.cost(&row.resource_id, 2.0 * list, 2.0 * list);
            }
            f.snapshot.resource_metrics.push(metric(&row.resource_id, "CpuPercentage", cpu, 336));
            f.snapshot.resource_metrics.push(metric(&row.resource_id, "MemoryPercentage", 30.0, 336));
            f.price(PriceKey::Plan { region: "eastus".into(), sku: "P2v3".into() }, list);
            f.price(PriceKey::Plan { region: "eastus".into(), sku: "P1v3".into() }, list / 2.0);
            f.price(PriceKey::Plan { region: "eastus".into(), sku: "S2".into() }, 138.7);
            f.price(
                PriceKey::PlanSavingsPlan { region: "eastus".into(), sku: "P2v3".into(), years: 1 },
                list * 0.72,
            );
            let got = f.run(&SavingsPlan);
            match want {
                None => assert!(got.is_empty(), "{sku} {sites} {cpu} {costed}"),
                Some(s) => assert!((got[0].monthly_savings - s).abs() < 1e-9, "{}", got[0].monthly_savings),
            }
        }
    }
}
