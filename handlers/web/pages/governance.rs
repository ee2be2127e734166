//! Governance: the tenant's cost-center (allocation) tag from its rule settings, its coverage
//! per subscription (share of resources and share of cost carrying it), the untagged resources
//! with their cost (most costly first, paged) and the coverage over time (a chart).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::RawQuery;
use axum::response::Response;
use chrono::{Days, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::layout::{Nav, page};
use super::resources::{COST_DAYS, amounts, cost_window, resource_href};
use crate::store::{CostCoverage, DEFAULT_COST_CENTER_TAG, PageRequest, ResourceCoverage, Subscription};
use crate::web::WebError;
use crate::web::format::{money, percent};
use crate::web::viewer::Viewer;

/// Untagged resources per page.
pub const UNTAGGED_PAGE_SIZE: u32 = 25;
/// Days of the coverage trend, ending today.
pub const TREND_DAYS: u64 = 90;

/// Query of `GET /governance`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceQuery {
    #[serde(default)]
    subscription_id: String,
    #[serde(default)]
    page: Option<u32>,
}

/// A share in `[0, 1]`, `None` when there is nothing to share.
fn share(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| (part / whole).clamp(0.0, 1.0))
}

/// Per subscription: resource coverage and cost coverage per currency.
struct Row<'a> {
    subscription_id: &'a str,
    name: &'a str,
    resources: Option<&'a ResourceCoverage>,
    costs: Vec<&'a CostCoverage>,
}

fn rows<'a>(
    subscriptions: &'a [Subscription],
    resources: &'a [ResourceCoverage],
    costs: &'a [CostCoverage],
) -> Vec<Row<'a>> {
    let mut ids: BTreeSet<&str> = subscriptions.iter().map(|s| s.subscription_id.as_str()).collect();
    ids.extend(resources.iter().map(|r| r.subscription_id.as_str()));
    ids.extend(costs.iter().map(|c| c.subscription_id.as_str()));
    ids.into_iter()
        .map(|id| Row {
            subscription_id: id,
            name: subscriptions
                .iter()
                .find(|s| s.subscription_id == id)
                .map_or(id, |s| s.display_name.as_str()),
            resources: resources.iter().find(|r| r.subscription_id == id),
            costs: costs.iter().filter(|c| c.subscription_id == id).collect(),
        })
        .collect()
}

/// The chart's data: per day, the share of resources and (in `currency`) of cost tagged, in
/// percent with one decimal; `null` on days without a measure.
fn trend_chart(
    days: &[NaiveDate],
    resources: &BTreeMap<NaiveDate, (i64, i64)>,
    costs: &BTreeMap<NaiveDate, (f64, f64)>,
    currency: &str,
) -> serde_json::Value {
    let pct = |s: Option<f64>| s.map(|v| (v * 1000.0).round() / 10.0);
    json!({
        "kind": "coverage",
        "currency": currency,
        "dates": days.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "resources": days.iter().map(|d| pct(resources.get(d).and_then(|(n, t)| share(*t as f64, *n as f64)))).collect::<Vec<_>>(),
        "cost": days.iter().map(|d| pct(costs.get(d).and_then(|(c, t)| share(*t, *c)))).collect::<Vec<_>>(),
    })
}

/// `GET /governance`.
pub async fn page_view(viewer: Viewer, RawQuery(raw): RawQuery) -> Result<Response, WebError> {
    let query: GovernanceQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| WebError::BadRequest(format!("the query does not parse: {e}")))?;
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let key = store.allocation_tag(scope).await?.unwrap_or_else(|| DEFAULT_COST_CENTER_TAG.to_owned());
    let today = chrono::Utc::now().date_naive();
    let window = cost_window(today);
    let trend_from = today.checked_sub_days(Days::new(TREND_DAYS - 1)).unwrap_or(today);
    let subscription = Some(query.subscription_id.trim()).filter(|s| !s.is_empty());
    let page_no = query.page.unwrap_or(1).max(1);
    let (subscriptions, resources, costs, untagged, resource_trend, cost_trend) = tokio::try_join!(
        store.list_subscriptions(scope, PageRequest::first(500)?),
        store.resource_tag_coverage(scope, &key),
        store.cost_tag_coverage(scope, &key, window.0, window.1),
        store.untagged_resources(
            scope,
            &key,
            window,
            subscription,
            PageRequest::new(page_no, UNTAGGED_PAGE_SIZE)?
        ),
        store.resource_coverage_trend(scope, trend_from, today),
        store.cost_coverage_trend(scope, &key, trend_from, today),
    )?;
    let table_rows = rows(&subscriptions.items, &resources, &costs);
    let (all, tagged) = resources.iter().fold((0, 0), |(n, t), r| (n + r.resources, t + r.tagged));
    let mut cost_totals: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for c in &costs {
        let e = cost_totals.entry(c.currency.as_str()).or_default();
        e.0 += c.cost;
        e.1 += c.tagged_cost;
    }
    // The trend's cost line is drawn in the currency with the most cost; others are not added.
    let mut trend_currencies: BTreeMap<&str, f64> = BTreeMap::new();
    for c in &cost_trend {
        *trend_currencies.entry(c.currency.as_str()).or_default() += c.cost;
    }
    let currency = trend_currencies.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(c, _)| (*c).to_owned());
    let cost_by_day: BTreeMap<NaiveDate, (f64, f64)> = cost_trend
        .iter()
        .filter(|c| Some(c.currency.as_str()) == currency.as_deref())
        .map(|c| (c.date, (c.cost, c.tagged_cost)))
        .collect();
    let resources_by_day: BTreeMap<NaiveDate, (i64, i64)> =
        resource_trend.iter().map(|d| (d.date, (d.resources, d.tagged))).collect();
    let days: Vec<NaiveDate> = resources_by_day
        .keys()
        .chain(cost_by_day.keys())
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let chart = trend_chart(&days, &resources_by_day, &cost_by_day, currency.as_deref().unwrap_or("USD"));
    let base = match subscription {
        Some(s) => format!(
            "/governance?{}",
            serde_urlencoded::to_string([("subscription_id", s)]).unwrap_or_default()
        ),
        None => "/governance?".to_owned(),
    };
    let page_link =
        |n: u32| format!("{base}{}page={n}#untagged-h", if subscription.is_some() { "&" } else { "" });
    let body = html! {
        h1 { "Governance" }
        p data-testid="allocation-tag" {
            "Cost-center tag: " code data-value=(key) { (key) }
            " (the name is matched in any case; a blank value counts as missing). "
            "It is the tenant's rule setting " code { "cost_center_tag" } "; an Admin changes it under "
            a href="/settings" { "Settings" } "."
        }
        @if subscriptions.items.is_empty() && resources.is_empty() {
            div.notice role="status" data-testid="empty-subscriptions" {
                "No subscriptions yet. An Admin registers them with "
                code { "POST /api/v1/subscriptions" } " or " code { "azcops subscription discover" } "."
            }
        } @else if resources.is_empty() {
            div.notice role="status" data-testid="empty-resources" {
                "No resources yet: the inventory is read by ingestion (nightly; an Admin can start it with "
                code { "POST /api/v1/ingestion/trigger" } ")."
            }
        }
        section.cards aria-label="Coverage" {
            div.card {
                div.label { "Resources tagged" }
                div.figure data-testid="resource-coverage" data-value=(share(tagged as f64, all as f64).unwrap_or(0.0)) {
                    (share(tagged as f64, all as f64).map_or("–".to_owned(), percent))
                }
                div.note { (tagged) " of " (all) " resources" }
            }
            @for (code, (cost, tagged_cost)) in &cost_totals {
                div.card {
                    div.label { "Cost tagged, " (code) ", last " (COST_DAYS) " days" }
                    div.figure data-testid="cost-coverage" data-currency=(code) data-value=(share(*tagged_cost, *cost).unwrap_or(0.0)) {
                        (share(*tagged_cost, *cost).map_or("–".to_owned(), percent))
                    }
                    div.note { (money(*tagged_cost, code)) " of " (money(*cost, code)) }
                }
            }
        }
        h2 #coverage-h { "Coverage per subscription" }
        @if table_rows.is_empty() {
            p.empty { "Nothing to measure yet." }
        } @else {
            div.scroll {
                table data-testid="coverage" aria-labelledby="coverage-h" {
                    thead { tr {
                        th scope="col" { "Subscription" } th scope="col" .num { "Resources" }
                        th scope="col" .num { "Tagged" } th scope="col" .num { "Resources tagged" }
                        th scope="col" .num { "Cost, " (COST_DAYS) " days" } th scope="col" .num { "Cost tagged" }
                    } }
                    tbody { @for row in &table_rows { (coverage_row(row)) } }
                }
            }
        }
        h2 #trend-h { "Coverage over time" }
        @if days.is_empty() {
            p.empty data-testid="empty-trend" { "No history yet: each ingestion records the day's coverage." }
        } @else {
            div.chart #coverage-chart data-chart=(chart.to_string()) role="img"
                aria-label=(format!("Share of resources and of cost carrying the tag over the last {TREND_DAYS} days")) {}
            ul.legend aria-hidden="true" {
                li.swatch-0 { "Resources tagged (%)" }
                li.swatch-1 { "Cost tagged (%, " (currency.as_deref().unwrap_or("")) ")" }
            }
            p.note {
                "Resource coverage is recorded once per subscription and ingestion day; cost coverage uses "
                "the tag as it was when the cost was loaded."
                @if trend_currencies.len() > 1 { " Cost in other currencies is not drawn (never added)." }
            }
        }
        h2 #untagged-h { "Untagged resources" @if let Some(s) = subscription { " in " span.mono { (s) } } }
        p {
            (untagged.total) " without the tag, most costly first (cost over the last " (COST_DAYS) " days)"
            @if subscription.is_some() { " · " a href="/governance#untagged-h" { "all subscriptions" } }
        }
        @if untagged.items.is_empty() {
            p.empty data-testid="empty-untagged" {
                @if untagged.total > 0 { "This page is past the end: " a href=(page_link(1)) { "back to the first page" } "." }
                @else if resources.is_empty() { "No resources yet." } @else { "Every resource carries the tag." }
            }
        } @else {
            div.scroll {
                table data-testid="untagged" {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Resource group" }
                        th scope="col" .num { "Cost, " (COST_DAYS) " days" }
                    } }
                    tbody {
                        @for u in &untagged.items {
                            tr data-id=(u.resource_id) {
                                td { a href=(resource_href(&u.resource_id)) { (u.name) } }
                                td { (u.resource_type) }
                                td { (u.resource_group) }
                                td.num {
                                    @match (&u.currency, u.cost) {
                                        (Some(c), Some(v)) => { (amounts(&[(c.clone(), v)])) }
                                        _ => { span.empty { "no cost" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages of untagged resources" {
                @if page_no > 1 { a href=(page_link(page_no - 1)) { "Previous" } }
                " Page " (page_no) " of " (untagged.total_pages) " "
                @if u64::from(page_no) < untagged.total_pages { a href=(page_link(page_no + 1)) { "Next" } }
            }
        }
    };
    let name = super::tenant_name(&viewer).await?;
    Ok(page(&viewer, &name, Nav::Governance, "Governance", body))
}

fn coverage_row(row: &Row<'_>) -> Markup {
    let (n, t) = row.resources.map_or((0, 0), |r| (r.resources, r.tagged));
    let untagged = format!(
        "/governance?{}#untagged-h",
        serde_urlencoded::to_string([("subscription_id", row.subscription_id)]).unwrap_or_default()
    );
    html! {
        tr data-subscription=(row.subscription_id) {
            td { (row.name) }
            td.num { (n) }
            td.num { (t) @if n > t { " · " a href=(untagged) { (n - t) " untagged" } } }
            td.num data-testid="row-resource-coverage" data-value=(share(t as f64, n as f64).unwrap_or(0.0)) {
                (share(t as f64, n as f64).map_or("–".to_owned(), percent))
            }
            td.num { @if row.costs.is_empty() { span.empty { "no cost" } } @for c in &row.costs { (money(c.cost, &c.currency)) br; } }
            td.num data-testid="row-cost-coverage" {
                @if row.costs.is_empty() { "–" }
                @for c in &row.costs {
                    span data-currency=(c.currency) data-value=(share(c.tagged_cost, c.cost).unwrap_or(0.0)) {
                        (share(c.tagged_cost, c.cost).map_or("–".to_owned(), percent))
                    }
                    br;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_bounded_and_absent_without_a_whole() {
        assert_eq!(share(1.0, 4.0), Some(0.25));
        assert_eq!(share(0.0, 0.0), None);
        assert_eq!(share(5.0, 4.0), Some(1.0));
        let d = |n| NaiveDate::from_ymd_opt(2026, 12, n).unwrap();
        let resources = BTreeMap::from([(d(1), (4, 3))]);
        let costs = BTreeMap::from([(d(2), (10.0, 2.5))]);
        let chart = trend_chart(&[d(1), d(2)], &resources, &costs, "EUR");
        assert_eq!(chart["resources"], json!([75.0, null]));
        assert_eq!(chart["cost"], json!([null, 25.0]));
    }
}
