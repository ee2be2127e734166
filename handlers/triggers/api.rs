//! `api`: the dashboard API. The host forwards its HTTP requests raw to the axum router
//! (`enableForwardingHttpRequest`), so an envelope invocation only arrives when forwarding is off.

use crate::invocation::{InvocationRequest, InvocationResponse};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/api/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "api", trigger: TriggerKind::Http, binding: "req", outputs: &["res"] };

/// Refuses envelope invocations: the API is served only through HTTP forwarding.
///
/// # Errors
/// Always, naming the host.json setting to fix.
pub async fn run(
    _state: &AppState,
    _request: &InvocationRequest,
) -> Result<InvocationResponse, TriggerError> {
    Err(TriggerError::NotAvailable {
        function: SPEC.name,
        missing: "envelope-mode HTTP (set customHandler.enableForwardingHttpRequest to true in host.json)",
    })
}
