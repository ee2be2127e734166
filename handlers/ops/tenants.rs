//! `azcops tenant add|list`: registering the Entra tenants AzCops works for.

use crate::application::Application;
use crate::store::{NewTenant, PageRequest, TenantType};

use super::{OpsError, operator};

/// `azcops tenant …`.
#[derive(Debug, Clone, clap::Args)]
pub struct TenantArgs {
    #[command(subcommand)]
    command: TenantCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum TenantCommand {
    /// Register a tenant.
    Add {
        /// Display name.
        #[arg(long)]
        name: String,
        /// The Entra tenant id (GUID).
        #[arg(long)]
        azure_tenant_id: String,
        /// `internal` (your own organisation) or `external` (a customer, read through Lighthouse).
        #[arg(long = "type", value_enum, default_value_t = Kind::Internal)]
        kind: Kind,
    },
    /// List registered tenants.
    List,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Kind {
    Internal,
    External,
}

/// Runs `azcops tenant …`, printing to stdout.
///
/// # Errors
/// Invalid input, a duplicate tenant, or store failures.
pub async fn run(args: TenantArgs, app: &Application) -> Result<(), OpsError> {
    let store = app.migrated_store().await?;
    match args.command {
        TenantCommand::Add { name, azure_tenant_id, kind } => {
            if uuid::Uuid::parse_str(&azure_tenant_id).is_err() {
                return Err(OpsError::Invalid(format!(
                    "--azure-tenant-id {azure_tenant_id:?} is not a GUID"
                )));
            }
            let tenant_type = match kind {
                Kind::Internal => TenantType::Internal,
                Kind::External => TenantType::External,
            };
            let new = NewTenant { name, azure_tenant_id: azure_tenant_id.to_ascii_lowercase(), tenant_type };
            let tenant =
                store.platform_admin().create_tenant(&new, &operator(app.settings().source())).await?;
            println!("tenant {} registered: {} ({})", tenant.id, tenant.name, tenant.azure_tenant_id);
        }
        TenantCommand::List => {
            let mut number = 1;
            println!("{:<36}  {:<36}  {:<8}  {:<6}  name", "id", "azure_tenant_id", "type", "active");
            loop {
                let page = PageRequest::new(number, crate::store::MAX_PAGE_SIZE)?;
                let tenants = store.platform_admin().list_tenants(page).await?;
                for t in &tenants.items {
                    let kind = match t.tenant_type {
                        TenantType::Internal => "internal",
                        TenantType::External => "external",
                    };
                    println!(
                        "{:<36}  {:<36}  {kind:<8}  {:<6}  {}",
                        t.id, t.azure_tenant_id, t.active, t.name
                    );
                }
                if u64::from(number) >= tenants.total_pages {
                    break;
                }
                number += 1;
            }
        }
    }
    store.close().await;
    Ok(())
}
