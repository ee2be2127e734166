//! Remediation end to end: approve → execute (the `remediation_execute` function) → `remediate`
//! (the queue function) against the sandbox, with the refusals, the faults, the roles, the
//! by-hand fallback and snapshot retention.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::http::{Method, StatusCode};
use azcops::triggers::dispatch;
use serde_json::{Value, json};

use support::*;

const DISK: &str = "waste.unattached_disk";
const IP: &str = "waste.orphaned_public_ip";
const NIC: &str = "waste.orphaned_nic";
const SNAPSHOT: &str = "waste.stale_snapshot";

async fn recommendation(world: &World, id: &str) -> Value {
    let reader = world.token("reader", &[READER]).await;
    let reply = world.call(Method::GET, &format!("/api/v1/recommendations/{id}"), &reader, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.body
}

fn resource_group(id: &str) -> String {
    id.split('/').take(5).collect::<Vec<_>>().join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_disk_is_snapshotted_deleted_audited_and_recorded() {
    for backend in BACKENDS {
        let world = World::start(backend).await;
        world.enable(&[DISK], json!({"snapshot_retention_days": 3})).await;
        let (disk, id) = world.approved(DISK).await;

        // The dry run says exactly what would be done, and changes nothing.
        let approver = world.token("approver-1", &[APPROVER]).await;
        let dry =
            world.call(Method::POST, &format!("/api/v1/recommendations/{id}/dry-run"), &approver, None).await;
        assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
        assert_eq!(dry.body["action"], "delete_disk");
        assert_eq!(dry.body["enabled"], true);
        let steps = dry.body["plan"]["steps"].as_array().unwrap();
        assert_eq!(
            steps.iter().map(|s| s["method"].as_str().unwrap()).collect::<Vec<_>>(),
            ["PUT", "DELETE"]
        );
        assert!(world.sandbox_report().await["deletions"].as_object().unwrap().is_empty());

        let admin = world.token("admin-1", &[ADMIN]).await;
        let (accepted, messages) = world.execute(&id, &admin).await;
        assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
        assert_eq!(accepted.body["status"], "queued");
        assert_eq!(messages.len(), 1);
        let queued = recommendation(&world, &id).await;
        assert_eq!(
            (queued["status"].as_str(), queued["remediation"]["status"].as_str()),
            (Some("approved"), Some("queued"))
        );

        dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
        let done = recommendation(&world, &id).await;
        assert_eq!(done["status"], "executed", "{done}");
        assert_eq!(done["status_changed_by"], "admin-1");
        assert_eq!(done["remediation"]["status"], "succeeded");
        let snapshot = done["remediation"]["snapshot_id"].as_str().unwrap().to_owned();

        // The disk is gone from ARM and Resource Graph, the snapshot exists.
        let report = world.sandbox_report().await;
        assert_eq!(report["deletions"][disk.to_ascii_lowercase()], 1, "{report}");
        assert_eq!(report["snapshots"], json!([snapshot.to_ascii_lowercase()]));

        // Both actors are in the audit trail.
        let audit = world.audit().await;
        let queued = audit.iter().find(|(_, a, _)| a == "remediation.queued").unwrap();
        assert_eq!((queued.0.as_str(), queued.2["approved_by"].as_str()), ("admin-1", Some("approver-1")));
        let executed = audit.iter().find(|(_, a, _)| a == "recommendation.executed").unwrap();
        assert_eq!(executed.0, "admin-1");
        assert_eq!(
            (executed.2["approved_by"].as_str(), executed.2["executed_by"].as_str()),
            (Some("approver-1"), Some("admin-1"))
        );
        assert!(
            audit.iter().any(|(_, a, m)| a == "remediation.succeeded" && m["approved_by"] == "approver-1")
        );

        // The raw layer holds every exchange, write-once, with no token.
        let paths = world.raw.list(&format!("{}/remediation/", world.scope.tenant_id())).await.unwrap();
        assert_eq!(paths.len(), 1, "{paths:?}");
        let text = String::from_utf8(world.raw.get(&paths[0]).await.unwrap().unwrap()).unwrap();
        let kept: Value = serde_json::from_str(&text).unwrap();
        let methods: Vec<&str> =
            kept["exchanges"].as_array().unwrap().iter().map(|e| e["method"].as_str().unwrap()).collect();
        assert!(methods.contains(&"PUT") && methods.contains(&"DELETE"), "{methods:?}");
        assert!(
            methods.iter().filter(|m| **m == "GET").count() >= 5,
            "state, two lock scopes and the polls: {methods:?}"
        );
        assert!(!text.contains("Bearer") && !text.contains(&world.sandbox.managed_identity_token()));
        assert!(matches!(
            world.raw.put_create_only(&paths[0], b"{}").await,
            Err(azcops::raw::RawError::Conflict { .. })
        ));

        // A second delivery of the message finds it finished and does nothing.
        dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
        assert_eq!(world.sandbox_report().await["deletions"][disk.to_ascii_lowercase()], 1);

        // Retention keeps the snapshot for 3 days, then removes it as the remediation identity.
        let ctx = world.state.remediation().unwrap().clone();
        let now = azcops::store::now();
        let early = azcops::remediation::service::sweep_snapshots(
            &ctx,
            &world.store,
            now + chrono::Duration::days(2),
        )
        .await
        .unwrap();
        assert_eq!(early, 0);
        let late = azcops::remediation::service::sweep_snapshots(
            &ctx,
            &world.store,
            now + chrono::Duration::days(4),
        )
        .await
        .unwrap();
        assert_eq!(late, 1);
        assert_eq!(world.sandbox_report().await["snapshots"], json!([]));
        assert!(world.audit().await.iter().any(|(_, a, _)| a == "remediation.snapshot_removed"));
        let again = azcops::remediation::service::sweep_snapshots(
            &ctx,
            &world.store,
            now + chrono::Duration::days(5),
        )
        .await
        .unwrap();
        assert_eq!(again, 0, "a removed snapshot is not removed twice");
        world.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ips_nics_and_stale_snapshots_are_deleted() {
    for backend in BACKENDS {
        let world = World::start(backend).await;
        world.enable(&[IP, NIC, SNAPSHOT], json!({})).await;
        let admin = world.token("admin-1", &[ADMIN]).await;
        for rule in [IP, NIC, SNAPSHOT] {
            let (resource, id) = world.approved(rule).await;
            let (accepted, messages) = world.execute(&id, &admin).await;
            assert_eq!(accepted.status, StatusCode::ACCEPTED, "{rule}: {}", accepted.body);
            dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
            let done = recommendation(&world, &id).await;
            assert_eq!(done["status"], "executed", "{rule}: {done}");
            assert_eq!(done["remediation"]["snapshot_id"], Value::Null, "{rule}: only disks are snapshotted");
            assert_eq!(world.sandbox_report().await["deletions"][resource.to_ascii_lowercase()], 1, "{rule}");
        }
        world.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_protected_and_attached_resources_are_refused_with_the_reason() {
    for backend in BACKENDS {
        let world = World::start(backend).await;
        world.enable(&[DISK, IP, NIC], json!({"protect_tag": "keep-me"})).await;
        let approver = world.token("approver-1", &[APPROVER]).await;
        let admin = world.token("admin-1", &[ADMIN]).await;

        // A CanNotDelete lock on the group: the dry run and the remediation both refuse.
        let ip = world.planted(IP);
        world.sandbox_change(json!({"add_locks": [{"scope": resource_group(&ip), "name": "hold", "level": "CanNotDelete"}]})).await;
        let ip_id = world.finding(IP, &ip).await;
        world.approve(&ip_id, "approver-1").await;
        let dry = world
            .call(Method::POST, &format!("/api/v1/recommendations/{ip_id}/dry-run"), &approver, None)
            .await;
        assert_eq!(dry.status, StatusCode::CONFLICT, "{}", dry.body);
        assert_eq!(dry.body["error"]["code"], "remediation_refused");
        assert_eq!(dry.body["error"]["details"]["reason"], "locked");
        let (_, messages) = world.execute(&ip_id, &admin).await;
        dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
        let refused = recommendation(&world, &ip_id).await;
        assert_eq!(refused["status"], "approved");
        assert_eq!(refused["remediation"]["status"], "refused");
        assert!(refused["remediation"]["error"].as_str().unwrap().starts_with("locked:"), "{refused}");
        world.sandbox_change(json!({"clear_locks": true})).await;

        // The tenant's protection tag.
        let nic = world.planted(NIC);
        world.sandbox_change(json!({"tags": {nic.clone(): {"Keep-Me": "yes"}}})).await;
        let nic_id = world.finding(NIC, &nic).await;
        world.approve(&nic_id, "approver-1").await;
        let dry = world
            .call(Method::POST, &format!("/api/v1/recommendations/{nic_id}/dry-run"), &approver, None)
            .await;
        assert_eq!(
            (dry.status, dry.body["error"]["details"]["reason"].as_str()),
            (StatusCode::CONFLICT, Some("protected"))
        );
        let (_, messages) = world.execute(&nic_id, &admin).await;
        dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
        let refused = recommendation(&world, &nic_id).await;
        assert!(refused["remediation"]["error"].as_str().unwrap().starts_with("protected:"), "{refused}");

        // The disk is attached between the approval (and a clean dry run) and the execution.
        let (disk, disk_id) = world.approved(DISK).await;
        let dry = world
            .call(Method::POST, &format!("/api/v1/recommendations/{disk_id}/dry-run"), &approver, None)
            .await;
        assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
        let (_, messages) = world.execute(&disk_id, &admin).await;
        world.sandbox_change(json!({"attach": {disk.clone(): "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-late"}})).await;
        dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
        let refused = recommendation(&world, &disk_id).await;
        assert_eq!(refused["status"], "approved");
        assert!(refused["remediation"]["error"].as_str().unwrap().contains("vm-late"), "{refused}");
        assert!(
            world.sandbox_report().await["deletions"].as_object().unwrap().is_empty(),
            "nothing was deleted"
        );
        assert!(world.audit().await.iter().filter(|(_, a, _)| a == "remediation.refused").count() == 3);

        // A subscription the tenant paused is not reached into, whatever its findings say.
        let snapshot = world.planted(SNAPSHOT);
        world.enable(&[SNAPSHOT], json!({})).await;
        let snapshot_id = world.finding(SNAPSHOT, &snapshot).await;
        world.approve(&snapshot_id, "approver-1").await;
        let subscription = snapshot.split('/').nth(2).unwrap().to_ascii_lowercase();
        let pause = azcops::store::SubscriptionUpdate { active: Some(false), ..Default::default() };
        let actor = azcops::store::Actor::named("test");
        world.store.update_subscription(&world.scope, &subscription, &pause, &actor).await.unwrap();
        let dry = world
            .call(Method::POST, &format!("/api/v1/recommendations/{snapshot_id}/dry-run"), &approver, None)
            .await;
        assert_eq!(
            (dry.status, dry.body["error"]["details"]["reason"].as_str()),
            (StatusCode::CONFLICT, Some("subscription_not_active")),
            "{}",
            dry.body
        );
        assert!(world.sandbox_report().await["deletions"].as_object().unwrap().is_empty());
        world.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_while_polling_are_retried_and_end_in_exactly_one_deletion() {
    let world = World::start(Backend::Sqlite).await;
    world.enable(&[IP, NIC], json!({})).await;
    let admin = world.token("admin-1", &[ADMIN]).await;

    // Two status polls answer 503: they are retried and the deletion completes once.
    let (ip, ip_id) = world.approved(IP).await;
    world.sandbox_change(json!({"poll_faults": 2})).await;
    let (_, messages) = world.execute(&ip_id, &admin).await;
    dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
    assert_eq!(recommendation(&world, &ip_id).await["status"], "executed");
    let report = world.sandbox_report().await;
    assert_eq!(
        (report["deletions"][ip.to_ascii_lowercase()].as_u64(), report["poll_faults"].as_u64()),
        (Some(1), Some(0))
    );

    // More failed polls in a row than the bound: this delivery fails transiently, the row says
    // why, and the redelivery (the operation long finished) completes it.
    let (nic, nic_id) = world.approved(NIC).await;
    world.sandbox_change(json!({"poll_faults": azcops::remediation::poll::MAX_POLL_ERRORS})).await;
    let (_, messages) = world.execute(&nic_id, &admin).await;
    let failed = dispatch(&world.state, "remediate", &queue(&messages[0])).await;
    assert!(failed.is_err(), "the platform retries the message");
    let pending = recommendation(&world, &nic_id).await;
    assert_eq!(pending["status"], "approved");
    assert_eq!(pending["remediation"]["status"], "queued", "{pending}");
    assert!(pending["remediation"]["error"].as_str().unwrap().contains("in a row"), "{pending}");
    dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
    let done = recommendation(&world, &nic_id).await;
    assert_eq!(
        (done["status"].as_str(), done["remediation"]["status"].as_str()),
        (Some("executed"), Some("succeeded"))
    );
    assert_eq!(
        world.sandbox_report().await["deletions"][nic.to_ascii_lowercase()],
        1,
        "exactly one deletion"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_whose_answer_is_lost_is_retried_without_a_second_deletion() {
    let world = World::start(Backend::Sqlite).await;
    world.enable(&[IP], json!({})).await;
    let admin = world.token("admin-1", &[ADMIN]).await;
    let (ip, id) = world.approved(IP).await;
    world.sandbox_change(json!({"lost_delete_answers": 1})).await;
    let (_, messages) = world.execute(&id, &admin).await;
    assert!(dispatch(&world.state, "remediate", &queue(&messages[0])).await.is_err());
    assert_eq!(recommendation(&world, &id).await["remediation"]["status"], "queued", "back on the queue");
    dispatch(&world.state, "remediate", &queue(&messages[0])).await.unwrap();
    let done = recommendation(&world, &id).await;
    assert_eq!(
        (done["status"].as_str(), done["remediation"]["status"].as_str()),
        (Some("executed"), Some("succeeded"))
    );
    assert_eq!(world.sandbox_report().await["deletions"][ip.to_ascii_lowercase()], 1, "exactly one deletion");
    // Each delivery kept its own exchanges.
    let paths = world.raw.list(&format!("{}/remediation/", world.scope.tenant_id())).await.unwrap();
    assert_eq!(paths.len(), 2, "{paths:?}");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_message_marks_the_remediation_failed() {
    let world = World::start(Backend::Sqlite).await;
    world.enable(&[IP], json!({})).await;
    let admin = world.token("admin-1", &[ADMIN]).await;
    let (_, id) = world.approved(IP).await;
    world.sandbox_change(json!({"lost_delete_answers": 1})).await;
    let (_, messages) = world.execute(&id, &admin).await;
    assert!(dispatch(&world.state, "remediate", &queue(&messages[0])).await.is_err());
    dispatch(&world.state, "remediate_poison", &queue(&messages[0])).await.unwrap();
    let failed = recommendation(&world, &id).await;
    assert_eq!(failed["status"], "approved");
    assert_eq!(failed["remediation"]["status"], "failed");
    assert!(failed["remediation"]["error"].as_str().unwrap().contains("poison"), "{failed}");
    // A new execution may be queued once the last one failed.
    let (again, messages) = world.execute(&id, &admin).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(messages.len(), 1);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_execute_and_actions_off_keep_the_by_hand_behaviour() {
    for backend in BACKENDS {
        let world = World::start(backend).await;
        let (_, id) = world.approved(DISK).await;
        for (who, role) in [("reader", READER), ("approver-1", APPROVER)] {
            let token = world.token(who, &[role]).await;
            let (reply, messages) = world.execute(&id, &token).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{role}: {}", reply.body);
            assert!(messages.is_empty());
            let dry = world
                .call(Method::POST, &format!("/api/v1/recommendations/{id}/dry-run"), &token, None)
                .await;
            let expected = if role == READER { StatusCode::FORBIDDEN } else { StatusCode::OK };
            assert_eq!(dry.status, expected, "{role} dry run: {}", dry.body);
        }
        let admin = world.token("admin-1", &[ADMIN]).await;
        let unknown = world.call(Method::POST, "/api/v1/recommendations/nope/dry-run", &admin, None).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);

        // Actions are off by default: execute records the change made by hand, as before.
        let (reply, messages) = world.execute(&id, &admin).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["status"], "executed");
        assert!(messages.is_empty() && reply.body.get("notice").is_none());
        assert!(world.sandbox_report().await["deletions"].as_object().unwrap().is_empty());
        assert!(recommendation(&world, &id).await.get("remediation").is_none());

        // A rule without an action: by hand, even with every action on.
        world.enable(&[DISK, IP, NIC, SNAPSHOT], json!({})).await;
        let other = world.finding("governance.missing_cost_center_tag", &world.planted(NIC)).await;
        world.approve(&other, "approver-1").await;
        let (reply, messages) = world.execute(&other, &admin).await;
        assert_eq!((reply.status, messages.len()), (StatusCode::OK, 0), "{}", reply.body);
        let dry =
            world.call(Method::POST, &format!("/api/v1/recommendations/{other}/dry-run"), &admin, None).await;
        assert_eq!(dry.body["error"]["details"]["reason"], "not_applicable");

        // An open recommendation cannot be executed through remediation either.
        let open = world.finding(DISK, &world.planted(SNAPSHOT)).await;
        let (reply, _) = world.execute(&open, &admin).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
        world.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_remediation_identity_execute_falls_back_to_by_hand_and_says_so() {
    let world = World::start(Backend::Sqlite).await;
    world.enable(&[DISK], json!({})).await;
    let (_, id) = world.approved(DISK).await;
    let state = world.state.clone().with_remediation(Err("AZCOPS_REMEDIATION_CLIENT_ID is not set".into()));
    let admin = world.token("admin-1", &[ADMIN]).await;
    let (reply, messages) = world.execute_with(&state, &id, &admin).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(messages.is_empty());
    assert_eq!(reply.body["status"], "executed");
    assert!(
        reply.body["notice"].as_str().unwrap().contains("AZCOPS_REMEDIATION_CLIENT_ID"),
        "{}",
        reply.body
    );
    // Without the identity a dry run cannot read the resource: a refusal saying so, not an outage.
    let approver = world.token("approver-1", &[APPROVER]).await;
    let path = format!("/api/v1/recommendations/{id}/dry-run");
    let reply = world.call_with(&state, Method::POST, &path, &approver).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.body["error"]["details"]["reason"], "not_configured", "{}", reply.body);
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("AZCOPS_REMEDIATION_CLIENT_ID"));
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_resource_leaves_resource_graph_and_its_cost_stops() {
    let world = World::start(Backend::Sqlite).await;
    let disk = world.planted(DISK);
    let token = world.sandbox.managed_identity_token();
    let base = world.sandbox.base_url().to_owned();
    let sub = disk.split('/').nth(2).unwrap().to_owned();
    let client = reqwest::Client::new();
    let graph = |id: String| {
        let (client, base, token, sub) = (client.clone(), base.clone(), token.clone(), sub.clone());
        async move {
            let body = json!({"subscriptions": [sub], "query": format!("Resources | where id =~ '{id}' | project id")});
            let reply: Value = client
                .post(format!("{base}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reply["totalRecords"].as_u64().unwrap()
        }
    };
    assert_eq!(graph(disk.clone()).await, 1);
    let as_of = world.sandbox.estate().as_of;
    let from = as_of - chrono::Days::new(10);
    world.sandbox_change(json!({"deleted": {disk.clone(): from}})).await;
    assert_eq!(graph(disk.clone()).await, 0);
    let get =
        client.get(format!("{base}{disk}?api-version=2023-04-02")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(get.status(), 404);
    // The resource's cost in the Cost Management query: nothing from the deletion day on.
    let query = json!({"type": "ActualCost", "timeframe": "Custom",
        "timePeriod": {"from": format!("{}T00:00:00Z", as_of - chrono::Days::new(20)), "to": format!("{}T00:00:00Z", as_of - chrono::Days::new(1))},
        "dataset": {"granularity": "Daily", "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": "Dimension", "name": "ResourceId"}]}});
    let reply: Value = client
        .post(format!(
            "{base}/subscriptions/{sub}/providers/Microsoft.CostManagement/query?api-version=2023-03-01"
        ))
        .bearer_auth(&token)
        .json(&query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let columns: Vec<String> = reply["properties"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    let (date, resource) = (
        columns.iter().position(|c| c == "UsageDate").unwrap(),
        columns.iter().position(|c| c == "ResourceId").unwrap(),
    );
    let days: Vec<i64> = reply["properties"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[resource].as_str() == Some(disk.to_ascii_lowercase().as_str()))
        .map(|r| r[date].as_i64().unwrap())
        .collect();
    let cutoff: i64 = from.format("%Y%m%d").to_string().parse().unwrap();
    assert!(!days.is_empty(), "the disk was billed before its deletion");
    assert!(days.iter().all(|d| *d < cutoff), "no cost from the deletion day: {days:?}");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remediation_settings_are_checked_audited_and_documented() {
    let world = World::start(Backend::Sqlite).await;
    let admin = world.token("admin-1", &[ADMIN]).await;
    let effective = world.call(Method::GET, "/api/v1/settings/rules", &admin, None).await;
    let defaults = &effective.body["effective"]["remediation"];
    assert_eq!(defaults["protect_tag"], "azcops:protect");
    assert_eq!(defaults["snapshot_retention_days"], 30);
    assert!(
        defaults["actions"].as_object().unwrap().values().all(|a| a["enabled"] == false),
        "all off: {defaults}"
    );
    for bad in [
        json!({"remediation": {"actions": {"rate.savings_plan": {"enabled": true}}}}),
        json!({"remediation": {"snapshot_retention_days": 0}}),
        json!({"remediation": {"protect_tag": " "}}),
        json!({"remediation": {"enabled": true}}),
    ] {
        let reply = world.call(Method::PUT, "/api/v1/settings/rules", &admin, Some(bad.clone())).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", reply.body);
    }
    let approver = world.token("approver-1", &[APPROVER]).await;
    let on = json!({"remediation": {"actions": {NIC: {"enabled": true}}}});
    let forbidden = world.call(Method::PUT, "/api/v1/settings/rules", &approver, Some(on.clone())).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    world.enable(&[NIC], json!({"protect_tag": "keep"})).await;
    let updated =
        world.audit().await.into_iter().filter(|(_, a, _)| a == "rule_settings.updated").collect::<Vec<_>>();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].2["after"]["remediation"]["actions"][NIC]["enabled"], true);

    let doc = world.call(Method::GET, "/api/openapi.json", &admin, None).await.body;
    let dry = &doc["paths"]["/api/v1/recommendations/{id}/dry-run"]["post"]["responses"];
    assert!(
        dry.get("200").is_some()
            && dry["409"]["description"].as_str().unwrap().contains("remediation_refused"),
        "{dry}"
    );
    let execute = &doc["paths"]["/api/v1/recommendations/{id}/execute"]["post"]["responses"];
    assert!(execute.get("200").is_some() && execute.get("202").is_some(), "{execute}");
    world.finish().await;
}
