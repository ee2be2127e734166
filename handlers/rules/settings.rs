//! Per-tenant rule settings: thresholds and the cost-center tag name, with documented defaults.
//!
//! A tenant stores only the keys it overrides (a JSON object in `rule_settings`); every absent
//! key takes the default below. Each rule's `//!` doc says why its default is what it is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::RulesError;

/// Every threshold the rules read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSettings {
    /// Snapshots at least this many days old are stale (`waste.stale_snapshot`).
    pub stale_snapshot_days: i64,
    /// VM: P95 of hourly CPU averages below this is underutilised (%).
    pub vm_cpu_p95_max: f64,
    /// VM: P95 of memory in use below this is underutilised (%), when memory is known.
    pub vm_memory_p95_max: f64,
    /// VM / plan / SQL: minimum share of the window's hours with a datapoint.
    pub min_metric_coverage: f64,
    /// VM: after halving, projected P95 CPU must stay at or below this (%).
    pub vm_projected_cpu_max: f64,
    /// App Service plan: P95 CPU below this is underutilised (%).
    pub plan_cpu_p95_max: f64,
    /// App Service plan: P95 memory below this is underutilised (%).
    pub plan_memory_p95_max: f64,
    /// SQL DTU: P95 DTU consumption below this is underutilised (%).
    pub sql_dtu_p95_max: f64,
    /// SQL DTU: projected P95 on the lower objective must stay at or below this (%).
    pub sql_projected_dtu_max: f64,
    /// Rate: share of the window's hours a resource must have been billed to count as steady.
    pub steady_min_share: f64,
    /// Rate: usage whose actual cost is below this share of its amortized cost is already
    /// covered by a commitment.
    pub covered_actual_share: f64,
    /// Governance: the tag every resource must carry (case-insensitive name, non-empty value).
    pub cost_center_tag: String,
    /// Which remediation actions may run, and how (all off by default).
    pub remediation: RemediationSettings,
}

/// The waste rules that have a remediation action.
pub const REMEDIABLE_RULES: [&str; 4] =
    ["waste.unattached_disk", "waste.orphaned_public_ip", "waste.orphaned_nic", "waste.stale_snapshot"];

/// Per-tenant remediation settings (`remediation` in the rule settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemediationSettings {
    /// A resource carrying this tag (any value, case-insensitive name) is never acted on.
    pub protect_tag: String,
    /// Days the snapshot taken before a disk deletion is kept before retention removes it.
    pub snapshot_retention_days: i64,
    /// Take that snapshot at all (default true).
    pub snapshot_before_delete: bool,
    /// Per rule id (one of [`REMEDIABLE_RULES`]): whether its action may run.
    pub actions: BTreeMap<String, ActionSetting>,
}

/// Whether one rule's action may run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSetting {
    /// Off by default.
    pub enabled: bool,
}

impl Default for RemediationSettings {
    fn default() -> Self {
        Self {
            protect_tag: "azcops:protect".into(),
            snapshot_retention_days: 30,
            snapshot_before_delete: true,
            actions: REMEDIABLE_RULES.iter().map(|r| ((*r).to_owned(), ActionSetting::default())).collect(),
        }
    }
}

impl RemediationSettings {
    /// True when the tenant turned on the action of `rule_id`.
    pub fn enabled(&self, rule_id: &str) -> bool {
        self.actions.get(rule_id).is_some_and(|a| a.enabled)
    }

    fn validate(&mut self) -> Result<(), RulesError> {
        if let Some(unknown) = self.actions.keys().find(|k| !REMEDIABLE_RULES.contains(&k.as_str())) {
            return Err(RulesError::Settings(format!(
                "remediation.actions: {unknown} has no remediation action (one of {})",
                REMEDIABLE_RULES.join(", ")
            )));
        }
        for rule in REMEDIABLE_RULES {
            self.actions.entry(rule.to_owned()).or_default();
        }
        if self.protect_tag.trim().is_empty() {
            return Err(RulesError::Settings("remediation.protect_tag must not be empty".into()));
        }
        if !(1..=3650).contains(&self.snapshot_retention_days) {
            return Err(RulesError::Settings("remediation.snapshot_retention_days must be 1 to 3650".into()));
        }
        Ok(())
    }
}

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            stale_snapshot_days: 90,
            vm_cpu_p95_max: 20.0,
            vm_memory_p95_max: 50.0,
            min_metric_coverage: 0.8,
            vm_projected_cpu_max: 40.0,
            plan_cpu_p95_max: 30.0,
            plan_memory_p95_max: 50.0,
            sql_dtu_p95_max: 40.0,
            sql_projected_dtu_max: 70.0,
            steady_min_share: 0.9,
            covered_actual_share: 0.5,
            cost_center_tag: "cost-center".into(),
            remediation: RemediationSettings::default(),
        }
    }
}

impl RuleSettings {
    /// Defaults overlaid with a tenant's stored overrides (`None`: no overrides).
    ///
    /// # Errors
    /// [`RulesError::Settings`] for an unknown key, a wrong type or an out-of-range value.
    pub fn from_overrides(overrides: Option<&serde_json::Value>) -> Result<Self, RulesError> {
        let mut settings: Self = match overrides {
            None => Self::default(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| RulesError::Settings(e.to_string()))?,
        };
        settings.validate()?;
        settings.remediation.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), RulesError> {
        let bad = |what: &str| Err(RulesError::Settings(what.to_owned()));
        if self.stale_snapshot_days < 1 {
            return bad("stale_snapshot_days must be at least 1");
        }
        for (name, v) in [
            ("vm_cpu_p95_max", self.vm_cpu_p95_max),
            ("vm_memory_p95_max", self.vm_memory_p95_max),
            ("vm_projected_cpu_max", self.vm_projected_cpu_max),
            ("plan_cpu_p95_max", self.plan_cpu_p95_max),
            ("plan_memory_p95_max", self.plan_memory_p95_max),
            ("sql_dtu_p95_max", self.sql_dtu_p95_max),
            ("sql_projected_dtu_max", self.sql_projected_dtu_max),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return bad(&format!("{name} must be a percentage"));
            }
        }
        for (name, v) in [
            ("min_metric_coverage", self.min_metric_coverage),
            ("steady_min_share", self.steady_min_share),
            ("covered_actual_share", self.covered_actual_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(&format!("{name} must be between 0 and 1"));
            }
        }
        if self.cost_center_tag.trim().is_empty() {
            return bad("cost_center_tag must not be empty");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_fill_from_defaults_and_are_checked() {
        let s = RuleSettings::from_overrides(Some(
            &json!({"stale_snapshot_days": 30, "cost_center_tag": "CostCentre"}),
        ))
        .unwrap();
        assert_eq!((s.stale_snapshot_days, s.cost_center_tag.as_str()), (30, "CostCentre"));
        assert_eq!(s.vm_cpu_p95_max, 20.0);
        assert_eq!(RuleSettings::from_overrides(None).unwrap(), RuleSettings::default());
        assert!(!s.remediation.enabled("waste.orphaned_nic"), "actions are off by default");
        let on = RuleSettings::from_overrides(Some(
            &json!({"remediation": {"actions": {"waste.orphaned_nic": {"enabled": true}}, "protect_tag": "keep"}}),
        ))
        .unwrap();
        assert!(
            on.remediation.enabled("waste.orphaned_nic") && !on.remediation.enabled("waste.unattached_disk")
        );
        assert_eq!(on.remediation.actions.len(), 4, "every action is listed in the effective settings");
        assert_eq!(
            (on.remediation.protect_tag.as_str(), on.remediation.snapshot_retention_days),
            ("keep", 30)
        );
        for bad in [
            json!({"bogus": 1}),
            json!({"vm_cpu_p95_max": 150}),
            json!({"cost_center_tag": " "}),
            json!({"stale_snapshot_days": "x"}),
            json!({"remediation": {"actions": {"rate.reservation": {"enabled": true}}}}),
            json!({"remediation": {"actions": {"waste.orphaned_nic": {"enabled": true, "x": 1}}}}),
            json!({"remediation": {"snapshot_retention_days": 0}}),
            json!({"remediation": {"protect_tag": ""}}),
        ] {
            assert!(RuleSettings::from_overrides(Some(&bad)).is_err(), "{bad}");
        }
    }
}
