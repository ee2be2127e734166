//! `retention`: enforces curated retention (costs 13 months, resource history 30 days, audit 7
//! years) and the notification tables' (`AZCOPS_NOTIFY_RETENTION_DAYS`, in bounded batches),
//! and removes the snapshots remediation took before deleting disks once their tenant's
//! `remediation.snapshot_retention_days` are over (as the remediation identity, when configured).

use crate::invocation::{InvocationRequest, InvocationResponse, TimerInfo, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/retention/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "retention", trigger: TriggerKind::Timer, binding: "timer", outputs: &[] };

/// Notification rows deleted per statement.
const NOTIFICATION_BATCH: u32 = 1000;
/// Most batches one run deletes (the rest waits for the next day's run).
const NOTIFICATION_BATCHES: u32 = 100;

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
    let days = state
        .notifier()
        .map_or(crate::notify::NotifyConfig::default().retention_days, |n| n.config().retention_days);
    let cutoff = crate::store::now() - chrono::Duration::days(i64::from(days));
    let notifications =
        store.apply_notification_retention(cutoff, NOTIFICATION_BATCH, NOTIFICATION_BATCHES).await?;
    tracing::info!(report = ?notifications, "notification retention applied");
    if let Ok(ctx) = state.remediation() {
        // A failed sweep is picked up by the next run; curated retention above is done either way.
        match crate::remediation::service::sweep_snapshots(ctx, store, crate::store::now()).await {
            Ok(removed) => tracing::info!(removed, "remediation snapshots removed"),
            Err(e) => tracing::error!(reason = %e, "remediation snapshots could not all be removed"),
        }
    }
    Ok(InvocationResponse::empty())
}
