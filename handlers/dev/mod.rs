//! `azcops dev`: a local emulator of the Azure Functions host for machines without Core Tools.
//!
//! It reads `host.json` and `functions/*/function.json` (the same files production uses), starts
//! `azcops serve` as a child process exactly as the host does, and plays the host's side of the
//! custom-handler protocol with the same envelope types and encoding rules the handler decodes:
//! timers on their NCRONTAB schedules, storage queues with dequeue counts, visibility timeouts and
//! `<queue>-poison`, blob-created events for new blobs under the local storage root, the
//! `/admin/functions/{name}` manual-run call, and HTTP on port 7071 (raw forwarding for the `api`
//! function, envelopes for other HTTP functions).
//!
//! Queues and blob events live in memory and on the local filesystem by default, or on Azurite
//! (`AzureWebJobsStorage`). Not emulated: function-timeout process restarts, function keys
//! (`authLevel` is not enforced, as under Core Tools), blob output bindings, and the
//! `runtime/webhooks` Event Grid endpoints.

/// `println!` for the host's console: the terminal, or the log file when quiet.
macro_rules! say {
    ($($arg:tt)*) => { $crate::dev::console::out(&format!($($arg)*)) };
}

/// `eprintln!` for the host's console: the terminal, or the log file when quiet.
macro_rules! say_err {
    ($($arg:tt)*) => { $crate::dev::console::err(&format!($($arg)*)) };
}

mod blobs;
mod child;
pub mod console;
mod engine;
mod http;
mod invoker;
mod lifecycle;
mod queues;
mod routes;
mod storage;
mod timers;

use std::path::PathBuf;
use std::sync::Arc;

use crate::appdef::{AppDefError, AppDefinition};
use crate::azurite::StorageAccount;
use crate::config::{ConfigError, SettingsSource};
use crate::settings::Settings;

pub use engine::{Engine, queue_envelope, queue_messages};
pub use http::http_output_response;
pub use lifecycle::{PARENT_PIPE_ENV, parent_gone, stop_requested};
pub use queues::QueueMessage;
pub use queues::QueueService;
pub use routes::match_route;

/// Settings read by the emulator.
pub const SETTINGS: &[&str] = &["AzureWebJobsStorage", "AZCOPS_DEV_STORAGE_ROOT", "FUNCTIONS_WORKER_RUNTIME"];

/// What to run locally (`azcops dev`'s arguments, or what `azcops demo` asks for).
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// The function app root (holding host.json and functions/).
    pub app_root: PathBuf,
    /// Public HTTP port, as Core Tools' 7071.
    pub port: u16,
    /// Functions fired once at start, like the admin manual-run call.
    pub run: Vec<String>,
    /// Exit once every started invocation, queued message and blob event has been handled.
    pub until_idle: bool,
    /// Do not fire timers on their schedules (manual runs still work).
    pub no_timers: bool,
    /// The handler binary to start; `None` for this executable.
    pub handler: Option<PathBuf>,
}

/// Where the emulator keeps queues and watches for new blobs.
#[derive(Debug, Clone)]
pub enum StorageMode {
    /// In-memory queues; blob events from files under the local storage root.
    Memory,
    /// Queues and blob events on Azurite.
    Azurite(Box<StorageAccount>),
}

/// Emulator settings.
#[derive(Debug, Clone)]
pub struct DevConfig {
    /// Local blob storage root: each sub-directory is a container (`<root>/raw/...`).
    pub storage_root: PathBuf,
    /// Queue and blob storage.
    pub storage: StorageMode,
}

impl DevConfig {
    /// Reads `AZCOPS_DEV_STORAGE_ROOT` (default `data`) and `AzureWebJobsStorage`: unset or
    /// `memory` for in-memory queues, `UseDevelopmentStorage=true` or an Azurite connection string
    /// for Azurite.
    ///
    /// # Errors
    /// `AzureWebJobsStorage` is neither form.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let storage = match source.get("AzureWebJobsStorage") {
            None => StorageMode::Memory,
            Some(text) if text.eq_ignore_ascii_case("memory") => StorageMode::Memory,
            Some(text) => StorageMode::Azurite(Box::new(StorageAccount::from_connection_string(
                "AzureWebJobsStorage",
                text,
            )?)),
        };
        Ok(Self { storage_root: source.get("AZCOPS_DEV_STORAGE_ROOT").unwrap_or("data").into(), storage })
    }
}

/// Why the emulator stopped.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The app definition is invalid.
    #[error(transparent)]
    AppDef(#[from] AppDefError),
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The handler process could not be started or never became ready.
    #[error("handler: {0}")]
    Handler(String),
    /// A port or file could not be used.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The curated store could not be migrated.
    #[error("curated store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// `--run` named a function the app does not have.
    #[error("no function named `{0}` in the app")]
    UnknownFunction(String),
}

/// A running local host: the handler child process, the emulator and the public listener.
pub struct LocalHost {
    engine: Arc<Engine>,
    public: http::PublicServer,
}

impl LocalHost {
    /// Loads the app, migrates the curated store, starts the handler and the emulator.
    ///
    /// # Errors
    /// Invalid app definition or settings, a store that cannot be migrated, or a handler that
    /// does not start.
    pub async fn start(args: &DevOptions, settings: &Settings) -> Result<Self, DevError> {
        let app = AppDefinition::load(&args.app_root)?;
        let config = settings.dev.clone();
        for name in &args.run {
            if app.function(name).is_none() {
                return Err(DevError::UnknownFunction(name.clone()));
            }
        }
        // Local modes keep the curated schema current before the handler starts.
        crate::store::migrate(&settings.store).await?;
        let handler = match &args.handler {
            Some(path) => path.clone(),
            None => std::env::current_exe()?,
        };
        let child = child::Supervisor::start(&app, handler, settings.source()).await?;
        let engine = Arc::new(Engine::new(app, config, child));
        let public = http::bind(engine.clone(), args.port).await?;
        engine.start_background(!args.no_timers).await;
        engine.print_banner(public.port);
        Ok(Self { engine, public })
    }

    /// Runs a non-HTTP function once, as the admin call does, and returns when it finished.
    pub async fn run_function(&self, name: &str) {
        self.engine.run_manually(name, None).await;
    }

    /// Waits until every invocation, queued message and blob event has been handled.
    pub async fn wait_until_idle(&self) {
        self.engine.wait_until_idle().await;
    }

    /// The public port.
    pub fn port(&self) -> u16 {
        self.public.port
    }

    /// Stops the listener, the emulator and the handler.
    pub async fn stop(self) {
        self.engine.shutdown().await;
        self.public.stop();
    }
}

/// Runs the emulator until Ctrl-C or SIGTERM (or until idle with `--until-idle`), then stops the
/// handler before returning.
///
/// # Errors
/// The app definition or settings are invalid, or the handler cannot be started.
pub async fn run(args: DevOptions, settings: &Settings) -> Result<(), DevError> {
    // Listening before the handler starts: a stop request at any point ends in `host.stop()`.
    let stop = stop_requested();
    let host = LocalHost::start(&args, settings).await?;
    let work = async {
        for name in &args.run {
            host.run_function(name).await;
        }
        if args.until_idle {
            host.wait_until_idle().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! { () = work => {}, () = stop => {} }
    host.stop().await;
    Ok(())
}
