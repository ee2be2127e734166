//! Advisor recommendations, derived from the estate: right-size advice on planted
//! underutilised VMs, shutdown advice on a near miss (Advisor ignores reservations and metric
//! gaps, as the real one does), unattached-disk advice on some unattached disks, reserved-
//! instance advice per (size, region) of steady VMs, and some non-Cost (Security) noise.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Days;
use serde_json::{Value, json};

use super::control::Api;
use super::estate::{Estate, Kind, Plant, Resource, splitmix64};
use super::prices::{self, HOURS_PER_MONTH, round_to};
use super::server::{
    Shared, arm_error, arm_read, authorize, encode, paged_json, query_map, readable_subscription, with_reads,
};
use super::usage;

const RESIZE: &str = "e10b1381-5f0a-47ff-8c7b-37bd13d7c974";
const UNATTACHED_DISK: &str = "48eda464-1485-4dcf-a674-d0905df5054a";
const VM_RESERVATION: &str = "84b1a508-fc21-49da-979e-96894f1665df";
/// A sandbox-only type id for the Security noise.
const SECURITY: &str = "00000000-5a4d-4b0c-8000-5ec0f1a90001";

fn guid(key: u64) -> String {
    let bytes = ((u128::from(splitmix64(key)) << 64) | u128::from(splitmix64(key ^ 0xADB1))).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

fn money(v: f64) -> String {
    format!("{}", round_to(v, 2))
}

struct Rec {
    resource_id: String,
    field: &'static str,
    value: String,
    category: &'static str,
    impact: &'static str,
    type_id: &'static str,
    problem: &'static str,
    solution: &'static str,
    extended: Value,
    key: u64,
}

fn render(estate: &Estate, rec: Rec) -> Value {
    let id = guid(rec.key);
    let updated = estate.as_of.checked_sub_days(Days::new(1)).unwrap_or(estate.as_of);
    json!({
        "id": format!("{}/providers/Microsoft.Advisor/recommendations/{id}", rec.resource_id),
        "name": id,
        "type": "Microsoft.Advisor/recommendations",
        "properties": {
            "category": rec.category,
            "impact": rec.impact,
            "impactedField": rec.field,
            "impactedValue": rec.value,
            "lastUpdated": format!("{updated}T06:{:02}:{:02}.{:07}Z", rec.key % 60, (rec.key >> 8) % 60, (rec.key >> 16) % 10_000_000),
            "recommendationTypeId": rec.type_id,
            "shortDescription": { "problem": rec.problem, "solution": rec.solution },
            "extendedProperties": rec.extended,
            "resourceMetadata": { "resourceId": rec.resource_id, "source": rec.resource_id },
        }
    })
}

fn vm_rec(r: &Resource, size: usize, target: Option<usize>) -> Rec {
    let current = prices::VM_SIZES[size];
    let (target_name, savings) = match target {
        Some(t) => (
            prices::VM_SIZES[t].name,
            (current.meter.price - prices::VM_SIZES[t].meter.price) * HOURS_PER_MONTH,
        ),
        None => ("Shutdown", current.meter.price * HOURS_PER_MONTH),
    };
    Rec {
        resource_id: r.id.clone(),
        field: "Microsoft.Compute/virtualMachines",
        value: r.name.clone(),
        category: "Cost",
        impact: "Medium",
        type_id: RESIZE,
        problem: "Right-size or shutdown underutilized virtual machines",
        solution: "Right-size or shutdown underutilized virtual machines",
        extended: json!({
            "currentSku": current.name, "targetSku": target_name, "savingsAmount": money(savings),
            "annualSavingsAmount": money(savings * 12.0), "savingsCurrency": "USD", "regionId": r.location,
            "roleName": r.name, "MaxCpuP95": format!("{}", 12 + r.key % 6), "MaxMemoryP95": format!("{}", 20 + r.key % 10),
            "recommendationType": if target.is_some() { "SkuChange" } else { "Shutdown" },
        }),
        key: r.key ^ 0x5155,
    }
}

/// Every recommendation of a subscription, in a stable order.
pub fn recommendations(estate: &Estate, sub: usize) -> Vec<Value> {
    let mut recs = Vec::new();
    let mut reservations: std::collections::BTreeMap<(usize, &str), u32> = std::collections::BTreeMap::new();
    for r in estate.resources_of(sub) {
        match (&r.kind, r.plant) {
            (Kind::Vm { size, .. }, Plant::Finding("rightsizing.underutilised_vm")) => {
                recs.push(vm_rec(r, *size, prices::vm_step_down(*size)));
            }
            (Kind::Vm { size, .. }, Plant::NearMiss("low CPU but under 80% metric coverage")) => {
                recs.push(vm_rec(r, *size, None));
            }
            (Kind::Vm { size, .. }, Plant::Finding("rate.reserved_instance_gap")) => {
                *reservations.entry((*size, r.location)).or_insert(0) += 1;
            }
            (Kind::Disk { tier, .. }, Plant::Finding("waste.unattached_disk")) if r.key % 2 == 0 => {
                let t = prices::DISK_TIERS[*tier];
                let savings = usage::monthly_cost(r);
                recs.push(Rec {
                    resource_id: r.id.clone(),
                    field: "Microsoft.Compute/disks",
                    value: r.name.clone(),
                    category: "Cost",
                    impact: "Low",
                    type_id: UNATTACHED_DISK,
                    problem: "Review disks that aren't attached to a VM and evaluate if you still need the disk",
                    solution: "Review disks that aren't attached to a VM and evaluate if you still need the disk",
                    extended: json!({ "diskSizeGB": t.size_gb.to_string(), "diskSku": t.sku, "savingsAmount": money(savings),
                        "annualSavingsAmount": money(savings * 12.0), "savingsCurrency": "USD" }),
                    key: r.key ^ 0xD15C,
                });
            }
            _ => {}
        }
        if matches!(r.kind, Kind::Vm { .. }) && r.key % 4 == 1 {
            recs.push(Rec {
                resource_id: r.id.clone(),
                field: "Microsoft.Compute/virtualMachines",
                value: r.name.clone(),
                category: "Security",
                impact: "Medium",
                type_id: SECURITY,
                problem: "Monitoring agent should be installed on your machines",
                solution: "Monitoring agent should be installed on your machines",
                extended: json!({}),
                key: r.key ^ 0x5EC,
            });
        }
    }
    let sub_id = &estate.subscriptions[sub].id;
    for ((size, region), qty) in reservations {
        let vm = prices::VM_SIZES[size];
        let monthly = (vm.meter.price - vm.meter.reserved_hourly_1y()) * HOURS_PER_MONTH * f64::from(qty);
        let key = splitmix64(sub as u64 ^ ((size as u64) << 32) ^ 0x7E5);
        recs.push(Rec {
            resource_id: format!("/subscriptions/{sub_id}"),
            field: "Microsoft.Subscriptions/subscriptions",
            value: sub_id.clone(),
            category: "Cost",
            impact: "High",
            type_id: VM_RESERVATION,
            problem: "Buy virtual machine reserved instances to save money over pay-as-you-go costs",
            solution: "Buy virtual machine reserved instances to save money over pay-as-you-go costs",
            extended: json!({
                "reservedResourceType": "virtualmachines", "subId": sub_id, "scope": "Single", "sku": vm.name,
                "vmSize": vm.name, "displaySKU": vm.name, "term": "P1Y", "qty": qty.to_string(), "displayQty": qty.to_string(),
                "region": region, "location": region, "lookbackPeriod": "30", "targetResourceCount": qty.to_string(),
                "savingsAmount": money(monthly), "annualSavingsAmount": money(monthly * 12.0), "savingsCurrency": "USD",
            }),
            key,
        });
    }
    recs.into_iter().map(|r| render(estate, r)).collect()
}

fn keep(rec: &Value, clauses: &[(String, String)]) -> bool {
    clauses.iter().all(|(field, value)| {
        let p = &rec["properties"];
        let actual = match field.as_str() {
            "category" => p["category"].as_str().unwrap_or("").to_owned(),
            "recommendationtypeguid" => p["recommendationTypeId"].as_str().unwrap_or("").to_owned(),
            "resourceid" => p["resourceMetadata"]["resourceId"].as_str().unwrap_or("").to_owned(),
            "resourcegroup" => {
                let id = p["resourceMetadata"]["resourceId"].as_str().unwrap_or("");
                id.split('/')
                    .skip_while(|s| !s.eq_ignore_ascii_case("resourcegroups"))
                    .nth(1)
                    .unwrap_or("")
                    .to_owned()
            }
            _ => return false,
        };
        actual.eq_ignore_ascii_case(value)
    })
}

fn parse_filter(filter: &str) -> Option<Vec<(String, String)>> {
    filter
        .split(" and ")
        .map(|clause| {
            let (field, value) = clause.trim().split_once(" eq ")?;
            let value = value.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            let field = field.trim().to_ascii_lowercase();
            ["category", "recommendationtypeguid", "resourceid", "resourcegroup"]
                .contains(&field.as_str())
                .then(|| (field, value.to_owned()))
        })
        .collect()
}

/// `GET /subscriptions/{id}/providers/Microsoft.Advisor/recommendations`.
pub async fn list(state: &Shared, headers: &HeaderMap, sub_id: &str, raw_query: Option<&str>) -> Response {
    let claims = match authorize(state, headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let sub = match readable_subscription(state, &claims, sub_id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let reads = match arm_read(state, Api::Advisor, &claims, sub) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let params = query_map(raw_query);
    let filter = params.get("$filter").cloned().unwrap_or_default();
    let clauses = if filter.trim().is_empty() {
        Vec::new()
    } else {
        match parse_filter(&filter) {
            Some(c) => c,
            None => {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("The $filter '{filter}' is not valid."),
                );
            }
        }
    };
    let top = params.get("$top").and_then(|t| t.parse::<usize>().ok()).unwrap_or(state.pages.advisor).max(1);
    let skip = params.get("$skiptoken").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
    let all: Vec<Value> =
        recommendations(&state.estate, sub).into_iter().filter(|r| keep(r, &clauses)).collect();
    let value: Vec<Value> = all.iter().skip(skip).take(top).cloned().collect();
    let mut body = json!({ "value": value });
    if skip + top < all.len() {
        let sub_guid = &state.estate.subscriptions[sub].id;
        body["nextLink"] = json!(format!(
            "{}/subscriptions/{sub_guid}/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01&$filter={}&$top={top}&$skiptoken={}",
            state.base_url,
            encode(&filter),
            skip + top
        ));
    }
    with_reads(paged_json(&body), reads)
}
