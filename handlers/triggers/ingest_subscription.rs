//! `ingest_subscription`: ingests one subscription (Resource Graph, Cost Management, Advisor, Monitor) into the raw and curated layers.

use crate::invocation::{InvocationRequest, InvocationResponse, QueueTrigger, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/ingest_subscription/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "ingest_subscription",
    trigger: TriggerKind::Queue,
    binding: "message",
    outputs: &[],
};

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the per-subscription ingestion pipeline is not part of this build.
pub async fn run(_state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let _payload = QueueTrigger::decode(SPEC.binding, request)?;
    Err(TriggerError::NotAvailable {
        function: SPEC.name,
        missing: "the per-subscription ingestion pipeline",
    })
}
