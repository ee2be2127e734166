//! The portfolio and tenant switcher for platform admins: every customer tenant's figures on one
//! page, and the chosen tenant kept in the session so every later request acts on it through the
//! API's audited path (as `X-AzCops-Tenant`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::layout::bare;
use crate::api::{ApiError, Caller};
use crate::state::AppState;
use crate::store::PageRequest;
use crate::web::WebError;
use crate::web::format::{money, when};
use crate::web::session::{SESSION_COOKIE, SESSION_LIFETIME_SECS, Session, set_cookie};
use crate::web::viewer::{CSRF_FIELD, check_csrf, cookie_key, is_secure, session_of};

/// Tenants listed by the portfolio (each costs a handful of queries).
pub const MAX_TENANTS: u32 = 200;

async fn platform_admin(state: &AppState, headers: &HeaderMap) -> Result<(Session, Caller), WebError> {
    let session = session_of(state, headers)?.ok_or(WebError::SignedOut)?;
    let api = state.api().ok_or(ApiError::NotConfigured("AZCOPS_AUTH_AUDIENCE"))?;
    let caller = api.authenticator.caller(&session.identity).await?;
    if !caller.platform_admin {
        return Err(
            ApiError::Forbidden("choosing a tenant needs the AzCops.PlatformAdmin role".into()).into()
        );
    }
    Ok((session, caller))
}

/// One tenant's line of the portfolio.
struct Line {
    tenant: crate::store::Tenant,
    mtd: f64,
    currency: String,
    open_savings: Vec<(String, f64)>,
    subscriptions: u64,
    last_ingested: Option<chrono::DateTime<chrono::Utc>>,
    failed: usize,
}

async fn line(
    caller: &Caller,
    store: &crate::store::Store,
    tenant: crate::store::Tenant,
) -> Result<Line, WebError> {
    // Through the audited path every platform-admin read takes (`platform_admin.request`).
    let acting = crate::api::extract::Tenant::resolve(
        caller.clone(),
        store.clone(),
        Some(&tenant.id),
        "GET",
        "/portfolio",
    )
    .await?;
    let scope = &acting.scope;
    let today = chrono::Utc::now().date_naive();
    let no_filter = crate::store::CostFilter::default();
    let (mtd, sample, groups, subscriptions, runs) = tokio::try_join!(
        store.cost_summary(scope, today, chrono::Datelike::day(&today), None),
        store.list_costs(scope, &no_filter, PageRequest::first(1)?),
        store.recommendation_summary(scope),
        store.list_subscriptions(scope, PageRequest::first(500)?),
        store.list_runs(scope, PageRequest::first(1)?),
    )?;
    let failed = match runs.items.first() {
        Some(run) => store
            .get_run(scope, &run.id)
            .await?
            .items
            .iter()
            .filter(|i| i.status == crate::store::ItemStatus::Failed)
            .count(),
        None => 0,
    };
    let mut open: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    for g in groups.iter().filter(|g| g.status == "open") {
        *open.entry(g.currency.clone()).or_default() += g.estimated_monthly_savings;
    }
    Ok(Line {
        currency: sample.items.first().map_or_else(|| "USD".to_owned(), |c| c.currency.clone()),
        mtd: mtd.total_cost,
        open_savings: open.into_iter().collect(),
        subscriptions: subscriptions.total,
        last_ingested: subscriptions.items.iter().filter_map(|s| s.last_ingested_at).max(),
        failed,
        tenant,
    })
}

/// `GET /portfolio` (also `/tenant`): every customer tenant on one page for platform admins —
/// month-to-date cost, open savings, data freshness, failed subscriptions — each with a button
/// acting on it.
pub async fn chooser(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let (session, caller) = platform_admin(&state, &headers).await?;
    let store = crate::api::extract::store_of(&state)?;
    let tenants = store.platform_admin().list_tenants(PageRequest::first(MAX_TENANTS)?).await?;
    let lines =
        futures::future::try_join_all(tenants.items.into_iter().map(|t| line(&caller, &store, t))).await?;
    let body = html! {
        h1 { "Portfolio" }
        p { "Every customer tenant. As a platform admin you act on one at a time; each request is audited in that tenant." }
        @if lines.is_empty() {
            p.empty { "No tenants registered yet: add one with " code { "azcops tenant add" } "." }
        } @else {
            table data-testid="tenants" {
                thead { tr {
                    th scope="col" { "Tenant" } th scope="col" .num { "Month to date" } th scope="col" .num { "Open savings a month" }
                    th scope="col" .num { "Subscriptions" } th scope="col" { "Last ingestion" } th scope="col" .num { "Failed in latest run" }
                    th scope="col" { span.visually-hidden { "Action" } }
                } }
                tbody {
                    @for l in &lines {
                        tr data-tenant=(l.tenant.id) {
                            td { (l.tenant.name) br; small.mono { (l.tenant.azure_tenant_id) } @if !l.tenant.active { " (inactive)" } }
                            td.num data-value=(crate::money::round_to_minor_unit(l.mtd, &l.currency)) { (money(l.mtd, &l.currency)) }
                            td.num { @for (cur, amount) in &l.open_savings { (money(*amount, cur)) br; } }
                            td.num { (l.subscriptions) }
                            td { @match l.last_ingested { Some(at) => (when(at)), None => "never" } }
                            td.num { span class=[(l.failed > 0).then_some("error-text")] { (l.failed) } }
                            td {
                                form method="post" action="/tenant" {
                                    input type="hidden" name=(CSRF_FIELD) value=(session.csrf);
                                    input type="hidden" name="tenant_id" value=(l.tenant.id);
                                    button type="submit" { "Act on it" span.visually-hidden { ": " (l.tenant.name) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(bare("Portfolio", body).into_response())
}

/// Body of `POST /tenant`.
#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    tenant_id: String,
}

/// `POST /tenant`: acts on the chosen tenant from now on.
pub async fn switch(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SwitchForm>,
) -> Result<Response, WebError> {
    let (mut session, _) = platform_admin(&state, &headers).await?;
    check_csrf(&session, &headers, form.csrf.as_deref())?;
    let store = crate::api::extract::store_of(&state)?;
    let tenant = store.platform_admin().get_tenant(form.tenant_id.trim()).await?;
    session.acting_tenant = Some(tenant.id);
    let key = cookie_key(&state)?;
    let sealed = key.seal(SESSION_COOKIE, &session).ok_or_else(|| ApiError::Internal("sealing".into()))?;
    let max_age = (session.expires_at - chrono::Utc::now().timestamp()).clamp(0, SESSION_LIFETIME_SECS);
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/".to_owned()),
            (header::SET_COOKIE, set_cookie(SESSION_COOKIE, &sealed, max_age, is_secure(&headers))),
        ],
    )
        .into_response())
}
