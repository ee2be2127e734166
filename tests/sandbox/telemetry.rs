//! The Application Insights ingestion endpoint: Breeze's answers for arrays, newline-delimited
//! and gzip bodies, bearer checks (tokens from the sandbox's own identity endpoint, audience
//! `https://monitor.azure.com`), the capacity and size bounds, and a configured outage.

use std::collections::HashMap;
use std::io::Write as _;

use serde_json::{Value, json};

use crate::support::{client, start};

const SPEC: &str = "tenants=1,subscriptions=1,resources=1,days=1";

fn envelope(name: &str) -> Value {
    json!({
        "name": "Microsoft.ApplicationInsights.Message",
        "time": "2026-11-25T00:00:00Z",
        "iKey": "00000000-0000-4000-8000-0000000000a1",
        "tags": {"ai.operation.id": "4bf92f3577b34da6a3ce929d0e0e4736"},
        "data": {"baseType": "MessageData", "baseData": {"ver": 2, "message": name}},
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn post(base: &str, path: &str, body: Vec<u8>, headers: &[(&str, String)]) -> (u16, Value) {
    let mut request = client().post(format!("{base}{path}")).body(body);
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn identity_token(exports: &HashMap<String, String>, resource: &str) -> String {
    let body: Value = client()
        .get(format!("{}?api-version=2019-08-01&resource={resource}", exports["IDENTITY_ENDPOINT"]))
        .header("X-IDENTITY-HEADER", &exports["IDENTITY_HEADER"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn received(base: &str) -> Value {
    client().get(format!("{base}/_sandbox/telemetry")).send().await.unwrap().json().await.unwrap()
}

async fn configure(base: &str, config: Value) -> u16 {
    client().put(format!("{base}/_sandbox/telemetry")).json(&config).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn uploads_are_answered_like_breeze_and_kept() {
    let sb = start(SPEC, |_| {}).await;
    let base = sb.base_url().to_owned();
    assert!(sb.telemetry_connection_string().contains(&format!("IngestionEndpoint={base}/")));

    let array = serde_json::to_vec(&json!([envelope("one"), envelope("two")])).unwrap();
    let (status, body) = post(&base, "/v2/track", array, &[]).await;
    assert_eq!((status, body), (200, json!({"itemsReceived": 2, "itemsAccepted": 2, "errors": []})));

    // Newline-delimited and gzip-compressed, as the exporters send it; one bad line is 206.
    let lines = format!("{}\n{}\nnot json\n", envelope("three"), envelope("four"));
    let headers = [("content-encoding", "gzip".to_owned())];
    let (status, body) = post(&base, "/v2.1/track", gzip(lines.as_bytes()), &headers).await;
    assert_eq!(status, 206, "{body}");
    assert_eq!((body["itemsReceived"].clone(), body["itemsAccepted"].clone()), (json!(3), json!(2)));
    assert_eq!(body["errors"][0]["index"], 2);
    assert_eq!(body["errors"][0]["statusCode"], 400);

    let mut missing_key = envelope("five");
    missing_key["iKey"] = json!("");
    let (status, body) =
        post(&base, "/v2/track", serde_json::to_vec(&json!([missing_key])).unwrap(), &[]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("iKey"));
    let (status, _) = post(&base, "/v2/track", b"[{".to_vec(), &[]).await;
    assert_eq!(status, 400);

    let kept = received(&base).await;
    let messages: Vec<&str> = kept["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["data"]["baseData"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["one", "two", "three", "four"]);
    let uploads = kept["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 3, "{kept}");
    assert_eq!(
        (uploads[1]["path"].as_str(), uploads[1]["gzip"].as_bool()),
        (Some("/v2.1/track"), Some(true))
    );
    assert!(uploads[0]["bearer"].is_null());

    // Telemetry uploads are not ARM traffic.
    let stats: Value =
        client().get(format!("{base}/_sandbox/stats")).send().await.unwrap().json().await.unwrap();
    assert!(!stats.to_string().contains("track"), "{stats}");

    let cleared = client().delete(format!("{base}/_sandbox/telemetry")).send().await.unwrap();
    assert_eq!(cleared.status().as_u16(), 204);
    assert_eq!(received(&base).await["items"], json!([]));
}

#[tokio::test]
async fn a_required_token_must_be_the_identitys_for_monitor() {
    let sb = start(SPEC, |_| {}).await;
    let base = sb.base_url().to_owned();
    let exports: HashMap<String, String> = sb.exports().into_iter().collect();
    assert_eq!(configure(&base, json!({"require_token": true})).await, 200);
    let body = || serde_json::to_vec(&json!([envelope("x")])).unwrap();

    let (status, answer) = post(&base, "/v2.1/track", body(), &[]).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["itemsAccepted"], 0);
    let (status, _) = post(&base, "/v2.1/track", body(), &[("authorization", "Bearer forged".into())]).await;
    assert_eq!(status, 401);
    let arm = identity_token(&exports, "https://management.azure.com/").await;
    let (status, answer) =
        post(&base, "/v2.1/track", body(), &[("authorization", format!("Bearer {arm}"))]).await;
    assert_eq!(status, 403, "an ARM token is for another audience: {answer}");

    let monitor = identity_token(&exports, "https://monitor.azure.com").await;
    let (status, answer) =
        post(&base, "/v2.1/track", body(), &[("authorization", format!("Bearer {monitor}"))]).await;
    assert_eq!(status, 200, "{answer}");
    let kept = received(&base).await;
    assert_eq!(kept["uploads"].as_array().unwrap().len(), 1, "refused uploads are not kept: {kept}");
    assert_eq!(kept["refused_uploads"], 3);
    assert_eq!(kept["uploads"][0]["bearer"]["aud"], "https://monitor.azure.com");
    assert_eq!(kept["uploads"][0]["bearer"]["tid"], sb.estate().tenants[0].id);
    assert!(!kept.to_string().contains(&monitor), "the token itself is never kept");
}

#[tokio::test]
async fn capacity_size_and_outage_bounds_hold() {
    let sb = start(SPEC, |_| {}).await;
    let base = sb.base_url().to_owned();
    assert_eq!(configure(&base, json!({"capacity": 0})).await, 400);
    assert_eq!(configure(&base, json!({"capacity": 100_001})).await, 400);
    assert_eq!(configure(&base, json!({"fail_status": 200})).await, 400);
    assert_eq!(configure(&base, json!({"capacity": 3})).await, 200);
    let five: Vec<Value> = (0..5).map(|n| envelope(&n.to_string())).collect();
    let (status, _) = post(&base, "/v2/track", serde_json::to_vec(&five).unwrap(), &[]).await;
    assert_eq!(status, 200);
    let kept = received(&base).await;
    let names: Vec<&str> = kept["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["data"]["baseData"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["2", "3", "4"], "the newest items are kept");
    assert_eq!(kept["dropped_items"], 2);

    // A small gzip body that expands past the limit is refused, not inflated without bound.
    let bomb = gzip(&vec![b' '; azcops::sandbox::telemetry::MAX_BODY_BYTES + 1]);
    assert!(bomb.len() < 1 << 20);
    let (status, _) = post(&base, "/v2/track", bomb, &[("content-encoding", "gzip".into())]).await;
    assert_eq!(status, 413);

    assert_eq!(configure(&base, json!({"fail_status": 500})).await, 200);
    let (status, answer) = post(&base, "/v2/track", serde_json::to_vec(&five).unwrap(), &[]).await;
    assert_eq!(status, 500, "{answer}");
    assert_eq!(received(&base).await["dropped_items"], 2, "nothing was kept during the outage");
}
