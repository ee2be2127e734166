//! `web_ingestion_run`: the dashboard's "Run now" (`POST /ingestion/run`), served by
//! [`crate::web::run_now`]. Like `ingestion_trigger`, the function has a queue output, so the host
//! sends it the envelope; this adapter decodes it and puts the answer on `res` and `messages`.

use serde_json::Value;

use crate::invocation::{HttpTriggerRequest, InvocationRequest, InvocationResponse, TriggerPayload as _};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/web_ingestion_run/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "web_ingestion_run",
    trigger: TriggerKind::Http,
    binding: "req",
    outputs: &["res", "messages"],
};

/// Handles one invocation: a redirect to the Ingestion view with one queue message per
/// subscription of the new run (none when the run is refused), or the dashboard's error page.
///
/// # Errors
/// The envelope does not decode.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let req = HttpTriggerRequest::decode(SPEC.binding, request)?;
    let (res, messages) = crate::web::run_now(state, &req).await;
    Ok(InvocationResponse::empty().with_output("res", res).with_output("messages", Value::Array(messages)))
}
