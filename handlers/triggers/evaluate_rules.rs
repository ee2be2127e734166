//! `evaluate_rules`: runs the rule engine when a subscription's manifest blob is created.

use crate::invocation::{BlobTrigger, InvocationRequest, InvocationResponse, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/evaluate_rules/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "evaluate_rules", trigger: TriggerKind::Blob, binding: "manifest", outputs: &[] };

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the rule engine is not part of this build.
pub async fn run(_state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let _payload = BlobTrigger::decode(SPEC.binding, request)?;
    Err(TriggerError::NotAvailable { function: SPEC.name, missing: "the rule engine" })
}
