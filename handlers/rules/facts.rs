//! Typed rule facts extracted from a resource's `properties` (and `sku`), null-safe.
//!
//! The inventory keeps whole `properties` objects; rules read these typed views instead of
//! walking JSON, so a renamed or missing field shows up here, in one tested place.
//!
//! Facts borrow from the row they were read from: the rule engine extracts them for every
//! resource of a subscription (a million in the throughput bench), and copying each string out
//! of the JSON cost more than every rule's evaluation together. Only identifiers that are
//! lower-cased, and a power state stripped of its prefix, are owned — and then only when the
//! source was not already in that form.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::model::ResourceRow;

/// Managed disk facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiskFacts<'a> {
    /// `diskState` (`Unattached`, `Attached`, `Reserved`, `ActiveSAS`…).
    pub state: Option<&'a str>,
    /// `diskSizeGB`.
    pub size_gb: Option<f64>,
    /// `sku.name` (`Premium_LRS`…).
    pub sku: Option<&'a str>,
    /// `timeCreated`.
    pub time_created: Option<DateTime<Utc>>,
}

impl DiskFacts<'_> {
    /// True when the disk is attached to nothing.
    pub fn is_unattached(&self) -> bool {
        self.state.is_some_and(|s| s.eq_ignore_ascii_case("unattached"))
    }
}

/// Network interface attachments.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NicFacts<'a> {
    /// The VM it is attached to (`virtualMachine.id`), lower-cased.
    pub virtual_machine: Option<Cow<'a, str>>,
    /// The private endpoint that owns it (`privateEndpoint.id`), lower-cased.
    pub private_endpoint: Option<Cow<'a, str>>,
}

/// Public IP attachments.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PublicIpFacts<'a> {
    /// `ipConfiguration.id`, lower-cased.
    pub ip_configuration: Option<Cow<'a, str>>,
    /// `natGateway.id`, lower-cased.
    pub nat_gateway: Option<Cow<'a, str>>,
    /// `sku.name` (`Basic`/`Standard`).
    pub sku: Option<&'a str>,
    /// `publicIPAllocationMethod`.
    pub allocation_method: Option<&'a str>,
}

impl PublicIpFacts<'_> {
    /// True when nothing uses the address.
    pub fn is_unattached(&self) -> bool {
        self.ip_configuration.is_none() && self.nat_gateway.is_none()
    }
}

/// Snapshot facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SnapshotFacts<'a> {
    /// `timeCreated`.
    pub time_created: Option<DateTime<Utc>>,
    /// `diskSizeGB`.
    pub size_gb: Option<f64>,
    /// `creationData.sourceResourceId`, lower-cased.
    pub source_resource_id: Option<Cow<'a, str>>,
}

/// Virtual machine facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VmFacts<'a> {
    /// `hardwareProfile.vmSize`.
    pub vm_size: Option<&'a str>,
    /// Power state without the `PowerState/` prefix (`running`, `deallocated`, `stopped`…).
    pub power_state: Option<Cow<'a, str>>,
}

/// App Service plan facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AppServicePlanFacts<'a> {
    /// `sku.tier` (`Basic`, `Standard`, `PremiumV3`…).
    pub tier: Option<&'a str>,
    /// `sku.name` (`P1v3`…).
    pub sku_name: Option<&'a str>,
    /// `numberOfWorkers`, else `sku.capacity`.
    pub workers: Option<i64>,
    /// `numberOfSites` (apps hosted).
    pub sites: Option<i64>,
}

/// SQL database facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SqlDatabaseFacts<'a> {
    /// `sku.tier` (`Basic`, `Standard`, `Premium`, `GeneralPurpose`…).
    pub tier: Option<&'a str>,
    /// `sku.name` (`S3`…).
    pub sku_name: Option<&'a str>,
    /// `sku.capacity` (DTUs for DTU tiers, vCores otherwise).
    pub capacity: Option<f64>,
}

/// The typed view of one resource, by type, borrowing from the row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResourceFacts<'a> {
    /// `microsoft.compute/disks`.
    Disk(DiskFacts<'a>),
    /// `microsoft.network/networkinterfaces`.
    NetworkInterface(NicFacts<'a>),
    /// `microsoft.network/publicipaddresses`.
    PublicIp(PublicIpFacts<'a>),
    /// `microsoft.compute/snapshots`.
    Snapshot(SnapshotFacts<'a>),
    /// `microsoft.compute/virtualmachines`.
    VirtualMachine(VmFacts<'a>),
    /// `microsoft.web/serverfarms`.
    AppServicePlan(AppServicePlanFacts<'a>),
    /// `microsoft.sql/servers/databases`.
    SqlDatabase(SqlDatabaseFacts<'a>),
    /// Any other type.
    Other,
}

/// The resource types with typed facts, in the order of [`ResourceFacts::slot`].
pub const TYPED: [&str; 7] = [
    "microsoft.compute/disks",
    "microsoft.network/networkinterfaces",
    "microsoft.network/publicipaddresses",
    "microsoft.compute/snapshots",
    "microsoft.compute/virtualmachines",
    "microsoft.web/serverfarms",
    "microsoft.sql/servers/databases",
];

impl ResourceFacts<'_> {
    /// The index of the resource's type in [`TYPED`]; `None` for [`ResourceFacts::Other`]
    /// (lets an index bucket rows by type without hashing the type name again).
    pub fn slot(&self) -> Option<usize> {
        match self {
            Self::Disk(_) => Some(0),
            Self::NetworkInterface(_) => Some(1),
            Self::PublicIp(_) => Some(2),
            Self::Snapshot(_) => Some(3),
            Self::VirtualMachine(_) => Some(4),
            Self::AppServicePlan(_) => Some(5),
            Self::SqlDatabase(_) => Some(6),
            Self::Other => None,
        }
    }
}

fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |cur, key| cur.get(key)).filter(|v| !v.is_null())
}

fn s<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    at(v, path).and_then(Value::as_str).map(str::trim).filter(|x| !x.is_empty())
}

/// `text` lower-cased, borrowed when it already is (ARM ids usually are not, ours are).
fn lower(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

fn id<'v>(v: &'v Value, path: &[&str]) -> Option<Cow<'v, str>> {
    s(v, path).map(lower)
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    at(v, path).and_then(|n| n.as_f64().or_else(|| n.as_str().and_then(|t| t.trim().parse().ok())))
}

fn int(v: &Value, path: &[&str]) -> Option<i64> {
    num(v, path).map(|f| f as i64)
}

fn time(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    s(v, path).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc))
}

fn strip_power_state(code: &str) -> Cow<'_, str> {
    lower(code.strip_prefix("PowerState/").unwrap_or(code))
}

fn power_state(p: &Value) -> Option<Cow<'_, str>> {
    if let Some(code) = s(p, &["extended", "instanceView", "powerState", "code"]) {
        return Some(strip_power_state(code));
    }
    at(p, &["instanceView", "statuses"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|st| st.get("code").and_then(Value::as_str))
        .find(|c| c.starts_with("PowerState/"))
        .map(strip_power_state)
}

/// Extracts the typed facts of `row`, borrowing its strings.
pub fn extract(row: &ResourceRow) -> ResourceFacts<'_> {
    let p = &row.properties;
    let sku = row.sku.as_ref().unwrap_or(&Value::Null);
    match row.resource_type.as_str() {
        "microsoft.compute/disks" => ResourceFacts::Disk(DiskFacts {
            state: s(p, &["diskState"]),
            size_gb: num(p, &["diskSizeGB"]),
            sku: s(sku, &["name"]),
            time_created: time(p, &["timeCreated"]),
        }),
        "microsoft.network/networkinterfaces" => ResourceFacts::NetworkInterface(NicFacts {
            virtual_machine: id(p, &["virtualMachine", "id"]),
            private_endpoint: id(p, &["privateEndpoint", "id"]),
        }),
        "microsoft.network/publicipaddresses" => ResourceFacts::PublicIp(PublicIpFacts {
            ip_configuration: id(p, &["ipConfiguration", "id"]),
            nat_gateway: id(p, &["natGateway", "id"]),
            sku: s(sku, &["name"]),
            allocation_method: s(p, &["publicIPAllocationMethod"]),
        }),
        "microsoft.compute/snapshots" => ResourceFacts::Snapshot(SnapshotFacts {
            time_created: time(p, &["timeCreated"]),
            size_gb: num(p, &["diskSizeGB"]),
            source_resource_id: id(p, &["creationData", "sourceResourceId"]),
        }),
        "microsoft.compute/virtualmachines" => ResourceFacts::VirtualMachine(VmFacts {
            vm_size: s(p, &["hardwareProfile", "vmSize"]),
            power_state: power_state(p),
        }),
        "microsoft.web/serverfarms" => ResourceFacts::AppServicePlan(AppServicePlanFacts {
            tier: s(sku, &["tier"]),
            sku_name: s(sku, &["name"]),
            workers: int(p, &["numberOfWorkers"]).or_else(|| int(sku, &["capacity"])),
            sites: int(p, &["numberOfSites"]),
        }),
        "microsoft.sql/servers/databases" => ResourceFacts::SqlDatabase(SqlDatabaseFacts {
            tier: s(sku, &["tier"]).or_else(|| s(p, &["currentSku", "tier"])),
            sku_name: s(sku, &["name"]).or_else(|| s(p, &["currentSku", "name"])),
            capacity: num(sku, &["capacity"]).or_else(|| num(p, &["currentSku", "capacity"])),
        }),
        _ => ResourceFacts::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(kind: &str, sku: Value, properties: Value) -> ResourceRow {
        ResourceRow {
            subscription_id: "s".into(),
            resource_id: "/x".into(),
            name: "n".into(),
            resource_type: kind.into(),
            kind: None,
            location: "eastus".into(),
            resource_group: "rg".into(),
            sku: if sku.is_null() { None } else { Some(sku) },
            tags: Default::default(),
            properties,
            managed_by: None,
        }
    }

    #[test]
    fn disk_state_size_sku() {
        let r = row(
            "microsoft.compute/disks",
            json!({"name": "Premium_LRS", "tier": "Premium"}),
            json!({"diskState": "Unattached", "diskSizeGB": 128, "timeCreated": "2026-01-02T03:04:05.1234567+00:00"}),
        );
        let f = extract(&r);
        let ResourceFacts::Disk(d) = f else { panic!("{f:?}") };
        assert!(d.is_unattached());
        assert_eq!(d.size_gb, Some(128.0));
        assert_eq!(d.sku, Some("Premium_LRS"));
        assert_eq!(d.time_created.unwrap().to_rfc3339(), "2026-01-02T03:04:05.123456700+00:00");
    }

    #[test]
    fn nulls_and_missing_fields_are_none() {
        for kind in TYPED {
            for props in [
                Value::Null,
                json!({}),
                json!({"diskState": null, "virtualMachine": null, "hardwareProfile": {"vmSize": null}}),
            ] {
                let r = row(kind, Value::Null, props);
                let f = extract(&r);
                assert_ne!(f, ResourceFacts::Other, "{kind}");
            }
        }
        let r = row("microsoft.network/publicipaddresses", Value::Null, json!({"ipConfiguration": null}));
        let ResourceFacts::PublicIp(ip) = extract(&r) else { panic!() };
        assert!(ip.is_unattached());
        assert_eq!(
            extract(&row("microsoft.storage/storageaccounts", Value::Null, Value::Null)),
            ResourceFacts::Other
        );
    }

    #[test]
    fn slots_follow_the_typed_list() {
        for (i, kind) in TYPED.iter().enumerate() {
            let r = row(kind, Value::Null, json!({}));
            assert_eq!(extract(&r).slot(), Some(i), "{kind}");
        }
        let r = row("microsoft.storage/storageaccounts", Value::Null, json!({}));
        assert_eq!(extract(&r).slot(), None);
    }

    #[test]
    fn attachments_are_lower_cased_ids() {
        let r = row(
            "microsoft.network/networkinterfaces",
            Value::Null,
            json!({"privateEndpoint": {"id": "/S/PE1"}}),
        );
        let ResourceFacts::NetworkInterface(n) = extract(&r) else { panic!() };
        assert_eq!((n.virtual_machine, n.private_endpoint.as_deref()), (None, Some("/s/pe1")));
        let r = row(
            "microsoft.network/publicipaddresses",
            json!({"name": "Standard"}),
            json!({"natGateway": {"id": "/NG"}, "publicIPAllocationMethod": "Static"}),
        );
        let ResourceFacts::PublicIp(ip) = extract(&r) else { panic!() };
        assert!(!ip.is_unattached());
        assert_eq!(ip.nat_gateway.as_deref(), Some("/ng"));
    }

    #[test]
    fn vm_power_state_from_either_shape() {
        let r = row(
            "microsoft.compute/virtualmachines",
            Value::Null,
            json!({"hardwareProfile": {"vmSize": "Standard_D4s_v5"}, "extended": {"instanceView": {"powerState": {"code": "PowerState/deallocated"}}}}),
        );
        let ResourceFacts::VirtualMachine(v) = extract(&r) else { panic!() };
        assert_eq!((v.vm_size, v.power_state.as_deref()), (Some("Standard_D4s_v5"), Some("deallocated")));
        let r = row(
            "microsoft.compute/virtualmachines",
            Value::Null,
            json!({"instanceView": {"statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/running"}]}}),
        );
        let ResourceFacts::VirtualMachine(v) = extract(&r) else { panic!() };
        assert_eq!(v.power_state.as_deref(), Some("running"));
    }

    #[test]
    fn plans_and_databases() {
        let r = row(
            "microsoft.web/serverfarms",
            json!({"name": "P1v3", "tier": "PremiumV3", "capacity": 3}),
            json!({"numberOfSites": 0}),
        );
        let ResourceFacts::AppServicePlan(p) = extract(&r) else { panic!() };
        assert_eq!((p.workers, p.sites, p.tier), (Some(3), Some(0), Some("PremiumV3")));
        let r = row(
            "microsoft.sql/servers/databases",
            json!({"name": "S3", "tier": "Standard", "capacity": 100}),
            json!({}),
        );
        let ResourceFacts::SqlDatabase(d) = extract(&r) else { panic!() };
        assert_eq!((d.capacity, d.sku_name), (Some(100.0), Some("S3")));
        let r = row(
            "microsoft.compute/snapshots",
            Value::Null,
            json!({"timeCreated": "2025-05-01T00:00:00Z", "diskSizeGB": "64", "creationData": {"sourceResourceId": "/D"}}),
        );
        let ResourceFacts::Snapshot(s) = extract(&r) else { panic!() };
        assert_eq!((s.size_gb, s.source_resource_id.as_deref()), (Some(64.0), Some("/d")));
        assert!(s.time_created.is_some());
    }
}
