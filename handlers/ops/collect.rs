//! `azcops collect <resource-graph|costs|advisor|metrics> --tenant T --subscription S
//! [--from DATE --to DATE]`: runs one connector for one subscription with the configured
//! credential and endpoints, prints each mapped row as one JSON line on stdout and a one-line
//! summary on stderr.

use std::io::Write;
use std::time::Instant;

use chrono::{Duration as ChronoDuration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::azure::connectors::cost_management::{self, CostScope};
use crate::azure::connectors::monitor::{self, MetricWindow};
use crate::azure::connectors::{advisor, resource_graph};
use crate::azure::{Api, ArmClient, AzureError, CallContext};

/// Which connector to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Connector {
    /// Resource Graph inventory → `ResourceRow`.
    ResourceGraph,
    /// Cost Management daily costs → `CostDailyRow`.
    Costs,
    /// Advisor Cost recommendations → `AdvisorRecommendationRow`.
    Advisor,
    /// VM utilisation → `VmMetricsRow`.
    Metrics,
}

/// Arguments of `azcops collect`.
#[derive(Debug, Clone, clap::Args)]
pub struct CollectArgs {
    /// The connector to run.
    #[arg(value_enum)]
    pub connector: Connector,
    /// Azure tenant that owns the subscription (a customer tenant for Lighthouse delegations).
    #[arg(long)]
    pub tenant: String,
    /// Subscription id.
    #[arg(long)]
    pub subscription: String,
    /// First day (costs: default yesterday; metrics: default 14 days before --to).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day, inclusive (default yesterday for costs, today's last whole hour for metrics).
    #[arg(long)]
    pub to: Option<NaiveDate>,
}

fn print_rows<T: Serialize>(rows: &[T]) -> Result<(), AzureError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for row in rows {
        let line = serde_json::to_string(row).map_err(|e| AzureError::InvalidRequest(e.to_string()))?;
        writeln!(out, "{line}").map_err(|e| AzureError::Transport(format!("stdout: {e}")))?;
    }
    out.flush().map_err(|e| AzureError::Transport(format!("stdout: {e}")))
}

fn metrics_window(args: &CollectArgs) -> MetricWindow {
    let Some(to) = args.to else {
        let mut w = MetricWindow::last_days(monitor::VM_WINDOW_DAYS, Utc::now());
        if let Some(from) = args.from.and_then(|d| d.and_hms_opt(0, 0, 0)) {
            w.start = Utc.from_utc_datetime(&from);
        }
        return w;
    };
    let end = to.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| Utc.from_utc_datetime(&d));
    let end = end.unwrap_or_else(Utc::now);
    let start = args
        .from
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Utc.from_utc_datetime(&d))
        .unwrap_or(end - ChronoDuration::days(monitor::VM_WINDOW_DAYS));
    MetricWindow { start, end }
}

/// Runs `azcops collect`.
///
/// # Errors
/// Configuration, credential or connector failure (a per-VM metrics failure is only reported
/// on stderr).
pub async fn run(args: CollectArgs, client: &ArmClient) -> Result<(), AzureError> {
    let mut ctx = CallContext::new(args.tenant.to_ascii_lowercase(), args.subscription.to_ascii_lowercase());
    // Only a configured multi-tenant app credential acts on this; managed and workload
    // identities keep their home token, which is what Lighthouse delegations accept.
    ctx.token_tenant = Some(ctx.tenant_id.clone());
    let sub = ctx.subscription_id.clone();
    let started = Instant::now();
    let (count, extra) = match args.connector {
        Connector::ResourceGraph => {
            let rows = resource_graph::fetch_inventory(client, &ctx, &sub).await?;
            print_rows(&rows)?;
            (rows.len(), String::new())
        }
        Connector::Costs => {
            let yesterday = Utc::now().date_naive() - ChronoDuration::days(1);
            let to = args.to.unwrap_or(yesterday);
            let from = args.from.unwrap_or(to);
            let (rows, report) =
                cost_management::collect_range(client, &ctx, &CostScope::Subscription(sub.clone()), from, to)
                    .await?;
            print_rows(&rows)?;
            (rows.len(), format!(", {} queries, {} apportioned", report.queries, report.apportioned))
        }
        Connector::Advisor => {
            let rows = advisor::fetch_recommendations(client, &ctx, &sub).await?;
            print_rows(&rows)?;
            (rows.len(), String::new())
        }
        Connector::Metrics => {
            let inventory = resource_graph::fetch_inventory(client, &ctx, &sub).await?;
            let vms: Vec<String> = inventory
                .into_iter()
                .filter(|r| r.resource_type == "microsoft.compute/virtualmachines")
                .map(|r| r.resource_id)
                .collect();
            let window = metrics_window(&args);
            let outcome =
                monitor::fetch_vm_metrics(client, &ctx, &vms, window, client.config().metrics_concurrency)
                    .await;
            print_rows(&outcome.rows)?;
            for (id, e) in &outcome.errors {
                eprintln!("metrics failed for {id}: {e}");
            }
            (outcome.rows.len(), format!(", {} VMs failed", outcome.errors.len()))
        }
    };
    let counters = client.counters();
    let requests: u64 = Api::ALL.iter().map(|a| counters.requests(*a)).sum();
    let throttles: u64 = Api::ALL.iter().map(|a| counters.throttles(*a)).sum();
    eprintln!(
        "collect {:?}: {count} rows for subscription {sub} in {} ms ({requests} requests, {throttles} throttled{extra})",
        args.connector,
        started.elapsed().as_millis()
    );
    Ok(())
}
