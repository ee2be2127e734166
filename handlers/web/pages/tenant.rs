//! The tenant switcher for platform admins: the chosen customer tenant is kept in the session
//! and every later request acts on it through the API's audited path (as `X-AzCops-Tenant`).

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
use crate::web::session::{SESSION_COOKIE, SESSION_LIFETIME_SECS, Session, set_cookie};
use crate::web::viewer::{CSRF_FIELD, check_csrf, cookie_key, is_secure, session_of};

/// Tenants listed by the switcher.
const MAX_TENANTS: u32 = 500;

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

/// `GET /tenant`: every tenant, each with a button acting on it.
pub async fn chooser(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let (session, _) = platform_admin(&state, &headers).await?;
    let store = crate::api::extract::store_of(&state)?;
    let tenants = store.platform_admin().list_tenants(PageRequest::first(MAX_TENANTS)?).await?;
    let body = html! {
        h1 { "Choose a tenant" }
        p { "As a platform admin you act on one customer tenant at a time; each request is audited in that tenant." }
        @if tenants.items.is_empty() {
            p.empty { "No tenants registered yet: add one with " code { "azcops tenant add" } "." }
        }
        ul.tenants data-testid="tenants" {
            @for t in &tenants.items {
                li {
                    form method="post" action="/tenant" {
                        input type="hidden" name=(CSRF_FIELD) value=(session.csrf);
                        input type="hidden" name="tenant_id" value=(t.id);
                        button type="submit" { (t.name) } " "
                        small.mono { (t.azure_tenant_id) } @if !t.active { " (inactive)" }
                    }
                }
            }
        }
    };
    Ok(bare("Choose a tenant", body).into_response())
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
