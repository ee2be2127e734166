//! `azcops exports ingest|source`: ingests one Cost Management export run with the same code as
//! the `ingest_exports` trigger, and sets a subscription's cost source.

use std::path::PathBuf;
use std::sync::Arc;

use crate::application::Application;
use crate::exports::{Container, DirContainer, ExportReport, HttpContainer};
use crate::store::{CostSource, TenantScope};

use super::{OpsError, operator, resolve_tenant};

/// `azcops exports …`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportsArgs {
    #[command(subcommand)]
    command: ExportsCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum ExportsCommand {
    /// Ingest one export run: MANIFEST is the manifest's blob name in the container.
    Ingest {
        /// The tenant (Entra tenant id or AzCops id) the export belongs to.
        #[arg(long)]
        tenant: String,
        /// A local directory standing for the exports container.
        #[arg(long, conflicts_with = "container_url", required_unless_present = "container_url")]
        container_dir: Option<PathBuf>,
        /// A Blob (or Azurite) container URL, with a SAS query or read with the configured identity.
        #[arg(long)]
        container_url: Option<String>,
        /// The manifest's blob name, e.g. `<tenant>/focus-cost/20261201-20261231/<time>/<run>/manifest.json`.
        manifest: String,
    },
    /// Set where a subscription's costs come from: `query` (default), `exports` or `auto`.
    Source {
        /// The tenant (Entra tenant id or AzCops id).
        #[arg(long)]
        tenant: String,
        /// The subscription id (GUID).
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        subscription: Option<String>,
        /// Every active subscription of the tenant.
        #[arg(long)]
        all: bool,
        /// `query`, `exports` or `auto`.
        source: String,
    },
}

/// Runs `azcops exports …`, printing to stdout.
///
/// # Errors
/// Unknown tenant or subscription, an unreachable container, or a failed ingestion (then
/// nothing was written).
pub async fn run(args: ExportsArgs, app: &Application) -> Result<(), OpsError> {
    let store = app.migrated_store().await?;
    match args.command {
        ExportsCommand::Ingest { tenant, container_dir, container_url, manifest } => {
            let tenant = resolve_tenant(&store, &tenant).await?;
            let container: Arc<dyn Container> = match (container_dir, container_url) {
                (Some(dir), _) => Arc::new(DirContainer::new(dir)),
                (None, Some(url)) => {
                    let parsed = url::Url::parse(url.trim())
                        .map_err(|_| OpsError::Invalid("the container URL is not a URL".into()))?;
                    let signed = HttpContainer::is_signed(&parsed);
                    let tokens = if signed {
                        None
                    } else {
                        Some(crate::azure::credential::from_config(&app.settings().azure)?)
                    };
                    Arc::new(HttpContainer::new(&url, tokens).map_err(|e| OpsError::Invalid(e.to_string()))?)
                }
                (None, None) => {
                    return Err(OpsError::Invalid("give --container-dir or --container-url".into()));
                }
            };
            let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
            let report = crate::exports::ingest_export(&store, &scope, container, &manifest)
                .await
                .map_err(|e| OpsError::Invalid(e.to_string()))?;
            let raw = crate::raw::open(&app.settings().raw).await?;
            let record = crate::exports::record_in_raw(raw.as_ref(), &tenant.id, &report)
                .await
                .map_err(|e| OpsError::Invalid(e.to_string()))?;
            print!("{}", render(&report));
            match record {
                Some(path) => println!("  recorded in the raw layer at {path}"),
                None => println!("  the raw layer already records this run (an earlier ingestion); kept"),
            }
        }
        ExportsCommand::Source { tenant, subscription, all, source } => {
            let tenant = resolve_tenant(&store, &tenant).await?;
            let parsed: CostSource = source.parse().map_err(|_| {
                OpsError::Invalid(format!("cost source {source:?} must be query, exports or auto"))
            })?;
            let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
            let subscriptions = match subscription {
                Some(s) if !all => vec![s],
                _ => store
                    .list_active_subscriptions(&scope)
                    .await?
                    .into_iter()
                    .map(|s| s.subscription_id)
                    .collect(),
            };
            let by = operator(app.settings().source());
            for subscription in subscriptions {
                store.set_cost_source(&scope, &subscription, parsed, &by).await.map_err(|e| match e {
                    crate::store::StoreError::NotFound => OpsError::Invalid(format!(
                        "subscription {subscription} is not registered to tenant {}",
                        tenant.id
                    )),
                    other => other.into(),
                })?;
                println!("subscription {subscription}: cost source {parsed}");
            }
        }
    }
    store.close().await;
    Ok(())
}

/// The report: one line per replaced slice, then what was dropped.
fn render(report: &ExportReport) -> String {
    let mut out = format!(
        "export {} run {} ({} {}..{}): {} files, {} rows\n",
        report.export_name,
        report.run_id,
        report.dataset,
        report.period.0,
        report.period.1,
        report.files,
        report.source_rows
    );
    for s in &report.slices {
        out.push_str(&format!(
            "  subscription {} {}..{}: {} export rows -> {} cost rows\n",
            s.subscription_id, s.first_day, s.last_day, s.source_rows, s.cost_rows
        ));
    }
    for (sub, rows) in &report.unregistered {
        out.push_str(&format!("  dropped subscription {sub}: not registered to the tenant ({rows} rows)\n"));
    }
    for (sub, rows) in &report.query_sourced {
        out.push_str(&format!("  skipped subscription {sub}: cost source is query ({rows} rows)\n"));
    }
    if report.outside_period > 0 {
        out.push_str(&format!("  dropped {} rows dated outside the run's period\n", report.outside_period));
    }
    out
}
