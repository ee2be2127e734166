//! PostgreSQL faults: a statement past `statement_timeout` is cancelled and answered with a
//! clear 503, and long exports read by slow clients never starve the pool of the API calls
//! running beside them.

use std::time::Duration;

use axum::http::StatusCode;
use sqlx::Connection as _;

use crate::exports::{Download, records};
use crate::support::*;

#[tokio::test]
async fn statement_timeout_cancels_and_answers_503_postgres() {
    let api = Api::on_store(Backend::Postgres, &[], |config| {
        config.statement_timeout = Some(Duration::from_millis(300));
    })
    .await;
    let t = token(&tid_a(), &[READER]).await;
    api.store
        .upsert_costs_daily(
            &api.scope_a,
            &[cost_row(1, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 1.0)],
        )
        .await
        .unwrap();
    assert_eq!(api.get("/api/v1/costs", &t).await.status, StatusCode::OK);

    // Another session holds a lock every read of the table waits for, for as long as the test
    // wants: each statement is certain to run past the timeout, with no race on timing.
    let mut blocker = sqlx::PgConnection::connect(&api.postgres_url().unwrap()).await.unwrap();
    let mut lock = blocker.begin().await.unwrap();
    sqlx::query("LOCK TABLE costs_daily IN ACCESS EXCLUSIVE MODE").execute(&mut *lock).await.unwrap();
    for path in ["/api/v1/costs", "/api/v1/costs/export.csv"] {
        let reply = api.get(path, &t).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {}", reply.text);
        let body = reply.json();
        assert_eq!(body["error"]["code"], "statement_timeout", "{path}");
        assert_eq!(body["error"]["details"]["setting"], "AZCOPS_DB_STATEMENT_TIMEOUT_MS");
        assert_eq!(reply.headers["retry-after"], "5");
    }
    // The cancelled statements left nothing behind: once the lock goes, the same calls work,
    // and the export's slot was given back when the count failed.
    lock.rollback().await.unwrap();
    assert_eq!(api.get("/api/v1/costs", &t).await.status, StatusCode::OK);
    for _ in 0..3 {
        let reply = api.get("/api/v1/costs/export.csv", &t).await;
        assert_eq!((reply.status, records(&reply.text).len()), (StatusCode::OK, 1));
    }
    api.finish().await;
}

const POOL: u32 = 3;
const ROWS: u32 = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_exports_and_20_api_calls_share_a_small_pool_postgres() {
    // As many paused exports as the pool has connections: an export that kept a connection
    // (a server-side cursor, a transaction around the walk) would leave none for the calls.
    let api = Api::on_store(
        Backend::Postgres,
        &[("AZCOPS_API_EXPORT_CONCURRENCY", "3"), ("AZCOPS_API_REQUEST_TIMEOUT_SECS", "10")],
        |config| {
            config.max_connections = POOL;
            config.acquire_timeout = Duration::from_secs(5);
            config.statement_timeout = Some(Duration::from_secs(5));
        },
    )
    .await;
    let rows: Vec<_> = (0..ROWS).map(|i| resource_row(1, &format!("disk-{i:05}"), &[])).collect();
    api.store.upsert_resources(&api.scope_a, &rows, azcops::store::now()).await.unwrap();
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-00001", 5.0)]).await.unwrap();
    let t = token(&tid_a(), &[READER]).await;

    let mut exports = Vec::new();
    for sort in ["name", "type", "location"] {
        let mut download =
            Download::open(&api, &format!("/api/v1/resources/export.csv?sort={sort}"), &t).await;
        assert_eq!(download.status, StatusCode::OK);
        let mut text = download.chunk().await.unwrap();
        text.push_str(&download.chunk().await.unwrap());
        assert_eq!(records(&text).len(), 500, "each export is one page in, then its client pauses");
        exports.push((download, text));
    }

    let calls = (0..20).map(|i| {
        let (api, t) = (&api, &t);
        async move {
            // Distinct queries, so none is answered from the response cache.
            let path = match i % 4 {
                0 => format!("/api/v1/resources?page_size={}", i + 1),
                1 => format!("/api/v1/costs?page={}", i + 1),
                2 => format!("/api/v1/recommendations?page_size={}", i + 1),
                _ => format!("/api/v1/costs/summary?days={}", i + 1),
            };
            let reply = api.get(&path, t).await;
            (path, reply, api.store.pool_status())
        }
    });
    for (path, reply, status) in futures::future::join_all(calls).await {
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        assert!(status.size <= POOL && status.idle <= status.size, "{status:?}");
        assert_eq!(status.max, POOL);
    }

    // The paused exports resume where they stopped and deliver every row exactly once.
    for (mut download, mut text) in exports {
        text.push_str(&download.rest().await);
        let ids: std::collections::BTreeSet<String> =
            records(&text).iter().map(|r| r[1].to_owned()).collect();
        assert_eq!(ids.len(), ROWS as usize);
        assert!(!text.contains("TRUNCATED"));
    }
    let status = api.store.pool_status();
    assert!(status.size <= POOL, "{status:?}");
    api.finish().await;
}
