//! `azcops evaluate [--tenant T] [--subscription S] [--date D]`: re-runs the rule engine on stored
//! snapshots — replaying a day under the current thresholds.

use chrono::NaiveDate;

use crate::application::Application;
use crate::evaluation::{evaluate, parse_manifest};
use crate::ingest::manifest::manifest_path;
use crate::store::TenantScope;

use super::ingest::context;
use super::{OpsError, resolve_tenant};

/// `azcops evaluate`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvaluateArgs {
    /// Only this tenant (Entra tenant id or AzCops id); default every active tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this subscription (needs --tenant).
    #[arg(long, requires = "tenant")]
    pub subscription: Option<String>,
    /// The day whose manifests to evaluate (default today, UTC).
    #[arg(long)]
    pub date: Option<NaiveDate>,
}

/// Runs `azcops evaluate`, printing one line per subscription evaluated.
///
/// # Errors
/// Settings or store failures; a manifest whose snapshots cannot be replayed.
pub async fn run(args: EvaluateArgs, app: &Application) -> Result<(), OpsError> {
    let ctx = context(app).await?;
    let day = args.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let tenants = match &args.tenant {
        Some(key) => vec![resolve_tenant(&ctx.store, key).await?],
        None => ctx.store.platform_admin().list_active_tenants().await?,
    };
    let prices = crate::azure::connectors::retail_prices::RetailPriceCache::new();
    let (mut evaluated, mut missing) = (0, 0);
    println!(
        "{:<36}  {:>9}  {:>8}  {:>6}  {:>14}",
        "subscription", "findings", "advisor", "closed", "savings/month"
    );
    for tenant in tenants {
        let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
        let mut subscriptions: Vec<String> = ctx
            .store
            .list_active_subscriptions(&scope)
            .await?
            .into_iter()
            .map(|s| s.subscription_id)
            .collect();
        if let Some(only) = &args.subscription {
            subscriptions.retain(|s| s.eq_ignore_ascii_case(only));
        }
        for subscription in subscriptions {
            let Some(bytes) = ctx.raw.get(&manifest_path(&tenant.id, day, &subscription)).await? else {
                missing += 1;
                continue;
            };
            let manifest = parse_manifest(&bytes)?;
            let summary = evaluate(&ctx, &manifest, &prices, crate::store::now()).await?;
            evaluated += 1;
            println!(
                "{subscription:<36}  {:>9}  {:>8}  {:>6}  {:>14.2}",
                summary.findings, summary.advisor_recommendations, summary.closed, summary.monthly_savings
            );
        }
    }
    println!("{evaluated} subscriptions evaluated; {missing} had no manifest for {day}");
    Ok(())
}
