//! `azcops rollups rebuild [--tenant T]`: recomputes the cost rollups from `costs_daily`, one
//! transaction per tenant and month, printing progress on stderr. Idempotent, and safe while
//! ingestion runs (each month takes the same locks ingestion does).

use crate::application::Application;
use crate::store::{PageRequest, Store, Tenant, TenantScope};

use super::{OpsError, resolve_tenant};

/// `azcops rollups …`.
#[derive(Debug, Clone, clap::Args)]
pub struct RollupsArgs {
    #[command(subcommand)]
    command: RollupsCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum RollupsCommand {
    /// Recompute every tenant's rollups (or one tenant's) from `costs_daily`.
    Rebuild {
        /// The tenant (its Azure tenant id or AzCops id); all tenants when omitted.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Runs `azcops rollups …`.
///
/// # Errors
/// An unknown tenant or store failures (months already rebuilt stay rebuilt).
pub async fn run(args: RollupsArgs, app: &Application) -> Result<(), OpsError> {
    let store = app.migrated_store().await?;
    let RollupsCommand::Rebuild { tenant } = args.command;
    let tenants = match tenant {
        Some(key) => vec![resolve_tenant(&store, &key).await?],
        None => all_tenants(&store).await?,
    };
    let result = rebuild(&store, &tenants).await;
    store.close().await;
    result
}

async fn all_tenants(store: &Store) -> Result<Vec<Tenant>, OpsError> {
    let mut tenants = Vec::new();
    for number in 1.. {
        let page = store
            .platform_admin()
            .list_tenants(PageRequest::new(number, crate::store::MAX_PAGE_SIZE)?)
            .await?;
        let last = u64::from(number) >= page.total_pages;
        tenants.extend(page.items);
        if last {
            break;
        }
    }
    Ok(tenants)
}

/// Rebuilds each tenant month by month.
///
/// # Errors
/// Store failures.
pub async fn rebuild(store: &Store, tenants: &[Tenant]) -> Result<(), OpsError> {
    for (index, tenant) in tenants.iter().enumerate() {
        let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
        let months = store.cost_rollup_months(&scope).await?;
        for (done, month) in months.iter().enumerate() {
            let started = std::time::Instant::now();
            store.rebuild_cost_rollups(&scope, *month).await?;
            eprintln!(
                "tenant {}/{} {} ({}): month {} ({}/{}) rebuilt in {} ms",
                index + 1,
                tenants.len(),
                tenant.id,
                tenant.name,
                month.format("%Y-%m"),
                done + 1,
                months.len(),
                started.elapsed().as_millis()
            );
        }
        if months.is_empty() {
            eprintln!("tenant {}/{} {} ({}): no costs", index + 1, tenants.len(), tenant.id, tenant.name);
        }
    }
    Ok(())
}
