//! `azcops dev`: the local Functions host emulator's command line.

use std::path::PathBuf;

use crate::dev::DevOptions;

/// Command-line options of `azcops dev`.
#[derive(Debug, Clone, clap::Args)]
pub struct DevArgs {
    /// The function app root (holding host.json and functions/).
    #[arg(long, default_value = ".")]
    pub app_root: PathBuf,
    /// Public HTTP port, as Core Tools' 7071.
    #[arg(long, default_value_t = 7071)]
    pub port: u16,
    /// Fire this function once at start (repeatable), like the admin manual-run call.
    #[arg(long = "run", value_name = "FUNCTION")]
    pub run: Vec<String>,
    /// Exit once every started invocation, queued message and blob event has been handled.
    #[arg(long)]
    pub until_idle: bool,
    /// Do not fire timers on their schedules (manual runs still work).
    #[arg(long)]
    pub no_timers: bool,
    /// The handler binary to start; defaults to this executable.
    #[arg(long)]
    pub handler: Option<PathBuf>,
}

impl From<DevArgs> for DevOptions {
    fn from(args: DevArgs) -> Self {
        Self {
            app_root: args.app_root,
            port: args.port,
            run: args.run,
            until_idle: args.until_idle,
            no_timers: args.no_timers,
            handler: args.handler,
        }
    }
}
