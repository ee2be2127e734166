//! The remediation actions as pure functions: from the resource's current state (its ARM `GET`
//! body), the locks over it and the tenant's policy, either the exact plan of what would be done
//! or the reason it is refused. The dry run shows this plan; `remediate` re-computes it from a
//! fresh read just before it acts, so a finding that stopped holding is never acted on.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

/// ARM api-version of `Microsoft.Compute` disks and snapshots.
pub const COMPUTE_API: &str = "2023-04-02";
/// ARM api-version of `Microsoft.Network` public IPs and NICs.
pub const NETWORK_API: &str = "2023-09-01";
/// ARM api-version of `Microsoft.Authorization/locks`.
pub const LOCKS_API: &str = "2016-09-01";
/// The tag every snapshot AzCops takes carries, so retention removes only its own.
pub const OWNER_TAG: &str = "azcops:remediation";
/// The tag holding the date after which retention removes the snapshot.
pub const EXPIRES_TAG: &str = "azcops:expires";

/// One remediation action (one per waste rule that has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `waste.unattached_disk`: snapshot (by default), then delete the disk.
    DeleteDisk,
    /// `waste.orphaned_public_ip`: delete the public IP.
    DeletePublicIp,
    /// `waste.orphaned_nic`: delete the network interface.
    DeleteNic,
    /// `waste.stale_snapshot`: delete the snapshot.
    DeleteSnapshot,
}

impl Action {
    /// Every action, with the rule it remediates.
    pub const ALL: [(Action, &'static str); 4] = [
        (Action::DeleteDisk, "waste.unattached_disk"),
        (Action::DeletePublicIp, "waste.orphaned_public_ip"),
        (Action::DeleteNic, "waste.orphaned_nic"),
        (Action::DeleteSnapshot, "waste.stale_snapshot"),
    ];

    /// The action of `rule_id`, if the rule has one.
    pub fn for_rule(rule_id: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, rule)| *rule == rule_id).map(|(action, _)| *action)
    }

    /// The rule this action remediates.
    pub fn rule_id(self) -> &'static str {
        Self::ALL.iter().find(|(a, _)| *a == self).map_or("", |(_, rule)| rule)
    }

    /// The stored name (`delete_disk`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeleteDisk => "delete_disk",
            Self::DeletePublicIp => "delete_public_ip",
            Self::DeleteNic => "delete_nic",
            Self::DeleteSnapshot => "delete_snapshot",
        }
    }

    /// The ARM resource type (lower case) the action applies to.
    pub fn resource_type(self) -> &'static str {
        match self {
            Self::DeleteDisk => "microsoft.compute/disks",
            Self::DeletePublicIp => "microsoft.network/publicipaddresses",
            Self::DeleteNic => "microsoft.network/networkinterfaces",
            Self::DeleteSnapshot => "microsoft.compute/snapshots",
        }
    }

    /// The api-version used for the resource.
    pub fn api_version(self) -> &'static str {
        match self {
            Self::DeleteDisk | Self::DeleteSnapshot => COMPUTE_API,
            Self::DeletePublicIp | Self::DeleteNic => NETWORK_API,
        }
    }
}

/// A management lock as `Microsoft.Authorization/locks` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lock {
    /// The lock's id (its scope is the part before `/providers/Microsoft.Authorization`).
    pub id: String,
    /// `CanNotDelete` or `ReadOnly`.
    pub level: String,
}

impl Lock {
    /// The locks of a `locks` list body (`value[].properties.level`).
    pub fn from_list(body: &Value) -> Vec<Lock> {
        body.get("value")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|l| Lock {
                        id: l.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        level: l
                            .pointer("/properties/level")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn blocks_delete(&self) -> bool {
        self.level.eq_ignore_ascii_case("CanNotDelete") || self.level.eq_ignore_ascii_case("ReadOnly")
    }
}

/// The tenant's remediation policy that the plan depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Tag name that protects a resource from any action (case-insensitive).
    pub protect_tag: String,
    /// Take a snapshot before deleting a disk.
    pub snapshot_disks: bool,
    /// Days the pre-deletion snapshot is kept.
    pub snapshot_retention_days: i64,
    /// Snapshots at least this old are stale (the rule's threshold).
    pub stale_snapshot_days: i64,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// `resource_gone`, `not_applicable`, `attached`, `associated`, `not_stale`, `locked`,
    /// `protected`.
    pub reason: String,
    /// What was found, in words.
    pub message: String,
}

impl Refusal {
    fn new(reason: &str, message: impl Into<String>) -> Self {
        Self { reason: reason.to_owned(), message: message.into() }
    }
}

/// One ARM request of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// `PUT` or `DELETE`.
    pub method: String,
    /// The ARM path with its api-version.
    pub path: String,
    /// The request body (the snapshot's definition), if any.
    pub body: Option<Value>,
    /// What the step does.
    pub description: String,
}

/// What an action would do to one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The action.
    pub action: Action,
    /// The resource acted on (as ARM spells it).
    pub resource_id: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The snapshot taken first (disk deletion), if any.
    pub snapshot_id: Option<String>,
    /// When retention removes that snapshot.
    pub snapshot_expires_at: Option<DateTime<Utc>>,
}

fn str_at<'a>(state: &'a Value, pointer: &str) -> Option<&'a str> {
    state.pointer(pointer).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn present(state: &Value, pointer: &str) -> bool {
    state.pointer(pointer).is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
}

/// Refuses when the finding of `action` no longer holds for `state`.
fn check_finding(action: Action, state: &Value, policy: &Policy, now: DateTime<Utc>) -> Result<(), Refusal> {
    let kind = str_at(state, "/type").unwrap_or_default().to_ascii_lowercase();
    if kind != action.resource_type() {
        return Err(Refusal::new(
            "not_applicable",
            format!("the resource is a {kind}, not a {}", action.resource_type()),
        ));
    }
    match action {
        Action::DeleteDisk => {
            let disk_state = str_at(state, "/properties/diskState").unwrap_or("Unknown");
            if let Some(owner) = str_at(state, "/managedBy") {
                return Err(Refusal::new(
                    "attached",
                    format!("the disk is attached to {owner} (diskState {disk_state})"),
                ));
            }
            if !disk_state.eq_ignore_ascii_case("Unattached") {
                return Err(Refusal::new(
                    "attached",
                    format!("the disk's diskState is {disk_state}, not Unattached"),
                ));
            }
        }
        Action::DeletePublicIp => {
            if let Some(config) = str_at(state, "/properties/ipConfiguration/id") {
                return Err(Refusal::new("associated", format!("the public IP is associated with {config}")));
            }
            if let Some(nat) = str_at(state, "/properties/natGateway/id") {
                return Err(Refusal::new(
                    "associated",
                    format!("the public IP is attached to NAT gateway {nat}"),
                ));
            }
        }
        Action::DeleteNic => {
            if let Some(vm) = str_at(state, "/properties/virtualMachine/id") {
                return Err(Refusal::new("attached", format!("the network interface is attached to {vm}")));
            }
            if let Some(pe) = str_at(state, "/properties/privateEndpoint/id") {
                return Err(Refusal::new(
                    "attached",
                    format!("the network interface belongs to private endpoint {pe}"),
                ));
            }
            let hosted = state
                .pointer("/properties/hostedWorkloads")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if hosted || present(state, "/properties/privateLinkService/id") {
                return Err(Refusal::new("attached", "the network interface serves a managed workload"));
            }
        }
        Action::DeleteSnapshot => {
            let created = str_at(state, "/properties/timeCreated")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let Some(created) = created else {
                return Err(Refusal::new("not_stale", "the snapshot has no timeCreated"));
            };
            let age = (now - created).num_days();
            if age < policy.stale_snapshot_days {
                return Err(Refusal::new(
                    "not_stale",
                    format!(
                        "the snapshot is {age} days old, younger than {} days",
                        policy.stale_snapshot_days
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Refuses a resource id that does not lie in `subscription_id`: the platform identity can
/// reach every customer, so an action only ever touches the subscription the finding was made in.
///
/// # Errors
/// The [`Refusal`] `outside_subscription`.
pub fn check_in_subscription(resource_id: &str, subscription_id: &str) -> Result<(), Refusal> {
    let mut segments = resource_id.split('/');
    let inside = segments.next() == Some("")
        && segments.next().is_some_and(|s| s.eq_ignore_ascii_case("subscriptions"))
        && segments.next().is_some_and(|s| !s.is_empty() && s.eq_ignore_ascii_case(subscription_id))
        && segments.next().is_some();
    if inside {
        Ok(())
    } else {
        Err(Refusal::new(
            "outside_subscription",
            format!("{resource_id} is not a resource of subscription {subscription_id}"),
        ))
    }
}

/// The plan of `action` on the resource whose ARM body is `state`, given the locks at the
/// resource's and its group's scope; or why it is refused. `now` dates the snapshot's expiry;
/// `key` (the recommendation's id) names the snapshot, so a retried delivery puts the same one.
///
/// # Errors
/// The [`Refusal`] when the finding no longer holds, a lock blocks deletion, or the resource
/// carries the protection tag.
pub fn plan(
    action: Action,
    state: &Value,
    locks: &[Lock],
    policy: &Policy,
    now: DateTime<Utc>,
    key: &str,
) -> Result<Plan, Refusal> {
    let resource_id =
        str_at(state, "/id").ok_or_else(|| Refusal::new("resource_gone", "the resource has no id"))?;
    if let Some(tags) = state.get("tags").and_then(Value::as_object)
        && let Some((name, value)) =
            tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(policy.protect_tag.trim()))
    {
        return Err(Refusal::new(
            "protected",
            format!("the resource carries the protection tag {name}={}", value.as_str().unwrap_or_default()),
        ));
    }
    if let Some(lock) = locks.iter().find(|l| l.blocks_delete()) {
        return Err(Refusal::new("locked", format!("a {} lock applies: {}", lock.level, lock.id)));
    }
    check_finding(action, state, policy, now)?;
    let mut steps = Vec::new();
    let (mut snapshot_id, mut expires) = (None, None);
    if action == Action::DeleteDisk && policy.snapshot_disks {
        let id = snapshot_id_for(resource_id, key);
        let until = now + Duration::days(policy.snapshot_retention_days);
        steps.push(Step {
            method: "PUT".into(),
            path: format!("{id}?api-version={COMPUTE_API}"),
            body: Some(snapshot_body(state, resource_id, until)),
            description: format!(
                "take an incremental snapshot of the disk, kept until {}",
                until.format("%Y-%m-%d")
            ),
        });
        snapshot_id = Some(id);
        expires = Some(until);
    }
    steps.push(Step {
        method: "DELETE".into(),
        path: format!("{resource_id}?api-version={}", action.api_version()),
        body: None,
        description: format!("delete {resource_id}"),
    });
    Ok(Plan { action, resource_id: resource_id.to_owned(), steps, snapshot_id, snapshot_expires_at: expires })
}

/// The id of the pre-deletion snapshot: beside the disk, named after it and the end of `key`.
pub fn snapshot_id_for(disk_id: &str, key: &str) -> String {
    let (group, name) = disk_id
        .rsplit_once("/providers/")
        .map_or((disk_id, ""), |(g, rest)| (g, rest.rsplit('/').next().unwrap_or_default()));
    let tail: String = key.chars().filter(char::is_ascii_alphanumeric).collect();
    let tail = &tail[tail.len().saturating_sub(12)..];
    let name: String = format!("{name}-azcops-{tail}").chars().take(80).collect();
    format!("{group}/providers/Microsoft.Compute/snapshots/{name}")
}

fn snapshot_body(state: &Value, disk_id: &str, until: DateTime<Utc>) -> Value {
    serde_json::json!({
        "location": state.get("location").cloned().unwrap_or(Value::Null),
        "tags": { OWNER_TAG: "pre-delete", EXPIRES_TAG: until.format("%Y-%m-%d").to_string() },
        "sku": { "name": "Standard_LRS" },
        "properties": { "incremental": true, "creationData": { "createOption": "Copy", "sourceResourceId": disk_id } },
    })
}

/// True when a snapshot body is one AzCops took and its expiry date is before `now`.
pub fn snapshot_expired(state: &Value, now: DateTime<Utc>) -> bool {
    let tags = state.get("tags").and_then(Value::as_object);
    let owned = tags.is_some_and(|t| t.contains_key(OWNER_TAG));
    let until = tags
        .and_then(|t| t.get(EXPIRES_TAG))
        .and_then(Value::as_str)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    owned && until.is_some_and(|d| d < now.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_resource_outside_the_findings_subscription_is_refused() {
        let ok = "/subscriptions/S-1/resourceGroups/rg/providers/Microsoft.Compute/disks/d";
        assert_eq!(check_in_subscription(ok, "s-1"), Ok(()));
        for other in [
            "/subscriptions/s-2/resourceGroups/rg/providers/Microsoft.Compute/disks/d",
            "/subscriptions/s-1",
            "subscriptions/s-1/resourceGroups/rg",
            "/providers/Microsoft.Compute/disks/d",
            "",
        ] {
            let refused = check_in_subscription(other, "s-1").unwrap_err();
            assert_eq!(refused.reason, "outside_subscription", "{other}");
        }
        assert!(check_in_subscription(ok, "").is_err());
    }

    fn policy() -> Policy {
        Policy {
            protect_tag: "azcops:protect".into(),
            snapshot_disks: true,
            snapshot_retention_days: 30,
            stale_snapshot_days: 90,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().with_timezone(&Utc)
    }

    const DISK: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d1";

    fn disk(state: &str, managed_by: Option<&str>) -> Value {
        json!({"id": DISK, "type": "Microsoft.Compute/disks", "location": "westeurope", "managedBy": managed_by,
               "tags": {"env": "dev"}, "properties": {"diskState": state}})
    }

    #[test]
    fn an_unattached_disk_is_snapshotted_then_deleted() {
        let plan =
            plan(Action::DeleteDisk, &disk("Unattached", None), &[], &policy(), now(), "0193-abcdef123456")
                .unwrap();
        assert_eq!(plan.steps.iter().map(|s| s.method.as_str()).collect::<Vec<_>>(), ["PUT", "DELETE"]);
        let snapshot = plan.snapshot_id.clone().unwrap();
        assert_eq!(
            snapshot,
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/d1-azcops-abcdef123456"
        );
        assert_eq!(plan.snapshot_expires_at, Some(now() + Duration::days(30)));
        assert_eq!(plan.steps[0].body.as_ref().unwrap()["tags"][EXPIRES_TAG], "2027-01-06");
        assert_eq!(plan.steps[1].path, format!("{DISK}?api-version={COMPUTE_API}"));
        let no_snapshot = Policy { snapshot_disks: false, ..policy() };
        let direct =
            super::plan(Action::DeleteDisk, &disk("Unattached", None), &[], &no_snapshot, now(), "k")
                .unwrap();
        assert_eq!((direct.steps.len(), direct.snapshot_id), (1, None));
    }

    #[test]
    fn refusals_name_their_reason() {
        let lock = |level: &str| Lock {
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/locks/l".into(),
            level: level.into(),
        };
        let mut protected = disk("Unattached", None);
        protected["tags"]["AzCops:Protect"] = json!("yes");
        let old = json!({"id": "/x/snap", "type": "Microsoft.Compute/snapshots", "properties": {"timeCreated": "2026-01-01T00:00:00Z"}});
        let young = json!({"id": "/x/snap", "type": "Microsoft.Compute/snapshots", "properties": {"timeCreated": "2026-11-01T00:00:00Z"}});
        let cases: Vec<(Action, Value, Vec<Lock>, Option<&str>)> = vec![
            (Action::DeleteDisk, disk("Attached", Some("/vm/1")), vec![], Some("attached")),
            (Action::DeleteDisk, disk("Reserved", None), vec![], Some("attached")),
            (Action::DeleteDisk, disk("Unattached", None), vec![lock("CanNotDelete")], Some("locked")),
            (Action::DeleteDisk, disk("Unattached", None), vec![lock("ReadOnly")], Some("locked")),
            (Action::DeleteDisk, protected, vec![], Some("protected")),
            (Action::DeletePublicIp, disk("Unattached", None), vec![], Some("not_applicable")),
            (
                Action::DeletePublicIp,
                json!({"id": "/x/ip", "type": "Microsoft.Network/publicIPAddresses", "properties": {"ipConfiguration": {"id": "/nic/ipc"}}}),
                vec![],
                Some("associated"),
            ),
            (
                Action::DeletePublicIp,
                json!({"id": "/x/ip", "type": "Microsoft.Network/publicIPAddresses", "properties": {}}),
                vec![],
                None,
            ),
            (
                Action::DeleteNic,
                json!({"id": "/x/nic", "type": "Microsoft.Network/networkInterfaces", "properties": {"virtualMachine": {"id": "/vm"}}}),
                vec![],
                Some("attached"),
            ),
            (
                Action::DeleteNic,
                json!({"id": "/x/nic", "type": "Microsoft.Network/networkInterfaces", "properties": {"privateEndpoint": {"id": "/pe"}}}),
                vec![],
                Some("attached"),
            ),
            (
                Action::DeleteNic,
                json!({"id": "/x/nic", "type": "Microsoft.Network/networkInterfaces", "properties": {"hostedWorkloads": []}}),
                vec![],
                None,
            ),
            (Action::DeleteSnapshot, old, vec![], None),
            (Action::DeleteSnapshot, young, vec![], Some("not_stale")),
        ];
        for (action, state, locks, want) in cases {
            let got = plan(action, &state, &locks, &policy(), now(), "k");
            assert_eq!(got.as_ref().err().map(|r| r.reason.as_str()), want, "{action:?} {state}: {got:?}");
        }
    }

    #[test]
    fn rules_map_to_actions_and_locks_parse() {
        assert_eq!(Action::for_rule("waste.orphaned_nic"), Some(Action::DeleteNic));
        assert_eq!(Action::for_rule("rate.reservation"), None);
        assert_eq!(Action::DeleteSnapshot.rule_id(), "waste.stale_snapshot");
        let locks =
            Lock::from_list(&json!({"value": [{"id": "/l", "properties": {"level": "CanNotDelete"}}]}));
        assert_eq!(locks, vec![Lock { id: "/l".into(), level: "CanNotDelete".into() }]);
    }

    #[test]
    fn only_owned_expired_snapshots_are_removed() {
        let snap = |tags: Value| json!({"tags": tags});
        assert!(snapshot_expired(&snap(json!({OWNER_TAG: "pre-delete", EXPIRES_TAG: "2026-12-06"})), now()));
        assert!(!snapshot_expired(&snap(json!({OWNER_TAG: "pre-delete", EXPIRES_TAG: "2026-12-07"})), now()));
        assert!(!snapshot_expired(&snap(json!({EXPIRES_TAG: "2026-01-01"})), now()));
    }
}
