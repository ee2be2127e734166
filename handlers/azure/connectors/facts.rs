//! Typed rule facts extracted from a resource's `properties` (and `sku`), null-safe.
//!
//! The inventory keeps whole `properties` objects; rules read these typed views instead of
//! walking JSON, so a renamed or missing field shows up here, in one tested place.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::model::ResourceRow;

/// Managed disk facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiskFacts {
    /// `diskState` (`Unattached`, `Attached`, `Reserved`, `ActiveSAS`…).
    pub state: Option<String>,
    /// `diskSizeGB`.
    pub size_gb: Option<f64>,
    /// `sku.name` (`Premium_LRS`…).
    pub sku: Option<String>,
    /// `timeCreated`.
    pub time_created: Option<DateTime<Utc>>,
}

impl DiskFacts {
    /// True when the disk is attached to nothing.
    pub fn is_unattached(&self) -> bool {
        self.state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("unattached"))
    }
}

/// Network interface attachments.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NicFacts {
    /// The VM it is attached to (`virtualMachine.id`), lower-cased.
    pub virtual_machine: Option<String>,
    /// The private endpoint that owns it (`privateEndpoint.id`), lower-cased.
    pub private_endpoint: Option<String>,
}

/// Public IP attachments.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PublicIpFacts {
    /// `ipConfiguration.id`, lower-cased.
    pub ip_configuration: Option<String>,
    /// `natGateway.id`, lower-cased.
    pub nat_gateway: Option<String>,
    /// `sku.name` (`Basic`/`Standard`).
    pub sku: Option<String>,
    /// `publicIPAllocationMethod`.
    pub allocation_method: Option<String>,
}

impl PublicIpFacts {
    /// True when nothing uses the address.
    pub fn is_unattached(&self) -> bool {
        self.ip_configuration.is_none() && self.nat_gateway.is_none()
    }
}

/// Snapshot facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SnapshotFacts {
    /// `timeCreated`.
    pub time_created: Option<DateTime<Utc>>,
    /// `diskSizeGB`.
    pub size_gb: Option<f64>,
    /// `creationData.sourceResourceId`, lower-cased.
    pub source_resource_id: Option<String>,
}

/// Virtual machine facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VmFacts {
    /// `hardwareProfile.vmSize`.
    pub vm_size: Option<String>,
    /// Power state without the `PowerState/` prefix (`running`, `deallocated`, `stopped`…).
    pub power_state: Option<String>,
}

/// App Service plan facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AppServicePlanFacts {
    /// `sku.tier` (`Basic`, `Standard`, `PremiumV3`…).
    pub tier: Option<String>,
    /// `sku.name` (`P1v3`…).
    pub sku_name: Option<String>,
    /// `numberOfWorkers`, else `sku.capacity`.
    pub workers: Option<i64>,
    /// `numberOfSites` (apps hosted).
    pub sites: Option<i64>,
}

/// SQL database facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SqlDatabaseFacts {
    /// `sku.tier` (`Basic`, `Standard`, `Premium`, `GeneralPurpose`…).
    pub tier: Option<String>,
    /// `sku.name` (`S3`…).
    pub sku_name: Option<String>,
    /// `sku.capacity` (DTUs for DTU tiers, vCores otherwise).
    pub capacity: Option<f64>,
}

/// The typed view of one resource, by type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResourceFacts {
    /// `microsoft.compute/disks`.
    Disk(DiskFacts),
    /// `microsoft.network/networkinterfaces`.
    NetworkInterface(NicFacts),
    /// `microsoft.network/publicipaddresses`.
    PublicIp(PublicIpFacts),
    /// `microsoft.compute/snapshots`.
    Snapshot(SnapshotFacts),
    /// `microsoft.compute/virtualmachines`.
    VirtualMachine(VmFacts),
    /// `microsoft.web/serverfarms`.
    AppServicePlan(AppServicePlanFacts),
    /// `microsoft.sql/servers/databases`.
    SqlDatabase(SqlDatabaseFacts),
    /// Any other type.
    Other,
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, key| cur.get(key)).filter(|v| !v.is_null())
}

fn s(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(Value::as_str).map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned)
}

fn id(v: &Value, path: &[&str]) -> Option<String> {
    s(v, path).map(|x| x.to_ascii_lowercase())
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    at(v, path).and_then(|n| n.as_f64().or_else(|| n.as_str().and_then(|t| t.trim().parse().ok())))
}

fn int(v: &Value, path: &[&str]) -> Option<i64> {
    num(v, path).map(|f| f as i64)
}

fn time(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    s(v, path).and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc))
}

fn power_state(p: &Value) -> Option<String> {
    let strip = |code: String| {
        code.strip_prefix("PowerState/").map(str::to_owned).unwrap_or(code).to_ascii_lowercase()
    };
    if let Some(code) = s(p, &["extended", "instanceView", "powerState", "code"]) {
        return Some(strip(code));
    }
    at(p, &["instanceView", "statuses"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|st| st.get("code").and_then(Value::as_str))
        .find(|c| c.starts_with("PowerState/"))
        .map(|c| strip(c.to_owned()))
}

/// Extracts the typed facts of `row`.
pub fn extract(row: &ResourceRow) -> ResourceFacts {
    let p = &row.properties;
    let null = Value::Null;
    let sku = row.sku.as_ref().unwrap_or(&null);
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
        let f = extract(&row(
            "microsoft.compute/disks",
            json!({"name": "Premium_LRS", "tier": "Premium"}),
            json!({"diskState": "Unattached", "diskSizeGB": 128, "timeCreated": "2026-01-02T03:04:05.1234567+00:00"}),
        ));
        let ResourceFacts::Disk(d) = f else { panic!("{f:?}") };
        assert!(d.is_unattached());
        assert_eq!(d.size_gb, Some(128.0));
        assert_eq!(d.sku.as_deref(), Some("Premium_LRS"));
        assert_eq!(d.time_created.unwrap().to_rfc3339(), "2026-01-02T03:04:05.123456700+00:00");
    }

    #[test]
    fn nulls_and_missing_fields_are_none() {
        for kind in [
            "microsoft.compute/disks",
            "microsoft.network/networkinterfaces",
            "microsoft.network/publicipaddresses",
            "microsoft.compute/snapshots",
            "microsoft.compute/virtualmachines",
            "microsoft.web/serverfarms",
            "microsoft.sql/servers/databases",
        ] {
            for props in [
                Value::Null,
                json!({}),
                json!({"diskState": null, "virtualMachine": null, "hardwareProfile": {"vmSize": null}}),
            ] {
                let f = extract(&row(kind, Value::Null, props));
                assert_ne!(f, ResourceFacts::Other, "{kind}");
            }
        }
        let ResourceFacts::PublicIp(ip) = extract(&row(
            "microsoft.network/publicipaddresses",
            Value::Null,
            json!({"ipConfiguration": null}),
        )) else {
            panic!()
        };
        assert!(ip.is_unattached());
        assert_eq!(
            extract(&row("microsoft.storage/storageaccounts", Value::Null, Value::Null)),
            ResourceFacts::Other
        );
    }

    #[test]
    fn attachments_are_lower_cased_ids() {
        let ResourceFacts::NetworkInterface(n) = extract(&row(
            "microsoft.network/networkinterfaces",
            Value::Null,
            json!({"privateEndpoint": {"id": "/S/PE1"}}),
        )) else {
            panic!()
        };
        assert_eq!((n.virtual_machine, n.private_endpoint.as_deref()), (None, Some("/s/pe1")));
        let ResourceFacts::PublicIp(ip) = extract(&row(
            "microsoft.network/publicipaddresses",
            json!({"name": "Standard"}),
            json!({"natGateway": {"id": "/NG"}, "publicIPAllocationMethod": "Static"}),
        )) else {
            panic!()
        };
        assert!(!ip.is_unattached());
        assert_eq!(ip.nat_gateway.as_deref(), Some("/ng"));
    }

    #[test]
    fn vm_power_state_from_either_shape() {
        let ResourceFacts::VirtualMachine(v) = extract(&row(
            "microsoft.compute/virtualmachines",
            Value::Null,
            json!({"hardwareProfile": {"vmSize": "Standard_D4s_v5"}, "extended": {"instanceView": {"powerState": {"code": "PowerState/deallocated"}}}}),
        )) else {
            panic!()
        };
        assert_eq!(
            (v.vm_size.as_deref(), v.power_state.as_deref()),
            (Some("Standard_D4s_v5"), Some("deallocated"))
        );
        let ResourceFacts::VirtualMachine(v) = extract(&row(
            "microsoft.compute/virtualmachines",
            Value::Null,
            json!({"instanceView": {"statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/running"}]}}),
        )) else {
            panic!()
        };
        assert_eq!(v.power_state.as_deref(), Some("running"));
    }

    #[test]
    fn plans_and_databases() {
        let ResourceFacts::AppServicePlan(p) = extract(&row(
            "microsoft.web/serverfarms",
            json!({"name": "P1v3", "tier": "PremiumV3", "capacity": 3}),
            json!({"numberOfSites": 0}),
        )) else {
            panic!()
        };
        assert_eq!((p.workers, p.sites, p.tier.as_deref()), (Some(3), Some(0), Some("PremiumV3")));
        let ResourceFacts::SqlDatabase(d) = extract(&row(
            "microsoft.sql/servers/databases",
            json!({"name": "S3", "tier": "Standard", "capacity": 100}),
            json!({}),
        )) else {
            panic!()
        };
        assert_eq!((d.capacity, d.sku_name.as_deref()), (Some(100.0), Some("S3")));
        let ResourceFacts::Snapshot(s) = extract(&row(
            "microsoft.compute/snapshots",
            Value::Null,
            json!({"timeCreated": "2025-05-01T00:00:00Z", "diskSizeGB": "64", "creationData": {"sourceResourceId": "/D"}}),
        )) else {
            panic!()
        };
        assert_eq!((s.size_gb, s.source_resource_id.as_deref()), (Some(64.0), Some("/d")));
        assert!(s.time_created.is_some());
    }
}
