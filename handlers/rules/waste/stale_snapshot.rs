//! `waste.stale_snapshot`: a disk snapshot at least `stale_snapshot_days` old (default 90).
//!
//! Why 90: FinOps alerts and Flexera flag at 30 days, Thrifty at 90 (rule catalog §1.4). A
//! 30-day cut catches every monthly backup the day it ages into a second month; at 90 days a
//! snapshot has outlived a quarter's restore window and is very likely forgotten, so findings
//! are actionable rather than noise. Tenants with shorter retention lower it.
//!
//! Savings: the snapshot's whole cost (observed 30 days → heuristic 0.05 USD per GB-month, the
//! list price of LRS incremental snapshots). Confidence 0.8, 0.9 when the source disk no longer
//! exists in the subscription (an orphaned snapshot). Risk high (deletes a backup); effort low.
//!
//! | case | expected |
//! |---|---|
//! | 120 days old | finding |
//! | exactly 90 days old | finding (the threshold is inclusive) |
//! | 89 days old | none |
//! | no `timeCreated` | none |
//! | no cost rows | heuristic 0.05 × GB |

use std::cell::OnceCell;

use crate::rules::context::{FastSet, whole_cost_savings};
use crate::rules::facts::ResourceFacts;
use crate::rules::{Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule};
use chrono::Duration;

/// The rule.
#[derive(Debug, Default)]
pub struct StaleSnapshot;

const TYPE: &str = "microsoft.compute/snapshots";

impl Rule for StaleSnapshot {
    fn id(&self) -> &'static str {
        "waste.stale_snapshot"
    }
    fn category(&self) -> Category {
        Category::Waste
    }
    fn title(&self) -> &'static str {
        "Stale disk snapshot"
    }
    fn risk(&self) -> Risk {
        Risk::High
    }
    fn effort(&self) -> Effort {
        Effort::Low
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        let threshold = Duration::days(ctx.settings.stale_snapshot_days);
        // The disk ids are only needed for a stale snapshot that names its source.
        let disks: OnceCell<FastSet<&str>> = OnceCell::new();
        let disk_exists = |id: &str| {
            disks
                .get_or_init(|| {
                    ctx.resources_of("microsoft.compute/disks").map(|r| r.resource_id.as_str()).collect()
                })
                .contains(id)
        };
        for (row, facts) in ctx.typed(TYPE) {
            let ResourceFacts::Snapshot(s) = facts else { continue };
            let Some(created) = s.time_created else { continue };
            let age = ctx.now - created;
            if age < threshold {
                continue;
            }
            let orphaned = s.source_resource_id.as_deref().is_some_and(|src| !disk_exists(src));
            let heuristic = s.size_gb.unwrap_or(0.0) * 0.05;
            let observed = ctx.cost(&row.resource_id);
            let (savings, basis) = whole_cost_savings(observed, None, heuristic);
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!("Delete snapshot {} ({} days old)", row.name, age.num_days()),
                monthly_savings: savings,
                basis,
                confidence: if orphaned { 0.9 } else { 0.8 },
                evidence: Evidence::object()
                    .field("time_created", created)
                    .field("age_days", age.num_days())
                    .field("threshold_days", threshold.num_days())
                    .field("size_gb", s.size_gb)
                    .field("source_resource_id", &s.source_resource_id)
                    .field("source_exists", !orphaned)
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
    use crate::rules::testkit::{Fixture, now, resource};
    use serde_json::json;

    #[test]
    fn cases() {
        // (age in days (None: no timeCreated), expected finding)
        let cases = [(Some(120), true), (Some(90), true), (Some(89), false), (Some(0), false), (None, false)];
        for (age, want) in cases {
            let props = match age {
                Some(d) => json!({"timeCreated": (now() - Duration::days(d)).to_rfc3339(), "diskSizeGB": 64}),
                None => json!({"diskSizeGB": 64}),
            };
            let f = Fixture::new(vec![resource(TYPE, "snap", props)]);
            let got = f.run(&StaleSnapshot);
            assert_eq!(got.len(), usize::from(want), "{age:?}");
            if want {
                assert_eq!((got[0].monthly_savings, got[0].basis), (3.2, SavingsBasis::Heuristic));
                assert_eq!(got[0].confidence, 0.8);
            }
        }
    }

    #[test]
    fn threshold_is_per_tenant() {
        let props = json!({"timeCreated": (now() - Duration::days(40)).to_rfc3339()});
        let mut f = Fixture::new(vec![resource(TYPE, "snap", props)]);
        assert!(f.run(&StaleSnapshot).is_empty());
        f.settings.stale_snapshot_days = 30;
        assert_eq!(f.run(&StaleSnapshot).len(), 1);
    }
}
