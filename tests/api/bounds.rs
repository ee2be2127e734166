//! On-demand ingestion bounds: one active on-demand run per tenant (409 naming it), a cooldown
//! between two (429 + `Retry-After`), race-free on both backends. Triggers go through the
//! handler's `POST /ingestion_trigger` as the Functions host delivers them, with real tokens.

use axum::http::StatusCode;
use azcops::store::{ItemStatus, ItemUpdate, OnDemandRequest, OnDemandRun, PageRequest, STALE_ACTIVE_RUN};
use chrono::TimeDelta;
use serde_json::json;

use crate::support::*;

/// Marks every item of `run_id` in tenant A succeeded, so the run is no longer active.
async fn finish(api: &Api, run_id: &str) {
    let run = api.store.get_run(&api.scope_a, run_id).await.unwrap();
    for item in run.items {
        let update = ItemUpdate {
            status: ItemStatus::Succeeded,
            attempts: Some(1),
            error: None,
            counts: None,
            duration_ms: None,
        };
        api.store.update_run_item(&api.scope_a, run_id, &item.subscription_id, &update).await.unwrap();
    }
}

#[tokio::test]
async fn a_second_trigger_is_409_while_active_then_429_in_the_cooldown_sqlite() {
    active_then_cooldown(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn a_second_trigger_is_409_while_active_then_429_in_the_cooldown_postgres() {
    active_then_cooldown(Api::on(Backend::Postgres, &[]).await).await;
}

async fn active_then_cooldown(api: Api) {
    let admin = token(&tid_a(), &[ADMIN]).await;
    let (first, messages) = api.trigger(&admin, None).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    assert_eq!(messages, 1, "one message per subscription of tenant A");
    let run_id = first.json()["run_id"].as_str().unwrap().to_owned();

    let (second, messages) = api.trigger(&admin, Some(json!({"kind": "incremental"}))).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    assert_eq!(messages, 0, "a refused trigger sends nothing");
    let body = second.json();
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["error"]["details"]["run_id"], run_id.as_str());
    assert_eq!(body["error"]["details"]["status"], "queued");

    finish(&api, &run_id).await;
    let (third, messages) = api.trigger(&admin, None).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS, "{}", third.text);
    assert_eq!(messages, 0);
    let retry: u64 = third.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "Retry-After {retry} within the 15-minute default");
    let body = third.json();
    assert_eq!(body["error"]["code"], "ingestion_cooldown");
    assert_eq!(body["error"]["details"]["run_id"], run_id.as_str());
    assert_eq!(body["error"]["details"]["retry_after_seconds"], retry);

    // The bound is per tenant: B triggers its own run meanwhile.
    let (other, messages) = api.trigger(&token(&tid_b(), &[ADMIN]).await, None).await;
    assert_eq!((other.status, messages), (StatusCode::ACCEPTED, 1), "{}", other.text);
    let runs = api.store.list_runs(&api.scope_a, PageRequest::new(1, 50).unwrap()).await.unwrap();
    assert_eq!(runs.total, 1, "refused triggers created no run");
    api.finish().await;
}

#[tokio::test]
async fn a_zero_cooldown_allows_the_next_run_once_the_last_finished() {
    let api = Api::with(&[("AZCOPS_INGESTION_TRIGGER_COOLDOWN_MINUTES", "0")]).await;
    let admin = token(&tid_a(), &[ADMIN]).await;
    let (first, _) = api.trigger(&admin, None).await;
    let run_id = first.json()["run_id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.trigger(&admin, None).await.0.status,
        StatusCode::CONFLICT,
        "still one active run at a time"
    );
    finish(&api, &run_id).await;
    let (next, messages) = api.trigger(&admin, None).await;
    assert_eq!((next.status, messages), (StatusCode::ACCEPTED, 1), "{}", next.text);
    assert_ne!(next.json()["run_id"], run_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_triggers_create_exactly_one_run_sqlite() {
    concurrent_triggers(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_triggers_create_exactly_one_run_postgres() {
    concurrent_triggers(Api::on(Backend::Postgres, &[]).await).await;
}

async fn concurrent_triggers(api: Api) {
    const CALLS: usize = 12;
    let admin = token(&tid_a(), &[ADMIN]).await;
    let replies = futures::future::join_all((0..CALLS).map(|_| api.trigger(&admin, None))).await;
    let accepted: Vec<_> = replies.iter().filter(|(r, _)| r.status == StatusCode::ACCEPTED).collect();
    assert_eq!(accepted.len(), 1, "{:?}", replies.iter().map(|(r, _)| &r.text).collect::<Vec<_>>());
    let run_id = accepted[0].0.json()["run_id"].as_str().unwrap().to_owned();
    for (reply, messages) in &replies {
        if reply.status != StatusCode::ACCEPTED {
            assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
            assert_eq!(reply.json()["error"]["details"]["run_id"], run_id.as_str());
            assert_eq!(*messages, 0);
        }
    }
    let runs = api.store.list_runs(&api.scope_a, PageRequest::new(1, 50).unwrap()).await.unwrap();
    assert_eq!(runs.total, 1, "exactly one run in the ledger");
    api.finish().await;
}

#[tokio::test]
async fn the_cooldown_and_staleness_follow_the_instant_given_sqlite() {
    cooldown_by_the_clock(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn the_cooldown_and_staleness_follow_the_instant_given_postgres() {
    cooldown_by_the_clock(Api::on(Backend::Postgres, &[]).await).await;
}

async fn cooldown_by_the_clock(api: Api) {
    let t0 = azcops::store::now();
    let request = |at| OnDemandRequest {
        kind: "full".into(),
        requested_by: "tester".into(),
        subscription_ids: vec![subscription(1)],
        at,
        cooldown: TimeDelta::minutes(15),
    };
    let OnDemandRun::Created(first) =
        api.store.create_on_demand_run(&api.scope_a, &request(t0)).await.unwrap()
    else {
        panic!("the first run is created");
    };
    assert_eq!(first.run.created_at, t0);
    finish(&api, &first.run.id).await;
    let almost = t0 + TimeDelta::minutes(15) - TimeDelta::seconds(1);
    match api.store.create_on_demand_run(&api.scope_a, &request(almost)).await.unwrap() {
        OnDemandRun::CoolingDown { run, retry_after_secs } => {
            assert_eq!((run.id.as_str(), retry_after_secs), (first.run.id.as_str(), 1));
        }
        other => panic!("{other:?}"),
    }
    let after = t0 + TimeDelta::minutes(15);
    let OnDemandRun::Created(second) =
        api.store.create_on_demand_run(&api.scope_a, &request(after)).await.unwrap()
    else {
        panic!("the cooldown has passed");
    };
    // The second run stays queued; a run untouched for longer than the staleness bound no
    // longer blocks (its messages were lost).
    let within = second.run.updated_at + STALE_ACTIVE_RUN - TimeDelta::seconds(1);
    assert!(matches!(
        api.store.create_on_demand_run(&api.scope_a, &request(within)).await.unwrap(),
        OnDemandRun::Active(run) if run.id == second.run.id
    ));
    let stale = second.run.updated_at + STALE_ACTIVE_RUN;
    assert!(matches!(
        api.store.create_on_demand_run(&api.scope_a, &request(stale)).await.unwrap(),
        OnDemandRun::Created(_)
    ));
    // Tenant B's ledger is untouched by all of A's runs.
    let b = api.store.list_runs(&api.scope_b, PageRequest::new(1, 50).unwrap()).await.unwrap();
    assert_eq!(b.total, 0);
    api.finish().await;
}
