//! `ingest_subscription`: ingests one subscription (Resource Graph, Cost Management, Advisor,
//! Monitor) into the raw and curated layers and writes its manifest.

use crate::invocation::{InvocationRequest, InvocationResponse, QueueTrigger, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/ingest_subscription/function.json` declares them.
pub const SPEC: FunctionSpec = FunctionSpec {
    name: "ingest_subscription",
    trigger: TriggerKind::Queue,
    binding: "message",
    outputs: &[],
};

/// Handles one invocation; a failure makes the platform retry the message, then poison it.
///
/// # Errors
/// The payload does not decode, the pipeline is not configured, or ingestion fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let delivery = QueueTrigger::decode(SPEC.binding, request)?;
    let message = support::ingest_message(SPEC.binding, &delivery.message)?;
    let ctx = support::ingest(state, SPEC.name)?;
    // The invocation's log lines carry the subscription; ingestion itself knows no invocation.
    crate::invocation::logs::label(Some(&message.tenant_id), Some(&message.subscription_id));
    let outcome = match crate::ingest::ingest_subscription(ctx, &message, delivery.dequeue_count).await {
        Ok(outcome) => outcome,
        // The ledger already says why the item failed for good; a redelivery would only ask
        // ARM the same question again, so the message is consumed.
        Err(e @ crate::ingest::IngestError::NotOwned(_)) => {
            tracing::error!(run_id = %message.run_id, error = %e, "ingestion.subscriptions_failed");
            return Ok(InvocationResponse::empty());
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(run_id = %message.run_id, counts = ?outcome.counts, duration_ms = outcome.duration_ms, "subscription ingested");
    Ok(InvocationResponse::empty())
}
