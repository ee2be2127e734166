//! azure_identity's real managed identity code, configured only through environment variables
//! (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`), obtains a token from a fake Functions identity
//! endpoint and the token is used against ARM.
//!
//! The environment is isolated in a child process: this test binary re-runs itself with the
//! variables set and only `child_uses_managed_identity_from_env` selected.

use std::time::{SystemTime, UNIX_EPOCH};

use azcops::azure::connectors::subscriptions;
use azcops::azure::{ArmClient, AzureConfig, CallContext};
use azcops::config::SettingsSource;
use azcops::ops::collect::{self as cli, CollectArgs, Connector};
use serde_json::json;

use crate::fake::{Fake, Reply, query_param};

const CHILD_FLAG: &str = "AZCOPS_TEST_MI_CHILD";
const IDENTITY_SECRET: &str = "identity-header-secret";

fn fixture_token_response() -> serde_json::Value {
    let path = format!(
        "{}/fixtures/azure/token-appservice-2019-08-01-docs-sample-response.json",
        crate::fixtures::shared_dir()
    );
    let mut body: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 3600;
    body["expires_on"] = json!(expires.to_string());
    body["access_token"] = json!("mi-access-token");
    body["resource"] = json!("https://management.azure.com/");
    body
}

#[tokio::test]
async fn managed_identity_from_environment() {
    let fake = Fake::start(|seen, _| {
        if seen.path == "/msi/token" {
            let ok = seen.header("x-identity-header").as_deref() == Some(IDENTITY_SECRET)
                && query_param(seen, "api-version").as_deref() == Some("2019-08-01")
                && query_param(seen, "resource").as_deref() == Some("https://management.azure.com/");
            return if ok {
                Reply::json(200, fixture_token_response())
            } else {
                Reply::json(400, json!({"error": {"code": "invalid_request", "message": "bad identity request"}}))
            };
        }
        if seen.header("authorization").as_deref() != Some("Bearer mi-access-token") {
            return Reply::json(401, json!({"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}}));
        }
        if seen.path == "/providers/Microsoft.ResourceGraph/resources" {
            return Reply::json(200, json!({"totalRecords": 1, "count": 1, "resultTruncated": "false", "data": [{
                "id": "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/RG/providers/Microsoft.Compute/disks/D1",
                "name": "D1", "type": "microsoft.compute/disks", "location": "eastus", "resourceGroup": "RG",
                "subscriptionId": "44444444-4444-4444-4444-444444444444", "tags": null, "properties": {"diskState": "Unattached"}}]}));
        }
        Reply::json(200, json!({"value": [{"id": "/subscriptions/44444444-4444-4444-4444-444444444444",
            "subscriptionId": "44444444-4444-4444-4444-444444444444", "tenantId": "t0", "displayName": "MI sub", "state": "Enabled"}]}))
    })
    .await;
    let exe = std::env::current_exe().unwrap();
    let output = tokio::process::Command::new(exe)
        .args([
            "identity::child_uses_managed_identity_from_env",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_FLAG, "1")
        .env("IDENTITY_ENDPOINT", format!("{}/msi/token", fake.base))
        .env("IDENTITY_HEADER", IDENTITY_SECRET)
        .env("AZCOPS_ARM_ENDPOINT", &fake.base)
        .env("AZCOPS_AZURE_CREDENTIAL", "managed_identity")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("IMDS_ENDPOINT")
        .env_remove("MSI_ENDPOINT")
        .env_remove("IDENTITY_SERVER_THUMBPRINT")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("CHILD_OK subscriptions=44444444-4444-4444-4444-444444444444"), "{stdout}");
    assert!(!stdout.contains("mi-access-token"), "the token is never printed");
    let seen = fake.requests();
    let token_calls = seen.iter().filter(|s| s.path == "/msi/token").count();
    assert_eq!(token_calls, 2, "one token per client (the library client and the CLI run), then cached");
    assert_eq!(seen.iter().filter(|s| s.path == "/subscriptions").count(), 2);
    // `azcops collect resource-graph` printed the mapped row as one JSON line.
    let row: serde_json::Value = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .expect("a JSON row on stdout");
    assert_eq!(
        row["resource_id"],
        "/subscriptions/44444444-4444-4444-4444-444444444444/resourcegroups/rg/providers/microsoft.compute/disks/d1"
    );
    assert_eq!(row["type"], "microsoft.compute/disks");
    assert_eq!(row["resource_group"], "rg");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 rows for subscription 44444444-4444-4444-4444-444444444444"), "{stderr}");
}

/// Runs only inside the child started above; a no-op in a normal test run.
#[tokio::test]
async fn child_uses_managed_identity_from_env() {
    if std::env::var(CHILD_FLAG).is_err() {
        return;
    }
    let settings = SettingsSource::from_env();
    let config = AzureConfig::from_source(&settings).unwrap();
    let client = ArmClient::from_config(config).unwrap();
    let ctx = CallContext::new("t0", "");
    let first = subscriptions::list_subscriptions(&client, &ctx).await.unwrap();
    let second = subscriptions::list_subscriptions(&client, &ctx).await.unwrap();
    assert_eq!(first, second);
    let ids: Vec<_> = first.iter().map(|s| s.subscription_id.clone()).collect();
    println!("CHILD_OK subscriptions={}", ids.join(","));
    let args = CollectArgs {
        connector: Connector::ResourceGraph,
        tenant: "t0".into(),
        subscription: ids[0].clone(),
        from: None,
        to: None,
    };
    // The command line builds its own client from the same settings, as `azcops collect` does.
    let cli_client = ArmClient::from_config(AzureConfig::from_source(&settings).unwrap()).unwrap();
    cli::run(args, &cli_client).await.unwrap();
}
