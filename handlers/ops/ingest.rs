//! `azcops ingest`: plans a run and ingests its subscriptions in this process, with the same
//! pipeline the `ingest_subscription` function runs, at bounded concurrency.

use std::io::IsTerminal as _;
use std::time::Instant;

use futures::StreamExt as _;

use crate::application::Application;
use crate::ingest::{IngestContext, IngestMessage, ItemOutcome, RunKind, RunTrigger, plan_runs};
use crate::store::TenantScope;

use super::{OpsError, resolve_tenant};

/// `azcops ingest [--tenant T] [--subscription S] [--incremental]`.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// Only this tenant (Entra tenant id or AzCops id); default every active tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this subscription (needs --tenant).
    #[arg(long, requires = "tenant")]
    pub subscription: Option<String>,
    /// Cost Management only, yesterday and today (the hourly refresh).
    #[arg(long)]
    pub incremental: bool,
}

/// The pipeline's context of a local command: the store (migrated first), raw store, Azure client.
///
/// # Errors
/// A store that cannot be reached or migrated, a raw store that cannot be opened, no Azure client.
pub async fn context(app: &Application) -> Result<IngestContext, OpsError> {
    app.migrated_store().await?;
    Ok(app.ingest_context().await?)
}

/// Runs `azcops ingest`, printing a summary table; fails when any subscription failed.
///
/// # Errors
/// Settings, planning or store failures; [`OpsError::Failed`] when subscriptions failed.
pub async fn run(args: IngestArgs, app: &Application) -> Result<(), OpsError> {
    let ctx = context(app).await?;
    let scope = match &args.tenant {
        Some(key) => Some(TenantScope::from_trusted_trigger(resolve_tenant(&ctx.store, key).await?.id)),
        None => None,
    };
    let kind = if args.incremental { RunKind::Incremental } else { RunKind::Full };
    let trigger = RunTrigger::OnDemand { requested_by: "cli".into() };
    let planned = plan_runs(&ctx.store, kind, &trigger, scope.as_ref(), args.subscription.as_deref()).await?;
    let messages = interleave_tenants(planned.into_iter().map(|p| p.messages).collect());
    if messages.is_empty() {
        println!(
            "nothing to ingest: no active subscriptions (register some with `azcops subscription discover`)"
        );
        return Ok(());
    }
    let started = Instant::now();
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(messages.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let results = ingest_all(&ctx, messages, &progress).await;
    progress.finish_and_clear();
    print_summary(&results, started.elapsed().as_millis());
    let mut tenants: Vec<String> = results.iter().map(|(m, _)| m.tenant_id.clone()).collect();
    tenants.sort();
    tenants.dedup();
    super::channels::deliver_inline(app, &tenants).await;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if failed > 0 {
        return Err(OpsError::Failed { failed, total: results.len() });
    }
    Ok(())
}

/// Orders the runs' messages round-robin across tenants. Cost Management's quota is per tenant
/// (12 QPU per 10 s), so working through one tenant's subscriptions at a time would leave every
/// other tenant's quota idle while that one throttles.
fn interleave_tenants(runs: Vec<Vec<IngestMessage>>) -> Vec<IngestMessage> {
    let total = runs.iter().map(Vec::len).sum();
    let mut queues: Vec<_> = runs.into_iter().map(Vec::into_iter).collect();
    let mut ordered = Vec::with_capacity(total);
    while ordered.len() < total {
        ordered.extend(queues.iter_mut().filter_map(Iterator::next));
    }
    ordered
}

/// Ingests every message, at most the configured concurrency at a time; a failure is final (no
/// retries on the command line) and recorded in the ledger like a poisoned message.
///
/// A subscription waiting on its tenant's Cost Management quota gives its slot back
/// ([`crate::ingest::slots`]); at most 1.5 times the concurrency is in flight, working or parked,
/// each parked one holding what it read before the wait (its resources' ids and types, the cost
/// queries answered so far). Measured on the 500-subscription backfill (release): 3x in flight
/// peaked at 118 MiB, 2x at 109 MiB, 1.5x at 98 MiB, with no slower night.
///
/// Ahead of the slots, an inventory lane reads each subscription's Resource Graph snapshot
/// ([`crate::ingest::prefetch_inventory`]) in the same order: Resource Graph's per-identity quota
/// bounds the night, and without the lane it idled whenever every slot served resuming Cost
/// Management work (a tenant's windows reopen for many parked subscriptions at once).
pub async fn ingest_all(
    ctx: &IngestContext,
    messages: Vec<IngestMessage>,
    progress: &indicatif::ProgressBar,
) -> Vec<(IngestMessage, Result<ItemOutcome, String>)> {
    let prices = crate::azure::connectors::retail_prices::RetailPriceCache::new();
    let prices = &prices;
    let slots = crate::ingest::slots::Slots::new(ctx.config.concurrency);
    let slots = &slots;
    let (ready, mut inventoried) =
        tokio::sync::mpsc::channel(ctx.config.concurrency.saturating_mul(INVENTORY_LOOKAHEAD).max(1));
    let inventory_lane = async move {
        let mut read_ahead = futures::stream::iter(messages)
            .map(|message| async move {
                if let Err(e) = crate::ingest::prefetch_inventory(ctx, &message).await {
                    tracing::debug!(subscription_id = %message.subscription_id, error = %e, "inventory not read ahead; the pipeline reads it");
                }
                message
            })
            .buffered(INVENTORY_LANE_CONCURRENCY);
        while let Some(message) = read_ahead.next().await {
            if ready.send(message).await.is_err() {
                break;
            }
        }
    };
    let queued = futures::stream::poll_fn(move |cx| inventoried.poll_recv(cx));
    let work = queued
        .map(|message| async move {
            let slot = slots.start().await;
            let work = async {
                let result = crate::ingest::ingest_subscription(ctx, &message, 1).await;
                match result {
                    // The same evaluation the manifest's blob trigger runs, right after it.
                    Ok(mut outcome) => {
                        if let Some(manifest) = &outcome.manifest {
                            match crate::evaluation::evaluate(ctx, manifest, prices, crate::store::now()).await {
                                Ok(summary) => {
                                    let recommendations = summary.findings + summary.advisor_recommendations;
                                    outcome.counts.insert("recommendations".into(), recommendations as i64);
                                }
                                Err(e) => tracing::error!(subscription_id = %message.subscription_id, error = %e, "rule evaluation failed"),
                            }
                        }
                        Ok(outcome)
                    }
                    Err(e) => {
                        if let Err(ledger) = crate::ingest::record_poisoned(&ctx.store, &message).await {
                            tracing::error!(error = %ledger, "cannot record the failure in the ledger");
                        }
                        Err(e.to_string())
                    }
                }
            };
            let result = crate::azure::slot::run_in(slot.clone(), work).await;
            drop(slot);
            progress.inc(1);
            (message, result)
        })
        .buffer_unordered(ctx.config.concurrency.saturating_mul(3) / 2)
        .collect::<Vec<_>>();
    tokio::join!(inventory_lane, work).1
}

/// Subscriptions whose inventory may be read ahead of a work slot, per slot: room for ~20 s of
/// Resource Graph's 3 per second while every slot serves resuming Cost Management work (in the
/// measured 500-subscription backfills it led by at most four). What waits holds no memory: the
/// snapshots are in the raw layer, the queue holds messages.
const INVENTORY_LOOKAHEAD: usize = 3;

/// Inventory reads in flight in the lane: Resource Graph allows 15 per 5 s per identity, so a
/// few concurrent reads of ~100-300 ms keep its window full (16 gave the same night and 112 MiB
/// instead of 74).
const INVENTORY_LANE_CONCURRENCY: usize = 4;

fn print_summary(results: &[(IngestMessage, Result<ItemOutcome, String>)], total_ms: u128) {
    let count = |key: &str| -> i64 {
        results
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .map(|o| o.counts.get(key).copied().unwrap_or(0))
            .sum()
    };
    let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
    println!();
    println!("{:<24} {:>12}", "subscriptions ok", ok);
    println!("{:<24} {:>12}", "subscriptions failed", results.len() - ok);
    println!("{:<24} {:>12}", "resources", count("resources"));
    println!("{:<24} {:>12}", "cost rows", count("costs_daily"));
    println!("{:<24} {:>12}", "advisor recommendations", count("advisor"));
    println!("{:<24} {:>12}", "vms with metrics", count("vm_metrics"));
    println!("{:<24} {:>12}", "recommendations", count("recommendations"));
    println!("{:<24} {:>10}ms", "duration", total_ms);
    if let Some(kib) = peak_rss_kib() {
        println!("{:<24} {:>9}MiB", "peak memory", kib / 1024);
    }
    for (message, result) in results {
        if let Err(e) = result {
            println!("FAILED {}: {e}", message.subscription_id);
        }
    }
}

/// This process's peak resident set so far (`VmHWM`), where the OS reports it (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::RunKind;

    fn message(tenant: &str, subscription: &str) -> IngestMessage {
        IngestMessage {
            run_id: format!("run-{tenant}"),
            tenant_id: tenant.into(),
            subscription_id: subscription.into(),
            kind: RunKind::Full,
            connectors: Vec::new(),
            requested_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn peak_memory_comes_from_vm_hwm() {
        assert_eq!(parse_vm_hwm("Name:\tazcops\nVmPeak:\t  99 kB\nVmHWM:\t   48212 kB\n"), Some(48212));
        assert_eq!(parse_vm_hwm("Name:\tazcops\n"), None);
    }

    #[test]
    fn tenants_take_turns() {
        let runs = vec![
            vec![message("a", "a1"), message("a", "a2"), message("a", "a3")],
            vec![message("b", "b1")],
            vec![],
            vec![message("c", "c1"), message("c", "c2")],
        ];
        let order: Vec<_> = interleave_tenants(runs).into_iter().map(|m| m.subscription_id).collect();
        assert_eq!(order, ["a1", "b1", "c1", "a2", "c2", "a3"]);
    }
}
