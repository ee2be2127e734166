//! `hourly_costs`: plans the hourly incremental Cost Management run and fans out one queue message per subscription.

use crate::invocation::{InvocationRequest, InvocationResponse, TimerInfo, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/hourly_costs/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "hourly_costs",
    trigger: TriggerKind::Timer,
    binding: "timer",
    outputs: &["messages"],
};

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the ingestion pipeline (run planning and fan-out) is not part of this build.
pub async fn run(_state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let _payload = TimerInfo::decode(SPEC.binding, request)?;
    Err(TriggerError::NotAvailable {
        function: SPEC.name,
        missing: "the ingestion pipeline (run planning and fan-out)",
    })
}
