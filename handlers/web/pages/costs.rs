//! Cost explorer: a date-range preset, grouped by subscription (a stacked chart, daily or monthly)
//! or by service, resource group, location or the cost-center tag (totals), actual or amortized,
//! the table under the chart and the view as CSV. Read from the cost rollups through the same
//! query as `GET /api/v1/costs/explore`, in the tenant's main billing currency (the others are
//! shown beside it, never added); clicking a subscription's series drills into its services.

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike as _, Days, Months, NaiveDate};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::layout::{Nav, page};
use crate::api::ApiError;
use crate::store::{Dimension, ExploreQuery, Granularity, Metric, PageRequest, shape_explorer};
use crate::web::WebError;
use crate::web::format::{money, percent};
use crate::web::viewer::Viewer;

/// Subscriptions drawn as their own series; the rest are summed as "other subscriptions".
pub const MAX_SERIES: usize = 12;

/// Date-range presets, in the order of the selector.
pub const PRESETS: [(&str, &str); 6] = [
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("mtd", "Month to date"),
    ("last_month", "Last month"),
    ("13m", "Last 13 months"),
];

/// Query of `GET /costs` and `GET /costs/export.csv`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplorerQuery {
    #[serde(default)]
    preset: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    metric: String,
    #[serde(default)]
    subscription_id: String,
}

/// The resolved view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Preset key.
    pub preset: &'static str,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Days in the window.
    pub days: u32,
    /// Monthly buckets instead of daily.
    pub monthly: bool,
}

/// The window of `preset` ending `today`.
///
/// # Errors
/// 422 naming `preset` for an unknown one.
pub fn window(preset: &str, today: NaiveDate) -> Result<Window, ApiError> {
    let days_between =
        |from: NaiveDate, to: NaiveDate| u32::try_from((to - from).num_days() + 1).unwrap_or(1);
    let first_of_month = today.with_day(1).unwrap_or(today);
    Ok(match preset {
        "7d" => Window { preset: "7d", to: today, days: 7, monthly: false },
        "" | "30d" => Window { preset: "30d", to: today, days: 30, monthly: false },
        "90d" => Window { preset: "90d", to: today, days: 90, monthly: false },
        "mtd" => Window { preset: "mtd", to: today, days: today.day(), monthly: false },
        "last_month" => {
            let to = first_of_month.checked_sub_days(Days::new(1)).unwrap_or(today);
            Window { preset: "last_month", to, days: to.day(), monthly: false }
        }
        "13m" => {
            let from = first_of_month.checked_sub_months(Months::new(12)).unwrap_or(first_of_month);
            Window { preset: "13m", to: today, days: days_between(from, today), monthly: true }
        }
        _ => {
            return Err(ApiError::validation(
                "preset",
                format!("must be one of {}", PRESETS.map(|p| p.0).join(", ")),
            ));
        }
    })
}

/// One series of the chart: a label and its amount per bucket.
struct Series {
    name: String,
    subscription: Option<String>,
    values: Vec<f64>,
}

struct View {
    window: Window,
    group: &'static str,
    amortized: bool,
    currency: String,
    labels: Vec<String>,
    series: Vec<Series>,
    total: f64,
    /// Totals of the window in the tenant's other billing currencies, never added to `total`.
    other_currencies: Vec<(String, f64)>,
}

/// The groupings offered, as `(query value, label)`.
pub const GROUPS: [(&str, &str); 5] = [
    ("subscription", "subscription"),
    ("service", "service"),
    ("resource_group", "resource group"),
    ("location", "location"),
    ("tag", "cost-center tag"),
];

async fn load(viewer: &Viewer, query: &ExplorerQuery) -> Result<View, WebError> {
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let window = window(&query.preset, chrono::Utc::now().date_naive())?;
    let amortized = match query.metric.as_str() {
        "" | "actual" => false,
        "amortized" => true,
        _ => return Err(ApiError::validation("metric", "must be actual or amortized").into()),
    };
    let (group, dimension) = match query.group.as_str() {
        "" | "subscription" => ("subscription", Dimension::Subscription),
        "service" => ("service", Dimension::Service),
        "resource_group" => ("resource_group", Dimension::ResourceGroup),
        "location" => ("location", Dimension::Location),
        "tag" => {
            let key = store.allocation_tag(scope).await?.unwrap_or_else(|| "cost-center".to_owned());
            ("tag", Dimension::Tag(key))
        }
        _ => {
            let names = GROUPS.map(|g| g.0).join(", ");
            return Err(ApiError::validation("group", format!("must be one of {names}")).into());
        }
    };
    let subscription = Some(query.subscription_id.trim()).filter(|s| !s.is_empty());
    let from = window.to.checked_sub_days(Days::new(u64::from(window.days) - 1)).unwrap_or(window.to);
    // Read from the rollups, like the API's explorer: the same sums, one answer per currency.
    let explore = ExploreQuery {
        from,
        to: window.to,
        granularity: if window.monthly { Granularity::Month } else { Granularity::Day },
        group_by: dimension,
        metric: if amortized { Metric::Amortized } else { Metric::Actual },
        filters: subscription
            .map(|s| vec![(Dimension::Subscription, vec![Dimension::Subscription.normalise(s)])])
            .unwrap_or_default(),
    };
    let (cells, subscriptions) = tokio::try_join!(
        store.explore_costs(scope, &explore),
        store.list_subscriptions(scope, PageRequest::first(500)?)
    )?;
    let explorer = shape_explorer(&explore, MAX_SERIES, cells);
    // The main currency is the one with the most cost; the others are reported beside it.
    let main =
        explorer.totals.iter().max_by(|a, b| a.amount.total_cmp(&b.amount)).map(|t| t.currency.clone());
    let currency = main.clone().unwrap_or_else(|| "USD".to_owned());
    let names: BTreeMap<&str, &str> =
        subscriptions.items.iter().map(|s| (s.subscription_id.as_str(), s.display_name.as_str())).collect();
    let labels = explorer
        .periods
        .iter()
        .map(|p| if window.monthly { p.format("%Y-%m").to_string() } else { p.to_string() })
        .collect();
    let series = explorer
        .groups
        .iter()
        .filter(|g| main.as_deref() == Some(g.currency.as_str()))
        .map(|g| {
            let link = (group == "subscription" && !g.other).then(|| g.key.clone()).flatten();
            let name = match (&link, group) {
                (Some(id), _) => names.get(id.as_str()).map_or_else(|| id.clone(), |n| (*n).to_owned()),
                (None, "subscription") if g.other => "Other subscriptions".to_owned(),
                _ => g.label.clone(),
            };
            Series { name, subscription: link, values: g.series.clone() }
        })
        .collect();
    let total = explorer.totals.iter().find(|t| Some(&t.currency) == main.as_ref()).map_or(0.0, |t| t.amount);
    let other_currencies = explorer
        .totals
        .iter()
        .filter(|t| Some(&t.currency) != main.as_ref())
        .map(|t| (t.currency.clone(), t.amount))
        .collect();
    Ok(View { window, group, amortized, currency, labels, series, total, other_currencies })
}

/// `GET /costs`.
pub async fn explorer(viewer: Viewer, Query(query): Query<ExplorerQuery>) -> Result<Response, WebError> {
    let view = load(&viewer, &query).await?;
    let by_subscription = view.group == "subscription" && query.subscription_id.trim().is_empty();
    let mut rows: Vec<(&str, f64)> =
        view.series.iter().map(|s| (s.name.as_str(), s.values.iter().sum())).collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let chart = if by_subscription {
        json!({
            "kind": "stacked",
            "currency": view.currency,
            "labels": view.labels,
            "series": view.series.iter().map(|s| json!({"name": s.name, "values": s.values.iter().map(|v| crate::money::round_to_minor_unit(*v, &view.currency)).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "links": view.series.iter().map(|s| s.subscription.as_ref().map(|id| format!(
                "/costs?preset={}&group=service&metric={}&subscription_id={id}", view.window.preset, if view.amortized { "amortized" } else { "actual" }))).collect::<Vec<_>>(),
        })
    } else {
        let top: Vec<_> = rows.iter().take(MAX_SERIES).collect();
        json!({
            "kind": "bars",
            "currency": view.currency,
            "labels": top.iter().map(|r| r.0).collect::<Vec<_>>(),
            "values": top.iter().map(|r| crate::money::round_to_minor_unit(r.1, &view.currency)).collect::<Vec<_>>(),
        })
    };
    let csv = format!(
        "/costs/export.csv?{}",
        serde_urlencoded::to_string([
            ("preset", view.window.preset),
            ("group", view.group),
            ("metric", if view.amortized { "amortized" } else { "actual" }),
            ("subscription_id", query.subscription_id.trim()),
        ])
        .unwrap_or_default()
    );
    let body = html! {
        h1 { "Cost explorer" }
        form.filters method="get" action="/costs" aria-label="Cost view" {
            label { "Period " select name="preset" {
                @for (key, label) in PRESETS { option value=(key) selected[view.window.preset == key] { (label) } }
            } }
            label { "Group by " select name="group" {
                @for (key, label) in GROUPS { option value=(key) selected[view.group == key] { (label) } }
            } }
            label { "Cost " select name="metric" {
                option value="actual" selected[!view.amortized] { "actual" }
                option value="amortized" selected[view.amortized] { "amortized" }
            } }
            @if !query.subscription_id.trim().is_empty() {
                input type="hidden" name="subscription_id" value=(query.subscription_id.trim());
            }
            button type="submit" { "Show" }
        }
        p {
            "From " (view.window.to.checked_sub_days(Days::new(u64::from(view.window.days) - 1)).unwrap_or(view.window.to))
            " to " (view.window.to) ": "
            strong data-testid="explorer-total" data-value=(crate::money::round_to_minor_unit(view.total, &view.currency)) { (money(view.total, &view.currency)) }
            @if !query.subscription_id.trim().is_empty() {
                " in subscription " span.mono { (query.subscription_id.trim()) } " · " a href={"/costs?preset=" (view.window.preset)} { "all subscriptions" }
            }
            @for (code, amount) in &view.other_currencies {
                " · plus " span data-testid="explorer-other-currency" { (money(*amount, code)) } " billed in " (code) " (not added)"
            }
            " · " a href=(csv) download { "Download CSV" }
        }
        @if view.total == 0.0 && rows.iter().all(|r| r.1 == 0.0) {
            p.empty data-testid="empty-costs" { "No cost in this period. Try a longer period, or wait for ingestion (nightly; an Admin can trigger it)." }
        } @else {
            div.chart.bars #explorer-chart data-chart=(chart.to_string()) role="img"
                aria-label=(format!("{} cost by {}; the table below lists every value", if view.amortized { "Amortized" } else { "Actual" }, view.group)) {}
            @if by_subscription {
                ul.legend aria-hidden="true" {
                    @for (i, s) in view.series.iter().enumerate() { li class={"swatch-" (i % MAX_SERIES)} { (s.name) } }
                }
                p.note { "Select a subscription's bars to see its services." }
            }
            table data-testid="explorer-table" {
                thead { tr { th scope="col" { (if by_subscription { "Subscription" } else { "Service" }) } th scope="col" .num { "Cost" } th scope="col" .num { "Share" } } }
                tbody {
                    @for (name, amount) in &rows {
                        tr {
                            td { (name) }
                            td.num data-value=(crate::money::round_to_minor_unit(*amount, &view.currency)) { (money(*amount, &view.currency)) }
                            td.num { @if view.total > 0.0 { (percent(amount / view.total)) } }
                        }
                    }
                }
            }
        }
    };
    let name = super::tenant_name(&viewer).await?;
    Ok(page(&viewer, &name, Nav::Costs, "Cost explorer", body))
}

/// `GET /costs/export.csv`: the view's table per bucket (`period,group,amount,currency`).
pub async fn export(viewer: Viewer, Query(query): Query<ExplorerQuery>) -> Result<Response, WebError> {
    let view = load(&viewer, &query).await?;
    let mut out = String::new();
    crate::api::csv_cell::write_record(&mut out, &["period", "group", "amount", "currency"]);
    for s in &view.series {
        let periods: Vec<String> = if s.values.len() == view.labels.len() {
            view.labels.clone()
        } else {
            vec![format!("{}..{}", view.labels.first().cloned().unwrap_or_default(), view.window.to)]
        };
        for (period, value) in periods.iter().zip(&s.values) {
            let amount = crate::money::round_to_minor_unit(*value, &view.currency).to_string();
            crate::api::csv_cell::write_record(
                &mut out,
                &[period.as_str(), &s.name, &amount, &view.currency],
            );
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"costs-{}-{}.csv\"", view.window.preset, view.group),
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_resolve_to_their_windows() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        assert_eq!(window("7d", today).unwrap().days, 7);
        assert_eq!(window("", today).unwrap().preset, "30d");
        assert_eq!(window("mtd", today).unwrap().days, 15);
        let last = window("last_month", today).unwrap();
        assert_eq!((last.to, last.days), (NaiveDate::from_ymd_opt(2026, 2, 28).unwrap(), 28));
        let year = window("13m", today).unwrap();
        assert!(year.monthly);
        assert_eq!(year.days, 365 + 15, "2025-03-01 to 2026-03-15");
        assert!(year.days <= 400, "within the summary's bound");
        assert!(window("1y", today).is_err());
    }
}
