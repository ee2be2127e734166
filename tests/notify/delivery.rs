//! Reliable delivery against a real receiver: signed, once per event under redelivery and a
//! dead handler, retried on 503 and 429 (honouring `Retry-After`), 410 recorded as a permanent
//! failure, and each bound (attempts, batch, timeout, body size) hit.

use azcops::notify::service::Report;
use azcops::notify::{EventType, NotifyConfig, sign};
use azcops::store::{Claim, DeliveryFilter, PageRequest};
use chrono::Duration;

use crate::on_both;
use crate::receiver::{Answer, Receiver};
use crate::support::*;

const SECRET: &str = "whsec-0123456789abcdef";

async fn deliveries(api: &Api, status: Option<&str>) -> Vec<azcops::store::DeliveryView> {
    let filter = DeliveryFilter { status: status.map(str::to_owned), ..DeliveryFilter::default() };
    api.store.list_deliveries(&api.scope_a, &filter, PageRequest::first(500).unwrap()).await.unwrap().items
}

fn verify(r: &crate::receiver::Received) -> bool {
    let ts: i64 = r.header("x-azcops-timestamp").unwrap().parse().unwrap();
    sign::verify(SECRET, ts, &r.body, r.header("x-azcops-signature").unwrap())
}

async fn signed_once_under_redelivery_and_a_dead_handler(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let receiver = Receiver::start().await;
    webhook(&api, &api.scope_a, "hook", &format!("{}/hook", receiver.url), SECRET).await;
    // New findings write their event in the upsert's transaction.
    api.store
        .upsert_recommendations(&api.scope_a, &[finding(1, "disk-1", 40.0), finding(1, "disk-2", 12.5)])
        .await
        .unwrap();
    let at = azcops::store::now();
    let first = notifier.process_tenant(&api.scope_a, at).await.unwrap();
    assert_eq!((first.fanned_out, first.delivered), (1, 1));
    // The same work again (a redelivered queue message, a second handler): nothing is resent.
    let again = notifier.process_tenant(&api.scope_a, at + Duration::seconds(1)).await.unwrap();
    assert_eq!(again, Report::default());
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert!(verify(r), "the signature verifies with the channel secret");
    assert!(!sign::verify("another-secret-123456", 0, &r.body, r.header("x-azcops-signature").unwrap()));
    let body = r.json();
    assert_eq!(body["type"], "recommendations.new");
    assert_eq!(body["id"], r.header("x-azcops-event-id").unwrap());
    assert_eq!(body["tenant_id"], api.tenant_a);
    assert_eq!(body["data"]["count"], 2);
    assert_eq!(body["data"]["findings"][0]["estimated_monthly_savings"], 40.0);
    assert_eq!(r.header("x-azcops-timestamp").unwrap(), at.timestamp().to_string());

    // A handler claims the next event's delivery and dies before sending.
    let id = seed_recommendation(&api, &api.scope_a, 1, "disk-3", 7.0).await;
    let event = api.store.undispatched_events(&api.scope_a, 10).await.unwrap().pop().unwrap();
    let t0 = at + Duration::seconds(10);
    assert_eq!(api.store.fan_out_event(&api.scope_a, &event, t0).await.unwrap(), 1);
    let dead = api
        .store
        .claim_deliveries(
            &api.scope_a,
            Some(&event),
            &Claim {
                owner: "dead-handler",
                at: t0,
                lease: notifier.lease(),
                limit: 10,
                max_attempts: 8,
                skip: &[],
            },
        )
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    // While its lease holds, nobody else sends.
    let during = notifier.process_event(&api.scope_a, &event, t0 + Duration::seconds(5)).await.unwrap();
    assert_eq!(during.delivered, 0);
    // Once it expires, the next run takes the delivery over and sends it once.
    let after = notifier
        .process_event(&api.scope_a, &event, t0 + notifier.lease() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(after.delivered, 1);
    // The dead handler's late outcome is not recorded over the delivered one.
    let late = azcops::store::DeliveryResult::Failed { status: Some(500), error: "late".into() };
    assert!(!api.store.finish_delivery(&api.scope_a, &dead[0].id, "dead-handler", &late, t0).await.unwrap());
    // A status change is an event too, and routes nowhere else.
    api.store
        .transition_recommendation(
            &api.scope_a,
            &id,
            azcops::store::RecommendationStatus::Approved,
            "someone",
            None,
        )
        .await
        .unwrap();
    notifier.process_tenant(&api.scope_a, t0 + Duration::seconds(200)).await.unwrap();
    let counts = receiver.per_event();
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "each event seen once: {counts:?}");
    let last = receiver.received().pop().unwrap();
    assert_eq!(last.json()["type"], "recommendation.status_changed");
    assert_eq!(last.json()["data"]["to"], "approved");
    assert!(receiver.received().iter().all(verify));
    assert_eq!(deliveries(&api, Some("delivered")).await.len(), 3);
    api.finish().await;
}
on_both!(signed_once_under_redelivery_and_a_dead_handler, signed_once_under_redelivery_and_a_dead_handler);

async fn retries_then_delivers_and_410_is_permanent(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let receiver = Receiver::start().await;
    webhook(&api, &api.scope_a, "hook", &format!("{}/hook", receiver.url), SECRET).await;
    receiver.script(&[Answer::Status(503), Answer::RetryAfter(503, 120)]);
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-1", 40.0)]).await.unwrap();
    let t0 = azcops::store::now();
    let r1 = notifier.process_tenant(&api.scope_a, t0).await.unwrap();
    assert_eq!(r1.retrying, 1);
    let pending = deliveries(&api, Some("pending")).await;
    assert_eq!((pending[0].attempts, pending[0].last_status), (1, Some(503)));
    assert_eq!(pending[0].next_attempt_at, t0 + Duration::seconds(30), "first backoff");
    // Not due yet: nothing is sent.
    assert_eq!(
        notifier.process_tenant(&api.scope_a, t0 + Duration::seconds(29)).await.unwrap(),
        Report::default()
    );
    let t1 = t0 + Duration::seconds(30);
    assert_eq!(notifier.process_tenant(&api.scope_a, t1).await.unwrap().retrying, 1);
    let pending = deliveries(&api, Some("pending")).await;
    assert_eq!(pending[0].next_attempt_at, t1 + Duration::seconds(120), "Retry-After honoured");
    let t2 = t1 + Duration::seconds(120);
    assert_eq!(notifier.process_tenant(&api.scope_a, t2).await.unwrap().delivered, 1);
    let ids = receiver.per_event();
    assert_eq!(ids.values().copied().collect::<Vec<_>>(), vec![3], "one event id across the three attempts");
    let delivered = deliveries(&api, Some("delivered")).await;
    assert_eq!((delivered[0].attempts, delivered[0].last_status), (3, Some(200)));

    // 410: recorded as failed, never retried.
    receiver.script(&[Answer::Status(410)]);
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-2", 5.0)]).await.unwrap();
    let r = notifier.process_tenant(&api.scope_a, t2 + Duration::seconds(1)).await.unwrap();
    assert_eq!(r.failed, 1);
    let failed = deliveries(&api, Some("failed")).await;
    assert_eq!((failed[0].last_status, failed[0].attempts), (Some(410), 1));
    assert!(failed[0].last_error.as_deref().unwrap().contains("410"));
    let later = notifier.process_tenant(&api.scope_a, t2 + Duration::days(1)).await.unwrap();
    assert_eq!(later, Report::default());
    assert_eq!(receiver.received().len(), 4);

    // The poison path marks what is left failed.
    receiver.script(&[Answer::Status(500)]);
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-3", 5.0)]).await.unwrap();
    notifier.process_tenant(&api.scope_a, t2 + Duration::days(2)).await.unwrap();
    let pending = deliveries(&api, Some("pending")).await;
    assert_eq!(pending.len(), 1);
    let n =
        api.store.fail_event_deliveries(&api.scope_a, &pending[0].event_id, "poisoned", t2).await.unwrap();
    assert_eq!(n, 1);
    assert!(deliveries(&api, Some("pending")).await.is_empty());
    api.finish().await;
}
on_both!(retries_then_delivers_and_410_is_permanent, retries_then_delivers_and_410_is_permanent);

#[tokio::test]
async fn bounds_attempts_batch_timeout_and_body_size_are_hit() {
    let config = NotifyConfig {
        max_attempts: 2,
        batch_size: 2,
        max_body_bytes: 4096,
        timeout: std::time::Duration::from_secs(2),
        ..config()
    };
    let (api, notifier) = instance(Backend::Sqlite, config).await;
    let receiver = Receiver::start().await;
    let hook = webhook(&api, &api.scope_a, "hook", &format!("{}/hook", receiver.url), SECRET).await;
    // Body size: 150 findings do not fit in 4 KiB; the largest savings are kept.
    let many: Vec<_> = (0..150).map(|n| finding(1, &format!("disk-{n}"), f64::from(n) + 1.0)).collect();
    api.store.upsert_recommendations(&api.scope_a, &many).await.unwrap();
    let t0 = azcops::store::now();
    notifier.process_tenant(&api.scope_a, t0).await.unwrap();
    let body = receiver.received()[0].clone();
    assert!(body.body.len() <= 4096, "{}", body.body.len());
    let data = &body.json()["data"];
    assert_eq!((data["count"].as_u64(), data["truncated"].as_bool()), (Some(150), Some(true)));
    assert_eq!(data["findings"][0]["estimated_monthly_savings"], 150.0);
    assert!(verify(&body), "the bounded body is what is signed");

    // Batch: three events, two deliveries per run.
    for n in 0..3 {
        api.store
            .record_event(
                &api.scope_a,
                EventType::NotificationTest,
                Some(&hook.id),
                serde_json::json!({"n": n}),
            )
            .await
            .unwrap();
    }
    let r = notifier.process_tenant(&api.scope_a, t0 + Duration::seconds(1)).await.unwrap();
    assert_eq!((r.fanned_out, r.delivered), (2, 2), "two events fanned out, two sent");
    // What one batch leaves, draining (as `azcops ingest` does) sends; then it stops.
    let rest = notifier.drain_tenant(&api.scope_a, 5).await.unwrap();
    assert_eq!((rest.events, rest.delivered), (1, 1));

    // Timeout, then attempts: a receiver that never answers is retried once, then given up on.
    receiver.script(&[Answer::Hang, Answer::Status(502)]);
    api.store
        .record_event(&api.scope_a, EventType::NotificationTest, Some(&hook.id), serde_json::json!({}))
        .await
        .unwrap();
    let r = notifier.process_tenant(&api.scope_a, t0 + Duration::seconds(3)).await.unwrap();
    assert_eq!(r.retrying, 1);
    let pending = deliveries(&api, Some("pending")).await;
    assert!(
        pending[0].last_error.as_deref().unwrap().contains("timed out after 2 s"),
        "{:?}",
        pending[0].last_error
    );
    let r = notifier.process_tenant(&api.scope_a, t0 + Duration::hours(1)).await.unwrap();
    assert_eq!(r.failed, 1);
    let failed = deliveries(&api, Some("failed")).await;
    assert!(failed[0].last_error.as_deref().unwrap().starts_with("gave up after 2 attempts"));
    api.finish().await;
}

async fn anomalies_and_failed_ingestion_are_events(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let receiver = Receiver::start().await;
    webhook(&api, &api.scope_a, "hook", &receiver.url, SECRET).await;
    let anomaly = azcops::store::AnomalyUpsert {
        scope: "tenant".into(),
        dimension: "total".into(),
        dimension_value: "total".into(),
        day: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        currency: "EUR".into(),
        expected: 100.0,
        actual: 400.0,
        deviation: 300.0,
        severity: "high".into(),
        kind: "spike".into(),
    };
    api.store.upsert_anomalies(&api.scope_a, std::slice::from_ref(&anomaly)).await.unwrap();
    // The same anomaly again is no new event.
    let changed = azcops::store::AnomalyUpsert { actual: 450.0, deviation: 350.0, ..anomaly };
    api.store.upsert_anomalies(&api.scope_a, &[changed]).await.unwrap();
    let sub = subscription(1);
    let run = azcops::store::NewRun {
        kind: "full".into(),
        schedule_key: "full:test".into(),
        requested_by: "test".into(),
        subscription_ids: vec![sub.clone()],
    };
    let (run, _) = api.store.create_run(&api.scope_a, &run).await.unwrap();
    let failed = azcops::store::ItemUpdate {
        status: azcops::store::ItemStatus::Failed,
        attempts: Some(5),
        error: Some("cost query refused".into()),
        counts: None,
        duration_ms: None,
    };
    api.store.update_run_item(&api.scope_a, &run.run.id, &sub, &failed).await.unwrap();
    notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    let mut types: Vec<serde_json::Value> = receiver.received().iter().map(|r| r.json()).collect();
    // Deliveries of one run are sent concurrently, so their arrival order is not fixed.
    types.sort_by_key(|t| t["type"].as_str().unwrap().to_owned());
    assert_eq!(types.len(), 2, "{types:?}");
    assert_eq!(types[0]["type"], "anomaly.detected");
    assert_eq!(types[0]["data"]["count"], 1);
    assert_eq!(types[0]["data"]["anomalies"][0]["actual"], 400.0);
    assert_eq!(types[1]["type"], "ingestion.failed");
    assert_eq!(types[1]["data"]["error"], "cost query refused");
    assert_eq!(types[1]["data"]["subscription_id"], sub);
    api.finish().await;
}
on_both!(anomalies_and_failed_ingestion_are_events, anomalies_and_failed_ingestion_are_events);

/// A receiver that notes, as each request arrives, how many deliveries are held under a
/// lease (`sending`): a run must not hold more than it is sending at once.
async fn lease_watching_receiver(api: &Api) -> (String, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (store, scope, noted) = (api.store.clone(), api.scope_a.clone(), seen.clone());
    let app = axum::Router::new().fallback(move || {
        let (store, scope, noted) = (store.clone(), scope.clone(), noted.clone());
        async move {
            let filter = DeliveryFilter { status: Some("sending".into()), ..DeliveryFilter::default() };
            let page =
                store.list_deliveries(&scope, &filter, PageRequest::first(500).unwrap()).await.unwrap();
            noted.lock().unwrap().push(page.items.len());
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn a_batch_is_claimed_and_sent_in_waves_each_under_its_own_lease(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let (url, seen) = lease_watching_receiver(&api).await;
    let hook = webhook(&api, &api.scope_a, "hook", &url, SECRET).await;
    for n in 0..20 {
        api.store
            .record_event(
                &api.scope_a,
                EventType::NotificationTest,
                Some(&hook.id),
                serde_json::json!({"n": n}),
            )
            .await
            .unwrap();
    }
    let r = notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    assert_eq!((r.fanned_out, r.delivered), (20, 20));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 20);
    // Sent eight at a time: no delivery waits under a lease behind another wave's sends.
    assert!(seen.iter().all(|&held| held <= 8), "deliveries held under a lease while sending: {seen:?}");
    assert_eq!(deliveries(&api, Some("delivered")).await.len(), 20);
    api.finish().await;
}
on_both!(
    a_batch_is_claimed_and_sent_in_waves_each_under_its_own_lease,
    a_batch_is_claimed_and_sent_in_waves_each_under_its_own_lease
);

async fn the_poison_path_leaves_a_delivery_under_a_live_lease_to_its_holder(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let receiver = Receiver::start().await;
    let hook = webhook(&api, &api.scope_a, "hook", &format!("{}/hook", receiver.url), SECRET).await;
    let event = api
        .store
        .record_event(&api.scope_a, EventType::NotificationTest, Some(&hook.id), serde_json::json!({}))
        .await
        .unwrap();
    let t0 = azcops::store::now();
    assert_eq!(api.store.fan_out_event(&api.scope_a, &event, t0).await.unwrap(), 1);
    let claim = Claim {
        owner: "live-handler",
        at: t0,
        lease: notifier.lease(),
        limit: 10,
        max_attempts: 8,
        skip: &[],
    };
    let held = api.store.claim_deliveries(&api.scope_a, Some(&event), &claim).await.unwrap();
    assert_eq!(held.len(), 1);
    // While the lease holds, the poison path leaves the delivery to its holder.
    let during = t0 + Duration::seconds(5);
    assert_eq!(api.store.fail_event_deliveries(&api.scope_a, &event, "poisoned", during).await.unwrap(), 0);
    let done = azcops::store::DeliveryResult::Delivered { status: 200 };
    assert!(
        api.store.finish_delivery(&api.scope_a, &held[0].id, "live-handler", &done, during).await.unwrap()
    );
    assert_eq!(deliveries(&api, Some("delivered")).await.len(), 1);

    // Once a lease has expired, the delivery is failed.
    let event = api
        .store
        .record_event(&api.scope_a, EventType::NotificationTest, Some(&hook.id), serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(api.store.fan_out_event(&api.scope_a, &event, t0).await.unwrap(), 1);
    let claim = Claim { owner: "dead-handler", ..claim };
    assert_eq!(api.store.claim_deliveries(&api.scope_a, Some(&event), &claim).await.unwrap().len(), 1);
    let after = t0 + notifier.lease() + Duration::seconds(1);
    assert_eq!(api.store.fail_event_deliveries(&api.scope_a, &event, "poisoned", after).await.unwrap(), 1);
    assert_eq!(deliveries(&api, Some("failed")).await.len(), 1);
    api.finish().await;
}
on_both!(
    the_poison_path_leaves_a_delivery_under_a_live_lease_to_its_holder,
    the_poison_path_leaves_a_delivery_under_a_live_lease_to_its_holder
);

async fn a_delivery_taken_over_until_its_attempts_are_spent_is_failed_not_sent(backend: Backend) {
    let (api, notifier) = instance(backend, NotifyConfig { max_attempts: 2, ..config() }).await;
    let receiver = Receiver::start().await;
    let hook = webhook(&api, &api.scope_a, "hook", &format!("{}/hook", receiver.url), SECRET).await;
    let event = api
        .store
        .record_event(&api.scope_a, EventType::NotificationTest, Some(&hook.id), serde_json::json!({}))
        .await
        .unwrap();
    let t0 = azcops::store::now();
    assert_eq!(api.store.fan_out_event(&api.scope_a, &event, t0).await.unwrap(), 1);
    // Two handlers in turn claim it and die before recording anything.
    let lease = notifier.lease();
    for (n, owner) in ["dead-1", "dead-2"].into_iter().enumerate() {
        let at = t0 + (lease + Duration::seconds(1)) * i32::try_from(n).unwrap();
        let claim = Claim { owner, at, lease, limit: 10, max_attempts: 2, skip: &[] };
        let claimed = api.store.claim_deliveries(&api.scope_a, Some(&event), &claim).await.unwrap();
        assert_eq!(claimed.len(), 1);
    }
    // Both attempts are spent: a bounded claim does not take it again.
    let later = t0 + (lease + Duration::seconds(1)) * 2;
    let claim = Claim { owner: "third", at: later, lease, limit: 10, max_attempts: 2, skip: &[] };
    assert!(api.store.claim_deliveries(&api.scope_a, Some(&event), &claim).await.unwrap().is_empty());
    // The next run marks it failed and sends nothing.
    let run = notifier.process_event(&api.scope_a, &event, later).await.unwrap();
    assert_eq!((run.failed, run.delivered), (1, 0));
    assert!(receiver.received().is_empty());
    let failed = deliveries(&api, Some("failed")).await;
    assert_eq!(failed[0].attempts, 2);
    assert!(failed[0].last_error.as_deref().unwrap().starts_with("gave up after 2 attempts"));
    assert_eq!(
        notifier.process_event(&api.scope_a, &event, later + Duration::days(1)).await.unwrap(),
        Report::default()
    );
    api.finish().await;
}
on_both!(
    a_delivery_taken_over_until_its_attempts_are_spent_is_failed_not_sent,
    a_delivery_taken_over_until_its_attempts_are_spent_is_failed_not_sent
);
