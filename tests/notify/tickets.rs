//! ServiceNow and Jira tickets against the sandbox's Table API and REST v3 simulations: one
//! ticket per approval with the channel's credentials, none more under redelivery or after a
//! handler died between creating and recording it, and the sync timer executing the
//! recommendation when the ticket is closed as done (but not when it is cancelled).

use axum::http::{Method, StatusCode};
use azcops::invocation::InvocationRequest;
use azcops::sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use azcops::store::{AuditFilter, Claim, PageRequest};
use chrono::Duration;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::*;

const TIMER: &str = r#"{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{}}"#;
const SN_SECRET: &str = "azcops-integration:sandbox-password";
const JIRA_SECRET: &str = "ops@contoso.com:jira-api-token-1";

async fn sandbox() -> RunningSandbox {
    let mut options = SandboxOptions::new(
        "tenants=1,subscriptions=1,resources=5,days=3".parse().unwrap(),
        1,
        chrono::Utc::now().date_naive(),
    );
    options.https = false;
    Sandbox::start(options).await.unwrap()
}

async fn approve(api: &Api, id: &str) {
    let approver = token(&tid_a(), &[APPROVER]).await;
    let path = format!("/api/v1/recommendations/{id}/approve");
    let reply = api.call(Method::POST, &path, Some(&approver), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

async fn recommendation(api: &Api, id: &str) -> Value {
    let reader = token(&tid_a(), &[READER]).await;
    api.get(&format!("/api/v1/recommendations/{id}"), &reader).await.json()
}

async fn sandbox_json(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}")).await.unwrap().json().await.unwrap()
}

async fn close(base: &str, key: &str, outcome: &str) {
    let reply = reqwest::Client::new()
        .post(format!("{base}/_sandbox/tickets/{key}/close"))
        .json(&json!({"outcome": outcome}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
}

async fn audit_actions(api: &Api, id: &str) -> Vec<(String, String)> {
    let filter = AuditFilter { target_id: Some(id.to_owned()), ..AuditFilter::default() };
    let page = api.store.list_audit(&api.scope_a, &filter, PageRequest::first(100).unwrap()).await.unwrap();
    page.items.into_iter().map(|e| (e.action, e.actor)).collect()
}

async fn servicenow_incident_created_once_and_synced(backend: Backend) {
    let sandbox = sandbox().await;
    let base = sandbox.base_url().to_owned();
    let (api, notifier) = instance(backend, config()).await;
    channel(&api, &api.scope_a, "servicenow", "itsm", &base, Some(SN_SECRET)).await;
    let first = seed_recommendation(&api, &api.scope_a, 1, "disk-1", 40.0).await;
    let second = seed_recommendation(&api, &api.scope_a, 1, "disk-2", 12.0).await;
    let third = seed_recommendation(&api, &api.scope_a, 1, "disk-3", 9.0).await;
    // New findings are no tickets; only approvals are.
    let at = azcops::store::now();
    assert_eq!(notifier.process_tenant(&api.scope_a, at).await.unwrap().delivered, 0);
    approve(&api, &first).await;
    let run = notifier.process_tenant(&api.scope_a, at + Duration::seconds(1)).await.unwrap();
    assert_eq!((run.fanned_out, run.delivered, run.failed), (1, 1, 0), "{run:?}");
    // Redelivered: nothing more is created.
    let again = notifier.process_tenant(&api.scope_a, at + Duration::seconds(2)).await.unwrap();
    assert_eq!(again.delivered, 0);
    let kept = sandbox_json(&base, "/_sandbox/notifications").await;
    let requests: Vec<&Value> =
        kept["items"].as_array().unwrap().iter().filter(|i| i["service"] == "servicenow").collect();
    assert_eq!(requests.len(), 1, "one request for one approval");
    assert_eq!(requests[0]["table"], "incident");
    assert_eq!(
        (requests[0]["authorization"].as_str(), requests[0]["user"].as_str()),
        (Some("Basic"), Some("azcops-integration"))
    );
    assert_eq!(requests[0]["body"]["short_description"], "[AzCops] Delete disk-1");
    assert!(
        requests[0]["body"]["description"].as_str().unwrap().contains("Estimated monthly savings: 40.00 EUR")
    );
    let shown = recommendation(&api, &first).await;
    assert_eq!(shown["status"], "approved");
    assert_eq!(shown["tickets"][0]["system"], "servicenow");
    assert_eq!(shown["tickets"][0]["key"], "INC0010001");
    assert_eq!(shown["tickets"][0]["status"], "open");
    assert!(
        shown["tickets"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/nav_to.do?uri=incident.do"))
    );
    assert!(audit_actions(&api, &first).await.iter().any(|(action, _)| action == "ticket.created"));

    // A handler claims the next approval, creates its ticket and dies before recording it.
    approve(&api, &second).await;
    let event = api.store.undispatched_events(&api.scope_a, 10).await.unwrap().pop().unwrap();
    let t0 = at + Duration::seconds(10);
    assert_eq!(api.store.fan_out_event(&api.scope_a, &event, t0).await.unwrap(), 1);
    let claim = Claim {
        owner: "dead-handler",
        at: t0,
        lease: notifier.lease(),
        limit: 10,
        max_attempts: 8,
        skip: &[],
    };
    let dead = api.store.claim_deliveries(&api.scope_a, Some(&event), &claim).await.unwrap();
    let created = reqwest::Client::new()
        .post(format!("{base}/api/now/table/incident"))
        .basic_auth("azcops-integration", Some("sandbox-password"))
        .json(&json!({"short_description": "[AzCops] Delete disk-2", "correlation_id": dead[0].id}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let after = notifier
        .process_event(&api.scope_a, &event, t0 + notifier.lease() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(after.delivered, 1);
    let tickets = sandbox_json(&base, "/_sandbox/tickets").await;
    assert_eq!(
        tickets["items"].as_array().unwrap().len(),
        2,
        "the retry found the ticket instead of creating one"
    );
    assert_eq!(recommendation(&api, &second).await["tickets"][0]["key"], "INC0010002");

    // A third approval; then one ticket is done, one cancelled, one still open.
    approve(&api, &third).await;
    notifier.process_tenant(&api.scope_a, t0 + notifier.lease() + Duration::seconds(2)).await.unwrap();
    close(&base, "INC0010001", "done").await;
    close(&base, "INC0010002", "cancelled").await;
    // A run bounded to one ticket reads only the one checked longest ago.
    let bounded = notifier.sync_tickets(&api.scope_a, 1, azcops::store::now()).await.unwrap();
    assert_eq!((bounded.checked, bounded.executed), (1, 1), "{bounded:?}");
    let timer: InvocationRequest = serde_json::from_str(TIMER).unwrap();
    azcops::triggers::dispatch(&api.state, "ticket_sync", &timer).await.unwrap();
    let executed = recommendation(&api, &first).await;
    assert_eq!(executed["status"], "executed");
    assert_eq!(executed["status_changed_by"], "servicenow:INC0010001");
    assert_eq!(executed["tickets"][0]["status"], "done");
    let audit = audit_actions(&api, &first).await;
    assert!(audit.contains(&("recommendation.executed".into(), "servicenow:INC0010001".into())), "{audit:?}");
    let cancelled = recommendation(&api, &second).await;
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["tickets"][0]["status"].as_str()),
        (Some("approved"), Some("cancelled"))
    );
    assert!(
        audit_actions(&api, &second)
            .await
            .contains(&("ticket.cancelled".into(), "servicenow:INC0010002".into()))
    );
    let open = recommendation(&api, &third).await;
    assert_eq!(
        (open["status"].as_str(), open["tickets"][0]["status"].as_str()),
        (Some("approved"), Some("open"))
    );
    assert_eq!(open["tickets"][0]["remote_state"], "1");
    api.finish().await;
}
on_both!(servicenow_incident_created_once_and_synced, servicenow_incident_created_once_and_synced);

async fn jira_issue_and_servicenow_change_request(backend: Backend) {
    let sandbox = sandbox().await;
    let base = sandbox.base_url().to_owned();
    let (api, notifier) = instance(backend, config()).await;
    channel(&api, &api.scope_a, "jira", "jira", &format!("{base}/?project=OPS"), Some(JIRA_SECRET)).await;
    let change = format!("{base}/?table=change_request");
    channel(&api, &api.scope_a, "servicenow", "changes", &change, Some("bearer:sandbox-oauth-token")).await;
    let id = seed_recommendation(&api, &api.scope_a, 1, "disk-1", 40.0).await;
    approve(&api, &id).await;
    let run = notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    assert_eq!(run.delivered, 2, "{run:?}");
    let kept = sandbox_json(&base, "/_sandbox/notifications").await;
    let jira = kept["items"].as_array().unwrap().iter().find(|i| i["service"] == "jira").unwrap();
    assert_eq!(jira["user"], "ops@contoso.com");
    let fields = &jira["body"]["fields"];
    assert_eq!(
        (fields["project"]["key"].as_str(), fields["issuetype"]["name"].as_str()),
        (Some("OPS"), Some("Task"))
    );
    assert_eq!(fields["description"]["type"], "doc");
    assert_eq!(fields["description"]["version"], 1);
    assert_eq!(fields["summary"], "[AzCops] Delete disk-1");
    let sn = kept["items"].as_array().unwrap().iter().find(|i| i["service"] == "servicenow").unwrap();
    assert_eq!(
        (sn["table"].as_str(), sn["authorization"].as_str()),
        (Some("change_request"), Some("Bearer"))
    );
    assert_eq!(sn["body"]["type"], "normal");
    let shown = recommendation(&api, &id).await;
    let keys: Vec<&str> =
        shown["tickets"].as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"OPS-1") && keys.contains(&"CHG0030001"), "{keys:?}");
    // The Jira issue is done: the recommendation is executed by it; the change request closing
    // afterwards finds it executed already and leaves it alone.
    close(&base, "OPS-1", "done").await;
    let report = notifier.sync_tickets(&api.scope_a, 10, azcops::store::now()).await.unwrap();
    assert_eq!((report.checked, report.executed), (2, 1), "{report:?}");
    let executed = recommendation(&api, &id).await;
    assert_eq!(
        (executed["status"].as_str(), executed["status_changed_by"].as_str()),
        (Some("executed"), Some("jira:OPS-1"))
    );
    close(&base, "CHG0030001", "done").await;
    let later = notifier.sync_tickets(&api.scope_a, 10, azcops::store::now()).await.unwrap();
    assert_eq!((later.checked, later.executed, later.closed), (1, 0, 1), "{later:?}");
    assert_eq!(recommendation(&api, &id).await["status_changed_by"], "jira:OPS-1");
    api.finish().await;
}
on_both!(jira_issue_and_servicenow_change_request, jira_issue_and_servicenow_change_request);

#[tokio::test]
async fn ticketing_channels_need_a_target_and_credentials() {
    let (api, _) = instance(Backend::Sqlite, config()).await;
    let admin = token(&tid_a(), &[ADMIN]).await;
    let create = |body: Value| {
        let api = &api;
        let admin = admin.clone();
        async move { api.call(Method::POST, "/api/v1/notification-channels", Some(&admin), Some(body)).await }
    };
    let refused = create(
        json!({"name": "j", "kind": "jira", "url": "https://acme.atlassian.net", "secret": JIRA_SECRET}),
    )
    .await;
    assert_eq!(error_field(&refused, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("url"));
    let refused =
        create(json!({"name": "s", "kind": "servicenow", "url": "https://acme.service-now.com"})).await;
    assert_eq!(error_field(&refused, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("secret"));
    let refused = create(json!({"name": "j", "kind": "jira", "url": "https://acme.atlassian.net?project=OPS", "secret": "no-email-here:token"})).await;
    assert_eq!(error_field(&refused, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("secret"));
    assert!(!refused.text.contains("no-email-here"), "the secret is not echoed");
    let made = create(json!({"name": "s", "kind": "servicenow", "url": "https://acme.service-now.com?table=change_request", "secret": SN_SECRET})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert!(!made.text.contains("sandbox-password"));
    api.finish().await;
}
