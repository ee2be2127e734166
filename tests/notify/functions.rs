//! The notification functions through their invocation envelopes: the dispatch timer enqueues
//! one message per event with work left, the queue function delivers it, and a message that
//! reaches the poison queue marks what is left of its event failed.

use azcops::invocation::InvocationRequest;
use azcops::triggers::dispatch;
use serde_json::{Value, json};

use crate::receiver::{Answer, Receiver};
use crate::support::*;

const TIMER: &str = r#"{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{}}"#;

fn queue(message: &Value) -> InvocationRequest {
    // The host double-encodes a queue message: a JSON string holding the message's JSON string.
    let once = serde_json::to_string(&message.to_string()).unwrap();
    let text = serde_json::to_string(&once).unwrap();
    serde_json::from_str(&format!(r#"{{"Data":{{"message":{text}}},"Metadata":{{"DequeueCount":"1"}}}}"#))
        .unwrap()
}

#[tokio::test]
async fn dispatch_deliver_and_poison_functions() {
    let (api, _) = instance(Backend::Sqlite, config()).await;
    let receiver = Receiver::start().await;
    webhook(&api, &api.scope_a, "hook", &receiver.url, "whsec-0123456789abcdef").await;
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-1", 40.0)]).await.unwrap();
    let timer: InvocationRequest = serde_json::from_str(TIMER).unwrap();
    let ticked = dispatch(&api.state, "notification_dispatch", &timer).await.unwrap();
    let messages = ticked.outputs["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["tenant_id"], api.tenant_a);
    dispatch(&api.state, "deliver_notifications", &queue(&messages[0])).await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    // Redelivered: nothing more is sent, and nothing is left to enqueue.
    dispatch(&api.state, "deliver_notifications", &queue(&messages[0])).await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    let ticked = dispatch(&api.state, "notification_dispatch", &timer).await.unwrap();
    assert_eq!(ticked.outputs["messages"], json!([]));

    // A receiver failing: the delivery waits for a retry; the poisoned message fails it.
    receiver.script(&[Answer::Status(503)]);
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-2", 10.0)]).await.unwrap();
    let messages =
        dispatch(&api.state, "notification_dispatch", &timer).await.unwrap().outputs["messages"].clone();
    dispatch(&api.state, "deliver_notifications", &queue(&messages[0])).await.unwrap();
    dispatch(&api.state, "notification_poison", &queue(&messages[0])).await.unwrap();
    let reader = token(&tid_a(), &[READER]).await;
    let failed = api.get("/api/v1/notification-deliveries?status=failed", &reader).await.json();
    assert_eq!(failed["total"], 1);
    assert!(failed["items"][0]["last_error"].as_str().unwrap().contains("poison"));
    let bad = serde_json::from_str::<InvocationRequest>(r#"{"Data":{"message":"\"hello\""},"Metadata":{}}"#)
        .unwrap();
    let refused = dispatch(&api.state, "deliver_notifications", &bad).await.unwrap_err();
    assert!(refused.is_bad_request(), "{refused}");
    // The digest timer runs over every tenant (nothing new to say here is fine).
    dispatch(&api.state, "notification_digest", &timer).await.unwrap();
    api.finish().await;
}
