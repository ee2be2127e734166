//! Per-tenant rule settings: thresholds and the cost-center tag name, with documented defaults.
//!
//! A tenant stores only the keys it overrides (a JSON object in `rule_settings`); every absent
//! key takes the default below. Each rule's `//!` doc says why its default is what it is.

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
        }
    }
}

impl RuleSettings {
    /// Defaults overlaid with a tenant's stored overrides (`None`: no overrides).
    ///
    /// # Errors
    /// [`RulesError::Settings`] for an unknown key, a wrong type or an out-of-range value.
    pub fn from_overrides(overrides: Option<&serde_json::Value>) -> Result<Self, RulesError> {
        let settings: Self = match overrides {
            None => Self::default(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| RulesError::Settings(e.to_string()))?,
        };
        settings.validate()?;
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
        for bad in [
            json!({"bogus": 1}),
            json!({"vm_cpu_p95_max": 150}),
            json!({"cost_center_tag": " "}),
            json!({"stale_snapshot_days": "x"}),
        ] {
            assert!(RuleSettings::from_overrides(Some(&bad)).is_err(), "{bad}");
        }
    }
}
