//! azure_identity's own `ManagedIdentityCredential`, unchanged, gets a token from the sandbox
//! and that token reads ARM. The credential only reads the process environment, so the test
//! re-runs this test binary as a child with the sandbox's exports set (no env mutation here).

use azure_core::credentials::TokenCredential;

use crate::support::start;

const CHILD_FLAG: &str = "AZCOPS_SANDBOX_IDENTITY_CHILD";

#[tokio::test]
async fn azure_identity_managed_identity_credential_works_unchanged() {
    let sb = start("demo", |_| {}).await;
    let exe = std::env::current_exe().unwrap();
    let output = tokio::process::Command::new(exe)
        .args(["--exact", "identity::child_gets_a_token_and_lists_subscriptions", "--ignored", "--nocapture"])
        .envs(sb.exports())
        .env(CHILD_FLAG, "1")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// Runs only as the child of the test above.
#[tokio::test]
#[ignore = "run by azure_identity_managed_identity_credential_works_unchanged with the sandbox exports"]
async fn child_gets_a_token_and_lists_subscriptions() {
    if std::env::var_os(CHILD_FLAG).is_none() {
        return;
    }
    let credential = azure_identity::ManagedIdentityCredential::new(None).unwrap();
    let token = credential.get_token(&["https://management.azure.com/.default"], None).await.unwrap();
    let base = std::env::var("AZCOPS_ARM_ENDPOINT").unwrap();
    let response = reqwest::Client::new()
        .get(format!("{base}/subscriptions?api-version=2022-12-01"))
        .bearer_auth(token.token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let tenants = std::env::var("AZCOPS_SANDBOX_TENANTS").unwrap();
    assert_eq!(tenants.split(',').count(), 3);
    assert_eq!(body["value"].as_array().unwrap().len(), 11);
}
