//! Shared application state: cheap-to-clone handles every request and invocation uses.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::{ConfigError, SettingsSource};

/// Settings of the invocation server itself.
pub const SETTINGS: &[&str] = &[
    "FUNCTIONS_CUSTOMHANDLER_PORT",
    "FUNCTIONS_APP_ROOT_PATH",
    "AZCOPS_DIAGNOSTIC_FUNCTIONS",
    "AZCOPS_DIAGNOSTIC_FANOUT",
    "AZCOPS_DIAGNOSTIC_FAIL_SEQUENCE",
];

/// Reports whether the curated database answers, for `/api/health`.
pub trait DatabaseProbe: Send + Sync {
    /// True when a trivial query succeeds within the probe's own timeout.
    fn is_connected(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
}

/// A probe for builds or tests without a database: always disconnected.
#[derive(Debug, Default)]
pub struct NoDatabase;

impl DatabaseProbe for NoDatabase {
    fn is_connected(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(async { false })
    }
}

impl DatabaseProbe for crate::store::Store {
    fn is_connected(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(async {
            // A health check must answer quickly even when the database hangs.
            matches!(tokio::time::timeout(std::time::Duration::from_secs(3), self.ping()).await, Ok(Ok(())))
        })
    }
}

/// Options of the diagnostic functions used to verify a deployment's trigger wiring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagnosticOptions {
    /// Whether the `diag_*` functions answer at all (off by default).
    pub enabled: bool,
    /// How many queue messages `diag_fanout` emits.
    pub fanout: u32,
    /// The sequence number of the fan-out message `diag_queue` fails on (every attempt).
    pub fail_sequence: Option<u32>,
}

impl DiagnosticOptions {
    /// Reads `AZCOPS_DIAGNOSTIC_FUNCTIONS` (default false), `AZCOPS_DIAGNOSTIC_FANOUT` (default 3)
    /// and `AZCOPS_DIAGNOSTIC_FAIL_SEQUENCE` (unset: no message fails).
    ///
    /// # Errors
    /// A value does not parse.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        Ok(Self {
            enabled: source.parse_or("AZCOPS_DIAGNOSTIC_FUNCTIONS", false)?,
            fanout: source.parse_or("AZCOPS_DIAGNOSTIC_FANOUT", 3)?,
            fail_sequence: match source.get("AZCOPS_DIAGNOSTIC_FAIL_SEQUENCE") {
                None => None,
                Some(_) => Some(source.parse_or("AZCOPS_DIAGNOSTIC_FAIL_SEQUENCE", 0)?),
            },
        })
    }
}

/// Handles shared by the API router and the trigger handlers.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    database: Arc<dyn DatabaseProbe>,
    store: Option<crate::store::Store>,
    diagnostics: DiagnosticOptions,
    ingest: Result<crate::ingest::IngestContext, String>,
    azure: Result<crate::azure::ArmClient, String>,
    api: Option<Arc<crate::api::ApiRuntime>>,
    web: Option<Arc<crate::web::WebRuntime>>,
    notify: Option<Arc<crate::notify::service::Notifier>>,
    exports: Arc<crate::exports::ExportsConfig>,
    remediation: Result<crate::remediation::RemediationContext, String>,
}

impl AppState {
    /// Builds the state from its parts (tests and builds without a store).
    pub fn new(database: Arc<dyn DatabaseProbe>, diagnostics: DiagnosticOptions) -> Self {
        let ingest = Err("no curated store is configured".to_owned());
        let azure = Err("no Azure identity is configured".to_owned());
        Self {
            inner: Arc::new(Inner {
                database,
                store: None,
                diagnostics,
                ingest,
                azure,
                api: None,
                web: None,
                notify: None,
                exports: Arc::default(),
                remediation: Err(NO_REMEDIATION.to_owned()),
            }),
        }
    }

    /// Builds the state around the curated store, which also answers the health probe.
    /// `ingest` is the ingestion pipeline's context, or why it could not be built (an Azure
    /// credential or the raw store missing): the functions that need it then fail saying so.
    pub fn with_store(
        store: crate::store::Store,
        diagnostics: DiagnosticOptions,
        ingest: Result<crate::ingest::IngestContext, String>,
    ) -> Self {
        let database: Arc<dyn DatabaseProbe> = Arc::new(store.clone());
        let azure = ingest.as_ref().map(|ctx| ctx.arm.clone()).map_err(Clone::clone);
        Self {
            inner: Arc::new(Inner {
                database,
                store: Some(store),
                diagnostics,
                ingest,
                azure,
                api: None,
                web: None,
                notify: None,
                exports: Arc::default(),
                remediation: Err(NO_REMEDIATION.to_owned()),
            }),
        }
    }

    /// Replaces the Azure client used outside ingestion (verifying what tenants register), or
    /// records why there is none; a process can reach ARM even when ingestion lacks a raw store.
    pub fn with_azure(self, azure: Result<crate::azure::ArmClient, String>) -> Self {
        self.changed(|inner| inner.azure = azure)
    }

    /// A copy of this state with `change` applied: each `with_*` sets one part.
    fn changed(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner::clone(&self.inner);
        change(&mut inner);
        Self { inner: Arc::new(inner) }
    }

    /// The Azure client for control-plane checks, or why this process has none.
    pub fn azure(&self) -> Result<&crate::azure::ArmClient, &str> {
        self.inner.azure.as_ref().map_err(String::as_str)
    }

    /// The ingestion pipeline's context, or why it is unavailable.
    pub fn ingest(&self) -> Result<&crate::ingest::IngestContext, &str> {
        self.inner.ingest.as_ref().map_err(String::as_str)
    }

    /// The curated store, when this process has one.
    pub fn store(&self) -> Option<&crate::store::Store> {
        self.inner.store.as_ref()
    }

    /// The database health probe.
    pub fn database(&self) -> &dyn DatabaseProbe {
        self.inner.database.as_ref()
    }

    /// Adds the API runtime (authentication, limits) built from `config` around this state's store.
    pub fn with_api(self, config: crate::api::ApiConfig) -> Self {
        let api = Arc::new(crate::api::ApiRuntime::new(config, self.inner.store.clone()));
        self.changed(|inner| inner.api = Some(api))
    }

    /// The API runtime, when configured (without it `/api/v1` answers 503).
    pub fn api(&self) -> Option<&Arc<crate::api::ApiRuntime>> {
        self.inner.api.as_ref()
    }

    /// The bearer-token authenticator, for envelope-mode HTTP functions.
    pub fn authenticator(&self) -> Option<&Arc<crate::api::Authenticator>> {
        self.inner.api.as_ref().map(|api| &api.authenticator)
    }

    /// Adds the dashboard's runtime (sign-in settings, cookie key; the app's Azure settings for
    /// the managed identity of a federated credential).
    pub fn with_web(self, config: crate::web::WebConfig, azure: &crate::azure::AzureConfig) -> Self {
        self.changed(|inner| inner.web = Some(Arc::new(crate::web::WebRuntime::new(config, azure))))
    }

    /// The dashboard's runtime, when configured (without it `/` says sign-in is not configured).
    pub fn web(&self) -> Option<&Arc<crate::web::WebRuntime>> {
        self.inner.web.as_ref()
    }

    /// Adds the notifier (channels' policy, delivery runs) over this state's store.
    pub fn with_notify(
        self,
        config: crate::notify::NotifyConfig,
        tokens: Option<Arc<dyn crate::azure::credential::TokenSource>>,
    ) -> Self {
        let notify = self
            .inner
            .store
            .clone()
            .map(|store| Arc::new(crate::notify::service::Notifier::new(store, config, tokens)));
        self.changed(|inner| inner.notify = notify)
    }

    /// Sets where the `ingest_exports` trigger reads export files.
    pub fn with_exports(self, config: crate::exports::ExportsConfig) -> Self {
        self.changed(|inner| inner.exports = Arc::new(config))
    }

    /// The notifier, when this process has a store.
    pub fn notifier(&self) -> Option<&Arc<crate::notify::service::Notifier>> {
        self.inner.notify.as_ref()
    }

    /// Where export files are read (unset unless configured).
    pub fn exports(&self) -> &crate::exports::ExportsConfig {
        &self.inner.exports
    }

    /// Adds remediation (its identity's ARM client and the raw layer), or why it is off.
    pub fn with_remediation(
        self,
        remediation: Result<crate::remediation::RemediationContext, String>,
    ) -> Self {
        self.changed(|inner| inner.remediation = remediation)
    }

    /// Remediation, or why this process has none.
    pub fn remediation(&self) -> Result<&crate::remediation::RemediationContext, &str> {
        self.inner.remediation.as_ref().map_err(String::as_str)
    }

    /// Diagnostic function options.
    pub fn diagnostics(&self) -> DiagnosticOptions {
        self.inner.diagnostics
    }
}

/// Why remediation is off until it is configured.
const NO_REMEDIATION: &str = "remediation is off: AZCOPS_REMEDIATION_CLIENT_ID is not set";

/// The binary's version, reported by `/api/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
