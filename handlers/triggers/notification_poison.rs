//! `notification_poison`: a delivery message that exhausted its retries marks its event's
//! unfinished deliveries failed, so the delivery log says so instead of leaving them pending.

use crate::invocation::{InvocationRequest, InvocationResponse, QueueTrigger, TriggerPayload};
use crate::state::AppState;
use crate::store::TenantScope;

use super::{FunctionSpec, TriggerError, TriggerKind, deliver_notifications, support};

/// This function's bindings as `functions/notification_poison/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "notification_poison",
    trigger: TriggerKind::Queue,
    binding: "message",
    outputs: &[],
};

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the store fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let delivery = QueueTrigger::decode(SPEC.binding, request)?;
    let message = deliver_notifications::message(SPEC.binding, &delivery.message)?;
    let store = support::store(state, SPEC.name)?;
    let scope = TenantScope::from_trusted_trigger(message.tenant_id);
    let failed = store
        .fail_event_deliveries(
            &scope,
            &message.event_id,
            "the delivery message exhausted its retries (poison queue)",
            crate::store::now(),
        )
        .await?;
    tracing::warn!(event = %message.event_id, failed, "notification message poisoned");
    Ok(InvocationResponse::empty())
}
