//! Answers as Azure gives them: api-version refusals per API, every Cost Management timeframe,
//! the challenge of a refused token, Resource Graph's general KQL path, and the https mode with
//! Entra's tenant discovery and client credentials.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::support::{self, client, fixture, start};

async fn status_and_body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn unknown_api_versions_get_each_apis_refusal() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();

    let (status, body) =
        status_and_body(support::get(&sb, &token, "/subscriptions?api-version=1999-01-01").await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("InvalidApiVersionParameter")));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("The api-version '1999-01-01' is invalid. The supported versions are '"),
        "{message}"
    );
    assert!(message.contains("2022-12-01"), "{message}");

    let (status, body) = status_and_body(support::get(&sb, &token, "/tenants").await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("MissingApiVersionParameter")));

    let url = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.CostManagement/query?api-version=1999-01-01",
        sb.base_url()
    );
    let cost = support::cost_body("ActualCost", "2026-11-01", "2026-11-02", &[]);
    let (status, body) =
        status_and_body(client().post(url).bearer_auth(&token).json(&cost).send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("InvalidResourceType")));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("namespace 'Microsoft.CostManagement' for api version '1999-01-01'"),
        "{message}"
    );
    assert!(message.contains("2025-03-01"), "{message}");

    let url = format!("{}/providers/Microsoft.ResourceGraph/resources?api-version=2015-01-01", sb.base_url());
    let r = client().post(url).bearer_auth(&token).json(&json!({"query": "Resources"})).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // The versions the official SDKs send by default are served.
    for path in [
        format!("/subscriptions/{sub}/providers/Microsoft.Advisor/recommendations?api-version=2020-01-01"),
        "/subscriptions?api-version=2022-12-01".to_owned(),
    ] {
        assert_eq!(support::get(&sb, &token, &path).await.status(), 200, "{path}");
    }
    // A bad token is told so before the version is looked at, as ARM authenticates first.
    let r = support::get(&sb, "forged", "/subscriptions?api-version=1999-01-01").await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn refused_tokens_get_arms_challenge() {
    let sb = start("demo", |_| {}).await;
    let forged = support::get(&sb, "sbx.e30.AAAA", "/subscriptions?api-version=2022-12-01").await;
    assert_eq!(forged.status(), 401);
    let challenge = forged.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert_eq!(
        challenge,
        format!(
            "Bearer authorization_uri=\"{}/\", error=\"invalid_token\", error_description=\"The access token is invalid.\"",
            sb.base_url()
        )
    );
    let missing =
        client().get(format!("{}/subscriptions?api-version=2022-12-01", sb.base_url())).send().await.unwrap();
    let challenge = missing.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("missing 'Authorization' header"), "{challenge}");
}

fn total(body: &Value) -> f64 {
    body["properties"]["rows"].as_array().unwrap().iter().map(|r| r[0].as_f64().unwrap()).sum()
}

#[tokio::test]
async fn every_timeframe_is_served_with_azures_dates() {
    // As of 2026-11-25: the last month is October, the current month runs from 1 November.
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();
    let example = fixture("costmanagement-2025-03-01-SubscriptionQueryGrouping.json");
    let request = example["parameters"]["parameters"].clone();
    assert_eq!(request["timeframe"], "TheLastMonth", "the fixture's own request, unchanged");
    let (status, last_month) = status_and_body(support::cost(&sb, &token, &sub, &request).await).await;
    assert_eq!(status, 200, "{last_month}");
    let mut custom = request.clone();
    custom["timeframe"] = json!("Custom");
    custom["timePeriod"] = json!({"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T23:59:59Z"});
    let (_, october) = status_and_body(support::cost(&sb, &token, &sub, &custom).await).await;
    assert!(total(&last_month) > 0.0);
    assert!((total(&last_month) - total(&october)).abs() < 1e-6);
    assert_eq!(last_month["properties"]["rows"], october["properties"]["rows"]);

    let same = |timeframe: &str| {
        let mut r = request.clone();
        r["timeframe"] = json!(timeframe);
        r
    };
    let (_, billing) =
        status_and_body(support::cost(&sb, &token, &sub, &same("TheLastBillingMonth")).await).await;
    assert_eq!(billing["properties"]["rows"], october["properties"]["rows"]);
    custom["timePeriod"] = json!({"from": "2026-11-01T00:00:00Z", "to": "2026-11-24T23:59:59Z"});
    let (_, november) = status_and_body(support::cost(&sb, &token, &sub, &custom).await).await;
    for timeframe in ["MonthToDate", "BillingMonthToDate", "TheCurrentMonth"] {
        let (status, body) = status_and_body(support::cost(&sb, &token, &sub, &same(timeframe)).await).await;
        assert_eq!(status, 200, "{timeframe}");
        assert_eq!(
            body["properties"]["rows"], november["properties"]["rows"],
            "{timeframe}: data up to yesterday"
        );
    }
    // WeekToDate: Monday 23 November to yesterday.
    custom["timePeriod"] = json!({"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"});
    let (_, week) = status_and_body(support::cost(&sb, &token, &sub, &custom).await).await;
    let (_, to_date) = status_and_body(support::cost(&sb, &token, &sub, &same("WeekToDate")).await).await;
    assert_eq!(to_date["properties"]["rows"], week["properties"]["rows"]);
    let (status, body) = status_and_body(support::cost(&sb, &token, &sub, &same("TheLast7Days")).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("BadRequest")));
}

#[tokio::test]
async fn resource_graph_runs_common_tool_queries() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();
    let scope = |query: &str| json!({ "subscriptions": [sub], "query": query });
    let (status, body) = status_and_body(
        support::graph(&sb, &token, &scope("Resources | summarize count() by type | order by count_ desc"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let counted: u64 = body["data"].as_array().unwrap().iter().map(|r| r["count_"].as_u64().unwrap()).sum();
    assert_eq!(counted as usize, sb.estate().resources_of(0).len());
    let first = &body["data"][0]["count_"];
    assert!(body["data"].as_array().unwrap().iter().all(|r| r["count_"].as_u64() <= first.as_u64()));

    let join = "Resources | join kind=leftouter (ResourceContainers | where type == 'microsoft.resources/subscriptions' | project subscriptionId, subName = name) on subscriptionId | project id, name, subName | order by id asc";
    let mut paged = scope(join);
    paged["options"] = json!({ "$top": 20 });
    let (status, body) = status_and_body(support::graph(&sb, &token, &paged).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalRecords"], sb.estate().resources_of(0).len());
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["subName"] == sb.estate().subscriptions[0].name.as_str())
    );
    assert!(body["$skipToken"].is_string(), "more rows than $top with id projected page on");
    assert_eq!(body["count"], 20);

    let top = "Resources | extend rg = tolower(resourceGroup) | top 3 by name asc | project name, rg";
    let (_, body) = status_and_body(support::graph(&sb, &token, &scope(top)).await).await;
    let mut names: Vec<&str> = sb.estate().resources_of(0).iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    let got: Vec<&str> =
        body["data"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(got, names[..3]);

    let (status, body) =
        status_and_body(support::graph(&sb, &token, &scope("Resources | project nope")).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["details"][0]["code"], "InvalidQuery");
}

fn https_client(sb: &azcops::sandbox::RunningSandbox) -> reqwest::Client {
    let pem = std::fs::read(sb.ca_cert_path().unwrap()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_mode_serves_entra_discovery_and_client_credentials() {
    let sb = start("demo", |o| o.https = true).await;
    let base = sb.base_url().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let exports: HashMap<_, _> = sb.exports().into_iter().collect();
    assert_eq!(exports["AZCOPS_SANDBOX_CA_CERT"], sb.ca_cert_path().unwrap().display().to_string());
    let http = https_client(&sb);
    let tenant = exports["AZCOPS_SANDBOX_APP_1_TENANT_ID"].clone();

    let discovery: Value = http
        .get(format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["token_endpoint"], format!("{base}/{tenant}/oauth2/v2.0/token"));
    assert_eq!(discovery["issuer"], format!("{base}/{tenant}/v2.0"));

    let unknown = uuid::Uuid::nil();
    let r = http.get(format!("{base}/{unknown}/v2.0/.well-known/openid-configuration")).send().await.unwrap();
    let (status, body) = status_and_body(r).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_tenant")));
    assert_eq!(body["error_codes"], json!([90002]));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS90002: Tenant '{unknown}' not found."))
    );

    let token_request = |secret: &str| {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", exports["AZCOPS_SANDBOX_APP_1_CLIENT_ID"].as_str()),
            ("client_secret", secret),
            ("scope", "https://management.azure.com/.default"),
        ];
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| {
                format!("{k}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
            })
            .collect();
        http.post(discovery["token_endpoint"].as_str().unwrap())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
    };
    let (status, refused) = status_and_body(token_request("not-the-secret").await.unwrap()).await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("invalid_client")));
    let (status, granted) =
        status_and_body(token_request(&exports["AZCOPS_SANDBOX_APP_1_CLIENT_SECRET"]).await.unwrap()).await;
    assert_eq!(status, 200, "{granted}");
    let token = granted["access_token"].as_str().unwrap();
    let list: Value = http
        .get(format!("{base}/subscriptions?api-version=2022-12-01"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subs = list["value"].as_array().unwrap();
    assert_eq!(subs.len(), 4);
    assert!(subs.iter().all(|s| s["tenantId"] == tenant.as_str()));
    sb.shutdown().await.unwrap();
}
