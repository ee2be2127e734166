//! `azcops subscription add|discover|list`: the subscriptions AzCops ingests per tenant.

use crate::application::Application;
use crate::azure::CallContext;
use crate::azure::connectors::subscriptions::{OwnershipError, list_subscriptions, verify_owner};
use crate::store::{NewSubscription, PageRequest, StoreError, TenantScope};

use super::{OpsError, operator, resolve_tenant};

/// `azcops subscription …`.
#[derive(Debug, Clone, clap::Args)]
pub struct SubscriptionArgs {
    #[command(subcommand)]
    command: SubscriptionCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum SubscriptionCommand {
    /// Register one subscription, once Azure confirms it belongs to the tenant's directory.
    Add {
        /// The tenant (Entra tenant id or AzCops id).
        #[arg(long)]
        tenant: String,
        /// Subscription id (GUID).
        #[arg(long)]
        subscription_id: String,
        /// Display name (defaults to the id).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Register every enabled subscription of the tenant the configured identity can read
    /// (`GET /subscriptions`), including those delegated through Azure Lighthouse.
    Discover {
        /// The tenant (Entra tenant id or AzCops id).
        #[arg(long)]
        tenant: String,
    },
    /// List a tenant's subscriptions.
    List {
        /// The tenant (Entra tenant id or AzCops id).
        #[arg(long)]
        tenant: String,
    },
}

/// Runs `azcops subscription …`, printing to stdout.
///
/// # Errors
/// Unknown tenant, invalid input, Azure or store failures.
pub async fn run(args: SubscriptionArgs, app: &Application) -> Result<(), OpsError> {
    let store = app.migrated_store().await?;
    let source = app.settings().source();
    match args.command {
        SubscriptionCommand::Add { tenant, subscription_id, display_name } => {
            let tenant = resolve_tenant(&store, &tenant).await?;
            if uuid::Uuid::parse_str(&subscription_id).is_err() {
                return Err(OpsError::Invalid(format!(
                    "--subscription-id {subscription_id:?} is not a GUID"
                )));
            }
            let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
            let client = app.arm()?;
            let subscription_id = subscription_id.to_ascii_lowercase();
            let info = match verify_owner(client, &tenant.azure_tenant_id, &subscription_id).await {
                Ok(info) => info,
                Err(OwnershipError::NotOwned { .. }) => {
                    return Err(OpsError::Invalid(format!(
                        "subscription {subscription_id} is not a subscription of Azure tenant {} that the \
                         configured identity can read; nothing was registered",
                        tenant.azure_tenant_id
                    )));
                }
                Err(e @ OwnershipError::Unavailable(_)) => {
                    return Err(OpsError::Invalid(format!("{e}; nothing was registered")));
                }
            };
            let new = NewSubscription {
                display_name: display_name
                    .or_else(|| Some(info.display_name).filter(|n| !n.trim().is_empty()))
                    .unwrap_or_else(|| subscription_id.clone()),
                subscription_id,
                billing_scope: None,
            };
            let added = store.add_subscription(&scope, &new, &operator(source)).await?;
            println!("subscription {} registered ({})", added.subscription_id, added.display_name);
        }
        SubscriptionCommand::Discover { tenant } => {
            let tenant = resolve_tenant(&store, &tenant).await?;
            let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
            let client = app.arm()?;
            let visible = list_subscriptions(client, &CallContext::new(&tenant.azure_tenant_id, "")).await?;
            let (mut added, mut known, mut skipped) = (0, 0, 0);
            for info in visible {
                let enabled =
                    matches!(info.state.to_ascii_lowercase().as_str(), "enabled" | "warned" | "pastdue");
                if !info.tenant_id.eq_ignore_ascii_case(&tenant.azure_tenant_id) || !enabled {
                    skipped += 1;
                    continue;
                }
                let new = NewSubscription {
                    subscription_id: info.subscription_id.to_ascii_lowercase(),
                    display_name: info.display_name.clone(),
                    billing_scope: None,
                };
                match store.add_subscription(&scope, &new, &operator(source)).await {
                    Ok(s) => {
                        added += 1;
                        let via = if info.managed_by_tenants.is_empty() { "" } else { " (Lighthouse)" };
                        println!("registered {} {}{via}", s.subscription_id, s.display_name);
                    }
                    Err(StoreError::Conflict { .. }) => known += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            println!(
                "{added} registered, {known} already registered, {skipped} of other tenants or disabled"
            );
        }
        SubscriptionCommand::List { tenant } => {
            let tenant = resolve_tenant(&store, &tenant).await?;
            let scope = TenantScope::from_trusted_trigger(tenant.id);
            let mut number = 1;
            println!("{:<36}  {:<6}  {:<25}  display_name", "subscription_id", "active", "last_ingested_at");
            loop {
                let page = store
                    .list_subscriptions(&scope, PageRequest::new(number, crate::store::MAX_PAGE_SIZE)?)
                    .await?;
                for s in &page.items {
                    let last = s.last_ingested_at.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
                    println!("{:<36}  {:<6}  {last:<25}  {}", s.subscription_id, s.active, s.display_name);
                }
                if u64::from(number) >= page.total_pages {
                    break;
                }
                number += 1;
            }
        }
    }
    store.close().await;
    Ok(())
}
