//! `notification_digest`: every Monday at 07:00 UTC, each active tenant's channels that want
//! `digest.weekly` get their open findings, those new this week and the savings realised. It
//! records the digests as events; `notification_dispatch` delivers them like any other.

use chrono::Duration;

use crate::invocation::{InvocationRequest, InvocationResponse, TimerInfo, TriggerPayload};
use crate::state::AppState;
use crate::store::{PageRequest, TenantScope};

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/notification_digest/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "notification_digest", trigger: TriggerKind::Timer, binding: "timer", outputs: &[] };

/// Handles one invocation.
///
/// # Errors
/// The payload does not decode, or the store fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    TimerInfo::decode(SPEC.binding, request)?;
    let store = support::store(state, SPEC.name)?;
    let since = support::invocation_time(request) - Duration::days(7);
    let mut page = 1;
    let mut recorded = 0;
    loop {
        let tenants =
            store.platform_admin().list_tenants(PageRequest::new(page, crate::store::MAX_PAGE_SIZE)?).await?;
        for tenant in tenants.items.iter().filter(|t| t.active) {
            let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
            match store.record_weekly_digests(&scope, since).await {
                Ok(n) => recorded += n,
                Err(e) => tracing::error!(tenant_id = %tenant.id, error = %e, "weekly digest not recorded"),
            }
        }
        if u64::from(page) >= tenants.total_pages {
            break;
        }
        page += 1;
    }
    tracing::info!(recorded, "weekly digests recorded");
    Ok(InvocationResponse::empty())
}
