//! `waste.orphaned_public_ip`: a public IP with no `ipConfiguration` and no `natGateway`.
//!
//! Default thresholds: none — current state, as the FinOps hubs/alerts query
//! (`isempty(properties.ipConfiguration) and isempty(properties.natGateway)`), AOE
//! `OrphanedPublicIP` and Cloud Custodian do (rule catalog §1.2). IPs carved from a
//! `publicIPPrefix` are excluded (AzGovViz): the prefix is billed whether or not they are used.
//!
//! Savings: the address's whole cost (observed 30 days → heuristic: a Standard static IPv4 at
//! 0.005 USD/hour × 730 = 3.65 USD/month; a Basic dynamic address is not billed while
//! unassociated, so 0). Confidence 0.9. Risk medium (a released address cannot be recovered);
//! effort low.
//!
//! | case | expected |
//! |---|---|
//! | no ipConfiguration, no NAT gateway | finding |
//! | bound to a NIC ip configuration | none |
//! | on a NAT gateway | none |
//! | from a public IP prefix | none |
//! | no cost rows, Standard | heuristic 3.65 |
//! | no cost rows, Basic dynamic | heuristic 0 |

use crate::rules::context::whole_cost_savings;
use crate::rules::facts::ResourceFacts;
use crate::rules::{Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule};

/// The rule.
#[derive(Debug, Default)]
pub struct OrphanedPublicIp;

const TYPE: &str = "microsoft.network/publicipaddresses";

impl Rule for OrphanedPublicIp {
    fn id(&self) -> &'static str {
        "waste.orphaned_public_ip"
    }
    fn category(&self) -> Category {
        Category::Waste
    }
    fn title(&self) -> &'static str {
        "Orphaned public IP address"
    }
    fn risk(&self) -> Risk {
        Risk::Medium
    }
    fn effort(&self) -> Effort {
        Effort::Low
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        for (row, facts) in ctx.typed(TYPE) {
            let ResourceFacts::PublicIp(ip) = facts else { continue };
            let in_prefix =
                row.properties.get("publicIPPrefix").and_then(|p| p.get("id")).is_some_and(|v| !v.is_null());
            if !ip.is_unattached() || in_prefix {
                continue;
            }
            let basic_dynamic = ip.sku.is_some_and(|s| s.eq_ignore_ascii_case("basic"))
                && ip.allocation_method.is_some_and(|m| m.eq_ignore_ascii_case("dynamic"));
            let heuristic = if basic_dynamic { 0.0 } else { 3.65 };
            let observed = ctx.cost(&row.resource_id);
            let (savings, basis) = whole_cost_savings(observed, None, heuristic);
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!("Release unused public IP {}", row.name),
                monthly_savings: savings,
                basis,
                confidence: 0.9,
                evidence: Evidence::object()
                    .field("sku", ip.sku)
                    .field("allocation_method", ip.allocation_method)
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
    use crate::rules::testkit::{Fixture, resource};
    use serde_json::{Value, json};

    type Case = (Value, &'static str, Option<f64>, Option<(f64, SavingsBasis)>);

    #[test]
    fn cases() {
        // (properties, sku, observed cost, expected savings/basis)
        let cases: Vec<Case> = vec![
            (
                json!({"publicIPAllocationMethod": "Static"}),
                "Standard",
                Some(3.65),
                Some((3.65, SavingsBasis::ObservedCost)),
            ),
            (json!({"ipConfiguration": {"id": "/nic/ipconfigurations/c1"}}), "Standard", Some(3.65), None),
            (json!({"natGateway": {"id": "/ng"}}), "Standard", Some(3.65), None),
            (json!({"publicIPPrefix": {"id": "/prefix"}}), "Standard", None, None),
            (json!({"ipConfiguration": null}), "Standard", None, Some((3.65, SavingsBasis::Heuristic))),
            (
                json!({"publicIPAllocationMethod": "Dynamic"}),
                "Basic",
                None,
                Some((0.0, SavingsBasis::Heuristic)),
            ),
        ];
        for (props, sku, cost, want) in cases {
            let mut row = resource(TYPE, "pip", props.clone());
            row.sku = Some(json!({"name": sku}));
            let mut f = Fixture::new(vec![row.clone()]);
            if let Some(c) = cost {
                f.cost(&row.resource_id, c, c);
            }
            let got = f.run(&OrphanedPublicIp);
            match want {
                None => assert!(got.is_empty(), "{props}"),
                Some((s, b)) => {
                    assert_eq!(got.len(), 1, "{props}");
                    assert_eq!((got[0].monthly_savings, got[0].basis), (s, b), "{props}");
                }
            }
        }
    }
}
