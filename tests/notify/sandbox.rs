//! The sandbox's ACS Email and Teams Workflows simulations receive real deliveries: ACS checks
//! the managed identity's token audience and the send body, Teams the card message, and both
//! record what they accepted.

use std::collections::HashMap;
use std::sync::Arc;

use azcops::azure::AzureError;
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::config::Secret;
use azcops::notify::NotifyConfig;
use azcops::notify::service::Notifier;
use azcops::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::support::*;

/// Tokens from the sandbox's managed-identity endpoint, as the platform's would come.
struct SandboxIdentity {
    endpoint: String,
    header: String,
}

#[async_trait::async_trait]
impl TokenSource for SandboxIdentity {
    async fn token(&self, _tenant: Option<&str>, scope: &str) -> Result<BearerToken, AzureError> {
        let resource = scope.trim_end_matches("/.default");
        let answer: Value = reqwest::Client::new()
            .get(format!("{}?api-version=2019-08-01&resource={resource}", self.endpoint))
            .header("X-IDENTITY-HEADER", &self.header)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Ok(BearerToken {
            token: Secret::new(answer["access_token"].as_str().unwrap()),
            expires_at: std::time::SystemTime::now() + std::time::Duration::from_secs(600),
        })
    }
}

#[tokio::test]
async fn the_sandbox_accepts_and_records_acs_email_and_teams_deliveries() {
    let mut options = SandboxOptions::new(
        "tenants=1,subscriptions=1,resources=5,days=3".parse().unwrap(),
        1,
        chrono::Utc::now().date_naive(),
    );
    options.https = false;
    let sandbox = Sandbox::start(options).await.unwrap();
    let exports: HashMap<String, String> = sandbox.exports().into_iter().collect();
    let base = sandbox.base_url().to_owned();
    let config = NotifyConfig {
        acs_endpoint: Some(base.clone()),
        email_sender: Some("DoNotReply@sandbox.azurecomm.net".into()),
        ..config()
    };
    let (api, _) = instance(Backend::Sqlite, config.clone()).await;
    let identity = SandboxIdentity {
        endpoint: exports["IDENTITY_ENDPOINT"].clone(),
        header: exports["IDENTITY_HEADER"].clone(),
    };
    let notifier = Notifier::new(api.store.clone(), config, Some(Arc::new(identity)));
    let mail = channel(&api, &api.scope_a, "email", "finops", "mailto:finops@contoso.com", None).await;
    let teams_url =
        format!("{base}/workflows/wf1/triggers/manual/paths/invoke?api-version=2016-06-01&sig=abc");
    let teams = channel(&api, &api.scope_a, "teams", "team", &teams_url, None).await;
    let unsigned = channel(
        &api,
        &api.scope_a,
        "teams",
        "unsigned",
        &format!("{base}/workflows/wf2/triggers/manual/paths/invoke"),
        None,
    )
    .await;
    api.store.upsert_recommendations(&api.scope_a, &[finding(1, "disk-1", 40.0)]).await.unwrap();
    let report = notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    assert_eq!((report.delivered, report.failed), (2, 1), "{report:?}");
    let log = api
        .store
        .list_deliveries(
            &api.scope_a,
            &azcops::store::DeliveryFilter::default(),
            azcops::store::PageRequest::first(10).unwrap(),
        )
        .await
        .unwrap();
    let by_channel = |id: &str| log.items.iter().find(|d| d.channel_id == id).unwrap().clone();
    assert_eq!(
        (by_channel(&mail.id).status.as_str(), by_channel(&mail.id).last_status),
        ("delivered", Some(202))
    );
    assert_eq!(by_channel(&teams.id).last_status, Some(202));
    assert_eq!(
        (by_channel(&unsigned.id).status.as_str(), by_channel(&unsigned.id).last_status),
        ("failed", Some(401))
    );
    let recorded: Value =
        reqwest::get(format!("{base}/_sandbox/notifications")).await.unwrap().json().await.unwrap();
    let items = recorded["items"].as_array().unwrap();
    let acs = items.iter().find(|i| i["service"] == "acs_email").unwrap();
    assert_eq!(acs["body"]["recipients"]["to"][0]["address"], "finops@contoso.com");
    assert_eq!(acs["body"]["content"]["subject"], "[AzCops] New cost-saving findings");
    let card = items.iter().find(|i| i["service"] == "teams_workflow").unwrap();
    assert_eq!(card["body"]["attachments"][0]["content"]["body"][2]["facts"][0]["title"], "Delete disk-1");
    // A token for another audience is refused by the ACS simulation.
    let vault = SandboxIdentity {
        endpoint: exports["IDENTITY_ENDPOINT"].clone(),
        header: exports["IDENTITY_HEADER"].clone(),
    }
    .token(None, "https://vault.azure.net/.default")
    .await
    .unwrap();
    let refused = reqwest::Client::new()
        .post(format!("{base}/emails:send?api-version=2023-03-31"))
        .bearer_auth(vault.token.expose())
        .json(&acs["body"])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let bad_body = reqwest::Client::new()
        .post(format!("{base}/emails:send?api-version=2023-03-31"))
        .json(&json!({"senderAddress": "x@y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_body.status(), 401, "no token is refused before the body is read");
    api.finish().await;
}
