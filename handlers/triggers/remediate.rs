//! `remediate`: carries out one queued remediation (checks again, acts through ARM's
//! asynchronous operations, records the exchanges and the outcome). A transient failure fails
//! the invocation so the platform redelivers; after its retries the message goes to
//! `remediate-poison` (see [`super::remediate_poison`]).

use crate::invocation::{DecodeError, InvocationRequest, InvocationResponse, QueueTrigger, TriggerPayload};
use crate::remediation::service::{self, RemediationMessage};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/remediate/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "remediate", trigger: TriggerKind::Queue, binding: "message", outputs: &[] };

/// Decodes a remediation queue message.
///
/// # Errors
/// The text is not a remediation message.
pub fn message(binding: &str, text: &str) -> Result<RemediationMessage, TriggerError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        TriggerError::Decode(DecodeError::field(
            format!("Data.{binding}"),
            format!("not a remediation message at {}: {}", e.path(), e.inner()),
        ))
    })
}

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, remediation is not configured, or a transient failure (the
/// host retries the message).
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let delivery = QueueTrigger::decode(SPEC.binding, request)?;
    let message = message(SPEC.binding, &delivery.message)?;
    let store = support::store(state, SPEC.name)?;
    let ctx = state.remediation().map_err(|why| TriggerError::Failed(why.to_owned()))?;
    service::run(ctx, store, &message, crate::store::now())
        .await
        .map_err(|e| TriggerError::Failed(e.to_string()))?;
    Ok(InvocationResponse::empty())
}
