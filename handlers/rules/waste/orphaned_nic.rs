//! `waste.orphaned_nic`: a network interface bound to no VM and no private endpoint.
//!
//! Default thresholds: none — current state, as AOE `OrphanedNIC`
//! (`isempty(OwnerVMId) and isempty(OwnerPEId)`) and the FinOps hubs query (rule catalog
//! §1.3). NICs of managed services (`hostedWorkloads` non-empty, or a `privateLinkService`)
//! are excluded, as AzGovViz does.
//!
//! Savings: 0 — NICs are free (AOE files them under operational excellence); the finding
//! reclaims address space and clutter. Confidence 0.9. Risk low; effort low.
//!
//! | case | expected |
//! |---|---|
//! | no VM, no private endpoint | finding, savings 0 |
//! | bound to a VM | none |
//! | bound to a private endpoint | none |
//! | hosted workload | none |

use serde_json::Value;

use crate::rules::facts::ResourceFacts;
use crate::rules::{Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule, SavingsBasis};

/// The rule.
#[derive(Debug, Default)]
pub struct OrphanedNic;

const TYPE: &str = "microsoft.network/networkinterfaces";

impl Rule for OrphanedNic {
    fn id(&self) -> &'static str {
        "waste.orphaned_nic"
    }
    fn category(&self) -> Category {
        Category::Waste
    }
    fn title(&self) -> &'static str {
        "Orphaned network interface"
    }
    fn risk(&self) -> Risk {
        Risk::Low
    }
    fn effort(&self) -> Effort {
        Effort::Low
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        for (row, facts) in ctx.typed(TYPE) {
            let ResourceFacts::NetworkInterface(nic) = facts else { continue };
            let hosted = row
                .properties
                .get("hostedWorkloads")
                .and_then(|v| v.as_array())
                .is_some_and(|a| !a.is_empty());
            let pls = row
                .properties
                .get("privateLinkService")
                .and_then(|p| p.get("id"))
                .is_some_and(|v| !v.is_null());
            if nic.virtual_machine.is_some() || nic.private_endpoint.is_some() || hosted || pls {
                continue;
            }
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!("Delete orphaned network interface {}", row.name),
                monthly_savings: 0.0,
                basis: SavingsBasis::NotApplicable,
                confidence: 0.9,
                evidence: Evidence::object()
                    .field("virtual_machine", Value::Null)
                    .field("private_endpoint", Value::Null)
                    .build(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::{Fixture, resource};
    use serde_json::json;

    #[test]
    fn cases() {
        // (properties, expected finding)
        let cases = [
            (json!({}), true),
            (json!({"virtualMachine": null, "privateEndpoint": null}), true),
            (json!({"virtualMachine": {"id": "/vm"}}), false),
            (json!({"privateEndpoint": {"id": "/pe"}}), false),
            (json!({"hostedWorkloads": ["/x"]}), false),
            (json!({"hostedWorkloads": []}), true),
        ];
        for (props, want) in cases {
            let f = Fixture::new(vec![resource(TYPE, "nic", props.clone())]);
            let got = f.run(&OrphanedNic);
            assert_eq!(got.len(), usize::from(want), "{props}");
            if want {
                assert_eq!((got[0].monthly_savings, got[0].basis), (0.0, SavingsBasis::NotApplicable));
            }
        }
    }
}
