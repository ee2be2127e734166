//! Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources` over the estate, with
//! subscription scoping, `$top`/`$skip`/`$skipToken` paging, both result formats, and the
//! per-principal quota.

use std::borrow::Cow;
use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::control::Api;
use super::estate::{Estate, Resource};
use super::kql::{self, Query};
use super::kql_eval::{self, Frame};
use super::kql_parse::{self, KqlError, Table};
use super::render;
use super::server::{Shared, authorize, can_read, json_response, paged_json};
use super::usage;

fn rg_error(status: StatusCode, code: &str, details: Value) -> Response {
    let message = format!(
        "Please provide below info when asking for support: timestamp = {}, correlationId = {}.",
        chrono::Utc::now().to_rfc3339(),
        uuid::Uuid::new_v4()
    );
    json_response(status, &json!({ "error": { "code": code, "message": message, "details": details } }))
}

const INVALID_QUERY: &str = "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.";

fn invalid_query(reason: &str) -> Response {
    rg_error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        json!([
            { "code": "InvalidQuery", "message": INVALID_QUERY },
            { "code": "UnsupportedQuery", "message": reason },
        ]),
    )
}

/// Resource Graph's answers to a query it cannot run. A syntax error: `InvalidQuery` plus a
/// `ParserFailure` detail with line, position and token (as quoted in Azure/aztfexport#485 and
/// scautomation/AzureResourceGraph-Examples#2); an operator outside Resource Graph's KQL:
/// `InvalidQueryLanguage` with line -1 (Azure/azure-powershell#13762); a name that does not
/// resolve: `InvalidQuery` plus the Kusto semantic message (the detail code is the sandbox's
/// choice; no captured response shows it). A valid query the sandbox does not implement is not
/// an error of the caller's: it says so with `SandboxUnsupportedQuery` and no `InvalidQuery`.
fn kql_error(e: &KqlError) -> Response {
    let detail = match e {
        KqlError::Parse { line, column, token } => json!({
            "code": "ParserFailure", "message": "ParserFailure", "line": line,
            "characterPositionInLine": column, "token": token,
        }),
        KqlError::NotInResourceGraph(op) => json!({
            "code": "InvalidQueryLanguage", "message": "InvalidQueryLanguage", "line": -1,
            "characterPositionInLine": -1, "token": op,
        }),
        KqlError::Unresolved(_) => {
            json!({ "code": "FailedToResolveScalarExpression", "message": e.to_string() })
        }
        KqlError::Unsupported(reason) => {
            return rg_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                json!([{ "code": "SandboxUnsupportedQuery", "message": format!("The query is valid but the sandbox does not implement it: {reason}") }]),
            );
        }
    };
    rg_error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        json!([{ "code": "InvalidQuery", "message": INVALID_QUERY }, detail]),
    )
}

/// `ResourceContainers` rows of the readable subscriptions: each subscription and its resource
/// groups (named by the resources in them), with the columns of the `Resources` table.
fn containers(estate: &Estate, subs: &[usize]) -> Vec<Map<String, Value>> {
    let mut rows = Vec::new();
    for &s in subs {
        let sub = &estate.subscriptions[s];
        let tenant = &estate.tenant_of(s).id;
        let row = |id: String, name: &str, kind: &str, rg: &str, location: &str, properties: Value| {
            let mut m = Map::new();
            for c in kql::ALL_COLUMNS {
                m.insert((*c).to_owned(), Value::Null);
            }
            m.insert("id".into(), json!(id));
            m.insert("name".into(), json!(name));
            m.insert("type".into(), json!(kind));
            m.insert("tenantId".into(), json!(tenant));
            m.insert("kind".into(), json!(""));
            m.insert("location".into(), json!(location));
            m.insert("resourceGroup".into(), json!(rg));
            m.insert("subscriptionId".into(), json!(sub.id));
            m.insert("managedBy".into(), json!(""));
            m.insert("properties".into(), properties);
            m.insert("tags".into(), json!({}));
            m
        };
        rows.push(row(
            format!("/subscriptions/{}", sub.id),
            &sub.name,
            "microsoft.resources/subscriptions",
            "",
            "",
            json!({ "state": "Enabled" }),
        ));
        let mut groups: Vec<&str> = Vec::new();
        for r in estate.resources_of(s) {
            if !groups.contains(&r.rg.as_str()) {
                groups.push(&r.rg);
            }
        }
        for g in groups {
            rows.push(row(
                format!("/subscriptions/{}/resourceGroups/{g}", sub.id),
                g,
                "microsoft.resources/subscriptions/resourcegroups",
                g,
                sub.region,
                json!({ "provisioningState": "Succeeded" }),
            ));
        }
    }
    rows
}

/// Resource Graph's own 429: its quota headers say when the window resets.
pub(super) fn throttled(retry_after: std::time::Duration) -> Response {
    let mut r = rg_error(
        StatusCode::TOO_MANY_REQUESTS,
        "RateLimiting",
        json!([{ "code": "RateLimiting", "message": "Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help." }]),
    );
    let h = r.headers_mut();
    h.insert("x-ms-user-quota-remaining", HeaderValue::from(0));
    if let Ok(v) = HeaderValue::from_str(&hms(retry_after)) {
        h.insert("x-ms-user-quota-resets-after", v);
    }
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs_f64().ceil() as u64));
    r
}

fn hms(d: std::time::Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn cheap_value<'a>(estate: &'a Estate, r: &'a Resource, column: &str) -> Cow<'a, str> {
    match column {
        "id" => Cow::Borrowed(&r.id),
        "name" => Cow::Borrowed(&r.name),
        "type" => Cow::Owned(usage::arm_type(&r.kind).to_lowercase()),
        "location" => Cow::Borrowed(r.location),
        "resourceGroup" => Cow::Borrowed(&r.rg),
        "subscriptionId" => Cow::Borrowed(&estate.subscriptions[r.sub].id),
        "tenantId" => Cow::Borrowed(&estate.tenant_of(r.sub).id),
        other => {
            let row = render::resource_row(estate, r);
            Cow::Owned(row.get(other).and_then(Value::as_str).unwrap_or("").to_owned())
        }
    }
}

fn matching<'a>(estate: &'a Estate, subs: &[usize], q: &Query, gone: &HashSet<String>) -> Vec<&'a Resource> {
    let mut rows: Vec<&Resource> = subs
        .iter()
        .flat_map(|s| estate.resources_of(*s))
        .filter(|r| !gone.contains(&r.id.to_ascii_lowercase()))
        .filter(|r| q.conditions.iter().all(|c| c.op.test(&cheap_value(estate, r, &c.column), &c.value)))
        .collect();
    if let Some((col, asc)) = &q.order {
        rows.sort_by(|a, b| {
            let ord = cheap_value(estate, a, col).cmp(&cheap_value(estate, b, col));
            if *asc { ord } else { ord.reverse() }
        });
    }
    if let Some(limit) = q.limit {
        rows.truncate(limit);
    }
    rows
}

/// The Resource Graph query handler.
pub async fn query(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let claims = match authorize(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let quota = {
        let now = state.clock.now();
        let mut c = state.control();
        let cfg = c.quotas_cfg.clone();
        if cfg.resource_graph {
            match c.quotas.graph(&claims.oid, now, &cfg) {
                Ok(q) => {
                    c.quota_use.graph(&claims.oid);
                    q
                }
                Err(t) => {
                    c.stats.entry(Api::ResourceGraph).or_default().throttled += 1;
                    drop(c);
                    return throttled(t.retry_after);
                }
            }
        } else {
            c.quota_use.graph(&claims.oid);
            (cfg.graph_limit, std::time::Duration::from_secs(cfg.graph_window_secs))
        }
    };
    let mut response = run(&state, &claims, &body);
    let h = response.headers_mut();
    h.insert("x-ms-user-quota-remaining", HeaderValue::from(quota.0));
    if let Ok(v) = HeaderValue::from_str(&hms(quota.1)) {
        h.insert("x-ms-user-quota-resets-after", v);
    }
    response
}

fn run(state: &Shared, claims: &super::auth::Claims, body: &[u8]) -> Response {
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return rg_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                json!([{ "code": "InvalidRequestContent", "message": e.to_string() }]),
            );
        }
    };
    let Some(text) = request.get("query").and_then(Value::as_str) else {
        return rg_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            json!([{ "code": "InvalidRequestContent", "message": "The 'query' property is required." }]),
        );
    };
    if request.get("managementGroups").is_some_and(|m| m.as_array().is_some_and(|a| !a.is_empty())) {
        return kql_error(&KqlError::Unsupported("management group scopes; pass subscriptions".into()));
    }
    // The inventory subset runs on the fast path (no row is rendered before it is paged);
    // everything else goes through the general parser and evaluator.
    let (fast, general) = match kql::parse(text) {
        Ok(q) => (Some(q), None),
        Err(_) => match kql_parse::parse(text) {
            Ok(p) => (None, Some(p)),
            Err(e) => return kql_error(&e),
        },
    };
    let estate = &state.estate;
    // Resources deleted through ARM are gone from Resource Graph too.
    let gone = super::remediation::deleted_ids(state);
    // Like the real service, subscriptions the caller cannot read are silently left out.
    let subs: Vec<usize> = match request.get("subscriptions").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|s| estate.subscription(s))
            .filter(|s| can_read(estate, claims, *s))
            .collect(),
        None => (0..estate.subscriptions.len()).filter(|s| can_read(estate, claims, *s)).collect(),
    };
    let options = request.get("options").cloned().unwrap_or(Value::Null);
    let top = options.get("$top").and_then(Value::as_u64).unwrap_or(100).clamp(1, 1000) as usize;
    let token_offset = options
        .get("$skipToken")
        .and_then(Value::as_str)
        .and_then(|t| STANDARD.decode(t).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse::<usize>().ok()));
    if options.get("$skipToken").is_some() && token_offset.is_none() {
        return invalid_query("the $skipToken is not valid for this query");
    }
    let skip = options.get("$skip").and_then(Value::as_u64).map_or(token_offset.unwrap_or(0), |s| s as usize);
    let format_table = options.get("resultFormat").and_then(Value::as_str) == Some("table");
    let (columns, data, total, more): (Vec<String>, Vec<Map<String, Value>>, usize, bool) =
        match (fast, general) {
            (Some(q), _) => {
                let rows = matching(estate, &subs, &q, &gone);
                if q.count {
                    let mut row = Map::new();
                    row.insert("Count".into(), json!(rows.len()));
                    (vec!["Count".into()], vec![row], 1, false)
                } else {
                    let columns = q
                        .project
                        .clone()
                        .unwrap_or_else(|| kql::ALL_COLUMNS.iter().map(|c| (*c).to_owned()).collect());
                    let page: Vec<Map<String, Value>> = rows
                        .iter()
                        .skip(skip)
                        .take(top)
                        .map(|r| {
                            let full = render::resource_row(estate, r);
                            columns
                                .iter()
                                .map(|c| (c.clone(), full.get(c).cloned().unwrap_or(Value::Null)))
                                .collect()
                        })
                        .collect();
                    (columns, page, rows.len(), skip + top < rows.len())
                }
            }
            (None, Some(p)) => {
                let all: Vec<String> = kql::ALL_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
                let mut load = |t: Table| Frame {
                    columns: all.clone(),
                    rows: match t {
                        Table::Resources => subs
                            .iter()
                            .flat_map(|s| estate.resources_of(*s))
                            .filter(|r| !gone.contains(&r.id.to_ascii_lowercase()))
                            .map(|r| render::resource_row(estate, r))
                            .collect(),
                        Table::Containers => containers(estate, &subs),
                    },
                };
                let frame = match kql_eval::run(&p, &mut load) {
                    Ok(f) => f,
                    Err(e) => return kql_error(&e),
                };
                let total = frame.rows.len();
                let page = frame.rows.into_iter().skip(skip).take(top).collect();
                (frame.columns, page, total, skip + top < total)
            }
            (None, None) => (Vec::new(), Vec::new(), 0, false),
        };
    let pageable = columns.iter().any(|c| c == "id");
    let mut body = json!({
        "totalRecords": total,
        "count": data.len(),
        "resultTruncated": if more && !pageable { "true" } else { "false" },
        "facets": [],
    });
    if more && pageable {
        body["$skipToken"] = json!(STANDARD.encode(format!("offset:{}", skip + top)));
    }
    body["data"] = if format_table {
        let types: Vec<Value> = columns
            .iter()
            .map(|c| {
                let first = data.iter().filter_map(|r| r.get(c)).find(|v| !v.is_null());
                let t = match first {
                    _ if c == "Count" => "integer",
                    Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "integer",
                    Some(Value::Number(_)) => "number",
                    Some(Value::Bool(_)) => "boolean",
                    Some(Value::String(_)) => "string",
                    Some(_) => "object",
                    None if kql::STRING_COLUMNS.contains(&c.as_str()) => "string",
                    None => "object",
                };
                json!({ "name": c, "type": t })
            })
            .collect();
        let table_rows: Vec<Value> = data
            .iter()
            .map(|r| Value::Array(columns.iter().map(|c| r.get(c).cloned().unwrap_or(Value::Null)).collect()))
            .collect();
        json!({ "columns": types, "rows": table_rows })
    } else {
        Value::Array(data.into_iter().map(Value::Object).collect())
    };
    paged_json(&body)
}
