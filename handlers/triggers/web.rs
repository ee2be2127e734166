//! `web`: the dashboard at the site root. Like `api`, the host forwards its HTTP requests raw to
//! the axum router (`enableForwardingHttpRequest`); `api/{*path}` is more specific than this
//! function's `{*path}`, so the API keeps every `/api/...` request.

use crate::invocation::{InvocationRequest, InvocationResponse};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/web/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "web", trigger: TriggerKind::Http, binding: "req", outputs: &["res"] };

/// Refuses envelope invocations: the dashboard is served only through HTTP forwarding.
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
