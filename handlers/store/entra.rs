//! Entra-token authentication to PostgreSQL (Azure Database for PostgreSQL Flexible Server with
//! password authentication off).
//!
//! The app identity logs in as itself: `DATABASE_URL` names it as the user and carries no
//! password, and the password presented is an access token for [`PG_TOKEN_SCOPE`] from the Azure
//! module's credential (managed identity, workload identity or client secret). Tokens live about
//! an hour while pool connections may be opened at any time, so a task renews the token
//! [`REFRESH_MARGIN`] before it expires and installs it with `Pool::set_connect_options`: open
//! connections stay as they are (PostgreSQL checks the password only at login), new ones present
//! the fresh token. The task holds the pool only weakly and ends when the store is closed or
//! dropped. Tokens are never logged; the pool's options (which hold them) are never printed.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgConnectOptions, PgPool};

use crate::azure::credential::{REFRESH_MARGIN, TokenSource, needs_refresh};
use crate::azure::{AzureConfig, AzureError, CredentialKind};
use crate::config::{ConfigError, SettingsSource};

/// The token scope of Azure Database for PostgreSQL (every cloud's servers accept it).
pub const PG_TOKEN_SCOPE: &str = "https://ossrdbms-aad.database.windows.net/.default";

/// `auto` (default), `password` or `entra`.
pub(super) const DB_AUTH: &str = "AZCOPS_DB_AUTH";

/// The soonest the renewal task wakes again, so a token that is due on arrival cannot spin it.
const MIN_WAIT: Duration = Duration::from_secs(1);
/// The longest it waits before retrying after the credential failed.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// The time the renewal decisions are based on (the system clock outside tests).
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

/// How the store logs in to PostgreSQL.
#[derive(Debug, Clone, Default)]
pub enum DbAuth {
    /// Whatever the URL carries (or libpq's `PGPASSWORD` / `.pgpass`, which sqlx also reads).
    #[default]
    Password,
    /// An Entra access token from the credential these Azure settings select.
    Entra(Box<AzureConfig>),
}

/// Resolves `AZCOPS_DB_AUTH` for `url`. `auto` picks Entra for a PostgreSQL URL without a
/// password when an identity is configured: the platform's managed-identity endpoint
/// (`IDENTITY_ENDPOINT`), a workload-identity token file, a client secret, or an explicit
/// `AZCOPS_AZURE_CREDENTIAL` other than `auto`.
pub(super) fn resolve(source: &SettingsSource, url: &str, postgres: bool) -> Result<DbAuth, ConfigError> {
    let has_password = url::Url::parse(url)
        .ok()
        .is_some_and(|u| u.password().is_some() || u.query_pairs().any(|(k, _)| k == "password"));
    let entra = match source.get(DB_AUTH).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("auto") => postgres && !has_password && identity_configured(source)?,
        Some("password") => false,
        Some("entra") if !postgres => {
            return Err(ConfigError::invalid(DB_AUTH, "entra needs a postgres:// DATABASE_URL"));
        }
        Some("entra") if has_password => {
            return Err(ConfigError::invalid(DB_AUTH, "entra needs a DATABASE_URL without a password"));
        }
        Some("entra") => true,
        Some(_) => return Err(ConfigError::invalid(DB_AUTH, "expected auto, password or entra")),
    };
    Ok(if entra { DbAuth::Entra(Box::new(AzureConfig::from_source(source)?)) } else { DbAuth::Password })
}

fn identity_configured(source: &SettingsSource) -> Result<bool, ConfigError> {
    let explicit = source.parse_or("AZCOPS_AZURE_CREDENTIAL", CredentialKind::Auto)? != CredentialKind::Auto;
    Ok(explicit
        || ["IDENTITY_ENDPOINT", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_SECRET"]
            .iter()
            .any(|key| source.get(key).is_some()))
}

/// Keeps a pool's password set to a valid token.
pub(super) struct TokenRenewer {
    pool: PgPool,
    /// The URL's options; each token is set on a copy, so `sslmode` and the rest are kept.
    base: PgConnectOptions,
    tokens: Arc<dyn TokenSource>,
    clock: Clock,
    /// Expiry of the installed token; the lock also serialises renewals.
    expires_at: tokio::sync::Mutex<Option<SystemTime>>,
    /// Counts installed tokens (observed by tests).
    installed: tokio::sync::watch::Sender<u64>,
}

impl TokenRenewer {
    pub(super) fn new(
        pool: PgPool,
        base: PgConnectOptions,
        tokens: Arc<dyn TokenSource>,
        clock: Clock,
    ) -> Self {
        let (installed, _) = tokio::sync::watch::channel(0);
        Self { pool, base, tokens, clock, expires_at: tokio::sync::Mutex::new(None), installed }
    }

    /// Installs a fresh token when none is installed or the current one is within
    /// [`REFRESH_MARGIN`] of expiry; returns the installed token's expiry.
    pub(super) async fn renew_if_due(&self) -> Result<SystemTime, AzureError> {
        let mut current = self.expires_at.lock().await;
        if let Some(at) = *current
            && !needs_refresh(at, (self.clock)())
        {
            return Ok(at);
        }
        let token = self.tokens.token(None, PG_TOKEN_SCOPE).await?;
        self.pool.set_connect_options(self.base.clone().password(token.token.expose()));
        *current = Some(token.expires_at);
        self.installed.send_modify(|n| *n += 1);
        tracing::debug!(
            expires_in_secs = secs_until(token.expires_at, (self.clock)()),
            "database token renewed"
        );
        Ok(token.expires_at)
    }

    #[cfg(test)]
    fn watch_installed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.installed.subscribe()
    }
}

fn secs_until(at: SystemTime, now: SystemTime) -> u64 {
    at.duration_since(now).unwrap_or_default().as_secs()
}

/// How long to wait before the token expiring at `expires_at` is due for renewal.
pub(super) fn until_due(expires_at: SystemTime, now: SystemTime) -> Duration {
    expires_at
        .checked_sub(REFRESH_MARGIN)
        .and_then(|due| due.duration_since(now).ok())
        .unwrap_or_default()
        .max(MIN_WAIT)
}

fn retry_delay(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(6)).min(MAX_RETRY)
}

/// Starts the renewal task on the current Tokio runtime: it installs a token at once, then
/// renews it whenever it becomes due, until the pool is closed or the store dropped.
pub(super) fn spawn(renewer: &Arc<TokenRenewer>) -> Option<tokio::task::JoinHandle<()>> {
    let handle = tokio::runtime::Handle::try_current().ok()?;
    Some(handle.spawn(renew_until_closed(Arc::downgrade(renewer), renewer.pool.close_event())))
}

async fn renew_until_closed(renewer: Weak<TokenRenewer>, closed: sqlx::pool::CloseEvent) {
    tokio::pin!(closed);
    let mut failures = 0u32;
    loop {
        let Some(strong) = renewer.upgrade() else { return };
        let wait = match strong.renew_if_due().await {
            Ok(expires_at) => {
                failures = 0;
                until_due(expires_at, (strong.clock)())
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let wait = retry_delay(failures);
                tracing::warn!(%error, retry_in_secs = wait.as_secs(), "cannot obtain a database token");
                wait
            }
        };
        drop(strong);
        tokio::select! {
            () = &mut closed => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::credential::BearerToken;
    use crate::config::Secret;
    use std::str::FromStr;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    const PG: &str = "postgres://id-azcops@db.example.com/azcops?sslmode=require";

    fn source(pairs: &[(&str, &str)]) -> SettingsSource {
        SettingsSource::from_pairs(pairs.iter().copied())
    }

    fn is_entra(pairs: &[(&str, &str)], url: &str) -> bool {
        matches!(resolve(&source(pairs), url, url.starts_with("postgres")).unwrap(), DbAuth::Entra(_))
    }

    #[test]
    fn auto_uses_entra_only_for_a_passwordless_url_with_an_identity() {
        let mi = [("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token")];
        assert!(is_entra(&mi, PG));
        assert!(is_entra(&[("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token")], PG));
        assert!(is_entra(&[("AZCOPS_AZURE_CREDENTIAL", "managed_identity")], PG));
        assert!(!is_entra(&mi, "postgres://u:pw@db/azcops"), "a password in the URL wins");
        assert!(!is_entra(&mi, "postgres://u@db/azcops?password=pw"));
        assert!(!is_entra(&[], PG), "no identity configured");
        assert!(!is_entra(&[("AZCOPS_AZURE_CREDENTIAL", "auto")], PG));
        assert!(!is_entra(&mi, "sqlite://data/azcops.db"));
        assert!(!is_entra(&[("IDENTITY_ENDPOINT", "x"), (DB_AUTH, "password")], PG));
    }

    #[test]
    fn forcing_entra_needs_a_passwordless_postgres_url() {
        assert!(is_entra(&[(DB_AUTH, "entra")], PG), "no identity setting needed when forced");
        for (url, postgres) in [("postgres://u:pw@db/azcops", true), ("sqlite://x.db", false)] {
            let err = resolve(&source(&[(DB_AUTH, "Entra")]), url, postgres).unwrap_err().to_string();
            assert!(err.contains(DB_AUTH) && !err.contains("pw"), "{err}");
        }
        let err = resolve(&source(&[(DB_AUTH, "token")]), PG, true).unwrap_err().to_string();
        assert!(err.contains(DB_AUTH), "{err}");
    }

    #[test]
    fn renewal_is_due_one_margin_before_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(until_due(now + Duration::from_secs(3600), now), Duration::from_secs(3540));
        assert_eq!(until_due(now + Duration::from_secs(30), now), MIN_WAIT, "already due");
        assert_eq!(until_due(SystemTime::UNIX_EPOCH, now), MIN_WAIT);
        assert_eq!(retry_delay(1), Duration::from_secs(2));
        assert_eq!(retry_delay(40), MAX_RETRY);
    }

    /// Issues `token-N` valid for two minutes of the manual clock.
    struct Numbered {
        calls: AtomicU32,
        now: Arc<Mutex<SystemTime>>,
    }

    #[async_trait::async_trait]
    impl TokenSource for Numbered {
        async fn token(&self, tenant: Option<&str>, scope: &str) -> Result<BearerToken, AzureError> {
            assert_eq!((tenant, scope), (None, PG_TOKEN_SCOPE));
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let now = *self.now.lock().unwrap();
            Ok(BearerToken {
                token: Secret::new(format!("token-{n}")),
                expires_at: now + Duration::from_secs(120),
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_installs_a_token_and_renews_it_when_due() {
        let now = Arc::new(Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)));
        let tokens = Arc::new(Numbered { calls: AtomicU32::new(0), now: now.clone() });
        let clock_now = now.clone();
        let clock: Clock = Arc::new(move || *clock_now.lock().unwrap());
        // Never dialled: the test only watches the options new connections would use.
        let base =
            PgConnectOptions::from_str("postgres://id-azcops@127.0.0.1:1/azcops?sslmode=require").unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy_with(base.clone());
        let renewer = Arc::new(TokenRenewer::new(pool.clone(), base, tokens.clone(), clock));
        let mut installed = renewer.watch_installed();
        let task = spawn(&renewer).unwrap();

        installed.changed().await.unwrap();
        let options = format!("{:?}", pool.connect_options());
        assert!(options.contains("token-1") && options.contains("Require"), "{options}");

        // One margin before expiry the task, asleep on the paused timer, wakes and renews.
        *now.lock().unwrap() += Duration::from_secs(60);
        installed.changed().await.unwrap();
        assert!(format!("{:?}", pool.connect_options()).contains("token-2"));
        assert_eq!(tokens.calls.load(Ordering::SeqCst), 2);

        pool.close().await;
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_task_ends_when_the_store_is_dropped() {
        let now = Arc::new(Mutex::new(SystemTime::UNIX_EPOCH));
        let tokens = Arc::new(Numbered { calls: AtomicU32::new(0), now });
        let base = PgConnectOptions::from_str("postgres://u@127.0.0.1:1/db").unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy_with(base.clone());
        let renewer = Arc::new(TokenRenewer::new(pool, base, tokens, system_clock()));
        let mut installed = renewer.watch_installed();
        let task = spawn(&renewer).unwrap();
        installed.changed().await.unwrap();
        drop(renewer);
        task.await.unwrap();
    }
}
