//! Raw paths and the manifest: the blob listing a subscription's snapshots of one run, whose
//! creation triggers the rule engine.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::RunKind;
use super::snapshot::Connector;

/// `{tenant}/{connector}/{yyyy}/{mm}/{dd}/{subscription}/{run_id}.json`
pub fn snapshot_path(
    tenant: &str,
    connector: Connector,
    day: NaiveDate,
    subscription: &str,
    run_id: &str,
) -> String {
    format!(
        "{tenant}/{}/{:04}/{:02}/{:02}/{subscription}/{run_id}.json",
        connector.as_str(),
        day.year(),
        day.month(),
        day.day()
    )
}

/// `{tenant}/manifests/{yyyy}/{mm}/{dd}/{subscription}.json`
pub fn manifest_path(tenant: &str, day: NaiveDate, subscription: &str) -> String {
    format!("{tenant}/manifests/{:04}/{:02}/{:02}/{subscription}.json", day.year(), day.month(), day.day())
}

/// The manifest of one subscription's run. Its content depends only on the run, so a retried
/// write of the same run finds identical content and converges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// AzCops tenant id.
    pub tenant_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// The run whose snapshots these are.
    pub run_id: String,
    /// Kind of run.
    pub kind: RunKind,
    /// The day the run is filed under.
    pub day: NaiveDate,
    /// Snapshot path per connector (paths inside the `raw` container).
    pub snapshots: Vec<(Connector, String)>,
}

impl Manifest {
    /// The snapshot path of `connector`, if the run wrote one.
    pub fn snapshot(&self, connector: Connector) -> Option<&str> {
        self.snapshots.iter().find(|(c, _)| *c == connector).map(|(_, p)| p.as_str())
    }

    /// Where this manifest is stored.
    pub fn path(&self) -> String {
        manifest_path(&self.tenant_id, self.day, &self.subscription_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_architecture() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(
            snapshot_path("t1", Connector::CostManagement, day, "s1", "r1"),
            "t1/cost_management/2026/01/05/s1/r1.json"
        );
        assert_eq!(manifest_path("t1", day, "s1"), "t1/manifests/2026/01/05/s1.json");
        let matched = crate::appdef::match_blob_path(
            "raw/{tenant}/manifests/{yyyy}/{mm}/{dd}/{subscription}.json",
            &format!("raw/{}", manifest_path("t1", day, "s1")),
        );
        assert!(matched.is_some(), "the evaluate_rules trigger path matches manifests");
    }
}
