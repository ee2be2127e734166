//! Every rule, in one place, and the Advisor recommendation types that duplicate them.

use super::governance::missing_cost_center_tag::MissingCostCenterTag;
use super::rate::reserved_instance_gap::ReservedInstanceGap;
use super::rate::savings_plan::SavingsPlan;
use super::rightsizing::app_service_plan::AppServicePlan;
use super::rightsizing::sql_dtu::SqlDtu;
use super::rightsizing::underutilised_vm::UnderutilisedVm;
use super::waste::orphaned_nic::OrphanedNic;
use super::waste::orphaned_public_ip::OrphanedPublicIp;
use super::waste::stale_snapshot::StaleSnapshot;
use super::waste::unattached_disk::UnattachedDisk;
use super::{EvaluationContext, Finding, Rule};

/// Every rule the engine evaluates, in a stable order.
pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(UnattachedDisk),
        Box::new(OrphanedPublicIp),
        Box::new(OrphanedNic),
        Box::new(StaleSnapshot),
        Box::new(UnderutilisedVm),
        Box::new(AppServicePlan),
        Box::new(SqlDtu),
        Box::new(ReservedInstanceGap),
        Box::new(SavingsPlan),
        Box::new(MissingCostCenterTag),
    ]
}

/// Advisor `recommendationTypeId`s that describe the same finding as one of our rules; such a
/// recommendation is dropped when the rule found the same resource.
pub const ADVISOR_EQUIVALENTS: &[(&str, &str)] = &[
    ("e10b1381-5f0a-47ff-8c7b-37bd13d7c974", "rightsizing.underutilised_vm"),
    ("48eda464-1485-4dcf-a674-d0905df5054a", "waste.unattached_disk"),
    ("84b1a508-fc21-49da-979e-96894f1665df", "rate.reserved_instance_gap"),
];

/// The rule an Advisor recommendation type duplicates, if any.
pub fn advisor_equivalent(type_id: &str) -> Option<&'static str> {
    ADVISOR_EQUIVALENTS.iter().find(|(t, _)| t.eq_ignore_ascii_case(type_id)).map(|(_, r)| *r)
}

/// Evaluates `rules` over `ctx`, each finding paired with the index of its rule.
pub fn evaluate(rules: &[Box<dyn Rule>], ctx: &EvaluationContext<'_>) -> Vec<(usize, Finding)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        rule.evaluate(ctx, &mut buf);
        out.extend(buf.drain(..).map(|f| (i, f)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_ten_stable_ones_and_unique() {
        let ids: Vec<&str> = all().iter().map(|r| r.id()).collect();
        assert_eq!(ids, crate::sandbox::truth::FINDING_KINDS);
        for rule in all() {
            assert!(rule.id().starts_with(rule.category().as_str()), "{}", rule.id());
        }
        assert_eq!(advisor_equivalent("48EDA464-1485-4dcf-a674-d0905df5054a"), Some("waste.unattached_disk"));
    }
}
