//! `rightsizing.sql_dtu`: a single database on a DTU tier (Basic, Standard, Premium) whose DTU
//! consumption stayed low; step down one service objective in its edition.
//!
//! Default thresholds and why (rule catalog §2.4):
//! - P95 of hourly `dtu_consumption_percent` < 40 % (`sql_dtu_p95_max`): AOE's
//!   `PerfThresholdDtuPercentage`, taken at P95 over 14 days as the catalog proposes.
//! - Projected P95 on the lower objective (P95 × current DTU ÷ lower DTU) ≤ 70 %
//!   (`sql_projected_dtu_max`), the catalog's headroom so the smaller database is not
//!   performance-constrained (AOE flags > 75 % as constrained).
//! - At least 80 % of the hours observed. Databases in an elastic pool are skipped (the pool
//!   is sized, not the database).
//!
//! Savings: observed cost × (1 − lower/current price), else the list difference, else half the
//! observed cost (AOE S3). Confidence 0.75. Risk medium (tier changes move limits); effort
//! medium.
//!
//! | case | expected |
//! |---|---|
//! | S3 at P95 22 % | finding, S3 → S2 (projected 44 %) |
//! | SKU `Standard`, objective `S3` in properties | finding, S3 → S2 |
//! | S2 at P95 38 % | none (projected 95 % on S1) |
//! | S3 at 60 % | none |
//! | S0 (lowest Standard) at 5 % | none |
//! | vCore database | none |
//! | in an elastic pool | none |

use crate::model::ResourceRow;
use crate::rules::context::step_savings;
use crate::rules::facts::{ResourceFacts, extract};
use crate::rules::prices::PriceKey;
use crate::rules::rightsizing::{dtu_objective, dtu_step_down};
use crate::rules::{
    Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule, RuleSettings, SubscriptionSnapshot,
};

/// The rule.
#[derive(Debug, Default)]
pub struct SqlDtu;

const TYPE: &str = "microsoft.sql/servers/databases";

fn dtu_database<'a>(row: &'a ResourceRow, facts: &ResourceFacts<'a>) -> Option<(&'a str, &'a str)> {
    let ResourceFacts::SqlDatabase(d) = facts else { return None };
    if row.properties.get("elasticPoolId").is_some_and(|v| !v.is_null()) {
        return None;
    }
    let tier = d.tier?;
    // ARM names DTU databases' SKU by edition (`Standard`, capacity 100); the objective (`S3`)
    // is `currentServiceObjectiveName`, else it follows from the capacity.
    let objective = row
        .properties
        .get("currentServiceObjectiveName")
        .and_then(|v| v.as_str())
        .or_else(|| d.capacity.and_then(|c| dtu_objective(tier, c)))
        .or(d.sku_name)?;
    dtu_step_down(tier, objective)?;
    Some((tier, objective))
}

impl Rule for SqlDtu {
    fn id(&self) -> &'static str {
        "rightsizing.sql_dtu"
    }
    fn category(&self) -> Category {
        Category::Rightsizing
    }
    fn title(&self) -> &'static str {
        "Underused DTU database"
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
            let Some((tier, objective)) = dtu_database(row, &extract(row)) else { continue };
            if let Some((_, Some((lower, _)))) = dtu_step_down(tier, objective) {
                keys.push(PriceKey::SqlDatabase {
                    region: row.location.clone(),
                    objective: lower.to_owned(),
                });
            }
            keys.push(PriceKey::SqlDatabase {
                region: row.location.clone(),
                objective: objective.to_owned(),
            });
        }
        keys
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        let s = ctx.settings;
        for (row, facts) in ctx.typed(TYPE) {
            let Some((tier, objective)) = dtu_database(row, facts) else { continue };
            let Some((dtu, Some((lower, lower_dtu)))) = dtu_step_down(tier, objective) else { continue };
            let Some(m) = ctx.metric(&row.resource_id, "dtu_consumption_percent") else { continue };
            let Some(p95) = m.p95 else { continue };
            let projected = p95 * dtu / lower_dtu;
            if m.coverage() < s.min_metric_coverage
                || p95 >= s.sql_dtu_p95_max
                || projected > s.sql_projected_dtu_max
            {
                continue;
            }
            let price = |o: &str| {
                ctx.prices
                    .get(&PriceKey::SqlDatabase { region: row.location.clone(), objective: o.to_owned() })
            };
            let (current, target) = (price(objective), price(lower));
            let observed = ctx.cost(&row.resource_id);
            let (savings, basis) = step_savings(observed, current, target, 1.0, 0.5);
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!("Scale database {} down from {objective} to {lower}", row.name),
                monthly_savings: savings,
                basis,
                confidence: 0.75,
                evidence: Evidence::object()
                    .field("objective", objective)
                    .field("target_objective", lower)
                    .field("dtu", dtu)
                    .field("target_dtu", lower_dtu)
                    .field("dtu_p95", p95)
                    .field("projected_dtu_p95", projected)
                    .field("coverage", m.coverage())
                    .field("observed_cost", observed)
                    .build(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::{Fixture, metric, resource};
    use serde_json::{Value, json};

    fn db(objective: &str, tier: &str, props: Value) -> ResourceRow {
        let mut r = resource(TYPE, "db", props);
        let capacity = if objective == "Standard" { json!(100) } else { json!(null) };
        r.sku = Some(json!({"name": objective, "tier": tier, "capacity": capacity}));
        r
    }

    #[test]
    fn cases() {
        // (database, dtu p95, expected target)
        let cases = [
            (db("S3", "Standard", json!({})), 22.0, Some("S2")),
            (db("Standard", "Standard", json!({"currentServiceObjectiveName": "S3"})), 22.0, Some("S2")),
            (db("S2", "Standard", json!({})), 38.0, None),
            (db("S3", "Standard", json!({})), 60.0, None),
            (db("S0", "Standard", json!({})), 5.0, None),
            (db("GP_Gen5_2", "GeneralPurpose", json!({})), 5.0, None),
            (db("S3", "Standard", json!({"elasticPoolId": "/pool"})), 5.0, None),
        ];
        for (row, p95, want) in cases {
            let mut f = Fixture::new(vec![row.clone()]);
            f.snapshot.resource_metrics.push(metric(&row.resource_id, "dtu_consumption_percent", p95, 336));
            f.price(PriceKey::SqlDatabase { region: "eastus".into(), objective: "S3".into() }, 147.18);
            f.price(PriceKey::SqlDatabase { region: "eastus".into(), objective: "S2".into() }, 73.59);
            let got = f.run(&SqlDtu);
            assert_eq!(
                got.first()
                    .map(|g| g.evidence.to_value()["target_objective"].as_str().unwrap().to_owned())
                    .as_deref(),
                want,
                "{:?} {p95}",
                row.sku
            );
            if want.is_some() {
                assert!((got[0].monthly_savings - 73.59).abs() < 1e-9);
            }
        }
    }
}
