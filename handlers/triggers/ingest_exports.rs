//! `ingest_exports`: ingests a Cost Management export run when its `manifest.json` lands in the
//! exports container, under the folder of the tenant it belongs to
//! (`exports/<Entra tenant id>/<export>/<date range>/<time>/<run>/manifest.json`).

use crate::invocation::{BlobTrigger, InvocationRequest, InvocationResponse, TriggerPayload};
use crate::state::AppState;
use crate::store::{StoreError, TenantScope};

use super::{FunctionSpec, TriggerError, TriggerKind, support};

/// This function's bindings as `functions/ingest_exports/function.json` declares them.
pub const SPEC: FunctionSpec =
    FunctionSpec { name: "ingest_exports", trigger: TriggerKind::Blob, binding: "manifest", outputs: &[] };

/// Handles one invocation: the tenant is the folder the manifest sits in (never the files' word),
/// and the run is ingested from the container `AZCOPS_EXPORTS_CONTAINER` names.
///
/// # Errors
/// An unknown tenant folder, an unconfigured container, or a failed ingestion (nothing written).
pub async fn run(state: &AppState, request: &InvocationRequest) -> Result<InvocationResponse, TriggerError> {
    let blob = BlobTrigger::decode(SPEC.binding, request)?;
    let folder = blob.path_params.get("tenant").cloned().unwrap_or_default();
    let store = support::store(state, SPEC.name)?;
    let tenant = match store.platform_admin().get_tenant_by_azure_tenant_id(&folder).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => {
            return Err(TriggerError::Failed(format!("export folder {folder:?} names no registered tenant")));
        }
        Err(e) => return Err(e.into()),
    };
    crate::invocation::logs::label(Some(&tenant.id), None);
    // As scheduled ingestion: a deactivated tenant's costs stay as they were.
    if !tenant.active {
        return Err(TriggerError::Failed(format!(
            "tenant {} is not active; the export is not ingested",
            tenant.id
        )));
    }
    let name = manifest_name(&blob.path_params)
        .ok_or_else(|| TriggerError::Failed(format!("{} is not an export manifest path", blob.uri)))?;
    let container = state.exports().open().map_err(|e| TriggerError::Failed(e.to_string()))?;
    let scope_tenant = tenant.id.clone();
    let scope = TenantScope::from_trusted_trigger(tenant.id);
    let report = crate::exports::ingest_export(store, &scope, container, &name)
        .await
        .map_err(|e| TriggerError::Failed(e.to_string()))?;
    // The raw layer records the manifest and what was ingested (the files stay in their container).
    let raw = support::ingest(state, SPEC.name)?.raw.clone();
    let record = crate::exports::record_in_raw(raw.as_ref(), &scope_tenant, &report)
        .await
        .map_err(|e| TriggerError::Failed(e.to_string()))?;
    let record = match record {
        Some(path) => path,
        // A redelivered event re-ingested the run (idempotently); its first record stays.
        None => format!(
            "{} (kept from an earlier ingestion of the run)",
            crate::exports::raw_record_path(&scope_tenant, &report)
        ),
    };
    tracing::info!(
        raw_record = %record,
        manifest = %report.manifest,
        run_id = %report.run_id,
        rows = report.source_rows,
        slices = report.slices.len(),
        unregistered = report.unregistered.len(),
        query_sourced = report.query_sourced.len(),
        "export ingested"
    );
    Ok(InvocationResponse::empty())
}

/// The manifest's blob name inside the container, rebuilt from the matched path.
fn manifest_name(params: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let part = |k: &str| params.get(k).filter(|v| !v.is_empty()).cloned();
    Some(format!(
        "{}/{}/{}/{}/{}/manifest.json",
        part("tenant")?,
        part("export")?,
        part("range")?,
        part("time")?,
        part("run")?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_path_matches_an_export_run_and_rebuilds_its_blob_name() {
        let name = "3f1c0000-0000-4000-8000-000000000001/focus-cost/20261201-20261231/202612070500/9b2e/manifest.json";
        let params = crate::appdef::match_blob_path(
            "exports/{tenant}/{export}/{range}/{time}/{run}/manifest.json",
            &format!("exports/{name}"),
        )
        .unwrap();
        assert_eq!(manifest_name(&params).as_deref(), Some(name));
        assert!(
            crate::appdef::match_blob_path(
                "exports/{tenant}/{export}/{range}/{time}/{run}/manifest.json",
                "exports/t/e/r/t/run/part_0_0001.csv.gz"
            )
            .is_none(),
            "data files do not fire the trigger"
        );
    }
}
