//! Every host fixture parses into its typed payload; responses keep the documented shape.

use azcops::dev::{QueueMessage, http_output_response, queue_envelope};
use azcops::invocation::{
    BlobTrigger, HttpTriggerRequest, InvocationRequest, InvocationResponse, QueueTrigger, TimerInfo,
    TriggerPayload,
};
use serde_json::Value;

use crate::support::repo;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("../shared/fixtures/functions-host").join(name)).unwrap()
}

fn request(name: &str) -> InvocationRequest {
    InvocationRequest::from_slice(&fixture(name)).unwrap()
}

#[test]
fn timer_fixtures_decode() {
    let info = TimerInfo::decode("myTimer", &request("timer-request.json")).unwrap();
    assert_eq!(info.occurrence().unwrap().to_rfc3339(), "2026-01-15T02:00:00+00:00");
    assert!(!info.is_past_due);
    let no_monitor = TimerInfo::decode("myTimer", &request("timer-request-nomonitor.json")).unwrap();
    assert!(no_monitor.schedule_status.is_none());
    assert_eq!(request("timer-request.json").sys().unwrap().method_name, "NightlyCleanup");
}

#[test]
fn queue_fixtures_decode_the_double_encoded_message() {
    let plain = QueueTrigger::decode("orderItem", &request("queue-request.json")).unwrap();
    assert_eq!(plain.message, "hello world");
    assert_eq!(plain.dequeue_count, 1);
    assert_eq!(plain.id.as_deref(), Some("3b0c7c1e-5d5e-4f6a-9a53-6b1f2a7c9d10"));
    let json = QueueTrigger::decode("orderItem", &request("queue-request-json-message.json")).unwrap();
    assert_eq!(json.dequeue_count, 3);
    let body: Value = serde_json::from_str(&json.message).unwrap();
    assert_eq!(body["orderId"], "A-1001");
    assert_eq!(body["customer"]["id"], "c-7");
}

#[test]
fn the_emulators_queue_envelope_has_the_hosts_shape() {
    let real = request("queue-request-json-message.json");
    let message = QueueMessage {
        id: "3b0c7c1e-5d5e-4f6a-9a53-6b1f2a7c9d10".into(),
        pop_receipt: "AgAAAAMAAAAAAAAA7q0m4mA43AE=".into(),
        body: br#"{"orderId":"A-1001","qty":2,"tags":["rush"],"customer":{"id":"c-7"}}"#.to_vec(),
        dequeue_count: 3,
        inserted: chrono::Utc::now(),
        expires: chrono::Utc::now(),
        next_visible: chrono::Utc::now(),
    };
    let ours = queue_envelope("orderItem", None, &message);
    assert_eq!(ours.data, real.data, "Data is byte-identical");
    for key in ["DequeueCount", "Id", "PopReceipt", "orderId", "qty", "customer"] {
        assert_eq!(ours.metadata.get(key), real.metadata.get(key), "Metadata.{key}");
    }
    let mut real_keys: Vec<&String> = real.metadata.keys().filter(|k| *k != "sys").collect();
    let mut our_keys: Vec<&String> = ours.metadata.keys().collect();
    real_keys.sort();
    our_keys.sort();
    assert_eq!(our_keys, real_keys);
}

#[test]
fn blob_fixtures_decode_text_and_binary_content() {
    let text = BlobTrigger::decode("inputBlob", &request("blob-request.json")).unwrap();
    assert_eq!(text.content, b"id,amount\n1,9.50\n2,12.00\n");
    assert_eq!(text.uri, "https://mystorageacct.blob.core.windows.net/incoming/report-2026-01.csv");
    assert_eq!(text.path_params["name"], "report-2026-01.csv");
    assert_eq!(text.user_metadata["uploadedBy"], "etl");
    let binary = BlobTrigger::decode("inputBlob", &request("blob-eventgrid-request.json")).unwrap();
    assert_eq!(binary.content, text.content);
}

#[test]
fn http_fixture_decodes() {
    let req = HttpTriggerRequest::decode("req", &request("http-request.json")).unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.query["source"], "web");
    assert_eq!(req.params["id"], "1005");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.body.as_deref(), Some(r#"{"id":1005,"quantity":2,"color":"black"}"#));
}

#[test]
fn missing_bindings_and_bad_encodings_are_named() {
    let err = QueueTrigger::decode("nope", &request("queue-request.json")).unwrap_err();
    assert!(err.to_string().contains("nope"));
    let mut broken = request("queue-request.json");
    broken.data.insert("orderItem".into(), Value::String("not double encoded".into()));
    assert!(QueueTrigger::decode("orderItem", &broken).unwrap_err().to_string().contains("Data.orderItem"));
}

#[test]
fn response_fixtures_round_trip() {
    for name in [
        "queue-output-response.json",
        "http-output-response.json",
        "return-value-response.json",
        "blob-output-response.json",
        "timer-response.json",
    ] {
        let raw: Value = serde_json::from_slice(&fixture(name)).unwrap();
        let parsed: InvocationResponse = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), raw, "{name}");
    }
}

#[tokio::test]
async fn http_outputs_become_the_callers_response() {
    let raw: Value = serde_json::from_slice(&fixture("http-output-response.json")).unwrap();
    let response = http_output_response(&raw["Outputs"]["res"]);
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["location"], "/api/orders/1005");
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    assert_eq!(&body[..], br#"{"id":1005,"status":"created"}"#);
}
