//! Per-customer-tenant credential: a multi-tenant app's client secret, with the token requested
//! from the customer tenant's authority (azure_identity's ClientSecretCredential against a
//! local Entra v2 endpoint).

use azcops::azure::connectors::advisor;
use azcops::azure::{ArmClient, AzureConfig, CallContext};
use azcops::config::SettingsSource;
use serde_json::json;

use crate::fake::{Fake, Reply};

const HOME: &str = "aaaaaaaa-1111-1111-1111-111111111111";
const CUSTOMER: &str = "cccccccc-2222-2222-2222-222222222222";
const SUB: &str = "66666666-6666-6666-6666-666666666666";

#[tokio::test]
async fn customer_tenant_tokens_come_from_the_customer_authority() {
    let fake = Fake::start(|seen, _| {
        if let Some(tenant) = seen.path.strip_suffix("/oauth2/v2.0/token") {
            let tenant = tenant.trim_start_matches('/');
            let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(seen.raw.as_bytes()).into_owned().collect();
            if form.get("client_secret").map(String::as_str) != Some("app-secret")
                || form.get("grant_type").map(String::as_str) != Some("client_credentials")
            {
                return Reply::json(401, json!({"error": "invalid_client", "error_description": "AADSTS7000215", "error_codes": [7000215]}));
            }
            return Reply::json(200, json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                "access_token": format!("app-token-{tenant}")}));
        }
        let expected = if seen.path.contains(SUB) { format!("Bearer app-token-{CUSTOMER}") } else { format!("Bearer app-token-{HOME}") };
        if seen.header("authorization") != Some(expected) {
            return Reply::json(401, json!({"error": {"code": "InvalidAuthenticationToken", "message": "wrong tenant"}}));
        }
        Reply::json(200, json!({"value": []}))
    })
    .await;
    let settings = SettingsSource::from_pairs([
        ("AZCOPS_ARM_ENDPOINT", fake.base.as_str()),
        ("AZCOPS_AUTHORITY_HOST", fake.base.as_str()),
        ("AZCOPS_AZURE_CREDENTIAL", "client_secret"),
        ("AZURE_TENANT_ID", HOME),
        ("AZURE_CLIENT_ID", "app-id"),
        ("AZURE_CLIENT_SECRET", "app-secret"),
    ]);
    let client = ArmClient::from_config(AzureConfig::from_source(&settings).unwrap()).unwrap();
    let mut ctx = CallContext::new(CUSTOMER, SUB);
    ctx.token_tenant = Some(CUSTOMER.into());
    advisor::fetch_recommendations(&client, &ctx, SUB).await.unwrap();
    advisor::fetch_recommendations(&client, &ctx, SUB).await.unwrap();
    let home_sub = "77777777-7777-7777-7777-777777777777";
    advisor::fetch_recommendations(&client, &CallContext::new(HOME, home_sub), home_sub).await.unwrap();
    let token_paths: Vec<String> =
        fake.requests().iter().filter(|s| s.path.ends_with("/token")).map(|s| s.path.clone()).collect();
    assert_eq!(
        token_paths,
        [format!("/{CUSTOMER}/oauth2/v2.0/token"), format!("/{HOME}/oauth2/v2.0/token")],
        "cached per tenant"
    );
    let token_request = fake.requests().into_iter().find(|s| s.path.ends_with("/token")).unwrap();
    assert!(
        token_request.raw.contains("scope=https%3A%2F%2Fmanagement.azure.com%2F.default"),
        "{}",
        token_request.raw
    );
}

#[tokio::test]
async fn workload_identity_exchanges_the_federated_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "federated.jwt.value").unwrap();
    let fake = Fake::start(|seen, _| {
        if seen.path.ends_with("/oauth2/v2.0/token") {
            let form: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(seen.raw.as_bytes()).into_owned().collect();
            let ok = form.get("client_assertion").map(String::as_str) == Some("federated.jwt.value")
                && form.get("client_assertion_type").map(String::as_str)
                    == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                && form.get("client_id").map(String::as_str) == Some("wi-client");
            return if ok {
                Reply::json(200, json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "wi-token"}))
            } else {
                Reply::json(400, json!({"error": "invalid_client", "error_description": "bad assertion", "error_codes": [700211]}))
            };
        }
        if seen.header("authorization").as_deref() != Some("Bearer wi-token") {
            return Reply::json(401, json!({"error": {"code": "InvalidAuthenticationToken", "message": "bad"}}));
        }
        Reply::json(200, json!({"value": []}))
    })
    .await;
    let settings = SettingsSource::from_pairs([
        ("AZCOPS_ARM_ENDPOINT", fake.base.as_str()),
        ("AZCOPS_AUTHORITY_HOST", fake.base.as_str()),
        ("AZURE_TENANT_ID", HOME),
        ("AZURE_CLIENT_ID", "wi-client"),
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
    ]);
    // `auto` picks workload identity because a federated token file is configured.
    let client = ArmClient::from_config(AzureConfig::from_source(&settings).unwrap()).unwrap();
    advisor::fetch_recommendations(&client, &CallContext::new(HOME, SUB), SUB).await.unwrap();
    let token_paths: Vec<String> =
        fake.requests().iter().filter(|s| s.path.ends_with("/token")).map(|s| s.path.clone()).collect();
    assert_eq!(token_paths, [format!("/{HOME}/oauth2/v2.0/token")]);
}
