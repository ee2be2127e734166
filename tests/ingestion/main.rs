//! The main job end to end: the sandbox as Azure, `azcops subscription discover`, then
//! `azcops dev` firing `nightly_ingest` with the real handler, fan-out through the queue, the
//! per-subscription pipeline, raw snapshots, curated upserts, the ledger and manifests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use azcops::sandbox::estate::Estate;
use azcops::sandbox::{RunningSandbox, Sandbox, SandboxOptions, usage};
use azcops::store::{CostFilter, PageRequest, ResourceFilter, Store, StoreConfig, TenantScope};

const ESTATE: &str = "tenants=3,subscriptions=4,resources=40,days=35";

struct World {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    env: Vec<(String, String)>,
    sandbox: RunningSandbox,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The pipeline's windows end yesterday and now, so the estate is as of today.
    let options = SandboxOptions::new(ESTATE.parse().unwrap(), 7, chrono::Utc::now().date_naive());
    let sandbox = Sandbox::start(options).await.unwrap();
    let mut env: Vec<(String, String)> = sandbox.exports();
    env.extend([
        ("DATABASE_URL".to_owned(), format!("sqlite://{}", data.join("azcops.db").display())),
        ("AZCOPS_RAW_STORE".to_owned(), data.join("raw").display().to_string()),
        ("AZCOPS_DEV_STORAGE_ROOT".to_owned(), data.display().to_string()),
        ("AZCOPS_AZURE_CREDENTIAL".to_owned(), "managed_identity".to_owned()),
        ("AzureWebJobsStorage".to_owned(), "memory".to_owned()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
    ]);
    World { _dir: dir, data, env, sandbox }
}

fn azcops(world: &World, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_azcops"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(world.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap()
}

fn check(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Subscriptions the managing identity can read: its own tenant's and the delegated ones.
fn readable(estate: &Estate) -> Vec<usize> {
    (0..estate.subscriptions.len())
        .filter(|s| estate.subscriptions[*s].tenant == 0 || estate.subscriptions[*s].delegated)
        .collect()
}

fn expected_cost_rows(estate: &Estate, sub: usize) -> i64 {
    let first = estate.as_of - chrono::Days::new(u64::from(estate.spec.days));
    let mut rows = 0;
    for day in first.iter_days().take_while(|d| *d < estate.as_of) {
        rows += usage::subscription_charges(estate, sub, day).len() as i64;
        rows += estate.resources[estate.sub_ranges[sub].clone()]
            .iter()
            .filter(|r| usage::day_cost(estate, r, day).is_some())
            .count() as i64;
    }
    rows
}

fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !entry.file_name().to_string_lossy().starts_with('.') {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nightly_run_lands_exactly_what_the_estate_holds() {
    let world = world().await;
    let estate = world.sandbox.estate().clone();
    for tenant in &estate.tenants {
        check(
            &azcops(&world, &["tenant", "add", "--name", &tenant.name, "--azure-tenant-id", &tenant.id]),
            "tenant add",
        );
        check(
            &azcops(&world, &["subscription", "discover", "--tenant", &tenant.id]),
            "subscription discover",
        );
    }
    let dev = tokio::task::spawn_blocking({
        let world_env = world.env.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_azcops"))
                .args(["dev", "--port", "0", "--run", "nightly_ingest", "--until-idle", "--no-timers"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .envs(world_env)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    check(&dev, "azcops dev --run nightly_ingest");
    let console = String::from_utf8_lossy(&dev.stdout);
    let readable = readable(&estate);
    assert_eq!(
        console.matches("Executed 'Functions.ingest_subscription' (Succeeded").count(),
        readable.len(),
        "{console}"
    );

    let store = Store::connect(
        &StoreConfig::for_url(&world.env.iter().find(|(k, _)| k == "DATABASE_URL").unwrap().1, 4).unwrap(),
    )
    .await
    .unwrap();
    let raw_files = files_under(&world.data.join("raw"));
    for (index, tenant) in estate.tenants.iter().enumerate() {
        let t = store.platform_admin().get_tenant_by_azure_tenant_id(&tenant.id).await.unwrap();
        let scope = TenantScope::from_trusted_trigger(t.id.clone());
        let runs = store.list_runs(&scope, PageRequest::new(1, 10).unwrap()).await.unwrap();
        assert_eq!(runs.items.len(), 1, "one run per tenant");
        let run = store.get_run(&scope, &runs.items[0].id).await.unwrap();
        assert_eq!(run.run.status.to_string(), "succeeded");
        let mine: Vec<usize> =
            readable.iter().copied().filter(|s| estate.subscriptions[*s].tenant == index).collect();
        assert_eq!(run.items.len(), mine.len());
        for s in mine {
            let sub = &estate.subscriptions[s];
            let item = run.items.iter().find(|i| i.subscription_id == sub.id).unwrap();
            let counts: &BTreeMap<String, i64> = &item.counts.0;
            let resources = estate.sub_ranges[s].len() as i64;
            assert_eq!(counts["resources"], resources, "resources of {}", sub.id);
            assert_eq!(counts["costs_daily"], expected_cost_rows(&estate, s), "cost rows of {}", sub.id);
            let vms = estate.resources[estate.sub_ranges[s].clone()]
                .iter()
                .filter(|r| matches!(r.kind, azcops::sandbox::estate::Kind::Vm { .. }))
                .count() as i64;
            assert_eq!(counts["vm_metrics"], vms, "VMs with metrics in {}", sub.id);
            let listed = store
                .list_resources(
                    &scope,
                    &ResourceFilter { subscription_id: Some(sub.id.clone()), ..Default::default() },
                    PageRequest::new(1, 1).unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(listed.total as i64, resources);
            let costs = store
                .list_costs(
                    &scope,
                    &CostFilter { subscription_id: Some(sub.id.clone()), ..Default::default() },
                    PageRequest::new(1, 1).unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(costs.total as i64, counts["costs_daily"]);
            // One snapshot per connector and one manifest per subscription.
            let snapshots = raw_files
                .iter()
                .filter(|p| {
                    p.contains(&format!("/{}/", sub.id)) && p.ends_with(&format!("{}.json", run.run.id))
                })
                .count();
            assert_eq!(snapshots, 4, "snapshots of {}: {raw_files:?}", sub.id);
            let manifests = raw_files
                .iter()
                .filter(|p| p.contains("/manifests/") && p.ends_with(&format!("{}.json", sub.id)))
                .count();
            assert_eq!(manifests, 1, "manifest of {}", sub.id);
        }
    }
}
