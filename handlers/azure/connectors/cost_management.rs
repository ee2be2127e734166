//! Cost Management Query: daily ActualCost and AmortizedCost per (date, resource group,
//! service, meter category, resource).
//!
//! The API allows at most two groupings per query, but the curated key has four dimensions.
//! The rows are assembled from four queries per cost type, all daily over the same window:
//!
//! - **A** `ResourceId` × `MeterCategory` — every charge once, resource-level;
//! - **B** `MeterCategory` × `ServiceName` — the services of each meter category;
//! - **C** `ResourceId` × `ResourceGroupName` — only sent when A has resource-less charges
//!   (empty `ResourceId`, e.g. support plans, marketplace), to place them in a group;
//! - **D** `ResourceId` × `ServiceName` — the services of each resource.
//!
//! A resource's group is parsed from its id. A meter category can span services (Azure's
//! `Virtual Network` covers both `Virtual Network` and `NAT Gateway`), so each A cell takes the
//! services its resource (D) and its meter category (B) have in common for that day — one in
//! practice, which makes the row exact; resource-less cells use B alone and take their group
//! from C. When more than one service (or group) remains, the cell is split in proportion and
//! counted in [`CostReport::apportioned`]; either way every A cell's cost lands in the output
//! exactly once, so the rows of a day sum to the subscription's total.
//!
//! ActualCost and AmortizedCost are merged on the full key. Windows are chunked by calendar month
//! (≤ 1 year per request; one QPU per month) and the queries planned up front with their QPU, in
//! stages the tenant's quota windows take at once ([`super::cost_plan`]). Pages are asked for
//! 5,000 rows at a time (`$top`, the most Cost Management returns), so a month of a subscription
//! is one page and one query's QPU as planned; more pages follow `properties.nextLink` with a
//! POST of the same body.

use std::sync::Arc;

use chrono::{Datelike, Duration as ChronoDuration, NaiveDate};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::azure::client::{ApiRequest, decode};
use crate::azure::connectors::COST_MANAGEMENT_API_VERSION;
use crate::azure::connectors::cost_plan::{self, PlannedQuery, Stage};
use crate::azure::paging::PageGuard;
use crate::azure::qpu::Charge;
use crate::azure::{Api, ArmClient, AzureError, CallContext};
use crate::model::CostDailyRow;

pub use crate::azure::connectors::cost_merge::{CostReport, Key, assemble, dim, merge, rows_from_exchanges};

/// Where a cost query runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostScope {
    /// One subscription.
    Subscription(String),
    /// A management group (internal model).
    ManagementGroup(String),
}

impl CostScope {
    fn path(&self) -> String {
        match self {
            CostScope::Subscription(s) => format!("/subscriptions/{s}"),
            CostScope::ManagementGroup(m) => format!("/providers/Microsoft.Management/managementGroups/{m}"),
        }
    }
}

/// Which cost view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostType {
    /// Charges as billed.
    ActualCost,
    /// Commitment purchases spread over the usage they cover.
    AmortizedCost,
}

impl CostType {
    /// The view as a query body's `type` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            CostType::ActualCost => "ActualCost",
            CostType::AmortizedCost => "AmortizedCost",
        }
    }
}

/// The four queries of one cost type (see the module docs). Each names its two groupings here
/// only: for the requests sent, and for telling recorded requests apart when they are read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CostQuery {
    /// `ResourceId` × `MeterCategory`: every charge once.
    A,
    /// `MeterCategory` × `ServiceName`: the services of each meter category.
    B,
    /// `ResourceId` × `ResourceGroupName`: the groups of resource-less charges.
    C,
    /// `ResourceId` × `ServiceName`: the services of each resource.
    D,
}

impl CostQuery {
    /// Every query, in assembly order.
    pub const ALL: [Self; 4] = [Self::A, Self::B, Self::C, Self::D];

    /// The query's two grouping dimensions.
    pub fn grouping(self) -> [&'static str; 2] {
        match self {
            Self::A => ["ResourceId", "MeterCategory"],
            Self::B => ["MeterCategory", "ServiceName"],
            Self::C => ["ResourceId", "ResourceGroupName"],
            Self::D => ["ResourceId", "ServiceName"],
        }
    }

    /// The query grouped by `grouping`, if it is one of the four.
    pub fn of_grouping(grouping: &[&str]) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.grouping().as_slice() == grouping)
    }

    /// The query's body for `[from, to]`.
    pub fn body(self, cost_type: CostType, from: NaiveDate, to: NaiveDate) -> Value {
        query_body(cost_type, from, to, &self.grouping())
    }
}

/// Builds a daily Custom-timeframe query body grouped by (at most two) dimensions.
pub fn query_body(cost_type: CostType, from: NaiveDate, to: NaiveDate, grouping: &[&str]) -> Value {
    let groups: Vec<Value> =
        grouping.iter().take(2).map(|g| json!({"type": "Dimension", "name": g})).collect();
    json!({
        "type": cost_type.as_str(),
        "timeframe": "Custom",
        "timePeriod": {"from": format!("{from}T00:00:00Z"), "to": format!("{to}T23:59:59Z")},
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": groups,
        }
    })
}

/// Wire: the query result.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryResult {
    /// Columns, rows and paging.
    pub properties: Option<QueryProperties>,
}

/// Wire: `properties` of a query result.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryProperties {
    /// Absolute URL of the next page (POST the same body to it).
    #[serde(rename = "nextLink")]
    pub next_link: Option<String>,
    /// Column names and types, in row order.
    #[serde(default)]
    pub columns: Vec<QueryColumn>,
    /// Rows of cells.
    #[serde(default)]
    pub rows: Vec<Vec<Value>>,
}

/// Wire: one column.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryColumn {
    /// Column name (`Cost`, `ResourceId`, `UsageDate`, `Currency`…).
    pub name: String,
    /// `Number`, `String`, `Datetime`.
    #[serde(rename = "type")]
    pub column_type: Option<String>,
}

impl CostCell {
    /// The value of grouping column `name` (exact name), if the query grouped by it.
    pub fn dim(&self, name: &str) -> Option<&str> {
        self.dims.iter().find(|(k, _)| &**k == name).map(|(_, v)| v.as_str())
    }
}

/// One parsed result row: date, grouping values by dimension name, cost, currency.
#[derive(Debug, Clone, PartialEq)]
pub struct CostCell {
    /// Usage date (absent when granularity is `None`).
    pub date: Option<NaiveDate>,
    /// Grouping column values, each with its column's name (shared by every row of a page: a
    /// map per row cost several hundred bytes on pages of thousands of rows).
    pub dims: Vec<(Arc<str>, String)>,
    /// The aggregated cost.
    pub cost: f64,
    /// Billing currency.
    pub currency: String,
}

const COST_COLUMNS: &[&str] = &["Cost", "PreTaxCost", "CostUSD", "PreTaxCostUSD"];
const DATE_COLUMNS: &[&str] = &["UsageDate", "BillingMonth"];

/// Parses `UsageDate` as a `YYYYMMDD` number or a date / date-time string.
pub fn parse_usage_date(v: &Value) -> Option<NaiveDate> {
    let digits = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?.to_string(),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(d) = NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d") {
                return Some(d);
            }
            s.to_owned()
        }
        _ => return None,
    };
    NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()
}

impl QueryProperties {
    /// The rows as cells, reading columns by name.
    ///
    /// # Errors
    /// `Decode` when there is no cost column or a cost cell is not a number.
    pub fn cells(&self) -> Result<Vec<CostCell>, AzureError> {
        let find = |names: &[&str]| {
            self.columns.iter().position(|c| names.iter().any(|n| c.name.eq_ignore_ascii_case(n)))
        };
        let cost_ix = find(COST_COLUMNS)
            .or_else(|| {
                self.columns.iter().position(|c| {
                    c.column_type.as_deref() == Some("Number")
                        && !DATE_COLUMNS.iter().any(|d| c.name.eq_ignore_ascii_case(d))
                })
            })
            .ok_or_else(|| AzureError::Decode {
                api: Api::CostManagement,
                path: "properties.columns".into(),
                message: "no cost column".into(),
            })?;
        let date_ix = find(DATE_COLUMNS);
        let currency_ix = find(&["Currency"]);
        let dims: Vec<(usize, Arc<str>)> = (0..self.columns.len())
            .filter(|&i| i != cost_ix && Some(i) != date_ix && Some(i) != currency_ix)
            .map(|i| (i, Arc::from(self.columns[i].name.as_str())))
            .collect();
        self.rows
            .iter()
            .enumerate()
            .map(|(r, row)| {
                let cost = match row.get(cost_ix) {
                    Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
                    Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
                    Some(Value::Null) | None => 0.0,
                    Some(_) => {
                        return Err(AzureError::Decode {
                            api: Api::CostManagement,
                            path: format!("properties.rows[{r}][{cost_ix}]"),
                            message: "cost is not a number".into(),
                        });
                    }
                };
                let text = |i: usize| match row.get(i) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                };
                Ok(CostCell {
                    date: date_ix.and_then(|i| row.get(i)).and_then(parse_usage_date),
                    dims: dims.iter().map(|(i, name)| (name.clone(), text(*i))).collect(),
                    cost,
                    currency: currency_ix.map(text).unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// Rows per page asked for: Cost Management's maximum, so a month of one subscription is one
/// page (every page is a query charged QPU).
pub const PAGE_ROWS: &str = "5000";

/// Runs one query to its last page (POST `nextLink` with the same body).
///
/// # Errors
/// Any [`AzureError`]; a page failing fails the query (no partial result).
pub async fn query_all(
    client: &ArmClient,
    ctx: &CallContext,
    scope: &CostScope,
    body: &Value,
    months: u32,
) -> Result<Vec<CostCell>, AzureError> {
    query_pages(client, ctx, scope, body, months.max(1), None).await
}

/// [`query_all`] at `qpu` per page, the first page already paid for by `reserved`.
async fn query_pages(
    client: &ArmClient,
    ctx: &CallContext,
    scope: &CostScope,
    body: &Value,
    qpu: u32,
    reserved: Option<Charge>,
) -> Result<Vec<CostCell>, AzureError> {
    let mut out = Vec::new();
    each_page(client, ctx, scope, body, qpu, reserved, |bytes| {
        let page: QueryResult = decode(Api::CostManagement, bytes)?;
        let Some(props) = page.properties else { return Ok(None) };
        out.extend(props.cells()?);
        Ok(props.next_link)
    })
    .await?;
    Ok(out)
}

/// Sends a query and its `nextLink` pages, handing each page's body to `on_page`, which returns
/// the page's `nextLink`.
async fn each_page(
    client: &ArmClient,
    ctx: &CallContext,
    scope: &CostScope,
    body: &Value,
    qpu: u32,
    reserved: Option<Charge>,
    mut on_page: impl FnMut(&[u8]) -> Result<Option<String>, AzureError>,
) -> Result<(), AzureError> {
    let path = format!("{}/providers/Microsoft.CostManagement/query", scope.path());
    let mut url =
        client.arm_url(&path, &[("api-version", COST_MANAGEMENT_API_VERSION), ("$top", PAGE_ROWS)])?;
    let mut guard = PageGuard::new(Api::CostManagement, client.config().page_cap);
    let mut reserved = reserved;
    loop {
        let mut req = ApiRequest::post(Api::CostManagement, url.clone(), body.clone());
        req.cost = f64::from(qpu);
        req.reserved = reserved.take();
        let resp = client.send(ctx, &req).await?;
        guard.page_received()?;
        if resp.status == 204 || resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let next = on_page(&resp.body)?;
        match guard.next_url(&url, next.as_deref())? {
            Some(next) => url = next,
            None => return Ok(()),
        }
    }
}

/// Wire: a page read only for its `nextLink` and its resource ids, borrowing every cell from
/// the body (a page of cost rows as `serde_json::Value`s is several times its JSON).
#[derive(Deserialize)]
struct PageScan<'a> {
    #[serde(borrow)]
    properties: Option<ScanProperties<'a>>,
}

#[derive(Deserialize)]
struct ScanProperties<'a> {
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
    #[serde(default)]
    columns: Vec<QueryColumn>,
    #[serde(default, borrow)]
    rows: Vec<Vec<&'a RawValue>>,
}

/// Reads a page's `nextLink` and whether any of its rows has an empty `ResourceId`.
fn scan_page(bytes: &[u8]) -> Result<(Option<String>, bool), AzureError> {
    let page: PageScan<'_> = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            AzureError::Truncated { api: Api::CostManagement }
        } else {
            AzureError::Decode { api: Api::CostManagement, path: ".".into(), message: e.to_string() }
        }
    })?;
    let Some(props) = page.properties else { return Ok((None, false)) };
    let resource_less =
        props.columns.iter().position(|c| c.name.eq_ignore_ascii_case("ResourceId")).is_some_and(|i| {
            props.rows.iter().any(|row| row.get(i).is_none_or(|v| matches!(v.get(), "\"\"" | "null")))
        });
    Ok((props.next_link, resource_less))
}

/// Runs one planned query under the stage's reservation; for an A query, whether it has
/// charges without a resource id (which its C query places in a group). The caller keeps the
/// responses through its recorder; nothing is parsed here beyond that.
async fn run_query(
    client: &ArmClient,
    ctx: &CallContext,
    scope: &CostScope,
    q: &PlannedQuery,
    reserved: Option<Charge>,
) -> Result<bool, AzureError> {
    let body = q.query.body(q.cost_type, q.from, q.to);
    let mut resource_less = false;
    each_page(client, ctx, scope, &body, q.qpu, reserved, |bytes| {
        let (next, any) = scan_page(bytes)?;
        resource_less |= any;
        Ok(next)
    })
    .await?;
    Ok(q.query == CostQuery::A && resource_less)
}

/// Reserves a stage's QPU, then sends its queries without waiting on the quota again: A, B and
/// D at once, then the C queries whose A has resource-less charges (the others are refunded).
/// Returns how many queries were sent.
async fn run_stage(
    client: &ArmClient,
    ctx: &CallContext,
    scope: &CostScope,
    stage: &Stage,
) -> Result<usize, AzureError> {
    let charge = client.reserve(ctx, Api::CostManagement, stage.qpu()).await;
    let (conditional, first): (Vec<&PlannedQuery>, Vec<&PlannedQuery>) =
        stage.queries.iter().partition(|q| q.query == CostQuery::C);
    let answers =
        match futures::future::try_join_all(first.iter().map(|q| run_query(client, ctx, scope, q, charge)))
            .await
        {
            Ok(answers) => answers,
            Err(e) => {
                client.refund(ctx, Api::CostManagement, charge, conditional.iter().map(|q| q.qpu).sum());
                return Err(e);
            }
        };
    let needs_c = |c: &PlannedQuery| {
        first.iter().zip(&answers).any(|(a, &resource_less)| {
            resource_less && a.cost_type == c.cost_type && a.from == c.from && a.to == c.to
        })
    };
    let (send, skip): (Vec<&PlannedQuery>, Vec<&PlannedQuery>) =
        conditional.into_iter().partition(|c| needs_c(c));
    client.refund(ctx, Api::CostManagement, charge, skip.iter().map(|q| q.qpu).sum());
    futures::future::try_join_all(send.iter().map(|q| run_query(client, ctx, scope, q, charge))).await?;
    Ok(first.len() + send.len())
}

/// Splits `[from, to]` (inclusive) into calendar-month chunks.
pub fn month_chunks(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let next_month = if start.month() == 12 {
            NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
        };
        let Some(next_month) = next_month else { break };
        let end = (next_month - ChronoDuration::days(1)).min(to);
        out.push((start, end));
        start = next_month;
    }
    out
}

/// Daily cost rows for `[from, to]` (inclusive), chunked by calendar month: [`query_range`]
/// with its exchanges recorded, then [`rows_from_exchanges`] (the mapping ingestion replays).
/// The exchanges are recorded on a copy of `ctx`, so a recorder `ctx` carries does not see them.
///
/// # Errors
/// Any [`AzureError`]; `InvalidRequest` when `from > to`.
pub async fn collect_range(
    client: &ArmClient,
    ctx: &CallContext,
    scope: &CostScope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Vec<CostDailyRow>, CostReport), AzureError> {
    let (recording, recorder) = super::recording(ctx);
    query_range(client, &recording, scope, from, to).await?;
    let exchanges = super::recorded(&recorder);
    let subscription = match scope {
        CostScope::Subscription(s) => s.as_str(),
        CostScope::ManagementGroup(_) => "",
    };
    rows_from_exchanges(subscription, &exchanges)
}

/// Runs every query of `[from, to]` for a caller that keeps the responses through the
/// context's recorder and derives rows from them with [`rows_from_exchanges`]: no rows are
/// assembled, each query's cells are dropped as soon as it is answered, and the stages of the
/// plan wait on the tenant's quota before they start, never in between their queries.
///
/// # Errors
/// Any [`AzureError`]; `InvalidRequest` when `from > to`.
pub async fn query_range(
    client: &ArmClient,
    ctx: &CallContext,
    scope: &CostScope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<CostReport, AzureError> {
    if from > to {
        return Err(AzureError::InvalidRequest(format!("cost window {from}..{to} is empty")));
    }
    let mut report = CostReport::default();
    for stage in cost_plan::plan(from, to) {
        report.queries += run_stage(client, ctx, scope, &stage).await?;
    }
    Ok(report)
}

#[cfg(test)]
#[path = "cost_management_tests.rs"]
mod tests;
