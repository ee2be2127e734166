//! The main job end to end: the sandbox as Azure, `azcops subscription discover`, then
//! `azcops dev` firing `nightly_ingest` with the real handler, fan-out through the queue, the
//! per-subscription pipeline, raw snapshots, curated upserts, the ledger and manifests — on the
//! embedded default, on Azurite + PostgreSQL, under injected faults, and twice in a night.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;

use azcops::sandbox::control::{Api, FaultConfig};
use azcops::store::ItemStatus;

use support::{Backends, World, check, files_under};

#[tokio::test(flavor = "multi_thread")]
async fn a_nightly_run_lands_exactly_what_the_estate_holds() {
    let world = World::start(Backends::Embedded, FaultConfig::default()).await;
    world.register_all();
    let dev = world.nightly();
    check(&dev, "azcops dev --run nightly_ingest");
    world.assert_exact_counts(&files_under(&world.data.join("raw"))).await;

    // Each manifest triggered exactly one rule evaluation, which found something to recommend.
    let console = String::from_utf8_lossy(&dev.stdout);
    let ingested = console.matches("Executed 'Functions.ingest_subscription' (Succeeded").count();
    assert_eq!(
        console.matches("Executed 'Functions.evaluate_rules' (Succeeded").count(),
        ingested,
        "{console}"
    );
    assert_eq!(console.matches("Executed 'Functions.evaluate_rules' (Failed").count(), 0, "{console}");
    let before = world.recommendations().await;
    assert!(before.len() > 20, "the estate's planted findings became recommendations: {}", before.len());

    // Re-evaluating the same snapshots changes no recommendation.
    check(&world.azcops(&["evaluate"]), "azcops evaluate");
    assert_eq!(world.recommendations().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_run_on_azurite_and_postgresql() {
    let Some(backends) = Backends::real().await else { return };
    let world = World::start(backends, FaultConfig::default()).await;
    world.register_all();
    check(&world.nightly(), "azcops dev --run nightly_ingest on Azurite + PostgreSQL");
    world.assert_exact_counts(&world.azurite_raw_paths().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_and_a_second_night_converge_on_the_same_curated_state() {
    let clean = World::start(Backends::Embedded, FaultConfig::default()).await;
    clean.register_all();
    check(&clean.nightly(), "clean run");
    let reference = clean.curated_checksum().await;

    let faults = FaultConfig {
        error_rate: 0.2,
        error_statuses: vec![500, 502, 503, 504],
        // The sandbox counts paged responses from its start; registration's three subscription
        // listings come first, so page 10 falls inside the night's run.
        truncate_page: Some(10),
        seed: 11,
        // The night's APIs; registering the estate beforehand is not under test here.
        apis: vec![Api::ResourceGraph, Api::CostManagement, Api::Advisor, Api::Metrics],
        ..FaultConfig::default()
    };
    let faulty = World::start(Backends::Embedded, faults).await;
    faulty.register_all();
    check(&faulty.nightly(), "run with 20% 5xx and a truncated page");
    let stats = faulty.sandbox_stats().await;
    let injected = |prefix: &str| -> u64 {
        let apis = stats["apis"].as_object().unwrap().values();
        let faults = apis.filter_map(|api| api["faults"].as_object());
        faults
            .flat_map(|f| f.iter())
            .filter(|(k, _)| k.starts_with(prefix))
            .filter_map(|(_, v)| v.as_u64())
            .sum()
    };
    assert!(injected("status_") > 10, "5xx were injected: {stats}");
    assert_eq!(injected("truncated"), 1, "one page was truncated: {stats}");
    assert_eq!(faulty.curated_checksum().await, reference, "faults change nothing in the curated layer");

    // A second night over the same estate: every upsert re-applies the same rows.
    check(&faulty.nightly(), "second night");
    assert_eq!(faulty.curated_checksum().await, reference, "a second run changes no curated value");
    assert_eq!(faulty.run_count().await, 2 * faulty.tenant_count(), "one run per tenant and night");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_that_always_fails_is_poisoned_and_the_others_succeed() {
    let world = World::start(Backends::Embedded, FaultConfig::default()).await;
    world.register_all();
    let (tenant_index, hidden) = world.register_unreadable_subscription();
    let dev = world.nightly();
    check(&dev, "azcops dev with one unreadable subscription");
    let console = String::from_utf8_lossy(&dev.stdout);
    assert_eq!(console.matches("Executed 'Functions.ingest_poison' (Succeeded").count(), 1, "{console}");
    let (tenant, items) = world.items_of_tenant(tenant_index).await;
    let failed: Vec<_> = items.iter().filter(|i| i.status == ItemStatus::Failed).collect();
    assert_eq!(failed.len(), 1, "only the unreadable subscription fails");
    assert_eq!(failed[0].subscription_id, hidden);
    let error = failed[0].error.clone().unwrap_or_default();
    assert!(error.starts_with("gave up after 3 attempts"), "{error}");
    assert!(error.to_ascii_lowercase().contains("forbidden"), "{error}");
    assert!(items.iter().filter(|i| i.subscription_id != hidden).all(|i| i.status == ItemStatus::Succeeded));
    let counts: BTreeMap<_, _> = items.iter().map(|i| (i.subscription_id.clone(), i.attempts)).collect();
    assert_eq!(counts[&hidden], 3, "retried up to maxDequeueCount: {counts:?} (tenant {tenant})");
}
