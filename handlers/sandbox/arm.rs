//! ARM subscriptions and tenants, and the two token endpoints.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::{ARM_AUDIENCE, Claims};
use super::server::{
    Shared, authorize, can_read, json_response, paged_json, query_map, readable_subscription, tenant_index,
};
use super::{moves, render};

const TOKEN_LIFETIME_SECS: i64 = 3600;

/// `GET /subscriptions`: the bearer's own tenant's subscriptions plus, for the managing tenant,
/// every delegated one (with `managedByTenants`). Paged with `nextLink` / `$skiptoken`.
pub async fn list_subscriptions(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let claims = match authorize(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let params = query_map(q.as_deref());
    let skip: usize = params.get("$skiptoken").and_then(|s| s.parse().ok()).unwrap_or(0);
    let estate = &state.estate;
    let visible: Vec<usize> =
        (0..estate.subscriptions.len()).filter(|s| can_read(estate, &claims, *s)).collect();
    let size = state.pages.subscriptions.max(1);
    let value: Vec<Value> = visible
        .iter()
        .skip(skip)
        .take(size)
        .map(|s| moves::apply(&state, render::subscription_json(estate, *s)))
        .collect();
    let mut body = json!({ "value": value });
    if skip + size < visible.len() {
        body["nextLink"] = json!(format!(
            "{}/subscriptions?api-version=2022-12-01&$skiptoken={}",
            state.base_url,
            skip + size
        ));
    }
    paged_json(&body)
}

/// `GET /subscriptions/{id}`.
pub async fn get_subscription(state: &Shared, headers: &HeaderMap, sub_id: &str) -> Response {
    let claims = match authorize(state, headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    match readable_subscription(state, &claims, sub_id) {
        Ok(sub) => {
            json_response(StatusCode::OK, &moves::apply(state, render::subscription_json(&state.estate, sub)))
        }
        Err(r) => *r,
    }
}

/// `GET /tenants`: the bearer's home tenant and, for the managing tenant, the customer tenants
/// it manages through Lighthouse (`ProjectedBy`).
pub async fn list_tenants(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let claims = match authorize(&state, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let estate = &state.estate;
    let Some(home) = tenant_index(estate, &claims) else {
        return paged_json(&json!({ "value": [] }));
    };
    let value: Vec<Value> = (0..estate.tenants.len())
        .filter(|t| {
            *t == home || (home == 0 && estate.subscriptions.iter().any(|s| s.tenant == *t && s.delegated))
        })
        .map(|t| render::tenant_json(estate, t, home))
        .collect();
    paged_json(&json!({ "value": value }))
}

/// The App Service / Functions managed-identity endpoint (`IDENTITY_ENDPOINT`, api-version
/// 2019-08-01, header `X-IDENTITY-HEADER`). The identity lives in tenant #0.
pub async fn msi_token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let sent = headers.get("x-identity-header").and_then(|v| v.to_str().ok());
    if sent != Some(state.auth.identity_header().expose()) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({ "statusCode": 401, "message": "Unauthorized: missing or invalid X-IDENTITY-HEADER." }),
        );
    }
    let Some(resource) = q.get("resource").filter(|r| !r.is_empty()) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({ "statusCode": 400, "message": "The 'resource' query parameter is required." }),
        );
    };
    let tenant = &state.estate.tenants[0].id;
    let exp = chrono::Utc::now().timestamp() + TOKEN_LIFETIME_SECS;
    let oid = state.auth.managed_identity_object_id(tenant);
    let token =
        state.auth.issue(&Claims { tid: tenant.clone(), oid: oid.clone(), aud: resource.clone(), exp });
    let client_id = q.get("client_id").cloned().unwrap_or(oid);
    json_response(
        StatusCode::OK,
        &json!({ "access_token": token, "expires_on": exp.to_string(), "resource": resource, "token_type": "Bearer", "client_id": client_id }),
    )
}

/// An Entra v2 error body (`error`, `error_description` with the AADSTS code and trace lines,
/// `error_codes`, ids and timestamp), as in the docs' client-credentials error example.
pub(super) fn entra_body(error: &str, code: u32, description: &str) -> Value {
    let trace = uuid::Uuid::new_v4().to_string();
    let correlation = uuid::Uuid::new_v4().to_string();
    let timestamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
    })
}

fn entra_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    json_response(status, &entra_body(error, code, description))
}

/// AADSTS90002's description, as Entra words it.
pub(super) fn tenant_not_found(tenant: &str) -> String {
    format!(
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
    )
}

/// The Entra v2 client-credentials endpoint `POST /{tenant}/oauth2/v2.0/token` for each
/// tenant's app registration.
pub async fn entra_token(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
        return super::signin::redeem(&state, &form);
    }
    let estate = &state.estate;
    let Some(t) = estate
        .tenants
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(&tenant) || t.domain.eq_ignore_ascii_case(&tenant))
    else {
        return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 90002, &tenant_not_found(&tenant));
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let scope = form.get("scope").map(String::as_str).unwrap_or("");
    let Some(resource) = scope.strip_suffix(".default") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    };
    let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
    if !client_id.eq_ignore_ascii_case(&state.auth.app_client_id(&t.id)) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{}'.", t.id),
        );
    }
    if form.get("client_secret").map(String::as_str) != Some(state.auth.app_secret(&t.id).expose()) {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    let aud = if resource.trim_end_matches('/') == ARM_AUDIENCE.trim_end_matches('/') {
        ARM_AUDIENCE
    } else {
        resource
    };
    let exp = chrono::Utc::now().timestamp() + TOKEN_LIFETIME_SECS;
    let token = state.auth.issue(&Claims {
        tid: t.id.clone(),
        oid: client_id.to_lowercase(),
        aud: aud.to_owned(),
        exp,
    });
    json_response(
        StatusCode::OK,
        &json!({ "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECS - 1, "ext_expires_in": TOKEN_LIFETIME_SECS - 1, "access_token": token }),
    )
}
