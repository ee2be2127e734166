//! `ingestion_trigger`: opens an ingestion run on demand (`POST /api/v1/ingestion/trigger`),
//! served by [`crate::api::routes::ingestion`].
//!
//! The function has a queue output, so the host sends it the envelope rather than forwarding the
//! request; this adapter decodes it and puts the service's answer on the `res` and `messages`
//! outputs.

use serde_json::Value;

use crate::api::routes::ingestion::{error_output, trigger};
use crate::invocation::{HttpTriggerRequest, InvocationRequest, InvocationResponse, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/ingestion_trigger/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "ingestion_trigger",
    trigger: TriggerKind::Http,
    binding: "req",
    outputs: &["res", "messages"],
};

/// Handles one invocation: 202 with the run id and one queue message per subscription, or the
/// API's JSON error on `res` with no messages: 409 naming the tenant's active on-demand run,
/// 429 with `Retry-After` during the cooldown (`AZCOPS_INGESTION_TRIGGER_COOLDOWN_MINUTES`
/// since the tenant's last on-demand run), or 401/403/404/422/503.
///
/// # Errors
/// The envelope does not decode.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let req = HttpTriggerRequest::decode(SPEC.binding, request)?;
    let (res, messages) = match trigger(state, &req).await {
        Ok(accepted) => accepted,
        Err(error) => (error_output(error).await, Vec::new()),
    };
    Ok(InvocationResponse::empty().with_output("res", res).with_output("messages", Value::Array(messages)))
}
