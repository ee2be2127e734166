//! `remediation_execute`: `POST /api/v1/recommendations/{id}/execute`, served by
//! [`crate::api::routes::remediation`]. The function has a queue output (`remediate`), so the
//! host sends it the envelope; when the recommendation's action runs it answers 202 and puts
//! one message on `messages`, otherwise it records the change made by hand as before.

use serde_json::Value;

use crate::api::routes::ingestion::error_output;
use crate::api::routes::remediation::execute_envelope;
use crate::invocation::{HttpTriggerRequest, InvocationRequest, InvocationResponse, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/remediation_execute/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "remediation_execute",
    trigger: TriggerKind::Http,
    binding: "req",
    outputs: &["res", "messages"],
};

/// Handles one invocation: the answer on `res`, and the remediation message (if any) on
/// `messages`.
///
/// # Errors
/// The envelope does not decode.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let req = HttpTriggerRequest::decode(SPEC.binding, request)?;
    let (res, messages) = match execute_envelope(state, &req).await {
        Ok(answer) => answer,
        Err(error) => (error_output(error).await, Vec::new()),
    };
    Ok(InvocationResponse::empty().with_output("res", res).with_output("messages", Value::Array(messages)))
}
