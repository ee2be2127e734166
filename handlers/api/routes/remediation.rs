//! Remediation of approved recommendations: the dry run (`POST /recommendations/{id}/dry-run`)
//! and execution (`POST /recommendations/{id}/execute`).
//!
//! Execution is served by the `remediation_execute` function (it has the `remediate` queue
//! output): when the recommendation's rule has an action and the tenant turned it on, a
//! remediation is queued (202); otherwise the Admin records a change made by hand (200), as
//! before. The `api` function's own `execute` route answers the by-hand case identically.

use axum::Json;
use axum::extract::{FromRequestParts as _, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::api::auth::{ROLE_ADMIN, ROLE_APPROVER};
use crate::api::extract::{Tenant, parse_json};
use crate::api::money::RoundMoney;
use crate::api::routes::recommendations::check_reason;
use crate::invocation::{HttpTriggerRequest, http_output};
use crate::remediation::plan::Action;
use crate::remediation::service::{self, RemediationMessage};
use crate::rules::RuleSettings;
use crate::state::AppState;
use crate::store::{Actor, Recommendation, RecommendationStatus, Remediation};

/// Body of `execute`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteBody {
    /// Optional note (at most 2000 characters).
    reason: Option<String>,
}

/// `202 Accepted` of `execute` when a remediation is queued.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RemediationQueued {
    /// The remediation; follow it on the recommendation (`remediation`).
    pub remediation_id: String,
    /// The recommendation.
    pub recommendation_id: String,
    /// The action (`delete_disk`, `delete_public_ip`, `delete_nic`, `delete_snapshot`).
    pub action: String,
    /// `queued`.
    pub status: String,
}

/// A recommendation's JSON with its latest remediation (`remediation`: status, error, at), if any.
pub(crate) fn with_remediation(rec: Recommendation, remediation: Option<Remediation>) -> Value {
    let mut body = serde_json::to_value(rec.round_money()).unwrap_or(Value::Null);
    if let (Some(object), Some(r)) = (body.as_object_mut(), remediation) {
        object.insert(
            "remediation".into(),
            json!({
                "id": r.id, "action": r.action, "status": r.status, "error": r.error, "at": r.updated_at,
                "approved_by": r.approved_by, "requested_by": r.requested_by, "snapshot_id": r.snapshot_id,
                "snapshot_expires_at": r.snapshot_expires_at,
            }),
        );
    }
    body
}

/// `POST /recommendations/{id}/dry-run` (Approver or Admin): reads the resource's current state
/// and locks through the remediation identity and answers exactly what the action would do, or
/// 409 `remediation_refused` with the reason (`details.reason`: `attached`, `associated`,
/// `not_stale`, `locked`, `protected`, `resource_gone`, `outside_subscription`,
/// `subscription_not_active`, `not_applicable`, `not_configured`).
#[utoipa::path(
    post,
    path = "/api/v1/recommendations/{id}/dry-run",
    tag = "recommendations",
    params(("id" = String, Path, description = "Recommendation id")),
    responses(
        crate::api::openapi::Errors,
        (status = 200, description = "`{recommendation_id, action, enabled, plan}`: the steps (method, path, body, description), the snapshot taken first and its expiry", body = serde_json::Value),
        (status = 409, description = "`remediation_refused`: the finding no longer holds, a lock applies, the resource is protected, the rule has no action, or the deployment has no remediation identity (`details.reason`)", body = crate::api::schemas::ErrorBody),
        (status = 502, description = "ARM could not be read (`remediation_unavailable`)", body = crate::api::schemas::ErrorBody),
    )
)]
pub async fn dry_run(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_APPROVER)?;
    let rec = tenant.store.get_recommendation(&tenant.scope, &id).await?;
    if Action::for_rule(&rec.rule_id).is_none() {
        let reason = format!("rule {} has no remediation action", rec.rule_id);
        return Ok(refused("not_applicable", &reason));
    }
    // A deployment without the remediation identity cannot read what the action would touch;
    // that is how it is set up, not an outage to retry, so it is a refusal like the others.
    let Ok(ctx) = state.remediation() else {
        let reason = "remediation is off in this deployment: AZCOPS_REMEDIATION_CLIENT_ID is not set, so the resource cannot be read with the remediation identity";
        return Ok(refused("not_configured", reason));
    };
    let settings = rule_settings(&tenant).await?;
    match service::dry_run(ctx, &tenant.store, &tenant.scope, &rec, crate::store::now()).await {
        Ok(Ok(plan)) => Ok(Json(json!({
            "recommendation_id": rec.id,
            "action": plan.action,
            "enabled": settings.remediation.enabled(&rec.rule_id),
            "plan": plan,
        }))
        .into_response()),
        Ok(Err(refusal)) => Ok(refused(&refusal.reason, &refusal.message)),
        Err(crate::remediation::RemediationError::Store(e)) => Err(e.into()),
        Err(e) => {
            Ok(error_body(StatusCode::BAD_GATEWAY, "remediation_unavailable", &e.to_string(), Value::Null))
        }
    }
}

fn error_body(status: StatusCode, code: &str, message: &str, details: Value) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message, "details": details}}))).into_response()
}

fn refused(reason: &str, message: &str) -> Response {
    error_body(StatusCode::CONFLICT, "remediation_refused", message, json!({"reason": reason}))
}

async fn rule_settings(tenant: &Tenant) -> Result<RuleSettings, ApiError> {
    let stored = tenant.store.rule_settings(&tenant.scope).await?;
    RuleSettings::from_overrides(stored.as_ref()).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Refuses to record a change made by hand when the recommendation's action is turned on for
/// the tenant (the dashboard's execute button cannot queue a remediation).
///
/// # Errors
/// 409 naming the API route that queues it; 404; store failures.
pub(crate) async fn refuse_by_hand_when_remediable(tenant: &Tenant, id: &str) -> Result<(), ApiError> {
    let rec = tenant.store.get_recommendation(&tenant.scope, id).await?;
    if Action::for_rule(&rec.rule_id).is_some()
        && rule_settings(tenant).await?.remediation.enabled(&rec.rule_id)
    {
        return Err(ApiError::Conflict(format!(
            "the remediation of {} is turned on for this tenant: execute it with POST /api/v1/recommendations/{id}/execute, which queues the remediation",
            rec.rule_id
        )));
    }
    Ok(())
}

/// What `execute` answers: status, body, and the queue message when a remediation was queued.
pub(crate) struct Executed {
    status: u16,
    body: Value,
    location: Option<String>,
    message: Option<Value>,
}

/// `execute` for `tenant`: queues the remediation when the rule's action is on and this process
/// can enqueue (`can_enqueue`), else records the change made by hand.
async fn execute_for(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
    body: &[u8],
    can_enqueue: bool,
) -> Result<Executed, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    let body: ExecuteBody =
        if body.iter().all(u8::is_ascii_whitespace) { ExecuteBody::default() } else { parse_json(body)? };
    let reason = check_reason(RecommendationStatus::Executed, body.reason)?;
    let rec = tenant.store.get_recommendation(&tenant.scope, id).await?;
    let action = Action::for_rule(&rec.rule_id);
    let enabled = action.is_some() && rule_settings(tenant).await?.remediation.enabled(&rec.rule_id);
    let mut notice = None;
    if let (true, Some(action)) = (enabled, action) {
        match state.remediation() {
            Ok(_) if can_enqueue => return queue(tenant, &rec, action).await,
            Ok(_) => {
                return Err(ApiError::Unavailable {
                    message:
                        "remediation is queued by the remediation_execute function, which serves this route"
                            .into(),
                    retry_after: 1,
                });
            }
            Err(why) => {
                notice = Some(format!(
                    "the action of {} is turned on but cannot run ({why}); the change was recorded as made by hand",
                    rec.rule_id
                ));
            }
        }
    }
    let actor = tenant.caller.actor();
    let updated = tenant
        .store
        .transition_recommendation(
            &tenant.scope,
            id,
            RecommendationStatus::Executed,
            &actor,
            reason.as_deref(),
        )
        .await?;
    let mut body =
        serde_json::to_value(updated.round_money()).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let (Some(object), Some(notice)) = (body.as_object_mut(), notice) {
        object.insert("notice".into(), Value::String(notice));
    }
    Ok(Executed { status: 200, body, location: None, message: None })
}

async fn queue(tenant: &Tenant, rec: &Recommendation, action: Action) -> Result<Executed, ApiError> {
    if rec.status != RecommendationStatus::Approved {
        return Err(ApiError::Conflict(format!(
            "cannot change a recommendation from {} to executed: it must be approved",
            rec.status
        )));
    }
    let by = Actor::named(tenant.caller.actor());
    let remediation = tenant.store.queue_remediation(&tenant.scope, &rec.id, action.as_str(), &by).await?;
    let message = RemediationMessage {
        tenant_id: tenant.scope.tenant_id().to_owned(),
        remediation_id: remediation.id.clone(),
    };
    let accepted = RemediationQueued {
        remediation_id: remediation.id,
        recommendation_id: rec.id.clone(),
        action: remediation.action,
        status: remediation.status,
    };
    let serialise = |e: serde_json::Error| ApiError::Internal(format!("cannot serialise: {e}"));
    Ok(Executed {
        status: 202,
        body: serde_json::to_value(&accepted).map_err(serialise)?,
        location: Some(format!("/api/v1/recommendations/{}", rec.id)),
        message: Some(serde_json::to_value(&message).map_err(serialise)?),
    })
}

/// `POST /recommendations/{id}/execute` (Admin; the recommendation must be `approved`). Served
/// by the `remediation_execute` function (documented with the forwarded routes).
#[utoipa::path(
    post,
    path = "/api/v1/recommendations/{id}/execute",
    tag = "recommendations",
    params(("id" = String, Path, description = "Recommendation id")),
    request_body(content = Option<ExecuteBody>, description = "Optional note"),
    responses(
        crate::api::openapi::Errors,
        (status = 409, description = "The recommendation is not `approved`, or a remediation of it is already queued or running", body = crate::api::schemas::ErrorBody),
        (status = 200, description = "No action applies (another rule, or the tenant's action is off): the change made by hand is recorded and the recommendation is `executed`. When the action is on but remediation is not configured, `notice` says so", body = crate::api::schemas::Recommendation),
        (status = 202, description = "A remediation is queued; the recommendation becomes `executed` once Azure confirms (see its `remediation`)", body = RemediationQueued, headers(("Location" = String))),
    )
)]
pub async fn execute(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(crate::api::extract::body_rejection)?;
    let done = execute_for(&state, &tenant, &id, &body, false).await?;
    let status = StatusCode::from_u16(done.status).unwrap_or(StatusCode::OK);
    Ok((status, Json(done.body)).into_response())
}

/// The `remediation_execute` function's service: authenticates the envelope's request like any
/// `/api/v1` route and returns the `res` output and the queue messages.
///
/// # Errors
/// As `execute`: 401/403/404/409/422/503.
pub async fn execute_envelope(
    state: &AppState,
    req: &HttpTriggerRequest,
) -> Result<(Value, Vec<Value>), ApiError> {
    let id = match req.params.get("id") {
        Some(id) => id.clone(),
        None => id_from_url(&req.url)
            .ok_or_else(|| ApiError::NotFound("no recommendation id in the URL".into()))?,
    };
    let mut builder = axum::http::Request::builder()
        .method(req.method.as_str())
        .uri(format!("/api/v1/recommendations/{id}/execute"));
    for (name, values) in &req.headers {
        for value in values {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    let (mut parts, ()) = builder.body(()).map_err(|e| ApiError::BadRequest(e.to_string()))?.into_parts();
    let tenant = Tenant::from_request_parts(&mut parts, state).await?;
    let body = req.body.clone().unwrap_or_default();
    let done = execute_for(state, &tenant, &id, body.as_bytes(), true).await?;
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    if let Some(location) = done.location {
        headers.push(("Location", location));
    }
    let res = http_output(done.status, headers, &done.body.to_string());
    Ok((res, done.message.into_iter().collect()))
}

/// The `{id}` of `…/recommendations/{id}/execute`.
fn id_from_url(url: &str) -> Option<String> {
    let path = url.split('?').next()?;
    let mut segments = path.trim_end_matches('/').rsplit('/');
    (segments.next()? == "execute").then(|| segments.next().map(str::to_owned)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_read_from_the_url() {
        assert_eq!(id_from_url("http://h/api/v1/recommendations/abc/execute?x=1").as_deref(), Some("abc"));
        assert_eq!(id_from_url("http://h/api/v1/recommendations/abc"), None);
    }
}
