//! Settings, connecting to either backend, migrations and the health ping.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::entra::{self, Clock, DB_AUTH, DbAuth, TokenRenewer};
use super::{StoreError, statement_timeout};
use crate::azure::credential::TokenSource;
use crate::config::{ConfigError, Secret, SettingsSource};

/// Every setting this module reads.
pub const SETTINGS: &[&str] = &[DATABASE_URL, MAX_CONNECTIONS, DB_AUTH, statement_timeout::SETTING];

const DATABASE_URL: &str = "DATABASE_URL";
const MAX_CONNECTIONS: &str = "AZCOPS_DB_MAX_CONNECTIONS";
const DEFAULT_URL: &str = "sqlite://data/azcops.db";

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (the local default).
    Sqlite,
    /// PostgreSQL (production).
    Postgres,
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://path` or `postgres://...`; a secret because it may carry a password.
    pub database_url: Secret,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a connection before reporting the database unavailable.
    pub acquire_timeout: Duration,
    /// How PostgreSQL logins authenticate (`AZCOPS_DB_AUTH`).
    pub auth: DbAuth,
    /// PostgreSQL's `statement_timeout` for every pooled connection (`None`: the server's own).
    pub statement_timeout: Option<Duration>,
    /// A pooled PostgreSQL connection idle at least this long is pinged before it is handed out.
    pub ping_after_idle: Duration,
}

/// How long a pooled PostgreSQL connection may sit idle and still be handed out without a ping.
/// One that answered this recently is almost surely alive, and pinging every checkout cost a
/// database round trip per API request (with the ping sqlx makes on release, a third of the
/// database's messages); idle connections are where network drops, restarts and failovers
/// strike, so they are still tested. A connection that died within the window fails the one
/// statement that meets it, and sqlx discards it so the next statement gets a fresh one.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(30);

impl StoreConfig {
    /// Reads `DATABASE_URL` (default `sqlite://data/azcops.db`), `AZCOPS_DB_MAX_CONNECTIONS`
    /// (default 10), `AZCOPS_DB_AUTH` (default `auto`: Entra tokens for a password-less
    /// PostgreSQL URL when an Azure identity is configured) and
    /// `AZCOPS_DB_STATEMENT_TIMEOUT_MS` (default 20000; `0` leaves the server's setting).
    ///
    /// # Errors
    /// The URL has an unsupported scheme, the pool size is not a number in 1..=1000,
    /// `AZCOPS_DB_AUTH` is unknown or `entra` for a URL that cannot use it, or the statement
    /// timeout is not a number of milliseconds up to an hour.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let url = source.get(DATABASE_URL).unwrap_or(DEFAULT_URL);
        let mut config = Self::for_url(url, source.parse_or(MAX_CONNECTIONS, 10u32)?)?;
        config.auth = entra::resolve(source, url, config.backend() == Backend::Postgres)?;
        config.statement_timeout = statement_timeout::from_source(source)?;
        Ok(config)
    }

    /// Settings for an explicit URL (tests, benchmarks), without a statement timeout.
    ///
    /// # Errors
    /// The URL has an unsupported scheme or the pool size is out of range.
    pub fn for_url(url: &str, max_connections: u32) -> Result<Self, ConfigError> {
        backend_of(url).ok_or_else(|| {
            ConfigError::invalid(DATABASE_URL, "must start with sqlite:, postgres:// or postgresql://")
        })?;
        if !(1..=1000).contains(&max_connections) {
            return Err(ConfigError::invalid(MAX_CONNECTIONS, "must be between 1 and 1000"));
        }
        Ok(Self {
            database_url: Secret::new(url),
            max_connections,
            acquire_timeout: Duration::from_secs(10),
            auth: DbAuth::Password,
            statement_timeout: None,
            ping_after_idle: PING_AFTER_IDLE,
        })
    }

    /// The backend the URL selects.
    pub fn backend(&self) -> Backend {
        backend_of(self.database_url.expose()).unwrap_or(Backend::Sqlite)
    }

    /// The PostgreSQL connect options: the URL's plus the statement timeout, for the pool and
    /// for the Entra token renewer alike.
    fn pg_options(&self) -> Result<PgConnectOptions, StoreError> {
        let options = PgConnectOptions::from_str(self.database_url.expose())
            .map_err(|e| StoreError::validation("DATABASE_URL", e.to_string()))?;
        Ok(statement_timeout::apply(options, self.statement_timeout))
    }
}

/// Replaces sqlx's ping on every checkout with one for connections idle `after` or longer.
fn ping_when_idle(options: PgPoolOptions, after: Duration) -> PgPoolOptions {
    options.test_before_acquire(false).before_acquire(move |connection, meta| {
        Box::pin(async move {
            if meta.idle_for >= after {
                sqlx::Connection::ping(connection).await?;
            }
            Ok(true)
        })
    })
}

/// How many connections a pool holds, for health checks and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open connections (idle or in use).
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A connection pool to the curated store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Present when PostgreSQL logins present Entra tokens.
    tokens: Option<Arc<TokenRenewer>>,
}

// The pools' own Debug output includes connect options, which may hold a password.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend()).finish_non_exhaustive()
    }
}

impl Store {
    /// Connects (creating the SQLite file and its directory when missing).
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a malformed URL, [`StoreError::Unavailable`] when the
    /// server cannot be reached or the file cannot be created.
    pub async fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        let store = Self::connect_lazy(config)?;
        store.renew_token().await?;
        store.ping().await?;
        Ok(store)
    }

    /// Builds the pools without connecting, so a server starts (and reports itself degraded)
    /// while the database is unreachable, and recovers when it comes back. With Entra
    /// authentication a task fetches the first token at once and renews it before it expires;
    /// logins attempted before the first token arrives fail like an unreachable database.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a malformed URL or an unusable Azure credential,
    /// [`StoreError::Unavailable`] when the SQLite directory cannot be created.
    pub fn connect_lazy(config: &StoreConfig) -> Result<Self, StoreError> {
        if let DbAuth::Entra(azure) = &config.auth {
            let tokens = crate::azure::credential::from_config(azure)
                .map_err(|e| StoreError::validation("AZCOPS_DB_AUTH", e.to_string()))?;
            return Self::connect_lazy_with_tokens(config, tokens, entra::system_clock());
        }
        Self::connect_lazy_password(config)
    }

    /// As [`Store::connect_lazy`] for PostgreSQL, logging in with tokens from `tokens` (for the
    /// [`PG_TOKEN_SCOPE`](super::PG_TOKEN_SCOPE)) whatever `config.auth` says; `clock` decides
    /// when a token is due for renewal. Needs a Tokio runtime (the renewal task runs on it).
    ///
    /// # Errors
    /// [`StoreError::Validation`] when the URL is not a valid PostgreSQL URL or no Tokio runtime
    /// is running.
    pub fn connect_lazy_with_tokens(
        config: &StoreConfig,
        tokens: Arc<dyn TokenSource>,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        if config.backend() != Backend::Postgres {
            return Err(StoreError::validation(
                "AZCOPS_DB_AUTH",
                "Entra tokens need a postgres:// DATABASE_URL",
            ));
        }
        let mut store = Self::connect_lazy_password(config)?;
        let Db::Postgres(pool) = &store.db else {
            return Err(StoreError::validation("DATABASE_URL", "not a PostgreSQL URL"));
        };
        let base = config.pg_options()?;
        let renewer = Arc::new(TokenRenewer::new(pool.clone(), base, tokens, clock));
        if entra::spawn(&renewer).is_none() {
            return Err(StoreError::validation("AZCOPS_DB_AUTH", "Entra tokens need a Tokio runtime"));
        }
        tracing::info!("PostgreSQL logins present Entra access tokens");
        store.tokens = Some(renewer);
        Ok(store)
    }

    /// As [`Store::connect_lazy_with_tokens`], then fetches the first token and pings.
    ///
    /// # Errors
    /// As [`Store::connect_lazy_with_tokens`] and [`Store::connect`].
    pub async fn connect_with_tokens(
        config: &StoreConfig,
        tokens: Arc<dyn TokenSource>,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        let store = Self::connect_lazy_with_tokens(config, tokens, clock)?;
        store.renew_token().await?;
        store.ping().await?;
        Ok(store)
    }

    /// With Entra authentication, installs a fresh token for new connections when none is
    /// installed yet or the current one is within the refresh margin of expiry (the renewal task
    /// does this on its own); returns the installed token's expiry. `None` with password
    /// authentication.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the credential cannot issue a token.
    pub async fn renew_token(&self) -> Result<Option<SystemTime>, StoreError> {
        let Some(renewer) = &self.tokens else { return Ok(None) };
        let expires_at = renewer
            .renew_if_due()
            .await
            .map_err(|e| StoreError::Unavailable(sqlx::Error::Configuration(Box::new(e))))?;
        Ok(Some(expires_at))
    }

    fn connect_lazy_password(config: &StoreConfig) -> Result<Self, StoreError> {
        let url = config.database_url.expose();
        let db = match config.backend() {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::validation("DATABASE_URL", e.to_string()))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL is durable across application crashes in WAL mode; only an OS
                    // crash can lose the last transactions, which re-ingestion restores.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    .pragma("temp_store", "memory")
                    .pragma("cache_size", "-32768");
                let file = options.get_filename();
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
                    && file.as_os_str() != ":memory:"
                {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(sqlx::Error::Io(e)))?;
                }
                Db::Sqlite(
                    // sqlx's ping on every checkout stays here: on SQLite the API's 30-day
                    // summary answered 14 % fewer requests a second without it (A/B, same data),
                    // while on PostgreSQL dropping it saves a network round trip.
                    SqlitePoolOptions::new()
                        .max_connections(config.max_connections)
                        .acquire_timeout(config.acquire_timeout)
                        .connect_lazy_with(options),
                )
            }
            Backend::Postgres => {
                let options = config.pg_options()?;
                Db::Postgres(
                    ping_when_idle(PgPoolOptions::new(), config.ping_after_idle)
                        .max_connections(config.max_connections)
                        .acquire_timeout(config.acquire_timeout)
                        .connect_lazy_with(options),
                )
            }
        };
        Ok(Self { db, tokens: None })
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The pool's current size and idle connections.
    pub fn pool_status(&self) -> PoolStatus {
        let (size, idle, max) = match &self.db {
            Db::Sqlite(pool) => (pool.size(), pool.num_idle(), pool.options().get_max_connections()),
            Db::Postgres(pool) => (pool.size(), pool.num_idle(), pool.options().get_max_connections()),
        };
        PoolStatus { size, idle: u32::try_from(idle).unwrap_or(u32::MAX), max }
    }

    /// The statement opening a transaction that reads and then writes. SQLite must take the
    /// write lock up front: upgrading a read transaction fails with `SQLITE_BUSY` instead of
    /// waiting when another writer got in between.
    pub(crate) fn begin_write(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "BEGIN IMMEDIATE",
            Db::Postgres(_) => "BEGIN",
        }
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every pending migration of this backend (idempotent).
    ///
    /// # Errors
    /// [`StoreError::Migrate`] when a migration fails or the history does not match.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => sqlx::migrate!("handlers/store/migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("handlers/store/migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Round-trips a trivial query: `Ok` means healthy, an error means degraded.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database does not answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let result = match &self.db {
            Db::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        };
        result.map_err(StoreError::Unavailable)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// Applies pending migrations to the store `config` describes; returns the backend migrated.
///
/// # Errors
/// An unreachable database, or a failed migration.
pub async fn migrate(config: &StoreConfig) -> Result<Backend, StoreError> {
    let mut config = config.clone();
    // A migration may rebuild an index over a large table: the API's bound is not for it.
    config.statement_timeout = None;
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    store.close().await;
    Ok(config.backend())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_embedded_sqlite() {
        let config = StoreConfig::from_source(&SettingsSource::default()).unwrap();
        assert_eq!(config.backend(), Backend::Sqlite);
        assert_eq!(config.database_url.expose(), DEFAULT_URL);
        assert_eq!(config.max_connections, 10);
    }

    #[tokio::test]
    async fn postgres_url_and_pool_size() {
        let source =
            SettingsSource::from_pairs([(DATABASE_URL, "postgres://u:pw@db/azcops"), (MAX_CONNECTIONS, "4")]);
        let config = StoreConfig::from_source(&source).unwrap();
        assert_eq!((config.backend(), config.max_connections), (Backend::Postgres, 4));
        assert!(!format!("{config:?}").contains("pw"));
        // A lazily connected pool never dials, but its Debug must not show the password either.
        let options: PgConnectOptions = config.database_url.expose().parse().unwrap();
        let store = Store { db: Db::Postgres(PgPoolOptions::new().connect_lazy_with(options)), tokens: None };
        assert!(!format!("{store:?}").contains("pw"), "{store:?}");
    }

    #[tokio::test]
    async fn unreachable_or_closed_databases_are_unavailable() {
        let mut refused = StoreConfig::for_url("postgres://postgres@127.0.0.1:1/azcops", 1).unwrap();
        refused.acquire_timeout = Duration::from_millis(300);
        assert!(matches!(Store::connect(&refused).await, Err(StoreError::Unavailable(_))));

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/h.db", dir.path().display());
        let store = Store::connect(&StoreConfig::for_url(&url, 1).unwrap()).await.unwrap();
        store.ping().await.unwrap();
        store.close().await;
        assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))), "health reports degraded");
    }

    #[test]
    fn bad_settings_name_the_key() {
        let bad_url = SettingsSource::from_pairs([(DATABASE_URL, "mysql://x")]);
        assert!(StoreConfig::from_source(&bad_url).unwrap_err().to_string().contains(DATABASE_URL));
        let bad_size = SettingsSource::from_pairs([(MAX_CONNECTIONS, "0")]);
        assert!(StoreConfig::from_source(&bad_size).unwrap_err().to_string().contains(MAX_CONNECTIONS));
    }
}
