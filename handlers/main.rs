//! Command-line entry point: parses arguments and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use azcops::config::{self, SettingsSource};
use azcops::telemetry::{self, TelemetryConfig};

/// AzCops — serverless, multi-tenant Azure FinOps control plane.
#[derive(Parser)]
#[command(name = "azcops", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve invocations as the Functions host's custom handler (default when
    /// FUNCTIONS_CUSTOMHANDLER_PORT is set).
    Serve(ServeArgs),
    /// Run the function app locally: a host emulator with timers, queues, blob events and HTTP.
    Dev(azcops::dev::DevArgs),
    /// Print the resolved configuration (secrets redacted) and validate it.
    Config(ConfigArgs),
    /// Apply the curated store's migrations to DATABASE_URL.
    Migrate(azcops::ops::migrate::MigrateArgs),
    /// Manage the Entra tenants AzCops works for.
    Tenant(azcops::ops::tenants::TenantArgs),
    /// Manage a tenant's subscriptions (add, discover through ARM and Lighthouse, list).
    Subscription(azcops::ops::subscriptions::SubscriptionArgs),
    /// Plan a run and ingest its subscriptions in this process.
    Ingest(azcops::ops::ingest::IngestArgs),
    /// Re-run the rule engine on stored snapshots (a day's manifests).
    Evaluate(azcops::ops::evaluate::EvaluateArgs),
    /// The whole pipeline on the embedded default against the sandbox, then serve the API.
    Demo(azcops::ops::demo::DemoArgs),
    /// Serve a simulated Azure (ARM, Resource Graph, Cost Management, Advisor, Monitor, Retail
    /// Prices, token endpoints) over a generated estate with ground truth.
    Sandbox(azcops::sandbox::cli::SandboxArgs),
    /// Run one Azure connector for one subscription and print the mapped rows as JSON lines.
    Collect(azcops::ops::collect::CollectArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Port to listen on; defaults to FUNCTIONS_CUSTOMHANDLER_PORT.
    #[arg(long)]
    port: Option<u16>,
}

#[derive(clap::Args)]
struct ConfigArgs {
    /// The local settings file to read (local modes only).
    #[arg(long, default_value = "local.settings.json")]
    settings_file: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = match cli.command {
        Some(c) => c,
        None if std::env::var_os("FUNCTIONS_CUSTOMHANDLER_PORT").is_some() => {
            Command::Serve(ServeArgs { port: None })
        }
        None => anyhow::bail!("no command given; run `azcops --help`"),
    };
    match command {
        Command::Serve(args) => serve(args).await.map(|()| ExitCode::SUCCESS),
        Command::Dev(args) => {
            let source = SettingsSource::from_env_and_local_file(&args.app_root.join("local.settings.json"))?;
            init_telemetry(&source, true)?;
            azcops::dev::run(args, source).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(args) => print_config(&args),
        Command::Migrate(args) => {
            let source =
                SettingsSource::from_env_and_local_file(std::path::Path::new("local.settings.json"))?;
            init_telemetry(&source, true)?;
            azcops::ops::migrate::run(args, &source).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(args) => {
            let source = local_source()?;
            azcops::ops::tenants::run(args, &source).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Subscription(args) => {
            let source = local_source()?;
            azcops::ops::subscriptions::run(args, &source).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest(args) => {
            let source = local_source()?;
            azcops::ops::ingest::run(args, &source).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate(args) => {
            let source = local_source()?;
            azcops::ops::evaluate::run(args, &source).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let source = local_source()?;
            azcops::ops::demo::run(args, &source).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sandbox(args) => {
            init_telemetry(&SettingsSource::from_env(), true)?;
            azcops::sandbox::cli::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Collect(args) => {
            let source =
                SettingsSource::from_env_and_local_file(std::path::Path::new("local.settings.json"))?;
            init_telemetry(&source, true)?;
            azcops::ops::collect::run(args, &source).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Settings of a local command (`local.settings.json` under the environment), with logging set up.
fn local_source() -> anyhow::Result<SettingsSource> {
    let source = SettingsSource::from_env_and_local_file(std::path::Path::new("local.settings.json"))?;
    init_telemetry(&source, true)?;
    Ok(source)
}

fn init_telemetry(source: &SettingsSource, local: bool) -> anyhow::Result<()> {
    let mut config = TelemetryConfig::from_source(source)?;
    if local && source.get("AZCOPS_LOG_FORMAT").is_none() {
        config.format = telemetry::LogFormat::Text;
    }
    let target = if local { telemetry::LogTarget::Stderr } else { telemetry::LogTarget::Stdout };
    telemetry::init(&config, target);
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let source = SettingsSource::from_env();
    init_telemetry(&source, false)?;
    let port = match args.port {
        Some(p) => p,
        None => source.parse_or::<u16>("FUNCTIONS_CUSTOMHANDLER_PORT", 0)?,
    };
    if port == 0 {
        anyhow::bail!("setting FUNCTIONS_CUSTOMHANDLER_PORT is required (or pass --port)");
    }
    let app_root = source.get("FUNCTIONS_APP_ROOT_PATH").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let host = azcops::appdef::load_host_config(&app_root.join("host.json"))
        .context("reading host.json from FUNCTIONS_APP_ROOT_PATH")?;
    let diagnostics = azcops::state::DiagnosticOptions::from_source(&source)?;
    let store = azcops::store::Store::connect_lazy(&azcops::store::StoreConfig::from_source(&source)?)?;
    let ingest = ingest_context(&source, &store).await;
    if let Err(why) = &ingest {
        tracing::warn!(reason = %why, "ingestion is not available in this process");
    }
    // Ingestion's client when there is one (one governor paces every ARM call of the process);
    // otherwise a client of its own, so registrations can still be verified.
    let azure = match &ingest {
        Ok(ctx) => Ok(ctx.arm.clone()),
        Err(_) => {
            azcops::azure::AzureConfig::from_source(&source).map_err(|e| e.to_string()).and_then(|config| {
                azcops::azure::ArmClient::from_config(config).map_err(|e| format!("Azure client: {e}"))
            })
        }
    };
    let state = azcops::state::AppState::with_store(store, diagnostics, ingest)
        .with_azure(azure)
        .with_api(azcops::api::ApiConfig::from_source(&source)?)
        .with_web(azcops::web::WebConfig::from_source(&source)?);
    let api_mount = azcops::appdef::api_mount(&app_root, &host);
    let app = azcops::app::Application::bind(port, &api_mount, state).await?;
    tracing::info!(port = app.port(), api_mount = %api_mount, "custom handler listening");
    // Started by `azcops dev`/`azcops demo`: never outlive the emulator, however it ended.
    tokio::select! {
        served = app.run_until(shutdown_signal()) => served?,
        () = azcops::dev::parent_gone() => {
            tracing::warn!("the local host that started this handler is gone; exiting");
        }
    }
    Ok(())
}

/// The ingestion pipeline for the handler, or why it cannot run (the functions that need it then
/// fail with that reason instead of the handler refusing to start).
async fn ingest_context(
    source: &SettingsSource,
    store: &azcops::store::Store,
) -> Result<azcops::ingest::IngestContext, String> {
    let raw_config = azcops::raw::RawConfig::from_source(source).map_err(|e| e.to_string())?;
    let raw = azcops::raw::open(&raw_config).await.map_err(|e| format!("raw store: {e}"))?;
    let azure = azcops::azure::AzureConfig::from_source(source).map_err(|e| e.to_string())?;
    let arm = azcops::azure::ArmClient::from_config(azure).map_err(|e| format!("Azure client: {e}"))?;
    let config = azcops::ingest::IngestConfig::from_source(source).map_err(|e| e.to_string())?;
    Ok(azcops::ingest::IngestContext { store: store.clone(), raw, arm, config })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}

fn print_config(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let source = SettingsSource::from_env_and_local_file(&args.settings_file)?;
    for key in config::registered_settings() {
        let shown = source.get(key).map_or_else(|| "(unset)".to_owned(), |v| config::display_value(key, v));
        println!("{key}={shown}");
    }
    let problems = azcops::validate_settings(&source);
    for problem in &problems {
        eprintln!("invalid: {problem}");
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
