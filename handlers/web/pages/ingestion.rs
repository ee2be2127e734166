//! Ingestion: the tenant's recent runs and one run's per-subscription items (status, attempts,
//! duration, rows written, error), and "Run now" for Admins (see [`super::run_now`]).

use axum::extract::Query;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Nav, page};
use crate::store::{ItemStatus, PageRequest};
use crate::web::WebError;
use crate::web::format::when;
use crate::web::viewer::{CSRF_FIELD, Viewer};

/// Runs listed.
pub const RUNS_SHOWN: u32 = 20;

/// Query of `GET /ingestion`.
#[derive(Debug, Default, Deserialize)]
pub struct IngestionQuery {
    run: Option<String>,
    /// How the last "Run now" ended: `started`, `active` or `cooldown`.
    outcome: Option<String>,
    /// With `cooldown`: when the next on-demand run may start.
    until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The "Run now" form (Admins) and the outcome of the last one.
fn run_now(viewer: &Viewer, query: &IngestionQuery) -> Markup {
    let admin = viewer.tenant.require(crate::api::auth::ROLE_ADMIN).is_ok();
    let run = query.run.as_deref().unwrap_or("");
    html! {
        @match query.outcome.as_deref() {
            Some("started") => div.notice role="status" data-testid="run-outcome" data-outcome="started" {
                "Run " code { (run) } " planned: its subscriptions are queued and appear below as they finish."
            },
            Some("active") => div.notice role="status" data-testid="run-outcome" data-outcome="active" {
                "An on-demand run of this tenant is still queued or running: " a href={"/ingestion?run=" (run)} { code { (run) } }
                ". Wait for it to finish."
            },
            Some("cooldown") => div.notice role="status" data-testid="run-outcome" data-outcome="cooldown" {
                "The last on-demand run (" a href={"/ingestion?run=" (run)} { code { (run) } } ") started recently; the next may start "
                @match query.until { Some(at) => { "at " time datetime=(at.to_rfc3339()) data-testid="run-again-at" { (when(at)) } }, None => "later" }
                "."
            },
            _ => {}
        }
        @if admin {
            form.run-now method="post" action=(super::run_now::PATH) {
                input type="hidden" name=(CSRF_FIELD) value=(viewer.session.csrf);
                button type="submit" data-testid="run-now" { "Run now" }
                " "
                small { "Ingests every active subscription of this tenant; one on-demand run at a time." }
            }
        }
    }
}

fn item_status(status: ItemStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `GET /ingestion[?run=ID]`: another tenant's run id answers 404.
pub async fn page_view(viewer: Viewer, Query(query): Query<IngestionQuery>) -> Result<Response, WebError> {
    let (store, scope) = (&viewer.tenant.store, &viewer.tenant.scope);
    let runs = store.list_runs(scope, PageRequest::first(RUNS_SHOWN)?).await?;
    let selected = match query.run.as_deref().or_else(|| runs.items.first().map(|r| r.id.as_str())) {
        Some(id) => Some(store.get_run(scope, id).await?),
        None => None,
    };
    let body = html! {
        h1 { "Ingestion" }
        (run_now(&viewer, &query))
        @if runs.items.is_empty() {
            p.empty data-testid="empty-runs" {
                "No ingestion run yet. Runs are planned nightly at 02:00 UTC; an Admin can start one with "
                "Run now or " code { "POST /api/v1/ingestion/trigger" } "."
            }
        } @else {
            table data-testid="runs" {
                caption { "Latest " (runs.items.len()) " of " (runs.total) " runs" }
                thead { tr { th scope="col" { "Planned" } th scope="col" { "Kind" } th scope="col" { "Status" } th scope="col" { "Requested by" } } }
                tbody {
                    @for r in &runs.items {
                        tr {
                            td { a href={"/ingestion?run=" (r.id)} { (when(r.created_at)) } }
                            td { (r.kind) }
                            td { span class={"status " (r.status.to_string())} { (r.status.to_string()) } }
                            td.mono { (r.requested_by) }
                        }
                    }
                }
            }
        }
        @if let Some(run) = &selected {
            h2 { "Run of " (when(run.run.created_at)) ": " (run.run.status.to_string()) }
            table data-testid="run-items" {
                thead { tr {
                    th scope="col" { "Subscription" } th scope="col" { "Status" } th scope="col" .num { "Attempts" }
                    th scope="col" .num { "Duration" } th scope="col" { "Rows" } th scope="col" { "Error" }
                } }
                tbody {
                    @for i in &run.items {
                        tr {
                            td.mono { (i.subscription_id) }
                            td { span class={"status " (item_status(i.status))} { (item_status(i.status)) } }
                            td.num { (i.attempts) }
                            td.num { @if let Some(ms) = i.duration_ms { (format!("{:.1} s", ms as f64 / 1000.0)) } }
                            td { (i.counts.0.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")) }
                            td { @if let Some(e) = &i.error { span.error-text { (e) } } }
                        }
                    }
                }
            }
        }
    };
    let name = super::tenant_name(&viewer).await?;
    Ok(page(&viewer, &name, Nav::Ingestion, "Ingestion", body))
}
