//! ARM JSON for the estate: Resource Graph rows with real ARM property names, subscriptions,
//! tenants, and the `estate.json` file.

use std::io::Write;

use chrono::{Days, NaiveDate};
use serde_json::{Map, Value, json};

use super::estate::{Estate, Kind, Plant, PowerState, Resource, splitmix64};
use super::prices;
use super::usage;

fn arm_time(day: NaiveDate, key: u64) -> String {
    let secs = splitmix64(key) % 86_400;
    let frac = splitmix64(key ^ 1) % 10_000_000;
    format!("{day}T{:02}:{:02}:{:02}.{frac:07}+00:00", secs / 3600, secs / 60 % 60, secs % 60)
}

fn guid_from(key: u64) -> String {
    let hi = u128::from(splitmix64(key ^ 0x1111));
    let lo = u128::from(splitmix64(key ^ 0x2222));
    uuid::Builder::from_random_bytes(((hi << 64) | lo).to_be_bytes()).into_uuid().to_string()
}

fn id_ref(id: &str) -> Value {
    json!({ "id": id })
}

fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn disk_sku(estate: &Estate, id: &str) -> (&'static str, u32) {
    match estate.resource(id).map(|r| &r.kind) {
        Some(Kind::Disk { tier, .. }) => {
            prices::DISK_TIERS.get(*tier).map_or(("Premium_LRS", 128), |t| (t.sku, t.size_gb))
        }
        _ => ("Premium_LRS", 128),
    }
}

/// (kind, sku, properties, managedBy) of a resource.
fn details(estate: &Estate, r: &Resource) -> (&'static str, Value, Value, String) {
    let created = usage::created(estate, r);
    let time_created = arm_time(created, r.key);
    let ok = "Succeeded";
    match &r.kind {
        Kind::Vnet => {
            let octet = r.sub % 250;
            let subnet = json!({ "id": format!("{}/subnets/default", r.id), "name": "default",
                "properties": { "addressPrefix": format!("10.{octet}.0.0/24") } });
            let props = json!({ "addressSpace": { "addressPrefixes": [format!("10.{octet}.0.0/16")] },
                "subnets": [subnet], "provisioningState": ok });
            ("", Value::Null, props, String::new())
        }
        Kind::Vm { size, power, nic, disks, .. } => {
            let vm_size = prices::VM_SIZES.get(*size).map_or("Standard_D2s_v5", |v| v.name);
            let (code, display) = match power {
                PowerState::Running => ("PowerState/running", "VM running"),
                PowerState::Deallocated => ("PowerState/deallocated", "VM deallocated"),
                PowerState::Stopped => ("PowerState/stopped", "VM stopped"),
            };
            let disk = |id: &String| {
                let (sku, size_gb) = disk_sku(estate, id);
                (json!({ "id": id, "storageAccountType": sku }), size_gb)
            };
            let (os_managed, os_size) = disks.first().map_or((Value::Null, 0), disk);
            let data: Vec<Value> = disks
                .iter()
                .skip(1)
                .enumerate()
                .map(|(lun, id)| {
                    let (managed, size) = disk(id);
                    json!({ "lun": lun, "name": last_segment(id), "createOption": "Empty", "caching": "None",
                        "managedDisk": managed, "diskSizeGB": size })
                })
                .collect();
            let props = json!({
                "vmId": guid_from(r.key),
                "hardwareProfile": { "vmSize": vm_size },
                "storageProfile": {
                    "imageReference": { "publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest" },
                    "osDisk": { "osType": "Linux", "name": disks.first().map_or("", |d| last_segment(d)),
                        "createOption": "FromImage", "caching": "ReadWrite", "managedDisk": os_managed, "diskSizeGB": os_size },
                    "dataDisks": data },
                "osProfile": { "computerName": r.name, "adminUsername": "azureuser" },
                "networkProfile": { "networkInterfaces": [id_ref(nic)] },
                "provisioningState": ok,
                "timeCreated": time_created,
                "extended": { "instanceView": { "powerState": { "code": code, "level": "Info", "displayStatus": display } } },
            });
            ("", Value::Null, props, String::new())
        }
        Kind::Disk { tier, owner, owner_deallocated, os } => {
            let t = prices::DISK_TIERS.get(*tier).unwrap_or(&prices::DISK_TIERS[0]);
            let state = match (owner, owner_deallocated) {
                (None, _) => "Unattached",
                (Some(_), true) => "Reserved",
                (Some(_), false) => "Attached",
            };
            let mut props = json!({
                "diskSizeGB": t.size_gb, "diskSizeBytes": u64::from(t.size_gb) << 30, "diskState": state,
                "tier": t.tier, "timeCreated": time_created, "provisioningState": ok, "uniqueId": guid_from(r.key),
                "creationData": { "createOption": if *os { "FromImage" } else { "Empty" } },
                "encryption": { "type": "EncryptionAtRestWithPlatformKey" }, "networkAccessPolicy": "AllowAll",
                "diskIOPSReadWrite": 120 + t.size_gb, "diskMBpsReadWrite": 25 + t.size_gb / 8,
            });
            if *os {
                props["osType"] = json!("Linux");
            }
            if owner.is_none() {
                let detached = estate
                    .as_of
                    .checked_sub_days(Days::new(u64::from(r.age_days.min(45))))
                    .unwrap_or(created);
                props["LastOwnershipUpdateTime"] = json!(arm_time(detached, r.key ^ 7));
            }
            ("", json!({ "name": t.sku, "tier": t.sku_tier }), props, owner.clone().unwrap_or_default())
        }
        Kind::Nic { vm, private_endpoint, public_ip } => {
            let octet = r.sub % 250;
            let mut ipconfig = json!({ "id": format!("{}/ipConfigurations/ipconfig1", r.id), "name": "ipconfig1",
                "properties": { "privateIPAddress": format!("10.{octet}.0.{}", 4 + r.key % 250),
                    "privateIPAllocationMethod": "Dynamic", "primary": true,
                    "subnet": { "id": format!("/subscriptions/{}/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/default", estate.subscriptions[r.sub].id) } } });
            if let Some(ip) = public_ip {
                ipconfig["properties"]["publicIPAddress"] = id_ref(ip);
            }
            let mut props = json!({ "provisioningState": ok, "ipConfigurations": [ipconfig], "nicType": "Standard",
                "macAddress": format!("00-0D-3A-{:02X}-{:02X}-{:02X}", r.key & 0xff, (r.key >> 8) & 0xff, (r.key >> 16) & 0xff),
                "enableAcceleratedNetworking": true, "hostedWorkloads": [] });
            if let Some(vm) = vm {
                props["virtualMachine"] = id_ref(vm);
            }
            if let Some(pe) = private_endpoint {
                props["privateEndpoint"] = id_ref(pe);
            }
            ("", Value::Null, props, String::new())
        }
        Kind::PublicIp { ip_configuration, nat_gateway } => {
            let mut props = json!({ "publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4",
                "ipAddress": format!("20.{}.{}.{}", 40 + r.key % 50, (r.key >> 8) % 250, (r.key >> 16) % 250),
                "idleTimeoutInMinutes": 4, "provisioningState": ok });
            if let Some(ipc) = ip_configuration {
                props["ipConfiguration"] = id_ref(ipc);
            }
            if let Some(nat) = nat_gateway {
                props["natGateway"] = id_ref(nat);
            }
            ("", json!({ "name": "Standard", "tier": "Regional" }), props, String::new())
        }
        Kind::NatGateway { public_ip } => {
            let props = json!({ "publicIpAddresses": [id_ref(public_ip)], "idleTimeoutInMinutes": 4, "provisioningState": ok });
            ("", json!({ "name": "Standard" }), props, String::new())
        }
        Kind::PrivateEndpoint { nic, target } => {
            let props = json!({ "networkInterfaces": [id_ref(nic)], "provisioningState": ok,
                "privateLinkServiceConnections": [{ "name": r.name, "properties": { "privateLinkServiceId": target, "groupIds": ["blob"] } }] });
            ("", Value::Null, props, String::new())
        }
        Kind::Snapshot { size_gb, source } => {
            let props = json!({ "timeCreated": time_created, "diskSizeGB": size_gb, "diskSizeBytes": u64::from(*size_gb) << 30,
                "incremental": true, "diskState": "Unattached", "provisioningState": ok,
                "creationData": { "createOption": "Copy", "sourceResourceId": source } });
            ("", json!({ "name": "Standard_LRS", "tier": "Standard" }), props, String::new())
        }
        Kind::Plan { sku, workers, sites, .. } => {
            let p = prices::PLAN_SKUS.get(*sku).unwrap_or(&prices::PLAN_SKUS[0]);
            let props = json!({ "numberOfSites": sites, "currentNumberOfWorkers": workers, "numberOfWorkers": workers,
                "maximumNumberOfWorkers": 30, "status": "Ready", "reserved": true, "perSiteScaling": false,
                "elasticScaleEnabled": false, "zoneRedundant": false, "planName": "VirtualDedicatedPlan", "provisioningState": ok });
            let sku = json!({ "name": p.name, "tier": p.tier, "size": p.name, "family": p.family, "capacity": workers });
            ("linux", sku, props, String::new())
        }
        Kind::SqlServer => {
            let props = json!({ "administratorLogin": "sqladmin", "version": "12.0", "state": "Ready",
                "fullyQualifiedDomainName": format!("{}.database.windows.net", r.name), "publicNetworkAccess": "Enabled" });
            ("v12.0", Value::Null, props, String::new())
        }
        Kind::SqlDb { objective, .. } => {
            let o = prices::SQL_OBJECTIVES.get(*objective).unwrap_or(&prices::SQL_OBJECTIVES[0]);
            let sku_name = if o.tier == "Basic" { "Basic" } else { o.tier };
            let sku = json!({ "name": sku_name, "tier": o.tier, "capacity": o.dtu });
            let props = json!({ "currentServiceObjectiveName": o.name, "requestedServiceObjectiveName": o.name,
                "currentSku": sku, "status": "Online", "databaseId": guid_from(r.key), "creationDate": arm_time(created, r.key),
                "maxSizeBytes": 268_435_456_000u64, "collation": "SQL_Latin1_General_CP1_CI_AS", "zoneRedundant": false,
                "readScale": "Disabled", "currentBackupStorageRedundancy": "Geo" });
            ("v12.0,user", sku, props, String::new())
        }
        Kind::Storage { .. } => {
            let props = json!({ "accessTier": "Hot", "creationTime": time_created, "primaryLocation": r.location,
                "provisioningState": ok, "supportsHttpsTrafficOnly": true, "minimumTlsVersion": "TLS1_2",
                "primaryEndpoints": { "blob": format!("https://{}.blob.core.windows.net/", r.name) } });
            ("StorageV2", json!({ "name": "Standard_LRS", "tier": "Standard" }), props, String::new())
        }
    }
}

/// The Resource Graph row of a resource (every column of the `Resources` table AzCops projects).
pub fn resource_row(estate: &Estate, r: &Resource) -> Map<String, Value> {
    let (kind, sku, properties, managed_by) = details(estate, r);
    let mut tags = Map::new();
    if let Some(cc) = &r.cost_center {
        tags.insert("cost-center".into(), json!(cc));
    }
    tags.insert("env".into(), json!(r.env));
    let sub = &estate.subscriptions[r.sub];
    let mut row = Map::new();
    row.insert("id".into(), json!(r.id));
    row.insert("name".into(), json!(r.name));
    row.insert("type".into(), json!(usage::arm_type(&r.kind).to_lowercase()));
    row.insert("tenantId".into(), json!(estate.tenant_of(r.sub).id));
    row.insert("kind".into(), json!(kind));
    row.insert("location".into(), json!(r.location));
    row.insert("resourceGroup".into(), json!(r.rg));
    row.insert("subscriptionId".into(), json!(sub.id));
    row.insert("managedBy".into(), json!(managed_by));
    row.insert("sku".into(), sku);
    row.insert("plan".into(), Value::Null);
    row.insert("properties".into(), properties);
    row.insert("tags".into(), Value::Object(tags));
    row.insert("identity".into(), Value::Null);
    row.insert("zones".into(), Value::Null);
    row.insert("extendedLocation".into(), Value::Null);
    row
}

/// A subscription as `GET /subscriptions` returns it.
pub fn subscription_json(estate: &Estate, sub: usize) -> Value {
    let s = &estate.subscriptions[sub];
    let managed_by: Vec<Value> = if s.tenant != 0 && s.delegated {
        vec![json!({ "tenantId": estate.tenants[0].id })]
    } else {
        Vec::new()
    };
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": managed_by,
        "subscriptionId": s.id,
        "tenantId": estate.tenants[s.tenant].id,
        "displayName": s.name,
        "state": "Enabled",
        "subscriptionPolicies": { "locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off" },
        "tags": {},
    })
}

/// A tenant as `GET /tenants` returns it, seen from `home`.
pub fn tenant_json(estate: &Estate, tenant: usize, home: usize) -> Value {
    let t = &estate.tenants[tenant];
    let category = if tenant == home { "Home" } else { "ProjectedBy" };
    json!({ "id": format!("/tenants/{}", t.id), "tenantId": t.id, "countryCode": "US", "displayName": t.name,
        "domains": [t.domain], "tenantCategory": category, "defaultDomain": t.domain, "tenantType": "AAD" })
}

/// Writes `estate.json`: the spec, tenants, subscriptions and every resource's Resource Graph
/// row plus a `sandbox` object (monthly cost, planted finding or near miss). Byte-identical for
/// identical inputs.
///
/// # Errors
/// The writer fails.
pub fn write_estate_json(estate: &Estate, out: &mut impl Write) -> std::io::Result<()> {
    let tenants: Vec<Value> = estate
        .tenants
        .iter()
        .enumerate()
        .map(|(i, t)| json!({ "tenant_id": t.id, "display_name": t.name, "domain": t.domain, "managing": i == 0 }))
        .collect();
    let subs: Vec<Value> = estate
        .subscriptions
        .iter()
        .map(|s| {
            json!({ "subscription_id": s.id, "tenant_id": estate.tenants[s.tenant].id, "display_name": s.name,
            "delegated": s.delegated, "region": s.region })
        })
        .collect();
    write!(
        out,
        "{{\"seed\":{},\"as_of\":\"{}\",\"spec\":{},\"tenants\":{},\"subscriptions\":{},\"resources\":[",
        estate.seed,
        estate.as_of,
        serde_json::to_string(&estate.spec)?,
        serde_json::to_string(&tenants)?,
        serde_json::to_string(&subs)?
    )?;
    for (i, r) in estate.resources.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        let mut row = resource_row(estate, r);
        let (plant, near_miss) = match r.plant {
            Plant::Finding(k) => (Value::from(k), Value::Null),
            Plant::NearMiss(why) => (Value::Null, Value::from(why)),
            Plant::None => (Value::Null, Value::Null),
        };
        row.insert(
            "sandbox".into(),
            json!({ "monthly_cost": prices::round_to(usage::monthly_cost(r), 4), "planted": plant, "near_miss": near_miss }),
        );
        serde_json::to_writer(&mut *out, &row)?;
    }
    out.write_all(b"]}\n")
}
