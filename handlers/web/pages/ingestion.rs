//! Ingestion: the tenant's recent runs and one run's per-subscription items (status, attempts,
//! duration, rows written, error). Read-only: starting a run stays `POST /api/v1/ingestion/trigger`.

use axum::extract::Query;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::layout::{Nav, page};
use crate::store::{ItemStatus, PageRequest};
use crate::web::WebError;
use crate::web::format::when;
use crate::web::viewer::Viewer;

/// Runs listed.
pub const RUNS_SHOWN: u32 = 20;

/// Query of `GET /ingestion`.
#[derive(Debug, Default, Deserialize)]
pub struct IngestionQuery {
    run: Option<String>,
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
        @if runs.items.is_empty() {
            p.empty data-testid="empty-runs" {
                "No ingestion run yet. Runs are planned nightly at 02:00 UTC; an Admin can start one with "
                code { "POST /api/v1/ingestion/trigger" } "."
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
