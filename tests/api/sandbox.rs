//! The sandbox as a development identity provider: its user tokens are accepted by AzCops
//! configured with the sandbox as authority (key set found at the default JWKS path).

use axum::http::StatusCode;
use azcops::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn sandbox_user_tokens_are_accepted() {
    let options = SandboxOptions::new(
        "demo".parse().unwrap(),
        42,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
    );
    let sandbox = Sandbox::start(options).await.unwrap();
    let base = sandbox.base_url().to_owned();
    // Discovery answers for the estate's tenants only (Entra's AADSTS90002 for others).
    let known = sandbox.estate().tenants[0].id.clone();
    let metadata: Value = reqwest::get(format!("{base}/{known}/v2.0/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], format!("{base}/{known}/v2.0"));
    assert_eq!(metadata["jwks_uri"], format!("{base}/common/discovery/v2.0/keys"));

    let api = Api::with(&[
        ("AZCOPS_AUTH_AUTHORITY", &base),
        ("AZCOPS_AUTH_JWKS_URL", ""),
        ("AZCOPS_AUTH_AUDIENCE", "api://azcops"),
    ])
    .await;
    let client = reqwest::Client::new();
    let mint = |body: Value| {
        let client = client.clone();
        let url = format!("{base}/_sandbox/user-token");
        async move {
            let reply: Value = client.post(url).json(&body).send().await.unwrap().json().await.unwrap();
            reply["access_token"].as_str().unwrap().to_owned()
        }
    };
    let token =
        mint(json!({"tid": tid_a(), "roles": [READER], "name": "Demo User", "oid": "demo-oid"})).await;
    let reply = api.get("/api/v1/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["display_name"], "Demo User");
    assert_eq!(reply.json()["object_id"], "demo-oid");
    // Another audience or an unregistered tenant is still refused.
    let other = mint(json!({"tid": tid_a(), "roles": [READER], "aud": "api://other"})).await;
    assert_eq!(api.get("/api/v1/me", &other).await.status, StatusCode::UNAUTHORIZED);
    let stranger = mint(json!({"tid": guid(55), "roles": [READER]})).await;
    assert_eq!(api.get("/api/v1/me", &stranger).await.status, StatusCode::UNAUTHORIZED);
}
