//! Auth: 401 bodies, Lighthouse reads with the managing tenant's identity, 401
//! `InvalidAuthenticationTokenTenant` on subscriptions of other tenants, per-tenant app
//! credentials.

use std::collections::HashMap;

use serde_json::Value;

use crate::support::{self, client, start};

async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn bad_tokens_get_arm_401s() {
    let sb = start("demo", |_| {}).await;
    let url = format!("{}/subscriptions?api-version=2022-12-01", sb.base_url());
    assert_eq!(
        error_code(client().get(&url).send().await.unwrap()).await,
        (401, "AuthenticationFailed".into())
    );
    assert_eq!(
        error_code(support::get(&sb, "garbage", "/subscriptions").await).await,
        (401, "InvalidAuthenticationToken".into())
    );
    let tenant = sb.estate().tenants[0].id.clone();
    let expired =
        sb.issue_token(&tenant, "https://management.azure.com/", chrono::Utc::now().timestamp() - 10);
    assert_eq!(
        error_code(support::get(&sb, &expired, "/subscriptions").await).await,
        (401, "ExpiredAuthenticationToken".into())
    );
    let exports: HashMap<_, _> = sb.exports().into_iter().collect();
    let vault: Value = client()
        .get(format!(
            "{}?api-version=2019-08-01&resource=https://vault.azure.net",
            exports["IDENTITY_ENDPOINT"]
        ))
        .header("X-IDENTITY-HEADER", &exports["IDENTITY_HEADER"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wrong_audience = vault["access_token"].as_str().unwrap();
    let (status, code) = error_code(support::get(&sb, wrong_audience, "/subscriptions").await).await;
    assert_eq!((status, code.as_str()), (401, "InvalidAuthenticationTokenAudience"));
    let no_header = client()
        .get(format!(
            "{}?api-version=2019-08-01&resource=https://management.azure.com/",
            exports["IDENTITY_ENDPOINT"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), 401);
}

#[tokio::test]
async fn the_managed_identity_reads_lighthouse_subscriptions_but_not_undelegated_ones() {
    let sb = start("demo", |_| {}).await;
    let exports: HashMap<_, _> = sb.exports().into_iter().collect();
    let msi: Value = client()
        .get(format!(
            "{}?api-version=2019-08-01&resource=https://management.azure.com/",
            exports["IDENTITY_ENDPOINT"]
        ))
        .header("X-IDENTITY-HEADER", &exports["IDENTITY_HEADER"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = msi["access_token"].as_str().unwrap().to_owned();
    let managing = sb.estate().tenants[0].id.clone();
    let list: Value =
        support::get(&sb, &token, "/subscriptions?api-version=2022-12-01").await.json().await.unwrap();
    let subs = list["value"].as_array().unwrap();
    assert_eq!(subs.len(), 11, "3 × 4 minus the one that is not delegated");
    let lighthouse = support::lighthouse_subscription(&sb);
    let entry = subs.iter().find(|s| s["subscriptionId"] == lighthouse.as_str()).unwrap();
    assert_eq!(entry["managedByTenants"][0]["tenantId"], managing.as_str());
    assert_ne!(entry["tenantId"], managing.as_str());
    let body = support::cost_body("AmortizedCost", "2026-11-01", "2026-11-02", &["ServiceName"]);
    assert_eq!(support::cost(&sb, &token, &lighthouse, &body).await.status(), 200);
    let hidden = support::hidden_subscription(&sb);
    assert!(subs.iter().all(|s| s["subscriptionId"] != hidden.as_str()));
    let refused = support::cost(&sb, &token, &hidden, &body).await;
    let owner = sb.estate().tenants[2].id.clone();
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains(&format!("authorization_uri=\"{}/{owner}\"", sb.base_url())), "{challenge}");
    assert_eq!(error_code(refused).await, (401, "InvalidAuthenticationTokenTenant".into()));
    let advisor =
        format!("/subscriptions/{hidden}/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01");
    let refused = support::get(&sb, &token, &advisor).await;
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationTokenTenant");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("wrong issuer 'https://sts.windows.net/{managing}/'")), "{message}");
    assert!(
        message.contains(&format!("must match the tenant 'https://sts.windows.net/{owner}/'")),
        "{message}"
    );
    let tenants: Value =
        support::get(&sb, &token, "/tenants?api-version=2022-12-01").await.json().await.unwrap();
    assert_eq!(tenants["value"].as_array().unwrap().len(), 3);
    let unknown = format!("/subscriptions/{}?api-version=2022-12-01", uuid::Uuid::nil());
    assert_eq!(
        error_code(support::get(&sb, &token, &unknown).await).await,
        (404, "SubscriptionNotFound".into())
    );
}

#[tokio::test]
async fn a_customer_app_credential_reads_only_its_own_tenant() {
    let sb = start("demo", |_| {}).await;
    let (client_id, secret) = sb.app_credential(2).unwrap();
    let tenant = sb.estate().tenants[2].id.clone();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.expose()),
        ("scope", "https://management.azure.com/.default"),
    ];
    let body: String = form
        .iter()
        .map(|(k, v)| {
            format!("{k}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
        })
        .collect::<Vec<_>>()
        .join("&");
    let token: Value = client()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", sb.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let list: Value =
        support::get(&sb, token, "/subscriptions?api-version=2022-12-01").await.json().await.unwrap();
    let subs = list["value"].as_array().unwrap();
    assert_eq!(subs.len(), 4, "its own four, delegated or not");
    assert!(subs.iter().all(|s| s["tenantId"] == tenant.as_str()));
    let hidden = support::hidden_subscription(&sb);
    let body = support::cost_body("ActualCost", "2026-11-01", "2026-11-02", &["ServiceName"]);
    assert_eq!(support::cost(&sb, token, &hidden, &body).await.status(), 200);
    let other_tenant = sb.estate().subscriptions.iter().find(|s| s.tenant == 1).unwrap().id.clone();
    assert_eq!(
        error_code(support::cost(&sb, token, &other_tenant, &body).await).await,
        (401, "InvalidAuthenticationTokenTenant".into())
    );
}
