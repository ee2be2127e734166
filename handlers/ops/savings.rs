//! `azcops savings verify --tenant T [--as-of DATE]`: verifies the realised savings of a
//! tenant's executed recommendations with the code the nightly evaluation runs, and prints each
//! recommendation's verdict and figures.

use chrono::NaiveDate;

use crate::application::Application;
use crate::money::round_to_minor_unit;
use crate::store::{RealisedLimits, TenantScope, VerificationReport};

use super::{OpsError, resolve_tenant};

/// `azcops savings …`.
#[derive(Debug, Clone, clap::Args)]
pub struct SavingsArgs {
    #[command(subcommand)]
    command: SavingsCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum SavingsCommand {
    /// Compare the cost before and after each executed recommendation and store the verdicts.
    Verify {
        /// The tenant (its Azure tenant id or AzCops id).
        #[arg(long)]
        tenant: String,
        /// The day to verify as of (default today, UTC); days from it on are not read.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Only this subscription.
        #[arg(long)]
        subscription: Option<String>,
        /// Recommendations verified at most (default 200).
        #[arg(long)]
        max_recommendations: Option<usize>,
    },
}

/// Runs `azcops savings …`.
///
/// # Errors
/// An unknown tenant, limits out of range, or store failures.
pub async fn run(args: SavingsArgs, app: &Application) -> Result<(), OpsError> {
    let SavingsCommand::Verify { tenant, as_of, subscription, max_recommendations } = args.command;
    let store = app.migrated_store().await?;
    let tenant = resolve_tenant(&store, &tenant).await?;
    let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
    let mut limits = RealisedLimits {
        min_days_after: app.settings().ingest.realised_min_days,
        ..RealisedLimits::default()
    };
    if let Some(max) = max_recommendations {
        limits.max_recommendations = max;
    }
    let as_of = as_of.unwrap_or_else(|| crate::store::now().date_naive());
    let report = store.verify_realised_savings(&scope, as_of, subscription.as_deref(), limits).await;
    store.close().await;
    print!("{}", render(&report?));
    Ok(())
}

/// The report as a table, one line per recommendation, and a closing summary.
pub fn render(report: &VerificationReport) -> String {
    let mut out = format!(
        "{:<36}  {:<10}  {:<13}  {:>12}  {:>12}  {:<26}  {:<10}  {:>11}  {:>11}  {:<8}\n",
        "recommendation",
        "executed",
        "verdict",
        "identified",
        "realised",
        "basis",
        "confidence",
        "before/days",
        "after/days",
        "currency"
    );
    for r in &report.verified {
        let money = |v: f64| round_to_minor_unit(v, &r.currency).to_string();
        out.push_str(&format!(
            "{:<36}  {:<10}  {:<13}  {:>12}  {:>12}  {:<26}  {:<10}  {:>11}  {:>11}  {:<8}\n",
            r.recommendation_id,
            r.executed_at.date_naive(),
            r.verdict.as_str(),
            money(r.identified_monthly_savings),
            r.realised_monthly_savings.map(money).unwrap_or_else(|| "-".into()),
            r.basis.as_str(),
            format!("{} {:.2}", r.confidence.as_str(), r.confidence_score),
            format!("{}/{}", money(r.before_amount), r.before_days),
            format!("{}/{}", money(r.after_amount), r.after_days),
            r.currency,
        ));
    }
    out.push_str(&format!(
        "{} verified as of {}; {} due, {} left for a later run; {} cost rows read\n",
        report.verified.len(),
        report.as_of,
        report.due,
        report.deferred,
        report.cost_rows
    ));
    out
}
