//! `evaluate_rules`: runs the rule engine when a subscription's manifest blob is created.

use crate::invocation::{BlobTrigger, InvocationRequest, InvocationResponse, TriggerPayload};
use crate::state::AppState;

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/evaluate_rules/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "evaluate_rules", trigger: TriggerKind::Blob, binding: "manifest", outputs: &[] };

/// Handles one invocation: loads the manifest's snapshots and upserts recommendations.
///
/// # Errors
/// The payload is not a manifest, its path and content disagree, the pipeline is not configured,
/// or the evaluation fails.
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let blob = BlobTrigger::decode(SPEC.binding, request)?;
    let manifest = crate::evaluation::parse_manifest(&blob.content)?;
    // The path names the tenant folder the blob sits in; a manifest must not speak for another.
    let (path_tenant, path_subscription) =
        (blob.path_params.get("tenant"), blob.path_params.get("subscription"));
    if path_tenant != Some(&manifest.tenant_id) || path_subscription != Some(&manifest.subscription_id) {
        return Err(TriggerError::Failed(format!(
            "manifest at {} names tenant {} and subscription {}, which its path does not",
            blob.uri, manifest.tenant_id, manifest.subscription_id
        )));
    }
    crate::invocation::logs::label(Some(&manifest.tenant_id), Some(&manifest.subscription_id));
    let ctx = support::ingest(state, SPEC.name)?;
    let cache = crate::azure::connectors::retail_prices::RetailPriceCache::new();
    let summary = crate::evaluation::evaluate(ctx, &manifest, &cache, crate::store::now()).await?;
    tracing::info!(
        run_id = %manifest.run_id,
        findings = summary.findings,
        advisor = summary.advisor_recommendations,
        closed = summary.closed,
        monthly_savings = summary.monthly_savings,
        "rules evaluated"
    );
    Ok(InvocationResponse::empty())
}
