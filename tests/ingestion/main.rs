//! The main job end to end: the sandbox as Azure, `azcops subscription discover`, then
//! `azcops dev` firing `nightly_ingest` with the real handler, fan-out through the queue, the
//! per-subscription pipeline, raw snapshots, curated upserts, the ledger and manifests — on the
//! embedded default, on Azurite + PostgreSQL, under injected faults, and twice in a night.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
mod telemetry;

use azcops::sandbox::control::{Api, FaultConfig, ThrottleStorm};
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
async fn the_nightly_evaluation_verifies_realised_savings() {
    let world = World::start(Backends::Embedded, FaultConfig::default()).await;
    world.register_all();
    let id = world.executed_recommendation().await;
    assert!(world.realised_of(&id).await.is_empty());
    check(&world.nightly(), "azcops dev --run nightly_ingest");
    let rows = world.realised_of(&id).await;
    assert_eq!(rows.len(), 1, "the subscription's evaluation verified its executed recommendation");
    // Executed today, on a resource without cost: nothing to compare yet.
    assert_eq!(rows[0].verdict.as_str(), "no_data");
    assert_eq!(rows[0].as_of, chrono::Utc::now().date_naive());
    // The operator command runs the same verification and prints each verdict.
    let tenant = world.estate().tenants[0].id.clone();
    let out =
        world.azcops(&["savings", "verify", "--tenant", &tenant, "--as-of", &rows[0].as_of.to_string()]);
    check(&out, "azcops savings verify");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains(&id) && printed.contains("no_data"), "{printed}");
    assert!(printed.contains("1 verified as of"), "{printed}");
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
        // A 1 s storm of 429s every 3 s: every request caught in one is refused until it passes.
        storm: Some(ThrottleStorm { period_ms: 3000, duration_ms: 1000 }),
        seed: 11,
        // The night's APIs; registering the estate beforehand is not under test here.
        apis: vec![Api::ResourceGraph, Api::CostManagement, Api::Advisor, Api::Metrics],
        ..FaultConfig::default()
    };
    let faulty = World::start(Backends::Embedded, faults).await;
    faulty.register_all();
    check(&faulty.nightly(), "run with 20% 5xx, 429 storms and a truncated page");
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
    assert!(injected("storm_429") > 0, "the run met a 429 storm: {stats}");
    assert_eq!(faulty.curated_checksum().await, reference, "faults change nothing in the curated layer");

    // A second night over the same estate: every upsert re-applies the same rows.
    check(&faulty.nightly(), "second night");
    assert_eq!(faulty.curated_checksum().await, reference, "a second run changes no curated value");
    assert_eq!(faulty.run_count().await, 2 * faulty.tenant_count(), "one run per tenant and night");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_that_always_fails_is_poisoned_after_every_delivery() {
    let mut world = World::start(
        Backends::Embedded,
        FaultConfig {
            error_rate: 1.0,
            error_statuses: vec![500],
            apis: vec![azcops::sandbox::control::Api::ResourceGraph],
            ..FaultConfig::default()
        },
    )
    .await;
    // One attempt per delivery inside the client, so the platform's retries are what is tested.
    world.set("AZCOPS_AZURE_MAX_RETRIES", "1");
    world.register_all();
    let dev = world.nightly();
    check(&dev, "azcops dev with Resource Graph always failing");
    let console = String::from_utf8_lossy(&dev.stdout);
    let (_, items) = world.items_of_tenant(1).await;
    assert!(!items.is_empty());
    for item in &items {
        assert_eq!(item.status, ItemStatus::Failed, "{item:?}");
        assert_eq!(item.attempts, 3, "retried up to maxDequeueCount: {item:?}");
        let error = item.error.clone().unwrap_or_default();
        assert!(error.starts_with("gave up after 3 attempts") && error.contains("500"), "{error}");
    }
    assert!(console.contains("Executed 'Functions.ingest_poison' (Succeeded"), "{console}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_outside_its_tenant_fails_at_once_and_the_others_succeed() {
    let mut world = World::start(Backends::Embedded, FaultConfig::default()).await;
    world.set("AZCOPS_OPERATOR", "ops-alice");
    world.register_all();
    // The command line refuses what ARM does not place in the tenant's directory.
    let (tenant_index, hidden) = world.unreadable_subscription();
    let tenant = world.estate().tenants[tenant_index].id.clone();
    let refused = world.azcops(&["subscription", "add", "--tenant", &tenant, "--subscription-id", &hidden]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("nothing was registered"), "{stderr}");
    // The command line's changes are audited with the operator; the refusal changed nothing.
    let audit = world.audit_of(tenant_index).await;
    let delegated =
        world.estate().subscriptions.iter().filter(|s| s.tenant == tenant_index && s.delegated).count();
    assert_eq!(
        audit.first().map(|(actor, action)| (actor.as_str(), action.as_str())),
        Some(("operator:ops-alice", "tenant.created"))
    );
    assert_eq!(
        audit.iter().filter(|(_, action)| action == "subscription.created").count(),
        delegated,
        "{audit:?}"
    );
    assert!(audit.iter().all(|(actor, _)| actor == "operator:ops-alice"), "{audit:?}");
    // One registered before its delegation was removed, and one of the tenant's own that its
    // owner moved to another customer tenant the platform also manages.
    world.insert_subscription(tenant_index, &hidden).await;
    let moved = world
        .estate()
        .subscriptions
        .iter()
        .find(|s| s.tenant == tenant_index && s.delegated)
        .map(|s| s.id.clone())
        .expect("a delegated subscription");
    let elsewhere = (1..world.tenant_count()).find(|t| *t != tenant_index).unwrap();
    world.move_subscription(&moved, elsewhere).await;

    let dev = world.nightly();
    check(&dev, "azcops dev with two subscriptions outside their tenant");
    let console = String::from_utf8_lossy(&dev.stdout);
    assert!(!console.contains("Functions.ingest_poison"), "no retries, no poison: {console}");
    let (_, items) = world.items_of_tenant(tenant_index).await;
    for outsider in [&hidden, &moved] {
        let item = items.iter().find(|i| &i.subscription_id == outsider).unwrap();
        assert_eq!((item.status, item.attempts), (ItemStatus::Failed, 1), "{item:?}");
        let error = item.error.clone().unwrap_or_default();
        assert!(error.contains(&format!("is not a subscription of Azure tenant {tenant}")), "{error}");
        assert!(error.contains("nothing was ingested"), "{error}");
        assert_eq!(world.rows_of(tenant_index, outsider).await, (0, 0), "no rows written for {outsider}");
    }
    let others: Vec<_> =
        items.iter().filter(|i| i.subscription_id != hidden && i.subscription_id != moved).collect();
    assert!(!others.is_empty());
    assert!(others.iter().all(|i| i.status == ItemStatus::Succeeded), "{others:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_triggers_a_run_over_http_and_follows_it_to_success() {
    let mut world = World::start(Backends::Embedded, FaultConfig::default()).await;
    world.register_all();
    let authority = world.sandbox_url().to_owned();
    world.set("AZCOPS_AUTH_AUTHORITY", &authority);
    world.set("AZCOPS_AUTH_AUDIENCE", "api://azcops");
    let (mut dev, base) = tokio::task::block_in_place(|| world.serve());
    let client = reqwest::Client::new();
    let tenant = world.estate().tenants[0].id.clone();
    let token = |roles: serde_json::Value| {
        let client = client.clone();
        let authority = authority.clone();
        let tenant = tenant.clone();
        async move {
            let body = serde_json::json!({"tid": tenant, "roles": roles, "name": "Test Admin"});
            let minted: serde_json::Value = client
                .post(format!("{authority}/_sandbox/user-token"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            minted["access_token"].as_str().unwrap().to_owned()
        }
    };
    let trigger = format!("{base}/api/v1/ingestion/trigger");

    let anonymous = client.post(&trigger).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let reader = client
        .post(&trigger)
        .bearer_auth(token(serde_json::json!(["AzCops.Reader"])).await)
        .send()
        .await
        .unwrap();
    assert_eq!(reader.status().as_u16(), 403, "triggering needs AzCops.Admin");

    let admin = token(serde_json::json!(["AzCops.Admin"])).await;
    let accepted =
        client.post(&trigger).bearer_auth(&admin).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(accepted.status().as_u16(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let body: serde_json::Value = accepted.json().await.unwrap();
    let run_id = body["run_id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/ingestion/status/{run_id}"));
    assert_eq!(body["subscriptions"], 4);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let status = loop {
        let status: serde_json::Value = client
            .get(format!("{base}{location}"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let state = status["run"]["status"].as_str().unwrap_or_default().to_owned();
        if state == "succeeded" || state == "failed" || state == "partially_failed" {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "run did not finish: {status}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(status["run"]["status"], "succeeded", "{status}");
    assert_eq!(status["items"].as_array().unwrap().len(), 4);
    dev.kill().unwrap();
    dev.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_handler_mid_run_converges_on_the_same_curated_state() {
    let clean = World::start(Backends::Embedded, FaultConfig::default()).await;
    clean.register_all();
    check(&clean.nightly(), "clean run");
    let reference = clean.curated_checksum().await;

    // Slow answers keep every subscription in flight when the handler dies.
    let latency = azcops::sandbox::control::LatencyConfig::Fixed { ms: 150 };
    let crashed = World::start_with(Backends::Embedded, FaultConfig::default(), latency).await;
    crashed.register_all();
    let (dev, console) = tokio::task::block_in_place(|| crashed.nightly_with_a_handler_crash());
    assert!(dev.status.success(), "{console}");
    assert!(console.contains("(Failed"), "invocations in flight failed with the handler: {console}");
    let ingested = console.matches("Executed 'Functions.ingest_subscription' (Succeeded").count();
    assert_eq!(ingested, 11, "every readable subscription was ingested after redelivery: {console}");
    assert_eq!(crashed.curated_checksum().await, reference, "redelivery converges on the clean state");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_reads_each_inventory_once_and_never_an_outsiders() {
    let world = World::start(Backends::Embedded, FaultConfig::default()).await;
    world.register_all();
    // One subscription registered before its delegation was removed: the lane's ownership
    // check refuses it like the pipeline's, and its inventory is never asked for.
    let (tenant_index, hidden) = world.unreadable_subscription();
    world.insert_subscription(tenant_index, &hidden).await;

    let ingest = world.azcops(&["ingest"]);
    assert!(!ingest.status.success(), "the outsider fails the command");
    let summary = String::from_utf8_lossy(&ingest.stdout);
    assert!(summary.contains(&format!("FAILED {hidden}")), "{summary}");

    let mut succeeded = 0;
    for index in 0..world.tenant_count() {
        let (_, items) = world.items_of_tenant(index).await;
        for item in &items {
            if item.subscription_id == hidden {
                assert_eq!(item.status, ItemStatus::Failed, "{item:?}");
                assert!(item.error.clone().unwrap_or_default().contains("is not a subscription"), "{item:?}");
            } else {
                assert_eq!(item.status, ItemStatus::Succeeded, "{item:?}");
                succeeded += 1;
            }
        }
    }
    assert!(succeeded > 1);
    // Read ahead by the lane, replayed by the pipeline: one query per readable subscription
    // (each fits one page here), none for the outsider.
    let stats = world.sandbox_stats().await;
    assert_eq!(stats["apis"]["resource_graph"]["requests"], succeeded, "{}", stats["apis"]["resource_graph"]);
    assert_eq!(world.rows_of(tenant_index, &hidden).await, (0, 0));
}
