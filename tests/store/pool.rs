//! The pool's checkout test against the local PostgreSQL: only connections idle at least
//! `ping_after_idle` are pinged before use. Each test kills its pool's server session (found by a
//! unique `application_name`) and watches whether the next statement notices.

use std::time::Duration;

use azcops::store::{PING_AFTER_IDLE, Store, StoreConfig};
use sqlx::{Connection, PgConnection};

/// A one-connection pool whose session carries `name`, already connected (`connect` pings).
async fn pool_named(server: &str, name: &str, ping_after_idle: Duration) -> Store {
    let mut url = url::Url::parse(server).unwrap();
    url.query_pairs_mut().append_pair("application_name", name);
    let mut config = StoreConfig::for_url(url.as_str(), 1).unwrap();
    config.ping_after_idle = ping_after_idle;
    Store::connect(&config).await.unwrap()
}

/// Ends the sessions called `name`, waiting until they are gone.
async fn kill_sessions(server: &str, name: &str) {
    let mut admin = PgConnection::connect(server).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, [true], "exactly the pool's one session");
}

#[tokio::test]
async fn a_connection_idle_past_the_threshold_is_pinged_and_replaced_when_dead() {
    let Some(server) = crate::support::postgres_server_url("pool idle checkout") else { return };
    let name = format!("azcops-pool-idle-{}", std::process::id());
    let store = pool_named(&server, &name, Duration::ZERO).await;
    kill_sessions(&server, &name).await;
    // The checkout's ping finds the session gone; the pool opens another and the statement runs.
    store.ping().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn a_connection_used_moments_ago_is_handed_out_without_a_ping() {
    let Some(server) = crate::support::postgres_server_url("pool busy checkout") else { return };
    assert_eq!(PING_AFTER_IDLE, Duration::from_secs(30));
    let name = format!("azcops-pool-busy-{}", std::process::id());
    let store = pool_named(&server, &name, PING_AFTER_IDLE).await;
    kill_sessions(&server, &name).await;
    // No round trip before the statement: it is the statement that meets the dead session (the
    // health ping reports any failure as unavailable). sqlx then discards the connection, so the
    // next statement gets a fresh one.
    let error = store.ping().await.unwrap_err();
    assert!(matches!(error, azcops::store::StoreError::Unavailable(_)), "{error:?}");
    store.ping().await.unwrap();
    store.close().await;
}
