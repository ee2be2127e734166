//! `evaluate_rules`: runs the rule engine when a subscription's manifest blob is created, then
//! verifies the realised savings of the subscription's executed recommendations against the
//! costs the same nightly run just stored.

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
    verify_realised(ctx, &manifest.tenant_id, &manifest.subscription_id).await;
    Ok(InvocationResponse::empty())
}

/// The daily realised-savings step. The findings are stored whatever happens here, so a
/// failure is logged rather than failing (and retrying) the evaluation; the next night retries.
async fn verify_realised(ctx: &crate::ingest::IngestContext, tenant_id: &str, subscription_id: &str) {
    let scope = crate::store::TenantScope::from_trusted_trigger(tenant_id);
    let limits =
        crate::store::RealisedLimits { min_days_after: ctx.config.realised_min_days, ..Default::default() };
    let today = crate::store::now().date_naive();
    match ctx.store.verify_realised_savings(&scope, today, Some(subscription_id), limits).await {
        Ok(report) => tracing::info!(
            due = report.due,
            verified = report.verified.len(),
            deferred = report.deferred,
            cost_rows = report.cost_rows,
            "realised savings verified"
        ),
        Err(e) => {
            tracing::error!(error = %e, "realised savings verification failed; the findings are stored")
        }
    }
}
