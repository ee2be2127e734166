//! `/notification-channels`: Admins change them (audited), URLs are checked against internal
//! addresses, and secrets never come back in answers, the audit log or the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::on_both;
use crate::receiver::Receiver;
use crate::support::*;

const SECRET: &str = "very-secret-signing-key-0042";

async fn channels_are_admin_audited_and_never_show_secrets(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let receiver = Receiver::start().await;
    let admin = token(&tid_a(), &[ADMIN]).await;
    let reader = token(&tid_a(), &[READER]).await;
    let body = json!({
        "name": "ops", "kind": "webhook", "url": format!("{}/hook?sig=topsecretquery", receiver.url),
        "secret": SECRET, "min_savings": 10.0, "events": ["recommendations.new", "anomaly.detected"],
    });
    let denied =
        api.call(Method::POST, "/api/v1/notification-channels", Some(&reader), Some(body.clone())).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let created =
        api.call(Method::POST, "/api/v1/notification-channels", Some(&admin), Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let channel = created.json();
    assert_eq!(channel["has_secret"], true);
    assert!(channel["url"].as_str().unwrap().ends_with("/hook?[redacted]"));
    let id = channel["id"].as_str().unwrap().to_owned();
    let dup = api.call(Method::POST, "/api/v1/notification-channels", Some(&admin), Some(body)).await;
    assert_eq!(error_field(&dup, StatusCode::CONFLICT), None);

    for (field, bad) in [
        (
            "url",
            json!({"name": "m", "kind": "webhook", "url": "https://169.254.169.254/latest", "secret": SECRET}),
        ),
        ("url", json!({"name": "m", "kind": "webhook", "url": "https://10.0.0.5/x", "secret": SECRET})),
        ("url", json!({"name": "m", "kind": "teams", "url": "http://teams.example.com/x"})),
        ("secret", json!({"name": "m", "kind": "webhook", "url": "https://hooks.example.com/x"})),
        (
            "secret",
            json!({"name": "m", "kind": "webhook", "url": "https://hooks.example.com/x", "secret": "short"}),
        ),
        (
            "events",
            json!({"name": "m", "kind": "teams", "url": "https://x.example.com/", "events": ["nope"]}),
        ),
        ("kind", json!({"name": "m", "kind": "pager", "url": "https://x.example.com/"})),
        (
            "quiet_hours",
            json!({"name": "m", "kind": "teams", "url": "https://x.example.com/", "quiet_hours": [25, 3]}),
        ),
    ] {
        let reply =
            api.call(Method::POST, "/api/v1/notification-channels", Some(&admin), Some(bad.clone())).await;
        assert_eq!(error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some(field), "{bad}");
    }
    let patched = api
        .call(
            Method::PATCH,
            &format!("/api/v1/notification-channels/{id}"),
            Some(&admin),
            Some(json!({"secret": "rotated-secret-value-9999", "quiet_hours": [22, 6]})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json()["quiet_hours"], json!([22, 6]));
    let list = api.get("/api/v1/notification-channels", &reader).await;
    assert_eq!(list.status, StatusCode::OK);
    let audit = api.get("/api/v1/audit-logs?target_type=notification_channel", &admin).await;
    assert_eq!(audit.json()["total"], 2);
    assert_eq!(audit.json()["items"][0]["metadata"]["secret_changed"], true);
    let stored = api.store.get_channel(&api.scope_a, &id).await.unwrap();
    for text in
        [&created.text, &patched.text, &list.text, &audit.text, stored.secret_sealed.as_ref().unwrap()]
    {
        for secret in [SECRET, "rotated-secret-value-9999", "topsecretquery"] {
            assert!(!text.contains(secret), "secret leaked: {text}");
        }
    }

    // A delivery signs with the rotated secret, and no secret reaches the log.
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    let reply = api
        .call(
            Method::PATCH,
            &format!("/api/v1/notification-channels/{id}"),
            Some(&admin),
            Some(json!({"quiet_hours": null})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    api.store
        .record_event(
            &api.scope_a,
            azcops::notify::EventType::NotificationTest,
            Some(&id),
            json!({"hello": 1}),
        )
        .await
        .unwrap();
    // Other tests running at once may have cached the delivery log's callsite interest while no
    // subscriber of theirs wanted it; recompute it with this test's subscriber in place.
    tracing::callsite::rebuild_interest_cache();
    let report = notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    assert_eq!(report.delivered, 1);
    let r = receiver.received().pop().unwrap();
    assert_eq!(r.path_and_query, "/hook?sig=topsecretquery");
    let ts: i64 = r.header("x-azcops-timestamp").unwrap().parse().unwrap();
    assert!(azcops::notify::sign::verify(
        "rotated-secret-value-9999",
        ts,
        &r.body,
        r.header("x-azcops-signature").unwrap()
    ));
    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("notification delivery"), "the delivery is logged: {log}");
    for secret in
        [SECRET, "rotated-secret-value-9999", "topsecretquery", r.header("x-azcops-signature").unwrap()]
    {
        assert!(!log.contains(secret), "secret in log");
    }
    let deleted =
        api.call(Method::DELETE, &format!("/api/v1/notification-channels/{id}"), Some(&admin), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let other = token(&tid_b(), &[ADMIN]).await;
    assert_eq!(
        api.get(&format!("/api/v1/notification-channels/{id}"), &other).await.status,
        StatusCode::NOT_FOUND
    );
    api.finish().await;
}
on_both!(
    channels_are_admin_audited_and_never_show_secrets,
    channels_are_admin_audited_and_never_show_secrets
);

#[tokio::test]
async fn the_delivery_log_pages_and_filters() {
    let (api, notifier) = instance(Backend::Sqlite, config()).await;
    let receiver = Receiver::start().await;
    let hook = webhook(&api, &api.scope_a, "hook", &receiver.url, "whsec-0123456789abcdef").await;
    receiver.script(&[crate::receiver::Answer::Status(404)]);
    for n in 0..3 {
        api.store
            .record_event(
                &api.scope_a,
                azcops::notify::EventType::NotificationTest,
                Some(&hook.id),
                json!({"n": n}),
            )
            .await
            .unwrap();
    }
    notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    let reader = token(&tid_a(), &[READER]).await;
    let page = api.get("/api/v1/notification-deliveries?page_size=2", &reader).await.json();
    assert_eq!((page["total"].as_u64(), page["items"].as_array().unwrap().len()), (Some(3), 2));
    assert_eq!(page["items"][0]["channel_name"], "hook");
    let failed = api.get("/api/v1/notification-deliveries?status=failed", &reader).await.json();
    assert_eq!(failed["total"], 1);
    let filtered = api
        .get(
            &format!("/api/v1/notification-deliveries?channel={}&event_type=notification.test", hook.id),
            &reader,
        )
        .await
        .json();
    assert_eq!(filtered["total"], 3);
    let bad = api.get("/api/v1/notification-deliveries?status=lost", &reader).await;
    assert_eq!(error_field(&bad, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("status"));
    let other = token(&tid_b(), &[READER]).await;
    assert_eq!(api.get("/api/v1/notification-deliveries", &other).await.json()["total"], 0);
    api.finish().await;
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
