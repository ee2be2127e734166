//! Cost Management query at subscription and resource-group scope: ActualCost / AmortizedCost,
//! Daily / Monthly / None granularity, up to two Dimension groupings, `dimensions` filters,
//! `nextLink` paging (POST with the same body) and the per-tenant QPU quota.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Datelike, Days, NaiveDate};
use serde_json::{Value, json};

use super::control::{Api, QPU_WINDOWS};
use super::estate::Estate;
use super::server::{Shared, arm_error, authorize, encode, paged_json, query_map, readable_subscription};
use super::usage;

const DIMENSIONS: &[&str] = &[
    "ResourceGroupName",
    "ResourceGroup",
    "ServiceName",
    "MeterCategory",
    "ResourceId",
    "ResourceType",
    "ResourceLocation",
    "SubscriptionId",
    "SubscriptionName",
    "ChargeType",
    "PricingModel",
    "Meter",
];
const MEASURES: &[&str] = &["Cost", "PreTaxCost", "CostUSD", "PreTaxCostUSD"];

fn bad(message: &str) -> Response {
    arm_error(StatusCode::BAD_REQUEST, "BadRequest", &format!("Invalid query definition: {message}"))
}

/// One cost line before aggregation.
struct Line<'a> {
    day: NaiveDate,
    sub: usize,
    rg: &'a str,
    resource_id: String,
    resource_type: String,
    location: &'a str,
    meter: super::prices::Meter,
    charge_type: &'static str,
    pricing_model: &'static str,
    cost: f64,
}

fn dimension(estate: &Estate, line: &Line<'_>, name: &str) -> String {
    match name {
        "ResourceGroupName" | "ResourceGroup" => line.rg.to_owned(),
        "ServiceName" => line.meter.service_name.to_owned(),
        "MeterCategory" => line.meter.meter_category.to_owned(),
        "Meter" => line.meter.meter_name.to_owned(),
        "ResourceId" => line.resource_id.clone(),
        "ResourceType" => line.resource_type.clone(),
        "ResourceLocation" => line.location.to_owned(),
        "SubscriptionId" => estate.subscriptions[line.sub].id.clone(),
        "SubscriptionName" => estate.subscriptions[line.sub].name.clone(),
        "ChargeType" => line.charge_type.to_owned(),
        "PricingModel" => line.pricing_model.to_owned(),
        _ => String::new(),
    }
}

fn filter_matches(estate: &Estate, line: &Line<'_>, filter: &Value) -> Result<bool, String> {
    if let Some(all) = filter.get("and").and_then(Value::as_array) {
        return all.iter().try_fold(true, |acc, f| Ok(acc && filter_matches(estate, line, f)?));
    }
    if let Some(any) = filter.get("or").and_then(Value::as_array) {
        return any.iter().try_fold(false, |acc, f| Ok(acc || filter_matches(estate, line, f)?));
    }
    let Some(cmp) = filter.get("dimensions").or_else(|| filter.get("Dimensions")) else {
        return Err("only 'and', 'or' and 'dimensions' filters are supported".into());
    };
    let name = cmp.get("name").and_then(Value::as_str).unwrap_or("");
    if !DIMENSIONS.contains(&name) {
        return Err(format!("dimension '{name}' is not valid"));
    }
    let value = dimension(estate, line, name);
    let values = cmp.get("values").and_then(Value::as_array).ok_or("filter values are required")?;
    Ok(values.iter().filter_map(Value::as_str).any(|v| v.eq_ignore_ascii_case(&value)))
}

/// The query handler.
pub async fn query(
    state: &Shared,
    headers: &HeaderMap,
    sub_id: &str,
    rg: Option<String>,
    raw_query: Option<&str>,
    body: &[u8],
) -> Response {
    let claims = match authorize(state, headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let sub = match readable_subscription(state, &claims, sub_id) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let estate = &state.estate;
    let def: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return bad("Dataset is invalid or not supplied"),
    };
    let kind = def.get("type").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    let amortized = match kind.as_str() {
        "actualcost" | "usage" => false,
        "amortizedcost" => true,
        _ => return bad("type must be ActualCost, AmortizedCost or Usage"),
    };
    let Some(dataset) = def.get("dataset").or_else(|| def.get("dataSet")) else {
        return bad("Dataset is invalid or not supplied");
    };
    let yesterday = estate.as_of.pred_opt().unwrap_or(estate.as_of);
    let timeframe = def.get("timeframe").and_then(Value::as_str).unwrap_or("");
    let (from, to) = match super::timeframe::period(timeframe, def.get("timePeriod"), estate.as_of) {
        Ok(p) => p,
        Err(e) => return bad(&e.0),
    };
    let span = (to - from).num_days() + 1;
    if span > 366 {
        return bad("the time period cannot exceed 1 year");
    }
    let granularity = dataset.get("granularity").and_then(Value::as_str).unwrap_or("None").to_owned();
    if !["Daily", "Monthly", "None"].contains(&granularity.as_str()) {
        return bad(&format!("granularity {granularity} is not supported"));
    }
    let mut measures = Vec::new();
    if let Some(agg) = dataset.get("aggregation").and_then(Value::as_object) {
        for spec in agg.values() {
            let name = spec.get("name").and_then(Value::as_str).unwrap_or("");
            if !MEASURES.contains(&name) || spec.get("function").and_then(Value::as_str) != Some("Sum") {
                return bad(&format!("aggregation '{name}' is not supported"));
            }
            measures.push(name.to_owned());
        }
    }
    if measures.is_empty() || measures.len() > 2 {
        return bad("between 1 and 2 aggregations are required");
    }
    let grouping: Vec<String> = dataset
        .get("grouping")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_owned)).collect())
        .unwrap_or_default();
    let group_count = dataset.get("grouping").and_then(Value::as_array).map_or(0, Vec::len);
    if group_count > 2 {
        return bad("a maximum of 2 groupings is allowed");
    }
    if let Some(g) = grouping.iter().find(|g| !DIMENSIONS.contains(&g.as_str())) {
        return bad(&format!("grouping dimension '{g}' is not valid"));
    }
    let filter = dataset.get("filter").cloned();

    // QPU: one per month of data requested, charged to the subscription's tenant.
    let qpu = ((span as f64 / 30.4375).ceil() as u32).clamp(1, 12);
    let remaining = {
        let now = state.clock.now();
        let mut c = state.control();
        let tenant = &estate.tenant_of(sub).id;
        if c.quotas_cfg.cost_management {
            match c.quotas.qpu(tenant, qpu, now) {
                Ok(r) => {
                    c.quota_use.qpu(tenant, qpu);
                    Some(r)
                }
                Err(t) => {
                    c.stats.entry(Api::CostManagement).or_default().throttled += 1;
                    return throttled(t.retry_after);
                }
            }
        } else {
            c.quota_use.qpu(tenant, qpu);
            None
        }
    };

    let first = estate.as_of.checked_sub_days(Days::new(u64::from(estate.spec.days))).unwrap_or(estate.as_of);
    let (lo, hi) = (from.max(first), to.min(yesterday));
    if lo > hi {
        return StatusCode::NO_CONTENT.into_response();
    }
    let mut totals: BTreeMap<(String, Vec<String>), f64> = BTreeMap::new();
    let resources = estate.resources_of(sub);
    let gone = super::remediation::deletion_days(state);
    let mut lines: Vec<Line<'_>> = Vec::new();
    for day in lo.iter_days().take_while(|d| *d <= hi) {
        lines.clear();
        for r in resources.iter().filter(|r| rg.as_deref().is_none_or(|g| g.eq_ignore_ascii_case(&r.rg))) {
            // A resource deleted through ARM costs nothing from its deletion day.
            if gone.get(&r.id.to_ascii_lowercase()).is_some_and(|on| day >= *on) {
                continue;
            }
            let Some((actual, amort)) = usage::day_cost(estate, r, day) else { continue };
            let Some((meter, _)) = usage::charge(r) else { continue };
            let reserved = matches!(r.kind, super::estate::Kind::Vm { reserved: true, .. });
            lines.push(Line {
                day,
                sub,
                rg: &r.rg,
                resource_id: r.id.to_lowercase(),
                resource_type: usage::arm_type(&r.kind).to_lowercase(),
                location: r.location,
                meter,
                charge_type: "Usage",
                pricing_model: if reserved { "Reservation" } else { "OnDemand" },
                cost: if amortized { amort } else { actual },
            });
        }
        if rg.is_none() {
            for charge in usage::subscription_charges(estate, sub, day) {
                let cost = if amortized { charge.amortized } else { charge.actual };
                if cost > 0.0 {
                    let purchase = charge.amortized == 0.0;
                    lines.push(Line {
                        day,
                        sub,
                        rg: "",
                        resource_id: String::new(),
                        resource_type: String::new(),
                        location: if purchase { "global" } else { "" },
                        meter: charge.meter,
                        charge_type: charge.charge_type,
                        pricing_model: if purchase { "Reservation" } else { "OnDemand" },
                        cost,
                    });
                }
            }
        }
        for line in &lines {
            if let Some(f) = &filter {
                match filter_matches(estate, line, f) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => return bad(&e),
                }
            }
            let time = match granularity.as_str() {
                "Daily" => line.day.format("%Y%m%d").to_string(),
                "Monthly" => format!("{}-{:02}-01T00:00:00", line.day.year(), line.day.month()),
                _ => String::new(),
            };
            let key = grouping.iter().map(|g| dimension(estate, line, g)).collect();
            *totals.entry((time, key)).or_insert(0.0) += line.cost;
        }
    }
    let mut columns: Vec<Value> = measures.iter().map(|m| json!({ "name": m, "type": "Number" })).collect();
    columns.extend(grouping.iter().map(|g| json!({ "name": g, "type": "String" })));
    match granularity.as_str() {
        "Daily" => columns.push(json!({ "name": "UsageDate", "type": "Number" })),
        "Monthly" => columns.push(json!({ "name": "BillingMonth", "type": "Datetime" })),
        _ => {}
    }
    columns.push(json!({ "name": "Currency", "type": "String" }));

    let params = query_map(raw_query);
    let page =
        params.get("$top").and_then(|t| t.parse::<usize>().ok()).unwrap_or(state.pages.cost).clamp(1, 5000);
    let offset = match params.get("$skiptoken") {
        None => 0,
        Some(t) => match STANDARD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
        {
            Some(n) => n,
            None => return bad("the $skiptoken is not valid"),
        },
    };
    let rows: Vec<Value> = totals
        .iter()
        .skip(offset)
        .take(page)
        .map(|((time, keys), cost)| {
            let mut row: Vec<Value> = measures.iter().map(|_| json!(cost)).collect();
            row.extend(keys.iter().map(|k| json!(k)));
            match granularity.as_str() {
                "Daily" => row.push(json!(time.parse::<u64>().unwrap_or(0))),
                "Monthly" => row.push(json!(time)),
                _ => {}
            }
            row.push(json!("USD"));
            Value::Array(row)
        })
        .collect();
    let scope = match &rg {
        Some(g) => format!("/subscriptions/{}/resourceGroups/{g}", estate.subscriptions[sub].id),
        None => format!("/subscriptions/{}", estate.subscriptions[sub].id),
    };
    let next = (offset + page < totals.len()).then(|| {
        let token = encode(&STANDARD.encode(format!("offset:{}", offset + page)));
        let top = params.get("$top").map(|t| format!("&$top={t}")).unwrap_or_default();
        format!("{}{scope}/providers/Microsoft.CostManagement/query?api-version=2025-03-01{top}&$skiptoken={token}", state.base_url)
    });
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "id": format!("{scope}/providers/Microsoft.CostManagement/query/{id}"),
        "name": id,
        "type": "Microsoft.CostManagement/query",
        "properties": { "nextLink": next, "columns": columns, "rows": rows },
    });
    let mut response = paged_json(&body);
    let h = response.headers_mut();
    h.insert("x-ms-ratelimit-microsoft.costmanagement-qpu-consumed", HeaderValue::from(qpu));
    if let Some(rem) = remaining {
        let text = format!(
            "{}:{},{}:{},{}:{}",
            QPU_WINDOWS[2].0, rem[2], QPU_WINDOWS[1].0, rem[1], QPU_WINDOWS[0].0, rem[0]
        );
        if let Ok(v) = HeaderValue::from_str(&text) {
            h.insert("x-ms-ratelimit-microsoft.costmanagement-qpu-remaining", v);
        }
    }
    response
}

/// Cost Management's own 429: the QPU retry-after header (whole seconds) and `Retry-After`.
pub(super) fn throttled(retry_after: std::time::Duration) -> Response {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = arm_error(StatusCode::TOO_MANY_REQUESTS, "429", "Too many requests. Please retry.");
    r.headers_mut()
        .insert("x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after", HeaderValue::from(secs));
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}
