//! A simulated Azure: the ARM, Resource Graph, Cost Management, Advisor, Monitor, Retail Prices and token endpoints AzCops calls, over a generated estate with ground truth.
//!
//! # Use
//! In-process: [`Sandbox::start`] with [`SandboxOptions`] gives a [`RunningSandbox`] serving on
//! `http://127.0.0.1:PORT` (or `https://` with [`SandboxOptions::https`], see [`tls`]);
//! [`RunningSandbox::exports`] lists the settings a client needs (`AZCOPS_ARM_ENDPOINT`,
//! `AZCOPS_RETAIL_PRICES_ENDPOINT`, `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`,
//! `AZCOPS_SANDBOX_TENANTS`, `AZCOPS_SANDBOX_CA_CERT` in https mode, and each tenant's app
//! registration `AZCOPS_SANDBOX_APP_<n>_{TENANT_ID,CLIENT_ID,CLIENT_SECRET}`). From the command
//! line: `azcops sandbox` (see `crate::ops::sandbox`).
//!
//! # Estate SPEC
//! A preset — `demo` (3 tenants × 4 subscriptions × 60 resources, 60 days), `large`
//! (10 × 10 × 300, 90 days), `bench` (10 × 50 = 500 subscriptions × 500 resources, 30 days) —
//! optionally followed by overrides, or the explicit form
//! `tenants=3,subscriptions=4,resources=60,days=60` (subscriptions are per tenant, resources per
//! subscription, days of cost history ≤ 397). The estate is a pure function of
//! (seed, SPEC, as-of date): see [`estate`].
//!
//! # Tenancy
//! Tenant #0 is the managing tenant; its managed identity (the `IDENTITY_ENDPOINT`) reads its
//! own subscriptions and, through Lighthouse, the customer tenants' delegated ones. The last
//! subscription of the last customer tenant (when a tenant has ≥ 2) is not delegated: it is not
//! listed and answers 401 `InvalidAuthenticationTokenTenant`, as ARM does for a token of another
//! tenant. Each tenant also has an app registration for the Entra v2 client-credentials endpoint
//! ([`RunningSandbox::app_credential`]); discovery of an unknown tenant answers AADSTS90002.
//!
//! # APIs and their limits
//! - Every ARM API checks its api-version ([`versions`]).
//! - Resource Graph KQL: the inventory subset of [`kql`] on a fast path, the operators of
//!   [`kql_parse`] otherwise; syntax errors get Resource Graph's `ParserFailure` 400.
//! - Cost Management: subscription and resource-group scopes, every timeframe ([`timeframe`]);
//!   see [`cost`]. An empty scope period (entirely outside the history) answers 204.
//! - Monitor: `PT1H` interval only; 93-day retention.
//! - Retail: `eq` clauses joined by `and`; USD (EUR/GBP at fixed indicative rates).
//!
//! # Quotas, faults, latency, stats
//! All off by default ([`QuotaConfig`], [`FaultConfig`], [`LatencyConfig`]). Quota windows run
//! on tokio time, or on a manual clock ([`SandboxOptions::manual_clock`],
//! [`RunningSandbox::advance_clock`]). Faults and latency draw from one RNG seeded by
//! `FaultConfig::seed`, so a sequential run is repeatable; recurring 429 storms
//! ([`ThrottleStorm`]) answer in each API's own throttling style. `GET /_sandbox/stats` returns the
//! per-API counters (requests, statuses, throttled, injected faults, latency) and the units drawn
//! per quota bucket with the run's quota lower bound ([`quota_use`]);
//! `PUT /_sandbox/faults` replaces the fault config with a JSON [`FaultConfig`].
//!
//! # Application Insights
//! `POST /v2/track` and `/v2.1/track` accept telemetry uploads and `GET /_sandbox/telemetry`
//! lists them (see [`telemetry`]).
//!
//! # Files
//! With `out_dir`, `estate.json`, `ground_truth.json` and `anomaly_truth.json` are written side by side
//! ([`render::write_estate_json`], [`truth`]).

pub mod advisor;
pub mod arm;
pub mod auth;
pub mod control;
pub mod cost;
pub mod entra;
pub mod estate;
pub mod exports;
pub mod exports_parquet;
pub mod exports_write;
pub mod generate;
pub mod graph;
pub mod kql;
pub mod kql_eval;
mod kql_lex;
pub mod kql_parse;
pub mod metered;
pub mod monitor;
pub mod moves;
pub mod notify_acs;
pub mod notify_jira;
pub mod notify_servicenow;
pub mod notify_teams;
pub mod prices;
pub mod quota_use;
pub mod remediation;
pub mod render;
pub mod retail;
pub mod server;
pub mod signin;
pub mod spec;
pub mod telemetry;
pub mod timeframe;
pub mod tls;
pub mod truth;
pub mod usage;
pub mod versions;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

pub use control::{Api, ApiStats, FaultConfig, LatencyConfig, QuotaConfig, ThrottleStorm};
pub use estate::Estate;
pub use spec::EstateSpec;
pub use truth::{Summary, TruthRow};

use crate::config::Secret;

/// Everything that can go wrong starting or running the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The estate SPEC does not parse.
    #[error("invalid estate spec {0}")]
    InvalidSpec(String),
    /// A command-line option does not parse.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Writing the estate or ground truth failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Binding the listener failed.
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// The server or a background task failed.
    #[error("sandbox server failed: {0}")]
    Serve(String),
}

/// Page sizes of the paged APIs (the real defaults; tests shrink them to exercise paging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizes {
    /// Cost Management rows per page (a `$top` query parameter overrides, up to 5000).
    pub cost: usize,
    /// Advisor recommendations per page (a `$top` query parameter overrides).
    pub advisor: usize,
    /// Retail items per page.
    pub retail: usize,
    /// Subscriptions per page.
    pub subscriptions: usize,
}

impl Default for PageSizes {
    fn default() -> Self {
        Self { cost: 1000, advisor: 100, retail: 1000, subscriptions: 100 }
    }
}

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Estate size.
    pub estate: EstateSpec,
    /// Estate seed.
    pub seed: u64,
    /// The estate's "today".
    pub as_of: NaiveDate,
    /// Injected faults (off by default).
    pub faults: FaultConfig,
    /// Quotas (off by default).
    pub quotas: QuotaConfig,
    /// Added latency (none by default).
    pub latency: LatencyConfig,
    /// Where to write `estate.json` and `ground_truth.json`.
    pub out_dir: Option<PathBuf>,
    /// Port on 127.0.0.1 (0 = any free port).
    pub port: u16,
    /// Use a manual quota clock that only [`RunningSandbox::advance_clock`] moves.
    pub manual_clock: bool,
    /// Page sizes.
    pub pages: PageSizes,
    /// Serve https with a generated certificate ([`tls`]) instead of http.
    pub https: bool,
}

impl SandboxOptions {
    /// Defaults (no faults, quotas or latency; any port) for an estate.
    pub fn new(estate: EstateSpec, seed: u64, as_of: NaiveDate) -> Self {
        Self {
            estate,
            seed,
            as_of,
            faults: FaultConfig::default(),
            quotas: QuotaConfig::default(),
            latency: LatencyConfig::default(),
            out_dir: None,
            port: 0,
            manual_clock: false,
            pages: PageSizes::default(),
            https: false,
        }
    }
}

/// Entry point: starts sandboxes.
#[derive(Debug)]
pub struct Sandbox;

/// A sandbox serving in the background.
#[derive(Debug)]
pub struct RunningSandbox {
    state: server::Shared,
    truth: Arc<Vec<TruthRow>>,
    truth_path: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

fn write_file(
    path: &std::path::Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), SandboxError> {
    use std::io::Write;
    let err = |source| SandboxError::Write { path: path.display().to_string(), source };
    let file = std::fs::File::create(path).map_err(err)?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out).and_then(|()| out.flush()).map_err(err)
}

impl Sandbox {
    /// Generates the estate, writes the files (if asked), binds and starts serving.
    ///
    /// # Errors
    /// The files cannot be written or the port cannot be bound.
    pub async fn start(options: SandboxOptions) -> Result<RunningSandbox, SandboxError> {
        let (seed, spec, as_of) = (options.seed, options.estate, options.as_of);
        let (estate, truth) = tokio::task::spawn_blocking(move || {
            let estate = Estate::generate(seed, spec, as_of);
            let truth = truth::ground_truth(&estate);
            (estate, truth)
        })
        .await
        .map_err(|e| SandboxError::Serve(e.to_string()))?;
        let mut truth_path = None;
        if let Some(dir) = &options.out_dir {
            std::fs::create_dir_all(dir)
                .map_err(|source| SandboxError::Write { path: dir.display().to_string(), source })?;
            write_file(&dir.join("estate.json"), |out| render::write_estate_json(&estate, out))?;
            let path = dir.join("ground_truth.json");
            write_file(&path, |out| {
                serde_json::to_writer_pretty(&mut *out, &truth).map_err(std::io::Error::other)
            })?;
            truth_path = Some(path);
            let anomalies = truth::anomaly_truth(&estate);
            write_file(&dir.join("anomaly_truth.json"), |out| {
                serde_json::to_writer_pretty(&mut *out, &anomalies).map_err(std::io::Error::other)
            })?;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|source| SandboxError::Bind { port: options.port, source })?;
        let port =
            listener.local_addr().map_err(|source| SandboxError::Bind { port: options.port, source })?.port();
        let tls = if options.https {
            let dir = options.out_dir.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("azcops-sandbox-{}", uuid::Uuid::new_v4().simple()))
            });
            Some(tls::generate(&dir)?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let state = Arc::new(server::AppState {
            estate: Arc::new(estate),
            base_url: format!("{scheme}://127.0.0.1:{port}"),
            auth: auth::TokenAuthority::new(),
            control: Mutex::new(control::Control::new(options.faults, options.quotas, options.latency)),
            clock: if options.manual_clock { control::Clock::manual() } else { control::Clock::tokio() },
            pages: options.pages,
            signin: signin::PendingCodes::default(),
            telemetry: telemetry::TelemetrySink::default(),
            notify: notify_acs::NotifySink::default(),
            tickets: notify_servicenow::TicketBook::default(),
            remediation: Mutex::default(),
        });
        let app = server::router(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stop = async {
            let _ = rx.await;
        };
        let (task, ca_cert) = match tls {
            Some((config, ca_path)) => {
                let listener = tls::TlsListener::new(listener, config)
                    .map_err(|source| SandboxError::Bind { port, source })?;
                (
                    tokio::spawn(
                        async move { axum::serve(listener, app).with_graceful_shutdown(stop).await },
                    ),
                    Some(ca_path),
                )
            }
            None => (
                tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stop).await }),
                None,
            ),
        };
        Ok(RunningSandbox {
            state,
            truth: Arc::new(truth),
            truth_path,
            ca_cert,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT` (`https://` in https mode).
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The CA certificate (PEM) to trust in https mode.
    pub fn ca_cert_path(&self) -> Option<&std::path::Path> {
        self.ca_cert.as_deref()
    }

    /// The settings a client needs, as (name, value) pairs: AzCops's own, the CA certificate in
    /// https mode, and each tenant's development app registration
    /// (`AZCOPS_SANDBOX_APP_<n>_{TENANT_ID,CLIENT_ID,CLIENT_SECRET}`, n = tenant index) for
    /// client-credentials clients such as azure-identity and MSAL.
    pub fn exports(&self) -> Vec<(String, String)> {
        let base = self.base_url().to_owned();
        let tenants: Vec<&str> = self.state.estate.tenants.iter().map(|t| t.id.as_str()).collect();
        let mut exports = vec![
            ("AZCOPS_ARM_ENDPOINT".into(), base.clone()),
            ("AZCOPS_RETAIL_PRICES_ENDPOINT".into(), base.clone()),
            ("IDENTITY_ENDPOINT".into(), format!("{base}/msi/token")),
            ("IDENTITY_HEADER".into(), self.state.auth.identity_header().expose().to_owned()),
            ("AZCOPS_SANDBOX_TENANTS".into(), tenants.join(",")),
        ];
        if let Some(path) = &self.ca_cert {
            exports.push(("AZCOPS_SANDBOX_CA_CERT".into(), path.display().to_string()));
        }
        for (n, tenant) in tenants.iter().enumerate() {
            if let Some((client_id, secret)) = self.app_credential(n) {
                exports.push((format!("AZCOPS_SANDBOX_APP_{n}_TENANT_ID"), (*tenant).to_owned()));
                exports.push((format!("AZCOPS_SANDBOX_APP_{n}_CLIENT_ID"), client_id));
                exports.push((format!("AZCOPS_SANDBOX_APP_{n}_CLIENT_SECRET"), secret.expose().to_owned()));
            }
        }
        exports
    }

    /// An `APPLICATIONINSIGHTS_CONNECTION_STRING` whose ingestion endpoint is this sandbox's
    /// `/v2.1/track` (the instrumentation key is a fixed, made-up GUID).
    pub fn telemetry_connection_string(&self) -> String {
        format!(
            "InstrumentationKey=00000000-0000-4000-8000-0000000000a1;IngestionEndpoint={}/",
            self.base_url()
        )
    }

    /// The estate served.
    pub fn estate(&self) -> &Estate {
        &self.state.estate
    }

    /// The ground truth.
    pub fn ground_truth(&self) -> &[TruthRow] {
        &self.truth
    }

    /// Where `ground_truth.json` was written, if an output directory was given.
    pub fn ground_truth_path(&self) -> Option<&std::path::Path> {
        self.truth_path.as_deref()
    }

    /// Per-API request, status, throttling and fault counters.
    pub fn stats(&self) -> BTreeMap<Api, ApiStats> {
        self.state.control().stats.clone()
    }

    /// Replaces the fault configuration (as `PUT /_sandbox/faults` does).
    pub fn set_faults(&self, faults: FaultConfig) {
        self.state.control().set_faults(faults);
    }

    /// Replaces the quota configuration.
    pub fn set_quotas(&self, quotas: QuotaConfig) {
        self.state.control().quotas_cfg = quotas;
    }

    /// Moves the manual quota clock forward (see [`SandboxOptions::manual_clock`]).
    pub fn advance_clock(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// A managed-identity token of the managing tenant for ARM, as the MSI endpoint issues.
    pub fn managed_identity_token(&self) -> String {
        let tenant = &self.state.estate.tenants[0].id;
        self.issue_token(tenant, auth::ARM_AUDIENCE, chrono::Utc::now().timestamp() + 3600)
    }

    /// Signs an arbitrary token (tests: expired tokens, other audiences, other tenants).
    pub fn issue_token(&self, tenant_id: &str, audience: &str, expires_on: i64) -> String {
        let oid = self.state.auth.managed_identity_object_id(tenant_id);
        self.state.auth.issue(&auth::Claims {
            tid: tenant_id.to_owned(),
            oid,
            aud: audience.to_owned(),
            exp: expires_on,
        })
    }

    /// The (client id, client secret) of a tenant's app registration.
    pub fn app_credential(&self, tenant: usize) -> Option<(String, Secret)> {
        let t = self.state.estate.tenants.get(tenant)?;
        Some((self.state.auth.app_client_id(&t.id), self.state.auth.app_secret(&t.id)))
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server.
    ///
    /// # Errors
    /// The server task failed.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| SandboxError::Serve(e.to_string()))?
                .map_err(|e| SandboxError::Serve(e.to_string())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
