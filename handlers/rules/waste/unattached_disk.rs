//! `waste.unattached_disk`: a managed disk attached to no VM (`diskState` `Unattached` and no
//! `managedBy`).
//!
//! Default thresholds: none — the state is current fact, as in AOE `UnattachedDisks`, the
//! FinOps hubs/alerts queries, Cloud Custodian and Thrifty (rule catalog §1.1). A disk that is
//! `Reserved` (its VM is deallocated) or `ActiveSAS` (being exported) is not unattached.
//! Azure Site Recovery replica and seed disks are excluded (tags `ASR-ReplicaDisk` /
//! `asrseeddisk`, names `ms-asr-*`, `asrseeddisk-*`, `*-ASRReplica`), the false positives AOE,
//! hubs and AzGovViz learned.
//!
//! Savings: the disk's whole cost (observed 30 days → retail price of its tier → heuristic
//! per provisioned GB: Premium 0.15, Standard SSD 0.075, Standard HDD 0.045 USD/GB-month, near
//! the list prices of mid-size tiers). Confidence 0.9, 0.95 when cost rows confirm billing.
//! Risk high (deleting a disk destroys data: snapshot first); effort low.
//!
//! | case | expected |
//! |---|---|
//! | `Unattached`, no owner | finding, whole cost |
//! | attached, then detached in the next snapshot | none, then a finding |
//! | `Reserved` (VM deallocated) | none |
//! | ASR replica tag | none |
//! | no cost rows | retail price of the tier, else heuristic |

use crate::model::ResourceRow;
use crate::rules::context::whole_cost_savings;
use crate::rules::facts::{ResourceFacts, extract};
use crate::rules::prices::{PriceKey, disk_retail_sku};
use crate::rules::{
    Category, Effort, EvaluationContext, Evidence, Finding, Risk, Rule, RuleSettings, SubscriptionSnapshot,
};

/// The rule.
#[derive(Debug, Default)]
pub struct UnattachedDisk;

const TYPE: &str = "microsoft.compute/disks";

fn is_asr(row: &ResourceRow) -> bool {
    let name = row.name.to_ascii_lowercase();
    row.tags
        .keys()
        .any(|k| k.eq_ignore_ascii_case("ASR-ReplicaDisk") || k.eq_ignore_ascii_case("asrseeddisk"))
        || name.starts_with("ms-asr-")
        || name.starts_with("asrseeddisk-")
        || name.ends_with("-asrreplica")
}

fn price_key(row: &ResourceRow, sku: Option<&str>, size_gb: Option<f64>) -> Option<PriceKey> {
    let (product, sku_name) = disk_retail_sku(sku?, size_gb?)?;
    Some(PriceKey::Disk { region: row.location.clone(), product: product.to_owned(), sku_name })
}

fn per_gb(sku: Option<&str>) -> f64 {
    match sku.map(str::to_ascii_lowercase).as_deref() {
        Some(s) if s.starts_with("premium") => 0.15,
        Some(s) if s.starts_with("standardssd") => 0.075,
        _ => 0.045,
    }
}

impl Rule for UnattachedDisk {
    fn id(&self) -> &'static str {
        "waste.unattached_disk"
    }
    fn category(&self) -> Category {
        Category::Waste
    }
    fn title(&self) -> &'static str {
        "Unattached managed disk"
    }
    fn risk(&self) -> Risk {
        Risk::High
    }
    fn effort(&self) -> Effort {
        Effort::Low
    }
    fn price_queries(&self, snapshot: &SubscriptionSnapshot, _: &RuleSettings) -> Vec<PriceKey> {
        snapshot
            .resources
            .iter()
            .filter(|r| r.resource_type == TYPE)
            .filter_map(|r| match extract(r) {
                ResourceFacts::Disk(d) if d.is_unattached() => price_key(r, d.sku, d.size_gb),
                _ => None,
            })
            .collect()
    }
    fn evaluate(&self, ctx: &EvaluationContext<'_>, out: &mut Vec<Finding>) {
        for (row, facts) in ctx.typed(TYPE) {
            let ResourceFacts::Disk(d) = facts else { continue };
            if !d.is_unattached() || row.managed_by.is_some() || is_asr(row) {
                continue;
            }
            let retail = price_key(row, d.sku, d.size_gb).and_then(|k| ctx.prices.get(&k));
            let heuristic = d.size_gb.unwrap_or(0.0) * per_gb(d.sku);
            let observed = ctx.cost(&row.resource_id);
            let (savings, basis) = whole_cost_savings(observed, retail, heuristic);
            let billed = observed.is_some_and(|c| c.monthly_actual > 0.0);
            out.push(Finding {
                rule_id: self.id(),
                resource_id: row.resource_id.clone(),
                title: format!("Delete unattached disk {}", row.name),
                monthly_savings: savings,
                basis,
                confidence: if billed { 0.95 } else { 0.9 },
                evidence: Evidence::object()
                    .field("disk_state", d.state)
                    .field("sku", d.sku)
                    .field("size_gb", d.size_gb)
                    .field("time_created", d.time_created)
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
    use serde_json::json;

    fn disk(name: &str, state: &str, managed_by: Option<&str>) -> ResourceRow {
        let mut r = resource(TYPE, name, json!({"diskState": state, "diskSizeGB": 128}));
        r.sku = Some(json!({"name": "Premium_LRS"}));
        r.managed_by = managed_by.map(str::to_owned);
        r
    }

    type Case = (ResourceRow, Option<f64>, bool, Option<(f64, SavingsBasis)>);

    #[test]
    fn cases() {
        // (disk, observed monthly cost, retail known, expected (savings, basis) or None)
        let vm = Some("/subscriptions/s/vm1");
        let mut asr = disk("replica", "Unattached", None);
        asr.tags.insert("ASR-ReplicaDisk".into(), "x".into());
        let cases: Vec<Case> = vec![
            (disk("d1", "Unattached", None), Some(19.71), true, Some((19.71, SavingsBasis::ObservedCost))),
            (disk("d2", "Attached", vm), Some(19.71), true, None),
            (disk("d3", "Reserved", vm), Some(19.71), true, None),
            (disk("d4", "ActiveSAS", None), None, true, None),
            (asr, Some(5.0), true, None),
            (disk("d5", "Unattached", None), None, true, Some((19.71, SavingsBasis::RetailPrice))),
            (disk("d6", "Unattached", None), None, false, Some((128.0 * 0.15, SavingsBasis::Heuristic))),
        ];
        for (row, cost, retail, want) in cases {
            let mut f = Fixture::new(vec![row.clone()]);
            if let Some(c) = cost {
                f.cost(&row.resource_id, c, c);
            }
            if retail {
                f.price(price_key(&row, Some("Premium_LRS"), Some(128.0)).unwrap(), 19.71);
            }
            let got = f.run(&UnattachedDisk);
            match want {
                None => assert!(got.is_empty(), "{}: {got:?}", row.name),
                Some((s, b)) => {
                    assert_eq!(got.len(), 1, "{}", row.name);
                    assert!(
                        (got[0].monthly_savings - s).abs() < 1e-6,
                        "{}: {}",
                        row.name,
                        got[0].monthly_savings
                    );
                    assert_eq!(got[0].basis, b, "{}", row.name);
                }
            }
        }
    }

    #[test]
    fn attached_then_detached() {
        let attached = Fixture::new(vec![disk("d", "Attached", Some("/vm"))]);
        assert!(attached.run(&UnattachedDisk).is_empty());
        let detached = Fixture::new(vec![disk("d", "Unattached", None)]);
        assert_eq!(detached.run(&UnattachedDisk).len(), 1);
    }
}
