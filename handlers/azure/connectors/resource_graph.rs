//! Resource Graph: the full inventory of a subscription, 1,000 rows per page, projecting the
//! whole top-level resource columns so raw snapshots can replay any rule later.
//!
//! Paging: the response's `$skipToken` goes back as `options.$skipToken` in an otherwise
//! identical POST body (never stop on `resultTruncated`, which is `"false"` on paged results).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::azure::client::{ApiRequest, Exchange};
use crate::azure::connectors::{RESOURCE_GRAPH_API_VERSION, resource_group_of, subscription_of};
use crate::azure::paging::PageGuard;
use crate::azure::{Api, ArmClient, AzureError, CallContext};
use crate::model::ResourceRow;

/// The inventory query (the wire contract's exact text).
pub const INVENTORY_QUERY: &str = "Resources | project id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, sku, tags, properties, managedBy, zones, identity, plan | order by id asc";

/// Rows per page (the service maximum).
pub const PAGE_SIZE: u32 = 1000;

/// What a query runs over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphScope {
    /// These subscription GUIDs.
    Subscriptions(Vec<String>),
    /// One management group (internal model: everything below it).
    ManagementGroup(String),
}

/// Builds the request body; `skip_token` continues a previous page.
pub fn request_body(scope: &GraphScope, query: &str, skip_token: Option<&str>) -> Value {
    let mut options = json!({"$top": PAGE_SIZE, "resultFormat": "objectArray"});
    if let Some(t) = skip_token {
        options["$skipToken"] = Value::String(t.to_owned());
    }
    let mut body = json!({"query": query, "options": options});
    match scope {
        GraphScope::Subscriptions(subs) => body["subscriptions"] = json!(subs),
        GraphScope::ManagementGroup(mg) => body["managementGroups"] = json!([mg]),
    }
    body
}

/// Wire: one Resource Graph page.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryResponse {
    /// Rows matching the query in total.
    #[serde(rename = "totalRecords")]
    pub total_records: Option<i64>,
    /// Rows on this page.
    pub count: Option<i64>,
    /// `"true"`/`"false"` as a string (a boolean is tolerated).
    #[serde(rename = "resultTruncated")]
    pub result_truncated: Option<Value>,
    /// Continuation token.
    #[serde(rename = "$skipToken")]
    pub skip_token: Option<String>,
    /// `objectArray` rows, or a `table` (`columns` + `rows`).
    #[serde(default)]
    pub data: Value,
}

impl QueryResponse {
    /// `resultTruncated` as a boolean (`"true"` or `true`).
    pub fn is_truncated(&self) -> bool {
        match &self.result_truncated {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// The rows as JSON objects, whichever result format the service used.
    pub fn rows(&self) -> Vec<serde_json::Map<String, Value>> {
        match &self.data {
            Value::Array(items) => items.iter().filter_map(|v| v.as_object().cloned()).collect(),
            Value::Object(table) => {
                let columns: Vec<String> = table
                    .get("columns")
                    .and_then(Value::as_array)
                    .map(|cs| {
                        cs.iter()
                            .map(|c| c.get("name").and_then(Value::as_str).unwrap_or("").to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                table
                    .get("rows")
                    .and_then(Value::as_array)
                    .map(|rows| {
                        rows.iter()
                            .filter_map(Value::as_array)
                            .map(|cells| columns.iter().cloned().zip(cells.iter().cloned()).collect())
                            .collect()
                    })
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}

fn text(row: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    row.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn non_null(v: Option<&Value>) -> Option<Value> {
    v.filter(|v| !v.is_null()).cloned()
}

/// Tags arrive as an object, a JSON string holding an object, or null.
pub fn parse_tags(v: Option<&Value>) -> BTreeMap<String, String> {
    let owned;
    let obj = match v {
        Some(Value::Object(o)) => o,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => {
                owned = o;
                &owned
            }
            _ => return BTreeMap::new(),
        },
        _ => return BTreeMap::new(),
    };
    obj.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| if v.is_null() { String::new() } else { v.to_string() }),
            )
        })
        .collect()
}

/// Maps one row; `None` when it has no `id` (cannot be keyed).
pub fn map_resource(row: &serde_json::Map<String, Value>) -> Option<ResourceRow> {
    let id = text(row, "id").filter(|s| !s.is_empty())?.to_ascii_lowercase();
    let subscription_id =
        text(row, "subscriptionId").map(|s| s.to_ascii_lowercase()).unwrap_or_else(|| subscription_of(&id));
    let resource_group =
        text(row, "resourceGroup").map(|s| s.to_ascii_lowercase()).unwrap_or_else(|| resource_group_of(&id));
    Some(ResourceRow {
        subscription_id,
        name: text(row, "name").unwrap_or_default(),
        resource_type: text(row, "type").unwrap_or_default().to_ascii_lowercase(),
        kind: text(row, "kind").filter(|k| !k.is_empty()),
        location: text(row, "location").unwrap_or_default().to_ascii_lowercase(),
        resource_group,
        sku: non_null(row.get("sku")),
        tags: parse_tags(row.get("tags")),
        properties: row.get("properties").cloned().unwrap_or(Value::Null),
        managed_by: text(row, "managedBy").filter(|m| !m.is_empty()),
        resource_id: id,
    })
}

/// Runs `query` over `scope` to the last page, for a caller that records the exchanges and
/// maps them with [`rows_from_exchanges`]. A failing page fails the whole call: no partial
/// inventory.
///
/// # Errors
/// Any [`AzureError`]; `PagingLoop` on a repeated `$skipToken`; `Truncated` when the service
/// drops rows it will not page.
pub async fn query_pages(
    client: &ArmClient,
    ctx: &CallContext,
    scope: &GraphScope,
    query: &str,
) -> Result<(), AzureError> {
    let url = client.arm_url(
        "/providers/Microsoft.ResourceGraph/resources",
        &[("api-version", RESOURCE_GRAPH_API_VERSION)],
    )?;
    let mut guard = PageGuard::new(Api::ResourceGraph, client.config().page_cap);
    let mut token: Option<String> = None;
    loop {
        let body = request_body(scope, query, token.as_deref());
        let page: QueryResponse =
            client.send_json(ctx, &ApiRequest::post(Api::ResourceGraph, url.clone(), body)).await?;
        guard.page_received()?;
        token = guard.next(page.skip_token.as_deref())?;
        // Truncated without a continuation means the service dropped rows it will not page
        // (e.g. a query without `id`): fail rather than return a partial inventory.
        if token.is_none() && page.is_truncated() {
            return Err(AzureError::Truncated { api: Api::ResourceGraph });
        }
        if token.is_none() {
            return Ok(());
        }
    }
}

/// Runs the inventory query of one subscription (exchanges go to `ctx`'s recorder).
///
/// # Errors
/// As [`query_pages`].
pub async fn query_inventory(
    client: &ArmClient,
    ctx: &CallContext,
    subscription_id: &str,
) -> Result<(), AzureError> {
    let scope = GraphScope::Subscriptions(vec![subscription_id.to_ascii_lowercase()]);
    query_pages(client, ctx, &scope, INVENTORY_QUERY).await
}

/// The inventory in recorded Resource Graph exchanges, sorted by id, keeping only rows of
/// `subscription_id` (and of `azure_tenant_id`, when given), and how many rows were dropped for
/// naming another one: a response that mixes in another customer's rows must never put them
/// in this scope. The one mapping from Resource Graph responses to rows ([`fetch_inventory`]
/// and ingestion's snapshot replay both use it).
///
/// # Errors
/// `Decode` when a recorded page does not decode.
pub fn rows_from_exchanges(
    exchanges: &[Exchange],
    subscription_id: &str,
    azure_tenant_id: Option<&str>,
) -> Result<(Vec<ResourceRow>, usize), AzureError> {
    let mut rows = Vec::new();
    let mut foreign = 0;
    for exchange in exchanges {
        let page: QueryResponse = serde_json::from_str(exchange.response.get())
            .map_err(|e| super::undecodable(Api::ResourceGraph, &e))?;
        for row in page.rows() {
            let Some(resource) = map_resource(&row) else { continue };
            let tenant = row.get("tenantId").and_then(Value::as_str).unwrap_or("");
            let own_tenant =
                tenant.is_empty() || azure_tenant_id.is_none_or(|own| tenant.eq_ignore_ascii_case(own));
            if own_tenant && resource.subscription_id.eq_ignore_ascii_case(subscription_id) {
                rows.push(resource);
            } else {
                foreign += 1;
            }
        }
    }
    rows.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    rows.dedup_by(|a, b| a.resource_id == b.resource_id);
    Ok((rows, foreign))
}

/// The inventory of one subscription as curated rows ([`query_inventory`], then
/// [`rows_from_exchanges`]).
///
/// # Errors
/// As [`query_pages`].
pub async fn fetch_inventory(
    client: &ArmClient,
    ctx: &CallContext,
    subscription_id: &str,
) -> Result<Vec<ResourceRow>, AzureError> {
    let (recording, recorder) = super::recording(ctx);
    query_inventory(client, &recording, subscription_id).await?;
    Ok(rows_from_exchanges(&super::recorded(&recorder), subscription_id, None)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_carries_the_token_in_options() {
        let scope = GraphScope::Subscriptions(vec!["s1".into()]);
        let first = request_body(&scope, INVENTORY_QUERY, None);
        assert_eq!(first["options"]["$top"], 1000);
        assert_eq!(first["options"]["resultFormat"], "objectArray");
        assert!(first["options"].get("$skipToken").is_none());
        assert_eq!(first["subscriptions"], json!(["s1"]));
        let next = request_body(&scope, INVENTORY_QUERY, Some("tok"));
        assert_eq!(next["options"]["$skipToken"], "tok");
        assert_eq!(next["query"], first["query"]);
        let mg = request_body(&GraphScope::ManagementGroup("mg1".into()), "Resources | count", None);
        assert_eq!(mg["managementGroups"], json!(["mg1"]));
    }

    #[test]
    fn mapper_normalises_case_tags_and_nulls() {
        let row = json!({
            "id": "/subscriptions/S1/resourceGroups/RG1/providers/Microsoft.Compute/disks/D1",
            "name": "D1", "type": "Microsoft.Compute/disks", "location": "EastUS",
            "resourceGroup": "RG1", "subscriptionId": "S1", "kind": "", "sku": null,
            "tags": "{\"env\":\"prod\",\"n\":3}", "properties": {"diskState": "Unattached"}, "managedBy": ""
        });
        let r = map_resource(row.as_object().unwrap()).unwrap();
        assert_eq!(
            r.resource_id,
            "/subscriptions/s1/resourcegroups/rg1/providers/microsoft.compute/disks/d1"
        );
        assert_eq!(
            (r.resource_type.as_str(), r.location.as_str(), r.resource_group.as_str()),
            ("microsoft.compute/disks", "eastus", "rg1")
        );
        assert_eq!(r.name, "D1");
        assert_eq!(r.tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(r.tags.get("n").map(String::as_str), Some("3"));
        assert_eq!((r.kind, r.sku, r.managed_by), (None, None, None));
        let minimal = json!({"id": "/subscriptions/S2/resourceGroups/X/providers/a/b/c"});
        let m = map_resource(minimal.as_object().unwrap()).unwrap();
        assert_eq!((m.subscription_id.as_str(), m.resource_group.as_str()), ("s2", "x"));
        assert!(m.tags.is_empty());
        assert!(map_resource(json!({"name": "no id"}).as_object().unwrap()).is_none());
    }

    #[test]
    fn table_format_rows_become_objects() {
        let page: QueryResponse = serde_json::from_value(json!({
            "totalRecords": 1, "count": 1, "resultTruncated": "false",
            "data": {"columns": [{"name": "id", "type": "string"}, {"name": "name", "type": "string"}], "rows": [["/x", "n"]]}
        }))
        .unwrap();
        let rows = page.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["name"], "n");
    }
}
