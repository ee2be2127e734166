//! `governance.missing_cost_center_tag`: a resource without a non-empty cost-center tag
//! (`cost_center_tag`, default `cost-center`, matched case-insensitively as Azure treats tag
//! names).
//!
//! Default and why (rule catalog §4): the tag name is the one most FinOps allocation guides
//! use; tenants with another convention (`CostCenter`, `cost_centre`) set their own. A tag
//! present with an empty or blank value allocates nothing, so it counts as missing. Every
//! resource type is checked, free ones included: untagged free resources (NICs, VNets)
//! become billed ones' parents.
//!
//! Savings: 0 (tagging saves nothing by itself); the evidence carries the untagged monthly
//! cost (observed 30 days, `null` without cost rows) so people can tag the costly ones
//! first. Confidence 1.0 (a fact, not an estimate). Risk low; effort low.
//!
//! | case | expected |
//! |---|---|
//! | tag present with a value | none |
//! | tag absent | finding |
//! | tag present with an empty value | finding |
//! | `Cost-Center` (other case) | none |
//! | tenant tag `CostCentre` | checks that name |
//! | no cost rows | finding, untagged cost null |

use crate::rules::{Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule, SavingsBasis};

/// The rule.
#[derive(Debug, Default)]
pub struct MissingCostCenterTag;

impl Rule for MissingCostCenterTag {
    fn id(&self) -> &'static str {
        "governance.missing_cost_center_tag"
    }
    fn category(&self) -> Category {
        Category::Governance
    }
    fn title(&self) -> &'static str {
        "Resource missing the cost-center tag"
    }
    fn risk(&self) -> Risk {
        Risk::Low
    }
    fn effort(&self) -> Effort {
        Effort::Low
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        let name = ctx.settings.cost_center_tag.trim();
        // The context found the untagged rows while indexing, under this same trimmed name.
        for row in ctx.untagged() {
            let cost = ctx.cost(&row.resource_id);
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!("Tag {} with {name}", row.name),
                monthly_savings: 0.0,
                basis: SavingsBasis::NotApplicable,
                confidence: 1.0,
                evidence: Evidence::object()
                    .field("tag", name)
                    .field("present_but_empty", row.tags.keys().any(|k| k.eq_ignore_ascii_case(name)))
                    .field("untagged_monthly_cost", cost.map(|c| c.monthly_amortized))
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

    type Case = (&'static [(&'static str, &'static str)], &'static str, bool);

    #[test]
    fn cases() {
        // (tags, tenant tag name, expected finding)
        let cases: [Case; 7] = [
            (&[("cost-center", "cc-1")], "cost-center", false),
            (&[], "cost-center", true),
            (&[("cost-center", "")], "cost-center", true),
            (&[("cost-center", "  ")], "cost-center", true),
            (&[("Cost-Center", "cc-1")], "cost-center", false),
            (&[("cost-center", "cc-1")], "CostCentre", true),
            (&[("costcentre", "cc-1")], "CostCentre", false),
        ];
        for (tags, name, want) in cases {
            let mut row = resource("microsoft.network/virtualnetworks", "vnet", json!({}));
            row.tags = tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            let mut f = Fixture::new(vec![row]);
            f.settings.cost_center_tag = name.into();
            let got = f.run(&MissingCostCenterTag);
            assert_eq!(got.len(), usize::from(want), "{tags:?} {name}");
            if want {
                assert_eq!(got[0].monthly_savings, 0.0);
                assert!(got[0].evidence.to_value()["untagged_monthly_cost"].is_null());
            }
        }
    }

    #[test]
    fn carries_the_untagged_cost() {
        let mut row = resource("microsoft.compute/disks", "d", json!({}));
        row.tags.clear();
        let mut f = Fixture::new(vec![row.clone()]);
        f.cost(&row.resource_id, 19.71, 19.71);
        assert_eq!(f.run(&MissingCostCenterTag)[0].evidence.to_value()["untagged_monthly_cost"], 19.71);
    }
}
