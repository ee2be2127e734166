//! Retention of the notification tables: finished deliveries and their events are deleted in
//! bounded batches; pending deliveries and events not fanned out yet are kept.

use azcops::store::{DeliveryFilter, PageRequest};
use chrono::Duration;

use crate::on_both;
use crate::receiver::{Answer, Receiver};
use crate::support::*;

async fn old_finished_rows_go_in_bounded_batches(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let receiver = Receiver::start().await;
    webhook(&api, &api.scope_a, "hook", &receiver.url, "whsec-0123456789abcdef").await;
    for n in 0..5 {
        api.store
            .upsert_recommendations(&api.scope_a, &[finding(1, &format!("disk-{n}"), 10.0)])
            .await
            .unwrap();
    }
    assert_eq!(notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap().delivered, 5);
    // One delivery waits for a retry; one event is not fanned out yet.
    receiver.script(&[Answer::Status(503)]);
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-retry", 10.0)]).await.unwrap();
    assert_eq!(notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap().retrying, 1);
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-new", 10.0)]).await.unwrap();
    let now = azcops::store::now();
    // Nothing is older than 90 days.
    let none = api.store.apply_notification_retention(now - Duration::days(90), 100, 10).await.unwrap();
    assert_eq!((none.deliveries, none.events, none.complete), (0, 0, true));
    // Everything finished is older than a cutoff in the future; one batch of 2 hits the bound.
    let cutoff = now + Duration::days(1);
    let bounded = api.store.apply_notification_retention(cutoff, 2, 1).await.unwrap();
    assert_eq!((bounded.deliveries, bounded.events, bounded.batches, bounded.complete), (2, 2, 1, false));
    let rest = api.store.apply_notification_retention(cutoff, 2, 10).await.unwrap();
    assert!(rest.complete && rest.batches >= 2, "{rest:?}");
    let left = api
        .store
        .list_deliveries(&api.scope_a, &DeliveryFilter::default(), PageRequest::first(100).unwrap())
        .await
        .unwrap()
        .items;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].status, "pending");
    assert_eq!(api.store.undispatched_events(&api.scope_a, 10).await.unwrap().len(), 1);
    // The pending delivery's event stays: it is delivered later.
    let later = notifier.process_tenant(&api.scope_a, now + Duration::hours(2)).await.unwrap();
    assert_eq!(later.delivered, 2, "{later:?}");
    api.finish().await;
}
on_both!(old_finished_rows_go_in_bounded_batches, old_finished_rows_go_in_bounded_batches);
