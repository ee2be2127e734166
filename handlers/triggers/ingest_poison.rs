//! `ingest_poison`: records the final failure of a subscription whose message exhausted its retries.

use crate::invocation::{InvocationRequest, InvocationResponse, QueueTrigger, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/ingest_poison/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "ingest_poison", trigger: TriggerKind::Queue, binding: "message", outputs: &[] };

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the ingestion run ledger is not part of this build.
pub async fn run(_state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let _payload = QueueTrigger::decode(SPEC.binding, request)?;
    Err(TriggerError::NotAvailable { function: SPEC.name, missing: "the ingestion run ledger" })
}
