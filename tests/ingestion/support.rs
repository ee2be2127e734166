//! The test world: a sandbox estate, a temporary app root and stores, and the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use azcops::sandbox::control::FaultConfig;
use azcops::sandbox::estate::{Estate, Kind};
use azcops::sandbox::{RunningSandbox, Sandbox, SandboxOptions, usage};
use azcops::store::{
    CostFilter, IngestionItem, PageRequest, RecommendationStatus, ResourceFilter, Store, StoreConfig,
    TenantScope,
};
use sha2::{Digest, Sha256};

const ESTATE: &str = "tenants=3,subscriptions=4,resources=40,days=35";

/// Where the curated store and raw layer live.
pub enum Backends {
    /// SQLite and the local raw store (the embedded default).
    Embedded,
    /// PostgreSQL and Azurite (raw store, queues and blob events).
    Real { postgres_url: String, azurite: String },
}

impl Backends {
    /// PostgreSQL (a fresh database) and Azurite from the test services, or `None` when the
    /// caller skips them on purpose; a missing service otherwise fails the test.
    pub async fn real() -> Option<Self> {
        let azurite = match std::env::var("AZCOPS_TEST_AZURITE") {
            Ok(v) if !v.is_empty() => v,
            _ if std::env::var("AZCOPS_SKIP_AZURITE").as_deref() == Ok("1") => return None,
            _ => panic!("AZCOPS_TEST_AZURITE is not set: run `eval \"$(scripts/start-azurite.sh)\"`"),
        };
        let server = match std::env::var("AZCOPS_TEST_POSTGRES_URL") {
            Ok(v) if !v.is_empty() => v,
            _ if std::env::var("AZCOPS_SKIP_POSTGRES").as_deref() == Ok("1") => return None,
            _ => panic!("AZCOPS_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/start-postgres.sh)\"`"),
        };
        let name = format!("azcops_ingest_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&server).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
        admin.close().await;
        let (base, _) = server.rsplit_once('/').unwrap();
        Some(Self::Real { postgres_url: format!("{base}/{name}"), azurite })
    }
}

/// A sandbox, an app root with fast queue retries, and the settings the binary runs with.
pub struct World {
    _dir: tempfile::TempDir,
    /// The data directory (SQLite, local raw store).
    pub data: PathBuf,
    app: PathBuf,
    env: Vec<(String, String)>,
    sandbox: RunningSandbox,
}

impl World {
    /// Starts the sandbox (as of today: the pipeline's windows end yesterday and now) and lays
    /// out an app root whose host.json retries at once and poisons after three attempts.
    pub async fn start(backends: Backends, faults: FaultConfig) -> Self {
        Self::start_with(backends, faults, azcops::sandbox::control::LatencyConfig::None).await
    }

    /// As [`World::start`], with the sandbox answering after `latency`.
    pub async fn start_with(
        backends: Backends,
        faults: FaultConfig,
        latency: azcops::sandbox::control::LatencyConfig,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut options = SandboxOptions::new(ESTATE.parse().unwrap(), 7, chrono::Utc::now().date_naive());
        options.faults = faults;
        options.latency = latency;
        let sandbox = Sandbox::start(options).await.unwrap();
        let app = dir.path().join("app");
        copy_app(Path::new(env!("CARGO_MANIFEST_DIR")), &app);
        let mut env: Vec<(String, String)> = sandbox.exports();
        env.extend([
            ("AZCOPS_DEV_STORAGE_ROOT".to_owned(), data.display().to_string()),
            ("AZCOPS_AZURE_CREDENTIAL".to_owned(), "managed_identity".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ]);
        match backends {
            Backends::Embedded => env.extend([
                ("DATABASE_URL".to_owned(), format!("sqlite://{}", data.join("azcops.db").display())),
                ("AZCOPS_RAW_STORE".to_owned(), data.join("raw").display().to_string()),
                ("AzureWebJobsStorage".to_owned(), "memory".to_owned()),
            ]),
            Backends::Real { postgres_url, azurite } => env.extend([
                ("DATABASE_URL".to_owned(), postgres_url),
                ("AZCOPS_RAW_STORE".to_owned(), azurite.clone()),
                ("AzureWebJobsStorage".to_owned(), azurite),
            ]),
        }
        World { _dir: dir, data, app, env, sandbox }
    }

    fn setting(&self, key: &str) -> String {
        self.env.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Runs the binary with this world's settings.
    pub fn azcops(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_azcops"))
            .args(args)
            .current_dir(&self.app)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap()
    }

    /// Registers every tenant and discovers its subscriptions with the CLI.
    pub fn register_all(&self) {
        for tenant in &self.estate().tenants {
            check(
                &self.azcops(&["tenant", "add", "--name", &tenant.name, "--azure-tenant-id", &tenant.id]),
                "tenant add",
            );
            check(
                &self.azcops(&["subscription", "discover", "--tenant", &tenant.id]),
                "subscription discover",
            );
        }
    }

    /// A subscription of a customer tenant the identity cannot read (not delegated): its tenant's
    /// index and its id.
    pub fn unreadable_subscription(&self) -> (usize, String) {
        let estate = self.estate();
        let sub = estate
            .subscriptions
            .iter()
            .find(|s| s.tenant != 0 && !s.delegated)
            .expect("an undelegated subscription");
        (sub.tenant, sub.id.clone())
    }

    /// Puts a subscription in a tenant's store directly, as if it had been registered before
    /// its delegation was removed (registration itself refuses what ARM does not confirm).
    pub async fn insert_subscription(&self, tenant_index: usize, subscription_id: &str) {
        let store = self.store().await;
        let scope = self.scope_of(&store, tenant_index).await;
        let new = azcops::store::NewSubscription {
            subscription_id: subscription_id.to_owned(),
            display_name: "no longer delegated".into(),
            billing_scope: None,
        };
        store.add_subscription(&scope, &new, &azcops::store::Actor::named("test")).await.unwrap();
        store.close().await;
    }

    /// (actor, action) of every audit row of a tenant, oldest first.
    pub async fn audit_of(&self, tenant_index: usize) -> Vec<(String, String)> {
        let store = self.store().await;
        let scope = self.scope_of(&store, tenant_index).await;
        let page = store
            .list_audit(&scope, &azcops::store::AuditFilter::default(), PageRequest::new(1, 200).unwrap())
            .await
            .unwrap();
        store.close().await;
        page.items.into_iter().rev().map(|e| (e.actor, e.action)).collect()
    }

    /// Moves a subscription to another tenant of the estate, as its owner could in Azure.
    pub async fn move_subscription(&self, subscription_id: &str, to_tenant: usize) {
        let url = format!("{}/_sandbox/subscriptions/{subscription_id}/tenant", self.sandbox.base_url());
        let body = serde_json::json!({"tenant_id": self.estate().tenants[to_tenant].id});
        let reply = reqwest::Client::new().put(url).json(&body).send().await.unwrap();
        assert!(reply.status().is_success(), "move refused: {}", reply.status());
    }

    /// Curated rows of one subscription: resources and daily cost rows.
    pub async fn rows_of(&self, tenant_index: usize, subscription_id: &str) -> (u64, u64) {
        let store = self.store().await;
        let scope = self.scope_of(&store, tenant_index).await;
        let page = PageRequest::new(1, 1).unwrap();
        let resources =
            ResourceFilter { subscription_id: Some(subscription_id.to_owned()), ..Default::default() };
        let costs = CostFilter { subscription_id: Some(subscription_id.to_owned()), ..Default::default() };
        let counted = (
            store.list_resources(&scope, &resources, page).await.unwrap().total,
            store.list_costs(&scope, &costs, page).await.unwrap().total,
        );
        store.close().await;
        counted
    }

    /// Adds settings (before the binary is run).
    pub fn set(&mut self, key: &str, value: &str) {
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// The sandbox's base URL.
    pub fn sandbox_url(&self) -> &str {
        self.sandbox.base_url()
    }

    /// Starts `azcops dev` serving (no run) and returns it with its public base URL.
    pub fn serve(&self) -> (std::process::Child, String) {
        use std::io::{BufRead, BufReader};
        let app = self.app.display().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_azcops"))
            .args(["dev", "--app-root", &app, "--port", "0", "--no-timers"])
            .current_dir(&self.app)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let banner = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.contains("listening on http://127.0.0.1:"))
            .unwrap();
        // Keep draining the console so the emulator never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        let port: String = banner
            .split("http://127.0.0.1:")
            .nth(1)
            .unwrap()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (child, format!("http://127.0.0.1:{port}"))
    }

    /// Fires `nightly_ingest` through `azcops dev`, kills the handler process (not the emulator)
    /// once `ingest_subscription` invocations are under way, and waits until all work has
    /// drained: the emulator restarts the handler as the host does and the messages whose
    /// invocations died are delivered again.
    pub fn nightly_with_a_handler_crash(&self) -> (Output, String) {
        use std::io::{BufRead, BufReader};
        let app = self.app.display().to_string();
        let mut dev = Command::new(env!("CARGO_BIN_EXE_azcops"))
            .args([
                "dev",
                "--app-root",
                &app,
                "--port",
                "0",
                "--run",
                "nightly_ingest",
                "--until-idle",
                "--no-timers",
            ])
            .current_dir(&self.app)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut console = String::new();
        let mut lines = BufReader::new(dev.stdout.take().unwrap()).lines().map_while(Result::ok);
        for line in lines.by_ref() {
            console.push_str(&line);
            console.push('\n');
            if line.contains("Executing 'Functions.ingest_subscription'") {
                break;
            }
        }
        let handler = handler_of(dev.id()).expect("the handler child process");
        Command::new("kill").args(["-9", &handler.to_string()]).status().unwrap();
        for line in lines {
            console.push_str(&line);
            console.push('\n');
        }
        let status = dev.wait().unwrap();
        (Output { status, stdout: Vec::new(), stderr: Vec::new() }, console)
    }

    /// Fires `nightly_ingest` through `azcops dev` and waits until all work has drained.
    pub fn nightly(&self) -> Output {
        let app = self.app.display().to_string();
        self.azcops(&[
            "dev",
            "--app-root",
            &app,
            "--port",
            "0",
            "--run",
            "nightly_ingest",
            "--until-idle",
            "--no-timers",
        ])
    }

    /// The sandbox's estate.
    pub fn estate(&self) -> &Estate {
        self.sandbox.estate()
    }

    /// How many tenants the estate has.
    pub fn tenant_count(&self) -> usize {
        self.estate().tenants.len()
    }

    /// Puts an executed recommendation in tenant 0's first registered subscription (through
    /// the store's audited lifecycle, as a person would) and returns its id.
    pub async fn executed_recommendation(&self) -> String {
        let store = self.store().await;
        let scope = self.scope_of(&store, 0).await;
        let subscription = store.list_active_subscriptions(&scope).await.unwrap()[0].subscription_id.clone();
        let finding = azcops::store::RecommendationUpsert {
            subscription_id: subscription.clone(),
            resource_id: format!(
                "/subscriptions/{subscription}/resourcegroups/rg-gone/providers/microsoft.compute/disks/gone"
            ),
            rule_id: "waste.unattached_disk".into(),
            source: "rule".into(),
            category: "waste".into(),
            title: "Delete gone".into(),
            estimated_monthly_savings: 12.0,
            savings_basis: "observed_cost".into(),
            currency: "USD".into(),
            confidence_score: 0.9,
            risk_level: "low".into(),
            effort_level: "low".into(),
            priority_score: 10.0,
            evidence: serde_json::json!({}),
            detected_at: azcops::store::now(),
            duplicate_of: None,
        };
        store.upsert_recommendations(&scope, &[finding]).await.unwrap();
        let filter =
            azcops::store::RecommendationFilter { subscription_id: Some(subscription), ..Default::default() };
        let page =
            store.list_recommendations(&scope, &filter, PageRequest::new(1, 500).unwrap()).await.unwrap();
        let id = page.items.iter().find(|r| r.title == "Delete gone").unwrap().id.clone();
        for to in [RecommendationStatus::Approved, RecommendationStatus::Executed] {
            store.transition_recommendation(&scope, &id, to, "test", None).await.unwrap();
        }
        store.close().await;
        id
    }

    /// The realised savings stored for recommendation `id` of tenant 0.
    pub async fn realised_of(&self, id: &str) -> Vec<azcops::store::RealisedSavings> {
        let store = self.store().await;
        let scope = self.scope_of(&store, 0).await;
        let rows = store.realised_savings_of(&scope, &[id.to_owned()]).await.unwrap();
        store.close().await;
        rows
    }

    async fn store(&self) -> Store {
        Store::connect(&StoreConfig::for_url(&self.setting("DATABASE_URL"), 4).unwrap()).await.unwrap()
    }

    async fn scope_of(&self, store: &Store, index: usize) -> TenantScope {
        let tenant = store
            .platform_admin()
            .get_tenant_by_azure_tenant_id(&self.estate().tenants[index].id)
            .await
            .unwrap();
        TenantScope::from_trusted_trigger(tenant.id)
    }

    /// The AzCops tenant id and the items of the latest run of tenant `index`.
    pub async fn items_of_tenant(&self, index: usize) -> (String, Vec<IngestionItem>) {
        let store = self.store().await;
        let scope = self.scope_of(&store, index).await;
        let runs = store.list_runs(&scope, PageRequest::new(1, 1).unwrap()).await.unwrap();
        let run = store.get_run(&scope, &runs.items[0].id).await.unwrap();
        (scope.tenant_id().to_owned(), run.items)
    }

    /// Runs recorded across all tenants.
    pub async fn run_count(&self) -> usize {
        let store = self.store().await;
        let mut total = 0;
        for index in 0..self.tenant_count() {
            let scope = self.scope_of(&store, index).await;
            total += store.list_runs(&scope, PageRequest::new(1, 100).unwrap()).await.unwrap().total as usize;
        }
        total
    }

    /// The sandbox's request and fault counters.
    pub async fn sandbox_stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/_sandbox/stats", self.sandbox.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A hash of every curated resource and cost value (not the bookkeeping timestamps).
    pub async fn curated_checksum(&self) -> String {
        let store = self.store().await;
        let mut lines = Vec::new();
        for index in 0..self.tenant_count() {
            let scope = self.scope_of(&store, index).await;
            let mut page = 1;
            loop {
                let costs = store
                    .list_costs(&scope, &CostFilter::default(), PageRequest::new(page, 500).unwrap())
                    .await
                    .unwrap();
                for c in &costs.items {
                    lines.push(format!(
                        "{index}|{}|{}|{}|{}|{}|{}|{:.9}|{:.9}|{}",
                        c.subscription_id,
                        c.date,
                        c.resource_group,
                        c.service_name,
                        c.meter_category,
                        c.resource_id,
                        c.cost,
                        c.amortized_cost,
                        c.currency
                    ));
                }
                if u64::from(page) >= costs.total_pages {
                    break;
                }
                page += 1;
            }
            let mut page = 1;
            loop {
                let resources = store
                    .list_resources(&scope, &ResourceFilter::default(), PageRequest::new(page, 500).unwrap())
                    .await
                    .unwrap();
                for r in &resources.items {
                    lines.push(format!(
                        "{index}|{}|{}|{}|{}|{}|{}|{}",
                        r.resource_id,
                        r.name,
                        r.resource_type,
                        r.location,
                        r.resource_group,
                        serde_json::to_string(&r.tags.0).unwrap(),
                        r.properties.0
                    ));
                }
                if u64::from(page) >= resources.total_pages {
                    break;
                }
                page += 1;
            }
        }
        lines.sort();
        assert!(lines.len() > 100, "the curated layer is not empty");
        format!("{:x}", Sha256::digest(lines.join("\n").as_bytes()))
    }

    /// Every recommendation of every tenant, without the per-observation timestamp
    /// (`last_detected_at`), sorted.
    pub async fn recommendations(&self) -> Vec<String> {
        let store = self.store().await;
        let mut out = Vec::new();
        for index in 0..self.tenant_count() {
            let scope = self.scope_of(&store, index).await;
            let mut page = 1;
            loop {
                let filter = azcops::store::RecommendationFilter::default();
                let recs = store
                    .list_recommendations(&scope, &filter, PageRequest::new(page, 500).unwrap())
                    .await
                    .unwrap();
                for r in &recs.items {
                    out.push(format!(
                        "{}|{}|{}|{}|{:.6}|{}|{:?}|{}|{}|{}",
                        r.id,
                        r.resource_id,
                        r.rule_id,
                        r.source,
                        r.estimated_monthly_savings,
                        r.savings_basis,
                        r.status,
                        r.evidence.0,
                        r.first_detected_at,
                        r.updated_at
                    ));
                }
                if u64::from(page) >= recs.total_pages {
                    break;
                }
                page += 1;
            }
        }
        out.sort();
        out
    }

    /// Paths in the Azurite raw container.
    pub async fn azurite_raw_paths(&self) -> Vec<String> {
        let config = azcops::raw::RawConfig::from_source(&azcops::config::SettingsSource::from_pairs(
            self.env.clone(),
        ))
        .unwrap();
        azcops::raw::open(&config).await.unwrap().list("").await.unwrap()
    }

    /// Asserts the ledger, the curated counts and the raw layer match the estate exactly.
    pub async fn assert_exact_counts(&self, raw_paths: &[String]) {
        let estate = self.estate();
        let store = self.store().await;
        for (index, _) in estate.tenants.iter().enumerate() {
            let scope = self.scope_of(&store, index).await;
            let runs = store.list_runs(&scope, PageRequest::new(1, 10).unwrap()).await.unwrap();
            assert_eq!(runs.items.len(), 1, "one run per tenant");
            let run = store.get_run(&scope, &runs.items[0].id).await.unwrap();
            assert_eq!(run.run.status.to_string(), "succeeded");
            let mine: Vec<usize> =
                readable(estate).into_iter().filter(|s| estate.subscriptions[*s].tenant == index).collect();
            assert_eq!(run.items.len(), mine.len());
            for s in mine {
                let sub = &estate.subscriptions[s];
                let item = run.items.iter().find(|i| i.subscription_id == sub.id).unwrap();
                let counts: &BTreeMap<String, i64> = &item.counts.0;
                let resources = estate.sub_ranges[s].len() as i64;
                assert_eq!(counts["resources"], resources, "resources of {}", sub.id);
                assert_eq!(counts["costs_daily"], expected_cost_rows(estate, s), "cost rows of {}", sub.id);
                let vms = estate.resources[estate.sub_ranges[s].clone()]
                    .iter()
                    .filter(|r| matches!(r.kind, Kind::Vm { .. }))
                    .count();
                assert_eq!(counts["vm_metrics"], vms as i64, "VMs with metrics in {}", sub.id);
                let filter = ResourceFilter { subscription_id: Some(sub.id.clone()), ..Default::default() };
                let listed =
                    store.list_resources(&scope, &filter, PageRequest::new(1, 1).unwrap()).await.unwrap();
                assert_eq!(listed.total as i64, resources);
                let filter = CostFilter { subscription_id: Some(sub.id.clone()), ..Default::default() };
                let costs = store.list_costs(&scope, &filter, PageRequest::new(1, 1).unwrap()).await.unwrap();
                assert_eq!(costs.total as i64, counts["costs_daily"]);
                let snapshots = raw_paths
                    .iter()
                    .filter(|p| {
                        p.contains(&format!("/{}/", sub.id)) && p.ends_with(&format!("{}.json", run.run.id))
                    })
                    .count();
                assert_eq!(snapshots, 4, "one snapshot per connector for {}", sub.id);
                let manifests = raw_paths
                    .iter()
                    .filter(|p| {
                        p.starts_with(scope.tenant_id())
                            && p.contains("/manifests/")
                            && p.ends_with(&format!("{}.json", sub.id))
                    })
                    .count();
                assert_eq!(manifests, 1, "one manifest for {}", sub.id);
            }
        }
    }
}

/// Fails with the command's output unless it succeeded.
pub fn check(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every non-hidden file under `root`, as `/`-joined relative paths.
pub fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !entry.file_name().to_string_lossy().starts_with('.') {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
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
        let resources = &estate.resources[estate.sub_ranges[sub].clone()];
        rows += resources.iter().filter(|r| usage::day_cost(estate, r, day).is_some()).count() as i64;
    }
    rows
}

/// The repository's function app with queue retries at once and three attempts.
fn copy_app(repo: &Path, app: &Path) {
    let mut host: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("host.json")).unwrap()).unwrap();
    host["extensions"]["queues"]["visibilityTimeout"] = "00:00:00".into();
    host["extensions"]["queues"]["maxDequeueCount"] = 3.into();
    std::fs::create_dir_all(app.join("functions")).unwrap();
    std::fs::write(app.join("host.json"), serde_json::to_string_pretty(&host).unwrap()).unwrap();
    for entry in std::fs::read_dir(repo.join("functions")).unwrap() {
        let source = entry.unwrap().path();
        let target = app.join("functions").join(source.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        std::fs::copy(source.join("function.json"), target.join("function.json")).unwrap();
    }
}

/// The pid of the `azcops serve` child of process `parent`.
fn handler_of(parent: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children.split_whitespace().filter_map(|p| p.parse().ok()).find(|pid: &u32| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("serve"))
    })
}
