//! Wiring: the services of one process, built once from [`Settings`].
//!
//! `serve`, `dev`, `demo` and every operator command start here, so they share one curated
//! store pool and one ARM client (whose governor paces every Azure call of the process) and
//! cannot be wired differently.

use crate::azure::ArmClient;
use crate::ingest::IngestContext;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::{Store, StoreError};

/// Why a service of the application is unavailable.
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    /// The curated store cannot be built, reached or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The raw snapshot store cannot be opened.
    #[error("raw store: {0}")]
    Raw(#[from] crate::raw::RawError),
    /// No ARM client could be built from the settings (the reason says which).
    #[error("Azure client: {0}")]
    Azure(String),
}

/// The process's services: settings, curated store and ARM client.
pub struct Application {
    settings: Settings,
    store: Store,
    arm: Result<ArmClient, String>,
}

impl Application {
    /// Builds the services `settings` describe. Nothing is contacted yet: the store's pool
    /// connects on first use, so a server starts (and reports itself degraded) while its database
    /// is down. An ARM client that cannot be built is remembered with its reason, and only what
    /// needs Azure fails.
    ///
    /// # Errors
    /// The store's settings cannot make a pool (for example Entra sign-in on SQLite).
    pub fn build(settings: Settings) -> Result<Self, ApplicationError> {
        let store = Store::connect_lazy(&settings.store)?;
        let arm = ArmClient::from_config(settings.azure.clone()).map_err(|e| e.to_string());
        Ok(Self { settings, store, arm })
    }

    /// The settings the application was built from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The curated store (its pool connects lazily).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The curated store once it answers and its schema is current: local commands migrate
    /// before they read or write.
    ///
    /// # Errors
    /// The database cannot be reached or migrated.
    pub async fn migrated_store(&self) -> Result<Store, ApplicationError> {
        self.store.renew_token().await?;
        self.store.ping().await?;
        self.store.migrate().await?;
        Ok(self.store.clone())
    }

    /// The ARM client.
    ///
    /// # Errors
    /// The Azure settings could not make a client.
    pub fn arm(&self) -> Result<&ArmClient, ApplicationError> {
        self.arm.as_ref().map_err(|why| ApplicationError::Azure(why.clone()))
    }

    /// The ingestion pipeline's context: this store, the raw store opened now, this ARM client.
    ///
    /// # Errors
    /// The raw store cannot be opened or there is no ARM client.
    pub async fn ingest_context(&self) -> Result<IngestContext, ApplicationError> {
        let raw = crate::raw::open(&self.settings.raw).await?;
        Ok(IngestContext {
            store: self.store.clone(),
            raw,
            arm: self.arm()?.clone(),
            config: self.settings.ingest,
        })
    }

    /// The state the handler's router and triggers share. Ingestion that cannot be set up is
    /// logged and left to fail the functions that need it, with the reason, rather than keeping
    /// the handler (and so the API) from starting.
    pub async fn handler_state(&self) -> AppState {
        let ingest = self.ingest_context().await.map_err(|e| e.to_string());
        if let Err(why) = &ingest {
            tracing::warn!(reason = %why, "ingestion is not available in this process");
        }
        AppState::with_store(self.store.clone(), self.settings.diagnostics, ingest)
            .with_azure(self.arm.clone())
            .with_api(self.settings.api.clone())
            .with_web(self.settings.web.clone(), &self.settings.azure)
            .with_exports(self.settings.exports.clone())
            .with_notify(self.settings.notify.clone(), self.notify_tokens())
            .with_remediation(self.remediation().await)
    }

    /// Remediation's context when `AZCOPS_REMEDIATION_CLIENT_ID` is set, or why it is off.
    pub async fn remediation(&self) -> Result<crate::remediation::RemediationContext, String> {
        let arm = self.settings.remediation.client(&self.settings.azure)?;
        let raw = crate::raw::open(&self.settings.raw).await.map_err(|e| e.to_string())?;
        Ok(crate::remediation::RemediationContext { arm, raw, wait_cap: crate::remediation::MAX_POLL_WAIT })
    }

    /// The managed identity's token source for ACS email, when email is configured and an
    /// identity can be built.
    pub fn notify_tokens(&self) -> Option<std::sync::Arc<dyn crate::azure::credential::TokenSource>> {
        self.settings.notify.acs_endpoint.as_ref()?;
        crate::azure::credential::from_config(&self.settings.azure)
            .map_err(|e| tracing::warn!(reason = %e, "email notifications have no Azure identity"))
            .ok()
    }

    /// The notifier of a local command (`azcops ingest`, `azcops channel test`).
    pub fn notifier(&self) -> crate::notify::service::Notifier {
        crate::notify::service::Notifier::new(
            self.store.clone(),
            self.settings.notify.clone(),
            self.notify_tokens(),
        )
    }
}
