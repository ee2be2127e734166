//! Overview: month-to-date and 30-day cost, the month-end forecast and budgets, the 30-day trend (actual vs amortized), cost by
//! service, open savings by category, the top recommendations and data freshness.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::Datelike as _;
use maud::{Markup, html};
use serde_json::json;

use super::layout::{Nav, page};
use crate::store::{
    CostFilter, CostSummary, PageRequest, RecommendationFilter, RecommendationSort, RecommendationStatus,
    SortDirection,
};
use crate::web::WebError;
use crate::web::format::{money, when, words};
use crate::web::viewer::Viewer;

/// Recommendations listed on the overview.
pub const TOP_RECOMMENDATIONS: u32 = 10;
/// Services drawn in the chart (the table lists all).
const CHART_SERVICES: usize = 10;

/// `GET /`: the overview for a browser; the readiness JSON for anything else (the host's probe).
pub async fn page_or_ready(
    headers: HeaderMap,
    viewer: Result<Viewer, WebError>,
) -> Result<Response, WebError> {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if !wants_html {
        return Ok(axum::Json(json!({"status": "ready"})).into_response());
    }
    render(&viewer?).await
}

async fn render(viewer: &Viewer) -> Result<Response, WebError> {
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let today = chrono::Utc::now().date_naive();
    let open = RecommendationFilter {
        status: Some(RecommendationStatus::Open),
        sort: RecommendationSort::Priority,
        direction: Some(SortDirection::Desc),
        ..RecommendationFilter::default()
    };
    let no_filter = CostFilter::default();
    let admin = store.platform_admin();
    let (one, top_page, all) =
        (PageRequest::first(1)?, PageRequest::first(TOP_RECOMMENDATIONS)?, PageRequest::first(500)?);
    // Independent reads run concurrently: the page waits for the slowest, not for their sum.
    let reads = async {
        tokio::try_join!(
            store.cost_summary(scope, today, today.day(), None),
            store.cost_summary(scope, today, 30, None),
            store.list_costs(scope, &no_filter, one),
            store.recommendation_summary(scope),
            store.list_recommendations(scope, &open, top_page),
            store.list_subscriptions(scope, all),
            store.list_runs(scope, one),
            admin.get_tenant(scope.tenant_id()),
        )
    };
    // The forecast (the slowest part: 120 days of series and its backtests) runs beside them.
    let (reads, month_end) = tokio::join!(reads, super::forecast::load(store, scope, today));
    let (mtd, last30, sample, groups, top, subscriptions, runs, name) = reads?;
    let (forecasts, budgets) = month_end?;
    let name = name.name;
    let latest_run = match runs.items.first() {
        Some(run) => Some(store.get_run(scope, &run.id).await?),
        None => None,
    };
    let currency = sample
        .items
        .first()
        .map(|c| c.currency.clone())
        .or_else(|| groups.first().map(|g| g.currency.clone()))
        .unwrap_or_else(|| "USD".to_owned());
    // A summary's totals are those of its main currency (the tenant's largest), never a sum of
    // currencies, so each card shows the currency of its own summary.
    let mtd_currency = mtd.currency.as_deref().unwrap_or(&currency);
    let last30_currency = last30.currency.as_deref().unwrap_or(&currency);
    // Open savings per currency, then category: amounts of different currencies are never added.
    let mut savings: BTreeMap<String, BTreeMap<String, (i64, f64)>> = BTreeMap::new();
    for g in groups.iter().filter(|g| g.status == "open") {
        let entry = savings.entry(g.currency.clone()).or_default().entry(g.category.clone()).or_default();
        entry.0 += g.count;
        entry.1 += g.estimated_monthly_savings;
    }
    let no_data = sample.total == 0;
    let body = html! {
        h1 { "Overview" }
        @if subscriptions.items.is_empty() {
            div.notice role="status" data-testid="empty-subscriptions" {
                "No subscriptions yet. An Admin registers them with "
                code { "POST /api/v1/subscriptions" } " or " code { "azcops subscription discover" } "."
            }
        } @else if no_data {
            div.notice role="status" data-testid="empty-costs" {
                "No cost data yet: ingestion has not run for this tenant. It runs nightly; an Admin can start it now with "
                code { "POST /api/v1/ingestion/trigger" } "."
            }
        }
        section.cards aria-label="Totals" {
            (card("Month to date", "mtd-cost", mtd.total_cost, mtd_currency, &format!("since {}", mtd.from)))
            (card("Month to date, amortized", "mtd-amortized", mtd.total_amortized_cost, mtd_currency, "reservations spread over their term"))
            (card("Last 30 days", "cost-30d", last30.total_cost, last30_currency, &format!("{} to {}", last30.from, last30.to)))
            (card("Last 30 days, amortized", "amortized-30d", last30.total_amortized_cost, last30_currency, ""))
            @for (cur, categories) in &savings {
                (card("Open savings a month", "open-savings", categories.values().map(|v| v.1).sum(), cur, &format!("{} open recommendations", categories.values().map(|v| v.0).sum::<i64>())))
            }
        }
        section aria-labelledby="month-end-h" {
            h2 #month-end-h { "Month end and budgets" }
            @if forecasts.is_empty() {
                p.empty data-testid="empty-forecast" { "No forecast yet: it needs the cost history that ingestion loads." }
            } @else {
                div.cards { (super::forecast::cards(&forecasts)) }
            }
            (super::forecast::budgets(&budgets))
        }
        section aria-labelledby="trend-h" {
            h2 #trend-h { "Daily cost, last 30 days" }
            (trend_chart(&last30, &currency))
        }
        div.two {
            section aria-labelledby="services-h" {
                h2 #services-h { "Cost by service, last 30 days" }
                (services(&last30, &currency))
            }
            section aria-labelledby="savings-h" {
                h2 #savings-h { "Open savings by category" }
                @if savings.is_empty() {
                    p.empty { "No open recommendations. The rules run after each nightly ingestion." }
                } @else {
                    table data-testid="savings-by-category" {
                        thead { tr { th scope="col" { "Category" } th scope="col" { "Open" } th scope="col" .num { "Monthly savings" } } }
                        tbody {
                            @for (cur, categories) in &savings {
                                @for (category, (count, amount)) in categories {
                                    tr {
                                        td { a href={"/recommendations?status=open&category=" (category)} { (words(category)) } }
                                        td.num { (count) }
                                        td.num data-value=(crate::money::round_to_minor_unit(*amount, cur)) { (money(*amount, cur)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="top-h" {
            h2 #top-h { "Top recommendations by priority" }
            @if top.items.is_empty() {
                p.empty { "Nothing to review." }
            } @else {
                (super::recommendations::table(&top.items))
                p { a href="/recommendations" { "All recommendations" } }
            }
        }
        section aria-labelledby="fresh-h" {
            h2 #fresh-h { "Data freshness" }
            (freshness(&subscriptions.items, latest_run.as_ref()))
        }
    };
    Ok(page(viewer, &name, Nav::Overview, "Overview", body))
}

fn card(label: &str, testid: &str, amount: f64, currency: &str, note: &str) -> Markup {
    html! {
        div.card {
            div.label { (label) }
            div.figure data-testid=(testid) data-value=(crate::money::round_to_minor_unit(amount, currency)) data-currency=(currency) {
                (money(amount, currency))
            }
            @if !note.is_empty() { div.note { (note) } }
        }
    }
}

fn trend_chart(summary: &CostSummary, currency: &str) -> Markup {
    let data = json!({
        "kind": "trend",
        "currency": currency,
        "dates": summary.daily.iter().map(|d| d.date.to_string()).collect::<Vec<_>>(),
        "actual": summary.daily.iter().map(|d| crate::money::round_to_minor_unit(d.cost, currency)).collect::<Vec<_>>(),
        "amortized": summary.daily.iter().map(|d| crate::money::round_to_minor_unit(d.amortized_cost, currency)).collect::<Vec<_>>(),
    });
    html! {
        div.chart #trend-chart data-chart=(data.to_string()) role="img"
            aria-label=(format!("Daily actual and amortized cost from {} to {}; totals {} and {}", summary.from, summary.to, money(summary.total_cost, currency), money(summary.total_amortized_cost, currency))) {}
        ul.legend aria-hidden="true" { li.actual { "Actual" } li.amortized { "Amortized" } }
    }
}

fn services(summary: &CostSummary, currency: &str) -> Markup {
    let top: Vec<_> = summary.by_service.iter().take(CHART_SERVICES).collect();
    let data = json!({
        "kind": "bars",
        "currency": currency,
        "labels": top.iter().map(|s| s.service_name.clone()).collect::<Vec<_>>(),
        "values": top.iter().map(|s| crate::money::round_to_minor_unit(s.cost, currency)).collect::<Vec<_>>(),
    });
    html! {
        @if summary.by_service.is_empty() {
            p.empty { "No spend in the last 30 days." }
        } @else {
            div.chart.bars #service-chart data-chart=(data.to_string()) role="img"
                aria-label="Actual cost of the largest services; the table below lists every service" {}
            table data-testid="cost-by-service" {
                thead { tr { th scope="col" { "Service" } th scope="col" .num { "Actual" } th scope="col" .num { "Amortized" } } }
                tbody {
                    @for s in &summary.by_service {
                        tr {
                            td { (s.service_name) }
                            td.num data-value=(crate::money::round_to_minor_unit(s.cost, currency)) { (money(s.cost, currency)) }
                            td.num { (money(s.amortized_cost, currency)) }
                        }
                    }
                }
            }
        }
    }
}

fn freshness(
    subscriptions: &[crate::store::Subscription],
    run: Option<&crate::store::RunWithItems>,
) -> Markup {
    html! {
        @if subscriptions.is_empty() {
            p.empty { "No subscriptions registered." }
        } @else {
            @if let Some(run) = run {
                p { "Latest run: " (run.run.kind) ", " (run.run.status.to_string()) ", planned " (when(run.run.created_at)) "." }
            } @else {
                p.empty { "No ingestion run yet." }
            }
            table data-testid="freshness" {
                thead { tr {
                    th scope="col" { "Subscription" } th scope="col" { "Last successful ingestion" }
                    th scope="col" { "Latest run" } th scope="col" .num { "Attempts" } th scope="col" { "Error" }
                } }
                tbody {
                    @for s in subscriptions {
                        @let item = run.and_then(|r| r.items.iter().find(|i| i.subscription_id == s.subscription_id));
                        tr {
                            td { (s.display_name) br; small.mono { (s.subscription_id) } }
                            td { @match s.last_ingested_at { Some(at) => (when(at)), None => "never" } }
                            td { @match item { Some(i) => span class={"status " (format!("{:?}", i.status).to_ascii_lowercase())} { (format!("{:?}", i.status).to_ascii_lowercase()) }, None => "—" } }
                            td.num { @if let Some(i) = item { (i.attempts) } }
                            td { @if let Some(e) = item.and_then(|i| i.error.as_deref()) { span.error-text { (e) } } }
                        }
                    }
                }
            }
        }
    }
}
