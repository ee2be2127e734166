//! `POST /api/v1/ingestion/trigger`: opens an ingestion run on demand. The
//! `ingestion_trigger` function (an envelope-mode function with a queue output) adapts the
//! invocation to this service; the API's own extractor still authenticates the caller (the
//! request's parts are rebuilt from the envelope), so the route is guarded exactly like every
//! other `/api/v1` route.

use axum::extract::FromRequestParts as _;
use axum::response::IntoResponse as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::api::auth::ROLE_ADMIN;
use crate::api::extract::Tenant;
use crate::ingest::RunKind;
use crate::ingest::plan::{OnDemand, OnDemandPlan, plan_on_demand};
use crate::invocation::{HttpTriggerRequest, http_output};
use crate::state::AppState;
use crate::store::{NewAuditEntry, OnDemandRun};

/// The optional request body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    /// Only this subscription (default every active subscription of the tenant).
    subscription_id: Option<String>,
    /// `full` (default) or `incremental`.
    kind: Option<RunKind>,
}

/// `202 Accepted` of `POST /ingestion/trigger`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TriggerAccepted {
    /// The new run; follow it at `Location` (`/api/v1/ingestion/status/{run_id}`).
    pub run_id: String,
    /// `queued`.
    pub status: String,
    /// `full` or `incremental`.
    pub kind: RunKind,
    /// Subscriptions (queue messages) in the run.
    pub subscriptions: usize,
}

/// `POST /ingestion/trigger` (an envelope-mode function, documented with the forwarded routes).
#[utoipa::path(
    post,
    path = "/api/v1/ingestion/trigger",
    tag = "data",
    request_body(content = Option<TriggerBody>, description = "Optional: one subscription, the run kind"),
    responses(
        crate::api::openapi::Errors,
        (status = 202, description = "Run planned", body = TriggerAccepted, headers(("Location" = String))),
        (status = 409, description = "An on-demand run of the tenant is queued or running; `details.run_id` names it", body = crate::api::schemas::ErrorBody),
        (status = 429, description = "Rate limit, or the tenant's on-demand cooldown (`AZCOPS_INGESTION_TRIGGER_COOLDOWN_MINUTES`, code `ingestion_cooldown`, `details.run_id`, `details.retry_after_seconds`)", body = crate::api::schemas::ErrorBody, headers(("Retry-After" = u64)))
    )
)]
pub async fn trigger(state: &AppState, req: &HttpTriggerRequest) -> Result<(Value, Vec<Value>), ApiError> {
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
    let (accepted, messages) = start_on_demand(state, &tenant, body).await?;
    let body = serde_json::to_value(&accepted).map_err(|e| ApiError::Internal(e.to_string()))?;
    let location = format!("/api/v1/ingestion/status/{}", accepted.run_id);
    let res = http_output(
        202,
        [("Content-Type", "application/json".to_owned()), ("Location", location)],
        &body.to_string(),
    );
    Ok((res, messages))
}

/// Plans an on-demand run for `tenant` (Admin) and audits it: the one path of
/// `POST /api/v1/ingestion/trigger` and the dashboard's "Run now", with the same limits (one
/// queued or running on-demand run per tenant, then the cooldown). Returns the answer and the
/// queue messages (one per subscription) for the function's `messages` output.
///
/// # Errors
/// 403 without the Admin role, 409 naming the active run, 429 during the cooldown, 422 for an
/// unknown subscription, or the store's failure.
pub(crate) async fn start_on_demand(
    state: &AppState,
    tenant: &Tenant,
    body: TriggerBody,
) -> Result<(TriggerAccepted, Vec<Value>), ApiError> {
    tenant.require(ROLE_ADMIN)?;
    let kind = body.kind.unwrap_or(RunKind::Full);
    let runtime = state.api().ok_or(ApiError::NotConfigured("AZCOPS_AUTH_AUDIENCE"))?;
    let requested_by = tenant.caller.actor();
    let request = OnDemand {
        kind,
        requested_by: &requested_by,
        subscription: body.subscription_id.as_deref(),
        at: crate::store::now(),
        cooldown: runtime.config.ingestion_trigger_cooldown,
    };
    let planned = plan_on_demand(&tenant.store, &tenant.scope, &request).await.map_err(|e| match e {
        crate::ingest::IngestError::Unknown(message) => {
            ApiError::Validation { field: "subscription_id".into(), message }
        }
        crate::ingest::IngestError::Store(store) => store.into(),
        other => ApiError::Internal(other.to_string()),
    })?;
    let run = match planned {
        OnDemandPlan::Planned(run) => run,
        OnDemandPlan::Refused(refused) => return Err(refusal_error(refused)),
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
    // A message that cannot be serialised fails the request rather than silently not queueing.
    let messages = run
        .messages
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|e| ApiError::Internal(format!("cannot serialise a queue message: {e}")))?;
    let accepted = TriggerAccepted {
        run_id: run.run.id.clone(),
        status: run.run.status.to_string(),
        kind,
        subscriptions: run.messages.len(),
    };
    Ok((accepted, messages))
}

/// The API error for a refused on-demand run.
fn refusal_error(refused: OnDemandRun) -> ApiError {
    match refused {
        OnDemandRun::CoolingDown { run, retry_after_secs } => ApiError::Throttled {
            code: "ingestion_cooldown",
            message: format!(
                "the tenant's last on-demand ingestion run started at {}; the next may start in {retry_after_secs} s",
                run.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            retry_after: retry_after_secs,
            details: json!({"run_id": run.id, "retry_after_seconds": retry_after_secs}),
        },
        OnDemandRun::Active(run) | OnDemandRun::Created(crate::store::RunWithItems { run, .. }) => {
            ApiError::ConflictWith {
                message: format!("on-demand ingestion run {} is still {}", run.id, run.status),
                details: json!({"run_id": run.id, "status": run.status}),
            }
        }
    }
}

/// An API error as the host's `http` output binding value (the JSON error body as the API
/// answers it).
pub async fn error_output(error: ApiError) -> Value {
    let (parts, body) = error.into_response().into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let headers =
        parts.headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v.to_owned())));
    http_output(parts.status.as_u16(), headers, &String::from_utf8_lossy(&bytes))
}
