//! PostgreSQL's `statement_timeout` for every connection the store opens
//! (`AZCOPS_DB_STATEMENT_TIMEOUT_MS`).
//!
//! Without it one slow statement (a lock wait, a plan gone wrong) holds its pooled connection
//! for as long as it runs, and a handful of them starve every other request. It is set as a
//! connection option (a startup parameter) rather than with `SET` after connecting, so it holds
//! for every connection the pool opens, including those logging in with renewed Entra tokens
//! (the renewer copies the options it is given).

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use crate::config::{ConfigError, SettingsSource};

/// The setting's name.
pub(super) const SETTING: &str = "AZCOPS_DB_STATEMENT_TIMEOUT_MS";
/// Below the API's default request timeout (30 s), so a runaway statement is cancelled and
/// answered with its own error before the request as a whole times out.
const DEFAULT_MS: u64 = 20_000;
/// An hour: anything longer is a mistake for an interactive API and would hide runaway queries.
const MAX_MS: u64 = 3_600_000;

/// The configured timeout; `0` means none (the server's own setting applies).
pub(super) fn from_source(source: &SettingsSource) -> Result<Option<Duration>, ConfigError> {
    let ms: u64 = source.parse_or(SETTING, DEFAULT_MS)?;
    if ms > MAX_MS {
        return Err(ConfigError::invalid(SETTING, "must be at most 3600000 (an hour)"));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms)))
}

/// `options` with the timeout as a startup parameter.
pub(super) fn apply(options: PgConnectOptions, timeout: Option<Duration>) -> PgConnectOptions {
    match timeout {
        // A bare number is milliseconds to PostgreSQL.
        Some(timeout) => options.options([("statement_timeout", timeout.as_millis().to_string())]),
        None => options,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::azure::credential::{BearerToken, TokenSource};
    use crate::config::Secret;
    use crate::store::connect::Db;
    use crate::store::{Store, StoreConfig, system_clock};

    #[test]
    fn default_off_and_bounds() {
        assert_eq!(from_source(&SettingsSource::default()).unwrap(), Some(Duration::from_millis(DEFAULT_MS)));
        assert_eq!(from_source(&SettingsSource::from_pairs([(SETTING, "0")])).unwrap(), None);
        assert_eq!(
            from_source(&SettingsSource::from_pairs([(SETTING, "3600000")])).unwrap(),
            Some(Duration::from_secs(3600))
        );
        for bad in ["-1", "soon", "3600001"] {
            let error = from_source(&SettingsSource::from_pairs([(SETTING, bad)])).unwrap_err();
            assert!(error.to_string().contains(SETTING), "{bad}: {error}");
        }
        let url = SettingsSource::from_pairs([("DATABASE_URL", "postgres://u@db/a"), (SETTING, "250")]);
        assert_eq!(
            StoreConfig::from_source(&url).unwrap().statement_timeout,
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn applied_as_a_startup_parameter() {
        let options: PgConnectOptions = "postgres://u@db/a".parse().unwrap();
        assert_eq!(
            apply(options.clone(), Some(Duration::from_secs(20))).get_options(),
            Some("-c statement_timeout=20000")
        );
        assert_eq!(apply(options, None).get_options(), None);
    }

    /// Always hands out the same token.
    struct OneToken;

    #[async_trait::async_trait]
    impl TokenSource for OneToken {
        async fn token(
            &self,
            _tenant: Option<&str>,
            _scope: &str,
        ) -> Result<BearerToken, crate::azure::AzureError> {
            Ok(BearerToken {
                token: Secret::new("token-1"),
                expires_at: SystemTime::now() + Duration::from_secs(3600),
            })
        }
    }

    #[tokio::test]
    async fn entra_logins_keep_the_statement_timeout() {
        // Never dialled: the test reads the options a new connection would log in with.
        let mut config =
            StoreConfig::for_url("postgres://id-azcops@127.0.0.1:1/azcops?sslmode=require", 1).unwrap();
        config.statement_timeout = Some(Duration::from_millis(1500));
        let store = Store::connect_lazy_with_tokens(&config, Arc::new(OneToken), system_clock()).unwrap();
        store.renew_token().await.unwrap();
        let Db::Postgres(pool) = store.db() else { panic!("a PostgreSQL store") };
        let options = pool.connect_options();
        assert_eq!(options.get_options(), Some("-c statement_timeout=1500"));
        assert!(
            matches!(options.get_ssl_mode(), sqlx::postgres::PgSslMode::Require),
            "the URL's options are kept"
        );
        store.close().await;
    }
}
