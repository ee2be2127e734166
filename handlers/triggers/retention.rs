//! `retention`: enforces curated retention (costs 13 months, resource history 30 days, audit 7 years).

use crate::invocation::{InvocationRequest, InvocationResponse, TimerInfo, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/retention/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "retention", trigger: TriggerKind::Timer, binding: "timer", outputs: &[] };

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the curated store retention job is not part of this build.
pub async fn run(_state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let _payload = TimerInfo::decode(SPEC.binding, request)?;
    Err(TriggerError::NotAvailable { function: SPEC.name, missing: "the curated store retention job" })
}
