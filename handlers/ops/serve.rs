//! `azcops serve`: the custom handler the Functions host starts.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::application::Application;

/// Arguments of `azcops serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on; defaults to FUNCTIONS_CUSTOMHANDLER_PORT.
    #[arg(long)]
    pub port: Option<u16>,
}

/// Serves invocations and the API until SIGTERM or Ctrl-C, or until the local host that started
/// this process is gone.
///
/// # Errors
/// No port, an unreadable `host.json`, or a server that cannot bind.
pub async fn run(args: ServeArgs, app: Application) -> anyhow::Result<()> {
    let source = app.settings().source();
    let port = match args.port {
        Some(p) => p,
        None => source.parse_or::<u16>("FUNCTIONS_CUSTOMHANDLER_PORT", 0)?,
    };
    if port == 0 {
        anyhow::bail!("setting FUNCTIONS_CUSTOMHANDLER_PORT is required (or pass --port)");
    }
    let app_root = source.get("FUNCTIONS_APP_ROOT_PATH").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let host = crate::appdef::load_host_config(&app_root.join("host.json"))
        .context("reading host.json from FUNCTIONS_APP_ROOT_PATH")?;
    let state = app.handler_state().await;
    let api_mount = crate::appdef::api_mount(&app_root, &host);
    let server = crate::app::Server::bind(port, &api_mount, state).await?;
    tracing::info!(port = server.port(), api_mount = %api_mount, "custom handler listening");
    // Started by `azcops dev`/`azcops demo`: never outlive the emulator, however it ended.
    tokio::select! {
        served = server.run_until(shutdown_signal()) => served?,
        () = crate::dev::parent_gone() => {
            tracing::warn!("the local host that started this handler is gone; exiting");
        }
    }
    // Instances scale to zero: what is queued leaves now or never.
    crate::insights::flush().await;
    Ok(())
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
