//! `ingest_poison`: records the final failure of a subscription whose message exhausted its
//! retries, so nothing is lost silently.

use crate::invocation::{InvocationRequest, InvocationResponse, QueueTrigger, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/ingest_poison/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "ingest_poison", trigger: TriggerKind::Queue, binding: "message", outputs: &[] };

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the ledger cannot be updated.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let delivery = QueueTrigger::decode(SPEC.binding, request)?;
    let message = support::ingest_message(SPEC.binding, &delivery.message)?;
    crate::ingest::record_poisoned(support::store(state, SPEC.name)?, &message).await?;
    Ok(InvocationResponse::empty())
}
