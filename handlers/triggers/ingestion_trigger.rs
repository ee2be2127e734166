//! `ingestion_trigger`: opens an ingestion run on demand (`POST /api/v1/ingestion/trigger`).
//!
//! The function has a queue output, so the host sends it the envelope rather than forwarding the
//! request; the API's own extractor still authenticates the caller (the request's parts are
//! rebuilt from the envelope), so the route is guarded exactly like every other `/api/v1` route.

use axum::extract::FromRequestParts as _;
use axum::response::IntoResponse as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::api::auth::ROLE_ADMIN;
use crate::api::extract::Tenant;
use crate::ingest::{RunKind, RunTrigger, plan_runs};
use crate::invocation::{HttpTriggerRequest, InvocationRequest, InvocationResponse, TriggerPayload};
use crate::state::AppState;
use crate::store::NewAuditEntry;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/ingestion_trigger/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "ingestion_trigger",
    trigger: TriggerKind::Http,
    binding: "req",
    outputs: &["res", "messages"],
};

/// The optional request body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerBody {
    /// Only this subscription (default every active subscription of the tenant).
    subscription_id: Option<String>,
    /// `full` (default) or `incremental`.
    kind: Option<RunKind>,
}

/// Handles one invocation: 202 with the run id and one queue message per subscription, or the
/// API's JSON error (401/403/404/422/429/503) on `res` with no messages.
///
/// # Errors
/// The envelope does not decode.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let req = HttpTriggerRequest::decode(SPEC.binding, request)?;
    let (res, messages) = match trigger(state, &req).await {
        Ok(accepted) => accepted,
        Err(error) => (http_output(error.into_response()).await, Vec::new()),
    };
    Ok(InvocationResponse::empty().with_output("res", res).with_output("messages", Value::Array(messages)))
}

async fn trigger(state: &AppState, req: &HttpTriggerRequest) -> Result<(Value, Vec<Value>), ApiError> {
    let mut builder =
        axum::http::Request::builder().method(req.method.as_str()).uri("/api/v1/ingestion/trigger");
    for (name, values) in &req.headers {
        for value in values {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    let (mut parts, ()) = builder.body(()).map_err(|e| ApiError::BadRequest(e.to_string()))?.into_parts();
    let tenant = Tenant::from_request_parts(&mut parts, state).await?;
    tenant.require(ROLE_ADMIN)?;
    let body: TriggerBody = match req.body.as_deref().map(str::trim) {
        None | Some("") => TriggerBody::default(),
        Some(text) => crate::api::extract::parse_json(text.as_bytes())?,
    };
    let kind = body.kind.unwrap_or(RunKind::Full);
    let trigger = RunTrigger::OnDemand { requested_by: tenant.caller.actor() };
    let planned =
        plan_runs(&tenant.store, kind, &trigger, Some(&tenant.scope), body.subscription_id.as_deref())
            .await
            .map_err(|e| match e {
                crate::ingest::IngestError::Unknown(message) => {
                    ApiError::Validation { field: "subscription_id".into(), message }
                }
                crate::ingest::IngestError::Store(store) => store.into(),
                other => ApiError::Internal(other.to_string()),
            })?;
    let Some(run) = planned.into_iter().next() else {
        return Err(ApiError::Validation {
            field: "subscription_id".into(),
            message: "the tenant has no active subscriptions to ingest".into(),
        });
    };
    let entry = NewAuditEntry {
        actor: tenant.caller.actor(),
        action: "ingestion.triggered".into(),
        target_type: "ingestion_run".into(),
        target_id: run.run.id.clone(),
        metadata: json!({"kind": kind.as_str(), "subscriptions": run.messages.len()}),
        occurred_at: crate::store::now(),
    };
    tenant.store.append_audit(&tenant.scope, &entry).await?;
    let messages = run.messages.iter().filter_map(|m| serde_json::to_value(m).ok()).collect();
    let body = json!({"run_id": run.run.id, "status": run.run.status, "kind": kind, "subscriptions": run.messages.len()});
    let res = json!({
        "statusCode": 202,
        "headers": {
            "Content-Type": "application/json",
            "Location": format!("/api/v1/ingestion/status/{}", run.run.id),
        },
        "body": body.to_string(),
    });
    Ok((res, messages))
}

/// An axum response as the host's `http` output binding value.
async fn http_output(response: axum::response::Response) -> Value {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), Value::String(v.to_owned()))))
        .collect();
    json!({"statusCode": parts.status.as_u16(), "headers": headers, "body": String::from_utf8_lossy(&bytes)})
}
