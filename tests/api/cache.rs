//! The response cache over HTTP: keys from the parsed query (spellings share an entry), the
//! byte cap, `AZCOPS_API_CACHE_SECONDS=0`, single flight; and `GET /resources/{id}`, the only
//! route that serves a resource's `properties`.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

async fn seed(api: &Api, count: u32) {
    let rows: Vec<_> =
        (0..count).map(|i| resource_row(1, &format!("disk-{i:03}"), &[("env", "prod")])).collect();
    api.store.upsert_resources(&api.scope_a, &rows, azcops::store::now()).await.unwrap();
}

/// 1,000 distinct spellings of `page=1&page_size=50&sort=name&order=asc&location=westeurope`.
fn spellings() -> Vec<String> {
    let mut all = Vec::new();
    'outer: for zeros_page in 0..10 {
        for zeros_size in 0..10 {
            for variant in 0..16u32 {
                let mut params = vec![
                    format!("page={}1", "0".repeat(zeros_page)),
                    format!("page_size={}50", "0".repeat(zeros_size)),
                ];
                if variant & 1 == 1 {
                    params.push("sort=name".into());
                }
                if variant & 2 == 2 {
                    params.push("order=asc".into());
                }
                params.push(
                    if variant & 4 == 4 { "location=WestEurope" } else { "location=westeurope" }.into(),
                );
                if variant & 8 == 8 {
                    params.reverse();
                }
                all.push(params.join("&"));
                if all.len() == 1000 {
                    break 'outer;
                }
            }
        }
    }
    all
}

#[tokio::test]
async fn a_thousand_spellings_of_one_query_occupy_one_entry() {
    let api = Api::new().await;
    seed(&api, 3).await;
    let reader = token(&tid_a(), &[READER]).await;
    let queries = spellings();
    assert_eq!(queries.iter().collect::<std::collections::BTreeSet<_>>().len(), 1000, "all distinct");
    let first = api.get(&format!("/api/v1/resources?{}", queries[0]), &reader).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json()["total"], 3);
    for query in &queries {
        let reply = api.get(&format!("/api/v1/resources?{query}"), &reader).await;
        assert_eq!(reply.text, first.text, "{query}");
    }
    let cache = &api.runtime().response_cache;
    assert_eq!((cache.len(), cache.loads()), (1, 1), "one entry, one database query");
    // A different query is a different entry.
    assert_eq!(
        api.get("/api/v1/resources?page=2&page_size=1", &reader).await.json()["items"][0]["name"],
        "disk-001"
    );
    assert_eq!((cache.len(), cache.loads()), (2, 2));
}

#[tokio::test]
async fn summary_spellings_share_an_entry_and_an_empty_filter_is_not_no_filter() {
    let api = Api::new().await;
    let day = chrono::Utc::now().date_naive();
    api.store.upsert_costs_daily(&api.scope_a, &[cost_row(1, day, 12.5)]).await.unwrap();
    let reader = token(&tid_a(), &[READER]).await;
    let sub = subscription(1);
    let upper = sub.to_ascii_uppercase();
    let spellings = [
        format!("days=7&subscription_id={sub}"),
        format!("days=007&subscription_id={upper}"),
        format!("subscription_id={sub}&to={day}&days=7"),
        format!("to={day}&days=07&subscription_id=%20{sub}"),
    ];
    for query in &spellings {
        let reply = api.get(&format!("/api/v1/costs/summary?{query}"), &reader).await;
        assert_eq!(reply.json()["total_cost"], 12.5, "{query}: {}", reply.text);
    }
    let cache = &api.runtime().response_cache;
    assert_eq!((cache.len(), cache.loads()), (1, 1));
    let empty = api.get("/api/v1/costs/summary?days=7&subscription_id=", &reader).await;
    assert_eq!(empty.json()["total_cost"], 0.0, "{}", empty.text);
    assert_eq!(api.get("/api/v1/costs/summary?days=7", &reader).await.json()["total_cost"], 12.5);
    assert_eq!((cache.len(), cache.loads()), (3, 3));
}

#[tokio::test]
async fn the_byte_cap_evicts_the_oldest_pages() {
    const CAP: usize = 6_000;
    let api = Api::with(&[("AZCOPS_API_CACHE_MAX_BYTES", "6000")]).await;
    seed(&api, 40).await;
    let reader = token(&tid_a(), &[READER]).await;
    let cache = &api.runtime().response_cache;
    let mut sizes = Vec::new();
    for size in 1..=8 {
        let reply = api.get(&format!("/api/v1/resources?page_size={size}"), &reader).await;
        assert_eq!(reply.status, StatusCode::OK);
        sizes.push(reply.text.len());
        assert!(cache.bytes() <= CAP, "{} bytes cached", cache.bytes());
    }
    assert!(sizes.iter().sum::<usize>() > CAP, "the pages together exceed the cap: {sizes:?}");
    assert!(cache.len() < 8, "some pages were evicted");
    assert_eq!(cache.loads(), 8);
    // The newest page is still cached, the oldest was evicted first.
    api.get("/api/v1/resources?page_size=8", &reader).await;
    assert_eq!(cache.loads(), 8);
    api.get("/api/v1/resources?page_size=1", &reader).await;
    assert_eq!(cache.loads(), 9);
    // A page larger than the whole cap is answered but never stored.
    let big = api.get("/api/v1/resources?page_size=40", &reader).await;
    assert!(big.text.len() > CAP && big.json()["items"].as_array().unwrap().len() == 40);
    api.get("/api/v1/resources?page_size=40", &reader).await;
    assert_eq!(cache.loads(), 11);
    assert!(cache.bytes() <= CAP);
}

#[tokio::test]
async fn zero_seconds_turns_the_cache_off() {
    let api = Api::with(&[("AZCOPS_API_CACHE_SECONDS", "0")]).await;
    seed(&api, 2).await;
    let reader = token(&tid_a(), &[READER]).await;
    assert_eq!(api.get("/api/v1/resources", &reader).await.json()["total"], 2);
    api.get("/api/v1/costs/summary?days=7", &reader).await;
    api.get("/api/v1/costs/summary?days=7", &reader).await;
    seed(&api, 5).await;
    assert_eq!(api.get("/api/v1/resources", &reader).await.json()["total"], 5, "fresh data at once");
    let cache = &api.runtime().response_cache;
    assert_eq!((cache.len(), cache.loads()), (0, 4));

    // With the default lifetime the same sequence is served from memory.
    let cached = Api::new().await;
    seed(&cached, 2).await;
    assert_eq!(cached.get("/api/v1/resources", &reader).await.json()["total"], 2);
    seed(&cached, 5).await;
    assert_eq!(cached.get("/api/v1/resources", &reader).await.json()["total"], 2);
    assert_eq!(cached.runtime().response_cache.loads(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_requests_reach_the_database_once() {
    let api = Api::on(Backend::Postgres, &[]).await;
    seed(&api, 30).await;
    let reader = token(&tid_a(), &[READER]).await;
    let replies = futures::future::join_all((0..20).map(|i| {
        api.get(if i % 2 == 0 { "/api/v1/resources?page=1" } else { "/api/v1/resources" }, &reader)
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == StatusCode::OK && r.text == replies[0].text));
    // Each caller either joined the one load in flight or found its result cached.
    assert_eq!(api.runtime().response_cache.loads(), 1);
    api.finish().await;
}

#[tokio::test]
async fn resource_lists_omit_properties_which_get_by_id_serves_sqlite() {
    resource_by_id(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn resource_lists_omit_properties_which_get_by_id_serves_postgres() {
    resource_by_id(Api::on(Backend::Postgres, &[]).await).await;
}

async fn resource_by_id(api: Api) {
    seed(&api, 2).await;
    let reader = token(&tid_a(), &[READER]).await;
    let list = api.get("/api/v1/resources", &reader).await.json();
    let item = &list["items"][0];
    assert_eq!(item["name"], "disk-000");
    assert!(item.get("properties").is_none(), "lists carry no properties: {item}");
    assert_eq!(item["tags"], json!({"env": "prod"}));

    let id = item["resource_id"].as_str().unwrap();
    let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let one = api.get(&format!("/api/v1/resources/{encoded}"), &reader).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    let one = one.json();
    assert_eq!(
        (one["resource_id"].as_str(), one["properties"].clone()),
        (Some(id), json!({"diskState": "Unattached"}))
    );
    // Ids are matched case-insensitively, as ARM treats them.
    let upper: String = url::form_urlencoded::byte_serialize(id.to_ascii_uppercase().as_bytes()).collect();
    assert_eq!(api.get(&format!("/api/v1/resources/{upper}"), &reader).await.status, StatusCode::OK);

    // Another tenant's reader gets the same 404 as for an id that does not exist.
    let other = token(&tid_b(), &[READER]).await;
    let reply = api.get(&format!("/api/v1/resources/{encoded}"), &other).await;
    assert_eq!(error_field(&reply, StatusCode::NOT_FOUND), None);
    let missing: String = url::form_urlencoded::byte_serialize(format!("{id}-gone").as_bytes()).collect();
    assert_eq!(
        error_field(&api.get(&format!("/api/v1/resources/{missing}"), &reader).await, StatusCode::NOT_FOUND),
        None
    );
    let reply = api.get("/api/v1/resources/disk-000", &reader).await;
    assert_eq!(error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("id"));
    let long = format!("%2F{}", "a".repeat(3000));
    let reply = api.get(&format!("/api/v1/resources/{long}"), &reader).await;
    assert_eq!(error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("id"));
    // The export route is not shadowed by the new one.
    assert_eq!(api.get("/api/v1/resources/export.csv", &reader).await.status, StatusCode::OK);
    assert_eq!(
        api.get("/api/v1/resources/x", &token(&tid_a(), &[]).await).await.status,
        StatusCode::FORBIDDEN
    );
    api.finish().await;
}
