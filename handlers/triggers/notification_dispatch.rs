//! `notification_dispatch`: every minute, one `deliver_notifications` message per event with
//! work left (not fanned out yet, a retry due, or a lease expired under a dead handler). The
//! outbox is written by API requests and ingestion alike, none of which can enqueue, so this
//! is what moves it; duplicate messages are harmless.

use crate::invocation::{InvocationRequest, InvocationResponse, TimerInfo, TriggerPayload};
use crate::state::AppState;

use super::deliver_notifications::DeliveryMessage;
use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/notification_dispatch/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "notification_dispatch",
    trigger: TriggerKind::Timer,
    binding: "timer",
    outputs: &["messages"],
};

/// Most messages one tick enqueues; the rest wait for the next minute.
pub const MAX_MESSAGES: u32 = 500;

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the store fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    TimerInfo::decode(SPEC.binding, request)?;
    let store = support::store(state, SPEC.name)?;
    let work = store.pending_notification_work(crate::store::now(), MAX_MESSAGES).await?;
    let messages: Vec<serde_json::Value> = work
        .into_iter()
        .filter_map(|w| {
            serde_json::to_value(DeliveryMessage { tenant_id: w.tenant_id, event_id: w.event_id }).ok()
        })
        .collect();
    if !messages.is_empty() {
        tracing::info!(messages = messages.len(), "notification work enqueued");
    }
    Ok(InvocationResponse::empty().with_output("messages", serde_json::Value::Array(messages)))
}
