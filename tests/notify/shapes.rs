//! Teams and ACS Email payloads match their documented shapes (fixtures in `fixtures/`), and
//! ACS requests carry the managed identity's bearer token for Communication Services.

use std::sync::Arc;

use azcops::azure::AzureError;
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::config::Secret;
use azcops::notify::event::Envelope;
use azcops::notify::service::Notifier;
use azcops::notify::{EventType, NotifyConfig, teams};
use chrono::TimeZone;
use serde_json::{Value, json};

use crate::receiver::Receiver;
use crate::support::*;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/notify/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The structure of a JSON value: object keys, array element shapes, scalar types.
fn skeleton(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), skeleton(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(skeleton).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

#[test]
fn the_teams_message_matches_the_workflows_adaptive_card_fixture() {
    let data = json!({
        "subscription_id": "00000000-0000-4000-8000-000000000065",
        "findings": [
            {"id": "r1", "subscription_id": "s", "resource_id": "/d1", "rule_id": "waste.unattached_disk",
             "title": "Delete disk-1", "estimated_monthly_savings": 40.0, "currency": "EUR"},
            {"id": "r2", "subscription_id": "s", "resource_id": "/d2", "rule_id": "waste.unattached_disk",
             "title": "Delete disk-2", "estimated_monthly_savings": 12.5, "currency": "EUR"}
        ],
        "count": 2, "total_savings": {"EUR": 52.5}, "truncated": false
    });
    let envelope = Envelope {
        id: "0190a1b2-0000-7000-8000-000000000001".into(),
        event_type: EventType::RecommendationsNew.as_str().into(),
        tenant_id: "t".into(),
        occurred_at: chrono::Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
        data,
    };
    let message = teams::message(&envelope, Some("https://azcops.example.com"));
    assert_eq!(message, fixture("teams_workflow_message.json"));
}

struct FixedToken;

#[async_trait::async_trait]
impl TokenSource for FixedToken {
    async fn token(&self, tenant: Option<&str>, scope: &str) -> Result<BearerToken, AzureError> {
        assert_eq!((tenant, scope), (None, "https://communication.azure.com/.default"));
        Ok(BearerToken {
            token: Secret::new("acs-token-for-tests"),
            expires_at: std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
        })
    }
}

#[tokio::test]
async fn email_goes_through_the_acs_send_api_with_the_managed_identity() {
    let acs = Receiver::start().await;
    let config = NotifyConfig {
        acs_endpoint: Some(acs.url.clone()),
        email_sender: Some("DoNotReply@azcops.azurecomm.net".into()),
        ..config()
    };
    let (api, _) = instance(Backend::Sqlite, config.clone()).await;
    let notifier = Notifier::new(api.store.clone(), config, Some(Arc::new(FixedToken)));
    let mail = channel(&api, &api.scope_a, "email", "finops", "mailto:finops@contoso.com", None).await;
    api.store
        .record_event(&api.scope_a, EventType::NotificationTest, Some(&mail.id), json!({"channel": "finops"}))
        .await
        .unwrap();
    let report = notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    assert_eq!(report.delivered, 1);
    let request = acs.received().pop().unwrap();
    assert_eq!(request.path_and_query, "/emails:send?api-version=2023-03-31");
    assert_eq!(request.header("authorization"), Some("Bearer acs-token-for-tests"));
    assert!(uuid::Uuid::parse_str(request.header("operation-id").unwrap()).is_ok(), "idempotent send id");
    let body = request.json();
    assert_eq!(skeleton(&body), skeleton(&fixture("acs_email_send.json")));
    assert_eq!(body["recipients"]["to"][0]["address"], "finops@contoso.com");
    assert_eq!(body["senderAddress"], "DoNotReply@azcops.azurecomm.net");
    assert_eq!(body["content"]["subject"], "[AzCops] AzCops test notification");
    assert!(body["content"]["html"].as_str().unwrap().contains("https://azcops.example.com"));
    api.finish().await;
}
