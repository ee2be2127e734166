//! `hourly_costs`: plans the hourly incremental run (Cost Management only, yesterday and today)
//! and fans out one queue message per active subscription.

use crate::ingest::RunKind;
use crate::invocation::{InvocationRequest, InvocationResponse};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

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
/// The payload does not decode, or planning fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    support::plan_from_timer(state, request, SPEC.binding, RunKind::Incremental, SPEC.name).await
}
