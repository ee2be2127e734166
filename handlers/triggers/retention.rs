//! `retention`: enforces curated retention (costs 13 months, resource history 30 days, audit 7
//! years).

use crate::invocation::{InvocationRequest, InvocationResponse, TimerInfo, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/retention/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "retention", trigger: TriggerKind::Timer, binding: "timer", outputs: &[] };

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the store fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    TimerInfo::decode(SPEC.binding, request)?;
    let store = support::store(state, SPEC.name)?;
    // The store's own clock: the audit trigger refuses a `now` ahead of the database.
    let report = store.apply_retention(crate::store::now()).await?;
    tracing::info!(report = ?report, "retention applied");
    Ok(InvocationResponse::empty())
}
