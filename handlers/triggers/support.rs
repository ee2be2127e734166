//! Helpers shared by the trigger handlers: reaching the store and the pipeline, and decoding
//! queue messages.

use crate::ingest::{IngestContext, IngestMessage};
use crate::invocation::{DecodeError, InvocationRequest};
use crate::state::AppState;
use crate::store::Store;

use super::TriggerError;

/// The curated store, or a failure naming the function.
pub fn store<'a>(state: &'a AppState, function: &'static str) -> Result<&'a Store, TriggerError> {
    state.store().ok_or(TriggerError::NotAvailable { function, missing: "the curated store (DATABASE_URL)" })
}

/// The ingestion pipeline, or a failure saying why it is not configured.
pub fn ingest<'a>(state: &'a AppState, function: &'static str) -> Result<&'a IngestContext, TriggerError> {
    state.ingest().map_err(|why| TriggerError::Failed(format!("{function} cannot run: {why}")))
}

/// The `sys.UtcNow` of the invocation (the host's clock), or now.
pub fn invocation_time(request: &InvocationRequest) -> chrono::DateTime<chrono::Utc> {
    request
        .sys()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s.utc_now).ok())
        .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc))
}

/// Decodes an ingestion queue message.
///
/// # Errors
/// The text is not an [`IngestMessage`] (the JSON path of the problem is named).
pub fn ingest_message(binding: &str, text: &str) -> Result<IngestMessage, TriggerError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        TriggerError::Decode(DecodeError::field(
            format!("Data.{binding}"),
            format!("not an ingestion message at {}: {}", e.path(), e.inner()),
        ))
    })
}

/// Plans runs of `kind` for a timer invocation and returns one queue message per subscription.
///
/// The schedule occurrence (`ScheduleStatus.Next`) is the idempotency key, so two instances
/// firing the same occurrence plan one run; without a schedule monitor, the minute it fired.
///
/// # Errors
/// Undecodable timer payload, no store, or a store failure.
pub async fn plan_from_timer(
    state: &AppState,
    request: &InvocationRequest,
    binding: &str,
    kind: crate::ingest::RunKind,
    function: &'static str,
) -> Result<crate::invocation::InvocationResponse, TriggerError> {
    use crate::invocation::{TimerInfo, TriggerPayload};
    use chrono::{DurationRound, TimeDelta};
    let timer = TimerInfo::decode(binding, request)?;
    let store = store(state, function)?;
    let fired = invocation_time(request);
    let occurrence = timer
        .occurrence()
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| fired.duration_trunc(TimeDelta::minutes(1)).unwrap_or(fired));
    let trigger = crate::ingest::RunTrigger::Schedule { occurrence };
    let planned = crate::ingest::plan_runs(store, kind, &trigger, None, None).await?;
    let messages = planned
        .iter()
        .flat_map(|p| p.messages.iter())
        .map(serde_json::to_value)
        .collect::<Result<Vec<serde_json::Value>, _>>()
        .map_err(|e| crate::ingest::IngestError::Serialise {
            what: "a queue message",
            reason: e.to_string(),
        })?;
    tracing::info!(
        runs = planned.len(),
        messages = messages.len(),
        kind = kind.as_str(),
        "ingestion fan-out"
    );
    report_data_age(store).await;
    Ok(crate::invocation::InvocationResponse::empty()
        .with_output("messages", serde_json::Value::Array(messages)))
}

/// Reports each active tenant's data age (hours since its least recently ingested active
/// subscription's last success) as the `azcops.data.age_hours` metric when a run is planned.
async fn report_data_age(store: &crate::store::Store) {
    let Ok(rows) = store.platform_admin().tenant_freshness().await else { return };
    let now = crate::store::now();
    for row in rows {
        if let Some(at) = row.oldest_ingested_at {
            let hours = (now - at).num_seconds().max(0) as f64 / 3600.0;
            tracing::debug!(target: "azcops::metrics", metric = "azcops.data.age_hours", value = hours, tenant_id = %row.tenant_id, "metric");
        }
    }
}
