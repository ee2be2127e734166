//! `ticket_sync`: every 15 minutes, each tenant's open ServiceNow and Jira tickets (at most
//! [`TICKETS_PER_RUN`] per tenant, the longest unchecked first) are read back; a done ticket
//! moves its approved recommendation to `executed`, a cancelled one is recorded.

use crate::invocation::{InvocationRequest, InvocationResponse, TimerInfo, TriggerPayload};
use crate::state::AppState;
use crate::store::TenantScope;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/ticket_sync/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "ticket_sync", trigger: TriggerKind::Timer, binding: "timer", outputs: &[] };

/// Most tickets of one tenant read by one run (the rest wait for the next, oldest check first).
pub const TICKETS_PER_RUN: u32 = 50;

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the store fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    TimerInfo::decode(SPEC.binding, request)?;
    let store = support::store(state, SPEC.name)?;
    let notifier = state.notifier().ok_or(TriggerError::NotAvailable {
        function: SPEC.name,
        missing: "the curated store (DATABASE_URL)",
    })?;
    let at = crate::store::now();
    for tenant in store.tenants_with_open_tickets().await? {
        let scope = TenantScope::from_trusted_trigger(tenant.clone());
        match notifier.sync_tickets(&scope, TICKETS_PER_RUN, at).await {
            Ok(report) => tracing::info!(tenant_id = %tenant, report = ?report, "tickets synced"),
            Err(e) => tracing::error!(tenant_id = %tenant, error = %e, "tickets not synced"),
        }
    }
    Ok(InvocationResponse::empty())
}
