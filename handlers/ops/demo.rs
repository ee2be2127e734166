//! `azcops demo`: the whole pipeline on the embedded default against the sandbox, in one command.
//!
//! Starts the sandbox with a demo estate, registers its tenants and discovers their
//! subscriptions through ARM (Lighthouse included), starts the local host emulator and the
//! handler on the embedded store (SQLite) and raw store (`data/raw`), fires `nightly_ingest`,
//! waits for the fan-out and every blob-triggered rule run, prints the summary, and keeps serving
//! the API on `http://127.0.0.1:7071` until Ctrl-C or SIGTERM, which stop the handler child too.
//!
//! The console shows progress and the summary; the host's per-invocation lines, the handler's
//! logs (every Azure request) and the discovery processes' logs go to `<data-dir>/demo.log`, or
//! to the console with `--verbose`.

use std::path::{Path, PathBuf};

use crate::application::Application;
use crate::config::SettingsSource;
use crate::dev::{DevOptions, LocalHost};
use crate::sandbox::{Sandbox, SandboxOptions};
use crate::settings::Settings;
use crate::store::{NewTenant, PageRequest, TenantScope, TenantType};

use super::OpsError;

/// `azcops demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Public HTTP port of the local host.
    #[arg(long, default_value_t = 7071)]
    pub port: u16,
    /// The sandbox estate (see `azcops sandbox --help`).
    #[arg(long, default_value = "demo")]
    pub estate: String,
    /// Estate seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where the embedded store, raw snapshots and sandbox files go.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Exit after the run instead of serving the API.
    #[arg(long)]
    pub no_serve: bool,
    /// Show every invocation and Azure request on the console instead of in `<data-dir>/demo.log`.
    #[arg(long)]
    pub verbose: bool,
}

/// The log file of a quiet demo, under its data directory.
pub const LOG_FILE: &str = "demo.log";

/// How often the progress line is refreshed while the demo ingests.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs the demo.
///
/// # Errors
/// The sandbox, store, discovery or local host fail to start, or the run fails.
pub async fn run(args: DemoArgs, app: &Application) -> Result<(), OpsError> {
    // Listening from the start: Ctrl-C or SIGTERM at any point stops the handler child.
    let mut stop = std::pin::pin!(crate::dev::stop_requested());
    let log = (!args.verbose).then(|| args.data_dir.join(LOG_FILE));
    if let Some(path) = &log {
        crate::dev::console::log_to(path)
            .map_err(|e| OpsError::Invalid(format!("cannot create {}: {e}", path.display())))?;
        println!(
            "Details (every invocation and Azure request) go to {}; --verbose shows them here.",
            path.display()
        );
    }
    let spec = args.estate.parse().map_err(|e| OpsError::Invalid(format!("--estate: {e}")))?;
    let mut options = SandboxOptions::new(spec, args.seed, chrono::Utc::now().date_naive());
    options.out_dir = Some(args.data_dir.join("sandbox"));
    let sandbox = Sandbox::start(options).await.map_err(|e| OpsError::Invalid(format!("sandbox: {e}")))?;
    println!("sandbox serving a simulated Azure at {}", sandbox.base_url());
    let first_tenant = sandbox.estate().tenants.first().map(|t| t.id.clone());
    let demo = Application::build(Settings::load(demo_settings(
        app.settings().source(),
        &args,
        sandbox.exports(),
        first_tenant.as_deref(),
    ))?)?;
    let source = demo.settings().source();
    let store = demo.migrated_store().await?;
    let tenants: Vec<String> = sandbox.estate().tenants.iter().map(|t| t.id.clone()).collect();
    for (index, azure_tenant_id) in tenants.iter().enumerate() {
        register_tenant(&store, index, azure_tenant_id, &sandbox.estate().tenants[index].name).await?;
        discover(source, azure_tenant_id, log.as_deref()).await?;
    }
    let dev = DevOptions {
        app_root: PathBuf::from("."),
        port: args.port,
        run: Vec::new(),
        until_idle: false,
        no_timers: true,
        handler: None,
    };
    // A signed delivery a new user can watch: a local receiver and a channel of the first tenant.
    let first_scope = match tenants.first() {
        Some(t) => Some(crate::store::TenantScope::from_trusted_trigger(
            store.platform_admin().get_tenant_by_azure_tenant_id(t).await?.id,
        )),
        None => None,
    };
    if let Some(scope) = &first_scope {
        let url = super::channels::start_demo_receiver().await?;
        super::channels::configure_demo_channel(&demo, scope, &url).await?;
    }
    let host = LocalHost::start(&dev, demo.settings()).await?;
    println!("Ingesting every subscription, then evaluating the rules…");
    let ingest = async {
        host.run_function("nightly_ingest").await;
        host.wait_until_idle().await;
    };
    tokio::select! {
        () = ingest => {}
        () = report_progress(&store, &tenants) => {}
        () = &mut stop => {
            host.stop().await;
            store.close().await;
            return Ok(());
        }
    }
    print_summary(&store, &tenants).await?;
    if let Some(scope) = &first_scope {
        super::channels::deliver_inline(&demo, std::slice::from_ref(&scope.tenant_id().to_owned())).await;
    }
    if args.no_serve {
        host.stop().await;
    } else {
        let token = demo_token(sandbox.base_url(), &tenants[0]).await?;
        println!(
            "\nDashboard at http://127.0.0.1:{}/ : sign in on the sandbox's page as a Reader, Approver or Admin \
             of any demo tenant, or as the platform admin.",
            host.port()
        );
        let api = format!("http://127.0.0.1:{}/api", host.port());
        println!(
            "\nAPI at {api} (docs: {api}/docs). A token for the first tenant (Reader, Approver, Admin; 1 hour):"
        );
        println!("  export TOKEN={token}");
        println!("  curl -H \"Authorization: Bearer $TOKEN\" {api}/v1/recommendations/summary");
        println!("Ctrl-C to stop.");
        stop.await;
        host.stop().await;
    }
    store.close().await;
    Ok(())
}

/// The demo's settings: the user's, then the sandbox's exports and the embedded defaults.
fn demo_settings(
    source: &SettingsSource,
    args: &DemoArgs,
    exports: Vec<(String, String)>,
    first_tenant: Option<&str>,
) -> SettingsSource {
    let mut source = source.clone();
    for (key, value) in exports {
        source.set(key, value);
    }
    let data = args.data_dir.display().to_string();
    source.set("DATABASE_URL", format!("sqlite://{data}/azcops.db"));
    source.set("AZCOPS_RAW_STORE", format!("{data}/raw"));
    source.set("AZCOPS_DEV_STORAGE_ROOT", data);
    source.set("AzureWebJobsStorage", "memory");
    source.set("AZCOPS_AZURE_CREDENTIAL", "managed_identity");
    // Notifications reach the demo's loopback receiver, sealed under a demo-only key.
    source.set("AZCOPS_NOTIFY_ALLOW_LOOPBACK", "true");
    if source.get("AZCOPS_NOTIFY_SECRET_KEY").is_none_or(str::is_empty) {
        source.set("AZCOPS_NOTIFY_SECRET_KEY", super::channels::DEMO_SECRET_KEY);
    }
    // The sandbox is also the identity provider, so the API accepts the tokens it mints.
    if let Some(base) = source.get("AZCOPS_ARM_ENDPOINT").map(str::to_owned) {
        source.set("AZCOPS_AUTH_AUTHORITY", base);
    }
    source.set("AZCOPS_AUTH_AUDIENCE", crate::sandbox::entra::DEFAULT_AUDIENCE);
    // The dashboard signs in against the sandbox too; the session key is new each run, so a
    // restart signs everyone out.
    if source.get("AZCOPS_WEB_CLIENT_ID").is_none() {
        source.set("AZCOPS_WEB_CLIENT_ID", DEMO_WEB_CLIENT_ID);
        source.set("AZCOPS_WEB_CLIENT_SECRET", "sandbox-development-secret");
        source.set(
            "AZCOPS_SESSION_KEY",
            format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()),
        );
    }
    // The sandbox's first tenant manages the others, so its platform admin is the demo's.
    if source.get("AZCOPS_CONTROL_PLANE_TENANT").is_none()
        && let Some(first) = first_tenant
    {
        source.set("AZCOPS_CONTROL_PLANE_TENANT", first);
    }
    source
}

/// The dashboard's client id in the demo (the sandbox accepts any).
pub const DEMO_WEB_CLIENT_ID: &str = "azcops-dashboard-dev";

async fn register_tenant(
    store: &crate::store::Store,
    index: usize,
    azure_tenant_id: &str,
    name: &str,
) -> Result<(), OpsError> {
    let admin = store.platform_admin();
    if admin.get_tenant_by_azure_tenant_id(azure_tenant_id).await.is_ok() {
        return Ok(());
    }
    // The sandbox's first tenant is the managing one; the others reach AzCops through Lighthouse.
    let tenant_type = if index == 0 { TenantType::Internal } else { TenantType::External };
    let new = NewTenant { name: name.to_owned(), azure_tenant_id: azure_tenant_id.to_owned(), tenant_type };
    admin.create_tenant(&new, &crate::store::Actor::named("system:demo")).await?;
    Ok(())
}

/// Prints a progress line whenever the subscriptions ingested so far change; never returns (the
/// caller stops polling it when the run is idle).
async fn report_progress(store: &crate::store::Store, tenants: &[String]) {
    let mut last = None;
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    loop {
        tick.tick().await;
        let Ok(now) = progress(store, tenants).await else { continue };
        if last != Some(now) && now.1 > 0 {
            println!("  {} of {} subscriptions ingested, {} failed", now.0, now.1, now.2);
            last = Some(now);
        }
    }
}

/// (finished, total, failed) items of each tenant's latest run.
async fn progress(
    store: &crate::store::Store,
    tenants: &[String],
) -> Result<(usize, usize, usize), OpsError> {
    use crate::store::ItemStatus;
    let (mut done, mut total, mut failed) = (0, 0, 0);
    for azure_tenant_id in tenants {
        let tenant = store.platform_admin().get_tenant_by_azure_tenant_id(azure_tenant_id).await?;
        let scope = TenantScope::from_trusted_trigger(tenant.id);
        let runs = store.list_runs(&scope, PageRequest::new(1, 1)?).await?;
        let Some(run) = runs.items.first() else { continue };
        let run = store.get_run(&scope, &run.id).await?;
        total += run.items.len();
        done += run
            .items
            .iter()
            .filter(|i| matches!(i.status, ItemStatus::Succeeded | ItemStatus::Failed))
            .count();
        failed += run.items.iter().filter(|i| i.status == ItemStatus::Failed).count();
    }
    Ok((done, total, failed))
}

/// Discovers subscriptions in a child process: azure_identity reads the managed-identity
/// endpoint from the process environment, which this process must not change at run time. Its
/// logs go to `log` when the demo is quiet; its report lines stay on the console.
async fn discover(
    source: &SettingsSource,
    azure_tenant_id: &str,
    log: Option<&Path>,
) -> Result<(), OpsError> {
    let exe = std::env::current_exe()
        .map_err(|e| OpsError::Invalid(format!("cannot find this executable: {e}")))?;
    let mut command = tokio::process::Command::new(exe);
    command.args(["subscription", "discover", "--tenant", azure_tenant_id]).env_clear().envs(source.pairs());
    if let Some(path) = log {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| OpsError::Invalid(format!("cannot open {}: {e}", path.display())))?;
        command.stderr(file);
    }
    let status = command
        .status()
        .await
        .map_err(|e| OpsError::Invalid(format!("cannot run subscription discovery: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(OpsError::Invalid(format!(
            "subscription discovery for tenant {azure_tenant_id} failed ({status})"
        )))
    }
}

async fn print_summary(store: &crate::store::Store, tenants: &[String]) -> Result<(), OpsError> {
    println!(
        "\n{:<38} {:<18} {:>6} {:>10} {:>10} {:>9}",
        "tenant", "run", "subs", "resources", "cost rows", "failed"
    );
    for azure_tenant_id in tenants {
        let tenant = store.platform_admin().get_tenant_by_azure_tenant_id(azure_tenant_id).await?;
        let scope = TenantScope::from_trusted_trigger(tenant.id);
        let runs = store.list_runs(&scope, PageRequest::new(1, 1)?).await?;
        let Some(run) = runs.items.first() else {
            println!("{azure_tenant_id:<38} {:<18}", "no run");
            continue;
        };
        let run = store.get_run(&scope, &run.id).await?;
        let sum =
            |key: &str| -> i64 { run.items.iter().map(|i| i.counts.0.get(key).copied().unwrap_or(0)).sum() };
        let failed = run.items.iter().filter(|i| i.status == crate::store::ItemStatus::Failed).count();
        println!(
            "{azure_tenant_id:<38} {:<18} {:>6} {:>10} {:>10} {:>9}",
            run.run.status.to_string(),
            run.items.len(),
            sum("resources"),
            sum("costs_daily"),
            failed
        );
    }
    Ok(())
}

/// Mints a development token for the demo's first tenant from the sandbox's identity provider.
async fn demo_token(sandbox: &str, azure_tenant_id: &str) -> Result<String, OpsError> {
    let body = serde_json::json!({
        "tid": azure_tenant_id,
        "roles": ["AzCops.Reader", "AzCops.Approver", "AzCops.Admin"],
        "name": "Demo operator",
    });
    let minted: serde_json::Value = reqwest::Client::new()
        .post(format!("{sandbox}/_sandbox/user-token"))
        .json(&body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| OpsError::Invalid(format!("cannot mint a demo token: {e}")))?
        .json()
        .await
        .map_err(|e| OpsError::Invalid(format!("cannot mint a demo token: {e}")))?;
    minted["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| OpsError::Invalid("the sandbox minted no token".into()))
}
