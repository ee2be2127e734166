//! `remediate_poison`: a remediation message that exhausted its retries marks its remediation
//! `failed` (with the last error kept), so the recommendation shows the failure and stays
//! `approved` instead of looking queued forever.

use crate::invocation::{InvocationRequest, InvocationResponse, QueueTrigger, TriggerPayload};
use crate::state::AppState;
use crate::store::{RemediationEnd, TenantScope};

use super::{FunctionSpec, TriggerError, TriggerKind, remediate, support};

/// This function's bindings as `functions/remediate_poison/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "remediate_poison", trigger: TriggerKind::Queue, binding: "message", outputs: &[] };

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the store fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let delivery = QueueTrigger::decode(SPEC.binding, request)?;
    let message = remediate::message(SPEC.binding, &delivery.message)?;
    let store = support::store(state, SPEC.name)?;
    let scope = TenantScope::from_trusted_trigger(message.tenant_id);
    let current = store.get_remediation(&scope, &message.remediation_id).await?;
    if !current.is_finished() {
        let last = current.error.unwrap_or_else(|| "no error was recorded".into());
        let why = format!("the remediation message exhausted its retries (poison queue); last error: {last}");
        store.finish_remediation(&scope, &current.id, &RemediationEnd::Failed(why)).await?;
    }
    tracing::warn!(remediation = %message.remediation_id, "remediation message poisoned");
    Ok(InvocationResponse::empty())
}
