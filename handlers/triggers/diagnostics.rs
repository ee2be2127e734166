//! Diagnostic functions that exercise every trigger kind without touching Azure or the store.
//!
//! They verify a deployment's (or the local emulator's) trigger wiring end to end: a timer fan-out,
//! a queue consumer that fails on demand (to watch retries and the poison queue), a poison-queue
//! consumer and a blob-created consumer. They answer only when `AZCOPS_DIAGNOSTIC_FUNCTIONS=true`
//! and need their own `function.json` folders, which the production package does not ship.

use serde_json::Value;

use crate::invocation::{
    BlobTrigger, InvocationRequest, InvocationResponse, QueueTrigger, TimerInfo, TriggerPayload,
};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// The diagnostic functions and their expected bindings.
pub const FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "diag_fanout",
        trigger: TriggerKind::Timer,
        binding: "timer",
        outputs: &["messages"],
    },
    FunctionSpec { name: "diag_queue", trigger: TriggerKind::Queue, binding: "message", outputs: &[] },
    FunctionSpec { name: "diag_poison", trigger: TriggerKind::Queue, binding: "message", outputs: &[] },
    FunctionSpec { name: "diag_blob", trigger: TriggerKind::Blob, binding: "blob", outputs: &[] },
];

/// Runs diagnostic function `name`.
///
/// # Errors
/// Unknown name, undecodable payload, or a queue message asking to fail.
pub async fn dispatch(
    state: &AppState,
    name: &str,
    request: &InvocationRequest,
) -> Result<InvocationResponse, TriggerError> {
    match name {
        "diag_fanout" => {
            let timer = TimerInfo::decode("timer", request)?;
            let count = state.diagnostics().fanout;
            // JSON objects, not strings: the host would base64-decode a string that happens to
            // be valid base64 (protocol spec §6.3).
            let failing = state.diagnostics().fail_sequence;
            let messages: Vec<Value> = (1..=count)
                .map(|n| serde_json::json!({"sequence": n, "of": count, "fail": Some(n) == failing}))
                .collect();
            tracing::info!(count, past_due = timer.is_past_due, "diag_fanout emitting messages");
            Ok(InvocationResponse::empty().with_output("messages", Value::Array(messages)))
        }
        "diag_queue" => {
            let message = QueueTrigger::decode("message", request)?;
            let asks_to_fail = serde_json::from_str::<Value>(&message.message)
                .ok()
                .and_then(|v| v.get("fail").and_then(Value::as_bool))
                .unwrap_or(false);
            if asks_to_fail {
                tracing::warn!(attempt = message.dequeue_count, "diag_queue failing as the message asks");
                return Err(TriggerError::Failed(format!(
                    "diag_queue failed on purpose (attempt {})",
                    message.dequeue_count
                )));
            }
            tracing::info!(
                attempt = message.dequeue_count,
                bytes = message.message.len(),
                "diag_queue processed"
            );
            Ok(InvocationResponse::empty())
        }
        "diag_poison" => {
            let message = QueueTrigger::decode("message", request)?;
            tracing::warn!(bytes = message.message.len(), "diag_poison received a poisoned message");
            Ok(InvocationResponse::empty())
        }
        "diag_blob" => {
            let blob = BlobTrigger::decode("blob", request)?;
            tracing::info!(uri = %blob.uri, bytes = blob.content.len(), "diag_blob received a blob");
            Ok(InvocationResponse::empty())
        }
        other => Err(TriggerError::UnknownFunction(other.to_owned())),
    }
}
