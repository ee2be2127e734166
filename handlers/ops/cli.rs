//! The command line: every subcommand, its arguments, and how each is started.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::application::Application;
use crate::config::{self, SettingsSource};
use crate::settings::Settings;
use crate::telemetry;

/// AzCops — serverless, multi-tenant Azure FinOps control plane.
#[derive(Parser)]
#[command(name = "azcops", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve invocations as the Functions host's custom handler (default when
    /// FUNCTIONS_CUSTOMHANDLER_PORT is set).
    Serve(super::serve::ServeArgs),
    /// Run the function app locally: a host emulator with timers, queues, blob events and HTTP.
    Dev(super::dev::DevArgs),
    /// Print the resolved configuration (secrets redacted) and validate it.
    Config(ConfigArgs),
    /// Apply the curated store's migrations to DATABASE_URL.
    Migrate(super::migrate::MigrateArgs),
    /// Manage the Entra tenants AzCops works for.
    Tenant(super::tenants::TenantArgs),
    /// Manage a tenant's subscriptions (add, discover through ARM and Lighthouse, list).
    Subscription(super::subscriptions::SubscriptionArgs),
    /// Plan a run and ingest its subscriptions in this process.
    Ingest(super::ingest::IngestArgs),
    /// Re-run the rule engine on stored snapshots (a day's manifests).
    Evaluate(super::evaluate::EvaluateArgs),
    /// The whole pipeline on the embedded default against the sandbox, then serve the API.
    Demo(super::demo::DemoArgs),
    /// Serve a simulated Azure (ARM, Resource Graph, Cost Management, Advisor, Monitor, Retail
    /// Prices, token endpoints) over a generated estate with ground truth.
    Sandbox(super::sandbox::SandboxArgs),
    /// Run one Azure connector for one subscription and print the mapped rows as JSON lines.
    Collect(super::collect::CollectArgs),
    /// Manage a tenant's notification channels (add, list, test).
    Channel(super::channels::ChannelArgs),
    /// Recompute the cost rollups from costs_daily (`rollups rebuild [--tenant T]`).
    Rollups(super::rollups::RollupsArgs),
    /// Cost Management exports: ingest one run (`exports ingest`), set a subscription's cost source.
    Exports(super::exports::ExportsArgs),
    /// Realised savings of executed recommendations (`savings verify --tenant T [--as-of DATE]`).
    Savings(super::savings::SavingsArgs),
}

#[derive(clap::Args)]
struct ConfigArgs {
    /// The local settings file to read (local modes only).
    #[arg(long, default_value = "local.settings.json")]
    settings_file: PathBuf,
}

/// Where a command runs, which decides where its settings and logs come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Started by the Functions host: the environment only, JSON logs on stdout.
    Hosted,
    /// A local command: `local.settings.json` under the environment, text logs on stderr.
    Local,
}

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the command fails with; `main` prints it.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = match cli.command {
        Some(c) => c,
        None if std::env::var_os("FUNCTIONS_CUSTOMHANDLER_PORT").is_some() => {
            Command::Serve(super::serve::ServeArgs::default())
        }
        None => anyhow::bail!("no command given; run `azcops --help`"),
    };
    match command {
        Command::Config(args) => return print_config(&args),
        Command::Serve(args) => {
            let settings = load(SettingsSource::from_env(), Mode::Hosted)?;
            super::serve::run(args, Application::build(settings)?).await?;
        }
        Command::Dev(args) => {
            let file = args.app_root.join("local.settings.json");
            let settings = load(SettingsSource::from_env_and_local_file(&file)?, Mode::Local)?;
            crate::dev::run(args.into(), &settings).await?;
        }
        Command::Migrate(args) => {
            let settings =
                load(SettingsSource::from_env_and_local_file(Path::new(LOCAL_SETTINGS))?, Mode::Local)?;
            super::migrate::run(args, &settings.store).await?;
        }
        Command::Sandbox(args) => {
            load(SettingsSource::from_env(), Mode::Local)?;
            super::sandbox::run(args).await?;
        }
        Command::Tenant(args) => super::tenants::run(args, &local_app()?).await?,
        Command::Subscription(args) => super::subscriptions::run(args, &local_app()?).await?,
        Command::Ingest(args) => super::ingest::run(args, &local_app()?).await?,
        Command::Evaluate(args) => super::evaluate::run(args, &local_app()?).await?,
        Command::Demo(args) => super::demo::run(args, &local_app()?).await?,
        Command::Collect(args) => super::collect::run(args, local_app()?.arm()?).await?,
        Command::Rollups(args) => super::rollups::run(args, &local_app()?).await?,
        Command::Channel(args) => super::channels::run(args, &local_app()?).await?,
        Command::Exports(args) => super::exports::run(args, &local_app()?).await?,
        Command::Savings(args) => super::savings::run(args, &local_app()?).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The settings file of local commands, read from the working directory.
const LOCAL_SETTINGS: &str = "local.settings.json";

/// The application of a local command: `local.settings.json` under the environment.
fn local_app() -> anyhow::Result<Application> {
    let settings = load(SettingsSource::from_env_and_local_file(Path::new(LOCAL_SETTINGS))?, Mode::Local)?;
    Ok(Application::build(settings)?)
}

/// Loads the settings once and starts logging as they say.
fn load(source: SettingsSource, mode: Mode) -> anyhow::Result<Settings> {
    let settings = Settings::load(source)?;
    let mut logging = settings.telemetry.clone();
    // Local commands are read by people: text unless the operator asked for JSON.
    if mode == Mode::Local && settings.source().get("AZCOPS_LOG_FORMAT").is_none() {
        logging.format = telemetry::LogFormat::Text;
    }
    let target = match mode {
        Mode::Local => telemetry::LogTarget::Stderr,
        Mode::Hosted => telemetry::LogTarget::Stdout,
    };
    let export_identity = (mode == Mode::Hosted).then_some(&settings.azure);
    telemetry::init(&logging, target, export_identity);
    Ok(settings)
}

fn print_config(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let source = SettingsSource::from_env_and_local_file(&args.settings_file)?;
    for key in Settings::keys() {
        let shown = source.get(key).map_or_else(|| "(unset)".to_owned(), |v| config::display_value(key, v));
        println!("{key}={shown}");
    }
    let problems = Settings::load(source).err().map(|e| e.problems).unwrap_or_default();
    for problem in &problems {
        eprintln!("invalid: {problem}");
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
