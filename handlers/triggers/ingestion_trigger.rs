//! `ingestion_trigger`: opens an ingestion run on demand (`POST /api/v1/ingestion/trigger`).

use crate::invocation::{HttpTriggerRequest, InvocationRequest, InvocationResponse, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/ingestion_trigger/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "ingestion_trigger",
    trigger: TriggerKind::Http,
    binding: "req",
    outputs: &["res", "messages"],
};

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the ingestion pipeline (run planning and fan-out) is not part of this build.
pub async fn run(_state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let _payload = HttpTriggerRequest::decode(SPEC.binding, request)?;
    Err(TriggerError::NotAvailable {
        function: SPEC.name,
        missing: "the ingestion pipeline (run planning and fan-out)",
    })
}
