//! `/settings/rules`: the tenant's rule thresholds and cost-center tag (Admin to change, audited).

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::ApiError;
use crate::api::auth::ROLE_ADMIN;
use crate::api::extract::{ApiJson, Tenant};
use crate::api::middleware::CorrelationId;
use crate::rules::RuleSettings;
use crate::store::Actor;

/// The stored overrides and the settings the rules use (defaults filled in).
fn answer(overrides: Option<serde_json::Value>) -> Result<Response, ApiError> {
    let effective = RuleSettings::from_overrides(overrides.as_ref())
        .map_err(|e| ApiError::validation("rule_settings", e.to_string()))?;
    let overrides = overrides.unwrap_or_else(|| json!({}));
    Ok(Json(json!({ "overrides": overrides, "effective": effective })).into_response())
}

/// `GET /settings/rules` (Reader): `overrides` (what the tenant set) and `effective` (every
/// threshold the rules use, defaults filled in).
#[utoipa::path(
    get,
    path = "/api/v1/settings/rules",
    tag = "settings",
    responses((status = 200, description = "`{overrides, effective}`", body = serde_json::Value), crate::api::openapi::Errors)
)]
pub async fn get_rules(tenant: Tenant) -> Result<Response, ApiError> {
    answer(tenant.store.rule_settings(&tenant.scope).await?)
}

/// `PUT /settings/rules` (Admin): replaces the overrides with the body (a JSON object of the
/// keys to override; `{}` restores every default). Unknown keys, wrong types and out-of-range
/// values answer 422 and change nothing; a change is audited as `rule_settings.updated` and
/// applies from the next rule run.
#[utoipa::path(
    put,
    path = "/api/v1/settings/rules",
    tag = "settings",
    request_body = serde_json::Value,
    responses(
        (status = 200, description = "`{overrides, effective}` after the change", body = serde_json::Value),
        (status = 422, description = "Unknown key, wrong type or out-of-range value", body = crate::api::schemas::ErrorBody),
        crate::api::openapi::Errors
    )
)]
pub async fn put_rules(
    tenant: Tenant,
    correlation: CorrelationId,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    if !body.is_object() {
        return Err(ApiError::validation("rule_settings", "must be a JSON object"));
    }
    RuleSettings::from_overrides(Some(&body))
        .map_err(|e| ApiError::validation("rule_settings", e.to_string()))?;
    let by = Actor { actor: tenant.caller.actor(), correlation_id: Some(correlation.0.clone()) };
    tenant.store.put_rule_settings(&tenant.scope, &body, &by).await?;
    answer(Some(body))
}
