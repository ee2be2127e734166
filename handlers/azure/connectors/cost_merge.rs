//! The join of the Cost Management groupings into curated rows (see
//! [`crate::azure::connectors::cost_management`] for why four queries and how they combine),
//! and [`rows_from_exchanges`], the one mapping from recorded responses to rows.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde_json::Value;

use crate::azure::client::Exchange;
use crate::azure::connectors::cost_management::{CostCell, CostQuery, CostType, QueryResult};
use crate::azure::connectors::{resource_group_of, subscription_of};
use crate::azure::{Api, AzureError};
use crate::model::CostDailyRow;

/// What the merge had to approximate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CostReport {
    /// Cells split in proportion because B or C was ambiguous for their day.
    pub apportioned: usize,
    /// Requests (queries × pages are counted by the client; this counts queries).
    pub queries: usize,
}

/// The curated key: (date, resource group, service, meter category, resource id, currency).
pub type Key = (NaiveDate, String, String, String, String, String);
type Shares = Vec<(String, f64)>;

/// The value of the first of `names` present in the cell's dimensions (empty if none).
pub fn dim<'a>(c: &'a CostCell, names: &[&str]) -> &'a str {
    names.iter().find_map(|n| c.dim(n)).unwrap_or("")
}

/// Splits `cost` over `shares` in proportion (evenly when they sum to zero).
fn apportion(cost: f64, shares: &[(String, f64)]) -> Vec<(String, f64)> {
    let total: f64 = shares.iter().map(|(_, c)| c).sum();
    if total.abs() < f64::EPSILON {
        let n = shares.len() as f64;
        return shares.iter().map(|(k, _)| (k.clone(), cost / n)).collect();
    }
    shares.iter().map(|(k, c)| (k.clone(), cost * c / total)).collect()
}

/// Assembles curated (key → cost) from the A, B, C, D cells of one cost type (see the cost
/// connector's module docs).
pub fn assemble(
    a: &[CostCell],
    b: &[CostCell],
    c: &[CostCell],
    d: &[CostCell],
    report: &mut CostReport,
) -> HashMap<Key, f64> {
    let mut resource_services: HashMap<(Option<NaiveDate>, String), Shares> = HashMap::new();
    for cell in d {
        let rid = dim(cell, &["ResourceId"]).to_ascii_lowercase();
        if !rid.is_empty() {
            resource_services
                .entry((cell.date, rid))
                .or_default()
                .push((dim(cell, &["ServiceName"]).to_owned(), cell.cost));
        }
    }
    let mut services: HashMap<(Option<NaiveDate>, String), Shares> = HashMap::new();
    for cell in b {
        let meter = dim(cell, &["MeterCategory"]).to_owned();
        services
            .entry((cell.date, meter))
            .or_default()
            .push((dim(cell, &["ServiceName"]).to_owned(), cell.cost));
    }
    let mut groups: HashMap<Option<NaiveDate>, Shares> = HashMap::new();
    for cell in c.iter().filter(|x| dim(x, &["ResourceId"]).is_empty()) {
        let rg = dim(cell, &["ResourceGroupName", "ResourceGroup"]).to_ascii_lowercase();
        groups.entry(cell.date).or_default().push((rg, cell.cost));
    }
    let mut out: HashMap<Key, f64> = HashMap::new();
    for cell in a {
        let Some(date) = cell.date else { continue };
        let rid = dim(cell, &["ResourceId"]).to_ascii_lowercase();
        let meter = dim(cell, &["MeterCategory"]).to_owned();
        let meter_services = services.get(&(cell.date, meter.clone())).cloned().unwrap_or_default();
        // The services both the resource and its meter category have; the meter category's
        // alone for resource-less charges (or when D has no row for the resource).
        let svc_shares = match resource_services.get(&(cell.date, rid.clone())) {
            Some(of_resource) if !rid.is_empty() => {
                let common: Shares = of_resource
                    .iter()
                    .filter(|(s, _)| meter_services.iter().any(|(m, _)| m == s))
                    .cloned()
                    .collect();
                if common.is_empty() { meter_services } else { common }
            }
            _ => meter_services,
        };
        let by_service = match svc_shares.len() {
            0 => vec![(meter.clone(), cell.cost)],
            1 => vec![(svc_shares[0].0.clone(), cell.cost)],
            _ => {
                report.apportioned += 1;
                apportion(cell.cost, &svc_shares)
            }
        };
        let rg_shares =
            if rid.is_empty() { groups.get(&cell.date).cloned().unwrap_or_default() } else { Vec::new() };
        for (service, cost) in by_service {
            let by_group = match rg_shares.len() {
                0 => vec![(resource_group_of(&rid), cost)],
                1 => vec![(rg_shares[0].0.clone(), cost)],
                _ => {
                    report.apportioned += 1;
                    apportion(cost, &rg_shares)
                }
            };
            for (rg, cost) in by_group {
                let key = (date, rg, service.clone(), meter.clone(), rid.clone(), cell.currency.clone());
                *out.entry(key).or_default() += cost;
            }
        }
    }
    out
}

/// Merges actual and amortized maps into curated rows, sorted by key.
pub fn merge(
    subscription_id: &str,
    actual: HashMap<Key, f64>,
    amortized: HashMap<Key, f64>,
) -> Vec<CostDailyRow> {
    let mut merged: BTreeMap<Key, (f64, f64)> = BTreeMap::new();
    for (k, v) in actual {
        merged.entry(k).or_default().0 += v;
    }
    for (k, v) in amortized {
        merged.entry(k).or_default().1 += v;
    }
    merged
        .into_iter()
        .map(
            |(
                (date, resource_group, service_name, meter_category, resource_id, currency),
                (cost, amortized_cost),
            )| CostDailyRow {
                // Management-group scope has no single subscription: take it from the resource.
                subscription_id: if subscription_id.is_empty() {
                    subscription_of(&resource_id)
                } else {
                    subscription_id.to_ascii_lowercase()
                },
                date,
                resource_group,
                service_name,
                meter_category,
                resource_id,
                cost,
                amortized_cost,
                currency,
            },
        )
        .collect()
}

/// Which query of which cost type and month chunk a recorded request is:
/// `(cost type, chunk start, query)`.
fn query_of(request: &Value) -> Option<(String, String, CostQuery)> {
    let kind = request.get("type")?.as_str()?.to_owned();
    let from = request.pointer("/timePeriod/from")?.as_str()?.to_owned();
    let grouping: Vec<&str> = request
        .pointer("/dataset/grouping")?
        .as_array()?
        .iter()
        .filter_map(|g| g.get("name").and_then(Value::as_str))
        .collect();
    Some((kind, from, CostQuery::of_grouping(&grouping)?))
}

/// The curated daily rows in recorded cost query exchanges, and how they were assembled: the
/// one mapping from Cost Management responses to rows ([`collect_range`] and ingestion's
/// snapshot replay both use it). `subscription_id` is empty for a management-group scope.
///
/// # Errors
/// `Decode` when a stored page does not decode, or a recorded query is not one this connector
/// sends.
pub fn rows_from_exchanges(
    subscription_id: &str,
    exchanges: &[Exchange],
) -> Result<(Vec<CostDailyRow>, CostReport), AzureError> {
    let decode_error =
        |message: String| AzureError::Decode { api: Api::CostManagement, path: String::new(), message };
    // Month chunk → the exchanges of its queries. Each chunk's cells are parsed, assembled and
    // dropped before the next chunk's: a backfill's months are never all held as cells at once.
    let mut chunks: BTreeMap<String, Vec<(String, CostQuery, &Exchange)>> = BTreeMap::new();
    let mut queries = HashSet::new();
    for exchange in exchanges {
        let Some(request) = &exchange.request else { continue };
        let (kind, from, query) = query_of(request)
            .ok_or_else(|| decode_error("a stored cost query has an unknown grouping".into()))?;
        queries.insert((kind.clone(), from.clone(), query));
        if exchange.response.get() == "null" {
            continue; // 204: no data for this scope and window
        }
        chunks.entry(from).or_default().push((kind, query, exchange));
    }
    let mut report = CostReport { queries: queries.len(), ..CostReport::default() };
    let mut rows = Vec::new();
    for recorded in chunks.values() {
        // (cost type) → query → cells
        let mut by_type: HashMap<&str, HashMap<CostQuery, Vec<CostCell>>> = HashMap::new();
        for (kind, query, exchange) in recorded {
            let page: QueryResult =
                serde_json::from_str(exchange.response.get()).map_err(|e| decode_error(e.to_string()))?;
            let cells = match page.properties {
                Some(props) => props.cells()?,
                None => Vec::new(),
            };
            by_type.entry(kind.as_str()).or_default().entry(*query).or_default().extend(cells);
        }
        let mut assembled = |kind: &str| -> HashMap<Key, f64> {
            let empty = HashMap::new();
            let q = by_type.get(kind).unwrap_or(&empty);
            let get = |c: CostQuery| q.get(&c).map(Vec::as_slice).unwrap_or(&[]);
            assemble(get(CostQuery::A), get(CostQuery::B), get(CostQuery::C), get(CostQuery::D), &mut report)
        };
        let actual = assembled(CostType::ActualCost.as_str());
        let amortized = assembled(CostType::AmortizedCost.as_str());
        rows.extend(merge(subscription_id, actual, amortized));
    }
    rows.sort_by(|a, b| {
        (a.date, &a.resource_group, &a.service_name, &a.meter_category, &a.resource_id).cmp(&(
            b.date,
            &b.resource_group,
            &b.service_name,
            &b.meter_category,
            &b.resource_id,
        ))
    });
    Ok((rows, report))
}
