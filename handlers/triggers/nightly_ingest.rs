//! `nightly_ingest`: plans the nightly full ingestion run of every active tenant and fans out one
//! queue message per active subscription.

use crate::ingest::RunKind;
use crate::invocation::{InvocationRequest, InvocationResponse};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/nightly_ingest/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "nightly_ingest",
    trigger: TriggerKind::Timer,
    binding: "timer",
    outputs: &["messages"],
};

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or planning fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    support::plan_from_timer(state, request, SPEC.binding, RunKind::Full, SPEC.name).await
}
