//! The ingestion run ledger: idempotent planning and derived run status.

use std::collections::BTreeMap;

use azcops::store::{ItemStatus, ItemUpdate, NewRun, PageRequest, RunStatus, StoreError};

use crate::store_test;
use crate::support::{Ctx, guid, tenant};

store_test!(runs_are_idempotent_and_status_is_derived, items_finishing_together_leave_the_run_finished);

fn update(status: ItemStatus) -> ItemUpdate {
    ItemUpdate { status, attempts: None, error: None, counts: None, duration_ms: None }
}

async fn runs_are_idempotent_and_status_is_derived(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let subs = vec![guid(101).to_uppercase(), guid(102), guid(103), guid(102)];
    let new = NewRun {
        kind: "full".into(),
        schedule_key: "full:2026-11-25".into(),
        requested_by: "timer".into(),
        subscription_ids: subs,
    };
    let (run, created) = store.create_run(&scope, &new).await.unwrap();
    assert!(created);
    assert_eq!(run.run.status, RunStatus::Queued);
    assert_eq!(
        run.items.iter().map(|i| i.subscription_id.clone()).collect::<Vec<_>>(),
        [guid(101), guid(102), guid(103)]
    );

    let (again, created_again) = store.create_run(&scope, &new).await.unwrap();
    assert!(!created_again, "planning the same schedule key twice does not duplicate");
    assert_eq!(again, run);
    assert_eq!(store.list_runs(&scope, PageRequest::first(10).unwrap()).await.unwrap().total, 1);

    let id = run.run.id.clone();
    assert_eq!(
        store.update_run_item(&scope, &id, &guid(101), &update(ItemStatus::Running)).await.unwrap(),
        RunStatus::Running
    );
    let done = ItemUpdate {
        status: ItemStatus::Succeeded,
        attempts: Some(1),
        error: None,
        counts: Some(BTreeMap::from([("costs".to_owned(), 1200), ("resources".to_owned(), 80)])),
        duration_ms: Some(5400),
    };
    assert_eq!(store.update_run_item(&scope, &id, &guid(101), &done).await.unwrap(), RunStatus::Running);
    assert_eq!(store.update_run_item(&scope, &id, &guid(102), &done).await.unwrap(), RunStatus::Running);
    let failed = ItemUpdate {
        status: ItemStatus::Failed,
        attempts: Some(5),
        error: Some("403 AuthorizationFailed".into()),
        ..update(ItemStatus::Failed)
    };
    assert_eq!(
        store.update_run_item(&scope, &id, &guid(103), &failed).await.unwrap(),
        RunStatus::PartiallyFailed
    );

    let stored = store.get_run(&scope, &id).await.unwrap();
    assert_eq!(stored.run.status, RunStatus::PartiallyFailed);
    let first = &stored.items[0];
    assert_eq!((first.status, first.attempts, first.duration_ms), (ItemStatus::Succeeded, 1, Some(5400)));
    assert_eq!(first.counts.0["costs"], 1200);
    let last = &stored.items[2];
    assert_eq!(
        (last.status, last.attempts, last.error.as_deref()),
        (ItemStatus::Failed, 5, Some("403 AuthorizationFailed"))
    );

    assert!(matches!(store.update_run_item(&scope, &id, &guid(999), &done).await, Err(StoreError::NotFound)));
    assert!(matches!(store.get_run(&scope, "missing").await, Err(StoreError::NotFound)));
    let empty_key = NewRun { schedule_key: " ".into(), ..new };
    assert!(matches!(
        store.create_run(&scope, &empty_key).await,
        Err(StoreError::Validation { field: "schedule_key", .. })
    ));
}

/// Items of one run finishing at the same moment (one instance carries 24 at once) must leave
/// the run `succeeded`: each derives the run's status after the others' commits, never from a
/// snapshot in which the others are still running.
async fn items_finishing_together_leave_the_run_finished(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let subs: Vec<String> = (0..24).map(|n| guid(200 + n)).collect();
    let new = NewRun {
        kind: "full".into(),
        schedule_key: "full:2026-11-26".into(),
        requested_by: "timer".into(),
        subscription_ids: subs.clone(),
    };
    let (run, _) = store.create_run(&scope, &new).await.unwrap();
    for round in 0..5 {
        let status = if round % 2 == 0 { ItemStatus::Running } else { ItemStatus::Succeeded };
        let updates = subs.iter().map(|sub| {
            let (store, scope, run_id) = (store.clone(), scope.clone(), run.run.id.clone());
            let sub = sub.clone();
            tokio::spawn(async move { store.update_run_item(&scope, &run_id, &sub, &update(status)).await })
        });
        for outcome in futures::future::join_all(updates).await {
            outcome.unwrap().unwrap();
        }
        let expected = if status == ItemStatus::Running { RunStatus::Running } else { RunStatus::Succeeded };
        assert_eq!(store.get_run(&scope, &run.run.id).await.unwrap().run.status, expected, "round {round}");
    }
}
