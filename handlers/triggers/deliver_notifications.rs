//! `deliver_notifications`: one queue message per event with work left; fans it out to the
//! tenant's channels and sends its due deliveries. Redelivery is harmless: fan-out is
//! idempotent and deliveries are claimed under a lease, so each (event, channel) is sent once.

use serde::{Deserialize, Serialize};

use crate::invocation::{DecodeError, InvocationRequest, InvocationResponse, QueueTrigger, TriggerPayload};
use crate::state::AppState;
use crate::store::TenantScope;

use super::{FunctionSpec, TriggerError, TriggerKind};

/// This function's bindings as `functions/deliver_notifications/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "deliver_notifications",
    trigger: TriggerKind::Queue,
    binding: "message",
    outputs: &[],
};

/// The queue message: which event of which tenant has work left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryMessage {
    /// AzCops tenant id.
    pub tenant_id: String,
    /// Event id.
    pub event_id: String,
}

/// Decodes a delivery message.
///
/// # Errors
/// The text is not a [`DeliveryMessage`] (the JSON path of the problem is named).
pub fn message(binding: &str, text: &str) -> Result<DeliveryMessage, TriggerError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        TriggerError::Decode(DecodeError::field(
            format!("Data.{binding}"),
            format!("not a notification message at {}: {}", e.path(), e.inner()),
        ))
    })
}

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the store fails (the host then retries the message).
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let delivery = QueueTrigger::decode(SPEC.binding, request)?;
    let message = message(SPEC.binding, &delivery.message)?;
    let notifier = state.notifier().ok_or(TriggerError::NotAvailable {
        function: SPEC.name,
        missing: "the curated store (DATABASE_URL)",
    })?;
    let scope = TenantScope::from_trusted_trigger(message.tenant_id);
    let report = notifier
        .process_event(&scope, &message.event_id, crate::store::now())
        .await
        .map_err(|e| TriggerError::Failed(e.to_string()))?;
    tracing::info!(event = %message.event_id, report = ?report, "notifications delivered");
    Ok(InvocationResponse::empty())
}
