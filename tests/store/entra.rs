//! Entra-token logins against the local PostgreSQL: the role `azcops_entra_test` must present
//! its password (`scripts/start-postgres.sh` puts a scram-sha-256 line for it at the top of
//! `pg_hba.conf`), which here is a JWT-shaped token from a fake token source. Rotating the
//! role's password and the source's token proves new pool connections use the renewed token.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azcops::azure::AzureError;
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::config::Secret;
use azcops::store::{Clock, PG_TOKEN_SCOPE, Store, StoreConfig, StoreError};
use base64::Engine;
use sqlx::{Connection, PgConnection};

const ROLE: &str = "azcops_entra_test";

/// Hands out whatever token the test put in, recording the scopes asked for.
struct FakeTokens {
    current: Mutex<(String, SystemTime)>,
    scopes: Mutex<Vec<String>>,
}

#[async_trait]
impl TokenSource for FakeTokens {
    async fn token(&self, tenant: Option<&str>, scope: &str) -> Result<BearerToken, AzureError> {
        assert_eq!(tenant, None, "the database token comes from the home tenant");
        self.scopes.lock().unwrap().push(scope.to_owned());
        let (token, expires_at) = self.current.lock().unwrap().clone();
        Ok(BearerToken { token: Secret::new(token), expires_at })
    }
}

/// A token shaped like an Entra access token: three base64url segments.
fn jwt(serial: u32, exp: SystemTime) -> String {
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let exp = exp.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let header = b64(serde_json::json!({ "typ": "JWT", "alg": "RS256", "kid": format!("key-{serial}") }));
    let claims = b64(serde_json::json!({
        "aud": "https://ossrdbms-aad.database.windows.net",
        "oid": uuid::Uuid::new_v4().to_string(),
        "exp": exp,
        "serial": serial,
    }));
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([serial as u8; 256]);
    format!("{header}.{claims}.{signature}")
}

fn role_url(server: &str, password: Option<&str>) -> String {
    let mut url = url::Url::parse(server).unwrap();
    url.set_username(ROLE).unwrap();
    url.set_password(password).unwrap();
    url.to_string()
}

async fn set_password(admin: &mut PgConnection, password: &str) {
    // ALTER ROLE takes no bind parameters; the token is base64url and dots, so quoting is safe.
    assert!(password.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER ROLE {ROLE} PASSWORD '{password}'")))
        .execute(&mut *admin)
        .await
        .unwrap();
}

/// Ends the role's sessions (waiting until they are gone), so the pool's next checkout has to
/// log in again.
async fn end_sessions(admin: &mut PgConnection) {
    sqlx::query("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE usename = $1")
        .bind(ROLE)
        .execute(&mut *admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn new_connections_log_in_with_the_renewed_token() {
    let Some(server) = crate::support::postgres_server_url("new_connections_log_in_with_the_renewed_token")
    else {
        return;
    };
    let mut admin = PgConnection::connect(&server).await.unwrap();
    // The role is cluster-wide; one test owns it, so recreating it is safe.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {ROLE}")))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE ROLE {ROLE} LOGIN"))).execute(&mut admin).await.unwrap();

    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let now = Arc::new(Mutex::new(t0));
    let clock_now = now.clone();
    let clock: Clock = Arc::new(move || *clock_now.lock().unwrap());
    let old = jwt(1, t0 + Duration::from_secs(3600));
    set_password(&mut admin, &old).await;

    // The server really checks this role's password (otherwise nothing below proves anything).
    let wrong = PgConnection::connect(&role_url(&server, Some("not-the-token"))).await;
    assert!(
        wrong.is_err(),
        "pg_hba.conf must require a password for {ROLE}; rerun scripts/start-postgres.sh"
    );
    let direct = PgConnection::connect(&role_url(&server, Some(&old))).await.unwrap();
    direct.close().await.unwrap();

    let tokens = Arc::new(FakeTokens {
        current: Mutex::new((old.clone(), t0 + Duration::from_secs(3600))),
        scopes: Mutex::new(Vec::new()),
    });
    let mut config = StoreConfig::for_url(&role_url(&server, None), 1).unwrap();
    config.acquire_timeout = Duration::from_secs(5);
    let store = Store::connect_with_tokens(&config, tokens.clone(), clock).await.unwrap();
    store.ping().await.unwrap();
    assert!(!format!("{store:?}").contains(&old[..20]), "the token must not show in Debug");

    // Rotate: the server now wants the new token, and the source hands it out.
    let new = jwt(2, t0 + Duration::from_secs(7200));
    set_password(&mut admin, &new).await;
    *tokens.current.lock().unwrap() = (new.clone(), t0 + Duration::from_secs(7200));
    end_sessions(&mut admin).await;

    // Not yet due (59 minutes left): the pool keeps the old token and its next login fails.
    assert_eq!(store.renew_token().await.unwrap(), Some(t0 + Duration::from_secs(3600)));
    assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))), "the old token is rejected");

    // Inside the refresh margin the token is renewed, and a new connection logs in with it.
    *now.lock().unwrap() = t0 + Duration::from_secs(3600 - 30);
    assert_eq!(store.renew_token().await.unwrap(), Some(t0 + Duration::from_secs(7200)));
    store.ping().await.unwrap();
    assert_eq!(tokens.scopes.lock().unwrap().as_slice(), [PG_TOKEN_SCOPE, PG_TOKEN_SCOPE]);

    store.close().await;
    end_sessions(&mut admin).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {ROLE}")))
        .execute(&mut admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn password_urls_and_sqlite_keep_password_auth() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = StoreConfig::for_url(&format!("sqlite://{}/s.db", dir.path().display()), 1).unwrap();
    let store = Store::connect(&sqlite).await.unwrap();
    assert_eq!(store.renew_token().await.unwrap(), None);
    store.close().await;

    let tokens = Arc::new(FakeTokens {
        current: Mutex::new((String::new(), SystemTime::now())),
        scopes: Mutex::default(),
    });
    let refused = Store::connect_lazy_with_tokens(&sqlite, tokens, azcops::store::system_clock());
    assert!(matches!(refused, Err(StoreError::Validation { .. })), "SQLite has no Entra login");
}
