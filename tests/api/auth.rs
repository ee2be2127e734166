//! Token validation: a valid token passes; every forged, stale or foreign token is 401 with a
//! `WWW-Authenticate` challenge and a body that says nothing about why.

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use crate::support::*;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn parts(token: &str) -> (Value, Value, String) {
    let mut it = token.split('.');
    let header = serde_json::from_slice(&B64.decode(it.next().unwrap()).unwrap()).unwrap();
    let payload = serde_json::from_slice(&B64.decode(it.next().unwrap()).unwrap()).unwrap();
    (header, payload, it.next().unwrap().to_owned())
}

fn encode(value: &Value) -> String {
    B64.encode(value.to_string())
}

async fn assert_rejected(api: &Api, case: &str, token: &str) {
    let reply = api.get("/api/v1/me", token).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{case}: {}", reply.text);
    let challenge = reply.headers.get("www-authenticate").unwrap_or_else(|| panic!("{case}: no challenge"));
    assert_eq!(challenge, "Bearer realm=\"azcops\", error=\"invalid_token\"", "{case}");
    let body = reply.json();
    assert_eq!(
        body,
        json!({"error": {"code": "unauthorized", "message": "authentication required", "details": null}}),
        "{case} leaked detail"
    );
}

#[tokio::test]
async fn valid_token_passes_and_me_reports_the_caller() {
    let api = Api::new().await;
    let token = token(&tid_a(), &[APPROVER, "Unrelated.Role"]).await;
    let reply = api.get("/api/v1/me", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let me = reply.json();
    assert_eq!(me["azure_tenant_id"], tid_a());
    assert_eq!(me["tenant_id"], api.tenant_a);
    assert_eq!(me["roles"], json!([APPROVER]));
    assert_eq!(me["display_name"], "Test User");
    assert_eq!(me["platform_admin"], false);
}

#[tokio::test]
async fn missing_or_non_bearer_header_is_401_invalid_request() {
    let api = Api::new().await;
    for header in [None, Some("Basic dXNlcjpwYXNz"), Some("Bearer")] {
        let mut request = axum::http::Request::builder().uri("/api/v1/me");
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let response =
            tower::ServiceExt::oneshot(api.router.clone(), request.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"azcops\", error=\"invalid_request\""
        );
    }
}

#[tokio::test]
async fn every_bad_token_is_rejected_without_detail() {
    let api = Api::new().await;
    let good = token(&tid_a(), &[READER]).await;
    assert_eq!(api.get("/api/v1/me", &good).await.status, StatusCode::OK);
    let (header, payload, signature) = parts(&good);

    // alg none, no signature.
    let mut none = header.clone();
    none["alg"] = json!("none");
    assert_rejected(&api, "alg none", &format!("{}.{}.", encode(&none), encode(&payload))).await;

    // HS256 "signed" with the provider's public key material.
    let jwks = reqwest::get(format!("{}/jwks", oidc())).await.unwrap().text().await.unwrap();
    let mut hs = header.clone();
    hs["alg"] = json!("HS256");
    let input = format!("{}.{}", encode(&hs), encode(&payload));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(jwks.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    let forged = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
    assert_rejected(&api, "HS256 with public key", &forged).await;

    // Tampered payload under the original signature.
    let mut tampered = payload.clone();
    tampered["roles"] = json!([ADMIN]);
    assert_rejected(
        &api,
        "tampered payload",
        &format!("{}.{}.{signature}", encode(&header), encode(&tampered)),
    )
    .await;

    let a = tid_a();
    let cases: Vec<(&str, Value)> = vec![
        ("wrong aud", json!({"aud": "api://someone-else"})),
        ("wrong iss", json!({"iss": format!("https://login.example.com/{a}/v2.0")})),
        ("iss of another tenant", json!({"iss": format!("{}/{}/v2.0", oidc(), tid_b())})),
        ("expired", json!({"exp": now() - 3600, "nbf": now() - 7200, "iat": now() - 7200})),
        ("nbf in the future", json!({"nbf": now() + 3600})),
        ("missing tid", json!({"tid": null})),
        ("unregistered tenant", json!({"tid": guid(7), "iss": format!("{}/{}/v2.0", oidc(), guid(7))})),
        ("missing exp", json!({"exp": null})),
    ];
    for (case, overrides) in cases {
        let mut claims = claims(&a, &[READER]);
        for (k, v) in overrides.as_object().unwrap() {
            claims[k] = v.clone();
        }
        assert_rejected(&api, case, &token_from(&oidc(), &claims).await).await;
    }

    // Unknown kid: a well-formed token from a provider whose key the API has never seen.
    let rogue = token_from(&oidc_rogue(), &claims(&a, &[READER])).await;
    assert_rejected(&api, "unknown kid", &rogue).await;
    // ...and the refresh it caused does not break valid tokens.
    assert_eq!(api.get("/api/v1/me", &good).await.status, StatusCode::OK);
}

#[tokio::test]
async fn platform_admin_role_only_counts_in_control_plane_tokens() {
    let api = Api::new().await;
    // In a customer's token the role is dropped, which leaves it without any AzCops role.
    let customer = token(&tid_a(), &[PLATFORM_ADMIN]).await;
    assert_eq!(error_field(&api.get("/api/v1/me", &customer).await, StatusCode::FORBIDDEN), None);
    assert_eq!(api.get("/api/v1/tenants", &customer).await.status, StatusCode::FORBIDDEN);
    let customer = token(&tid_a(), &[PLATFORM_ADMIN, READER]).await;
    let me = api.get("/api/v1/me", &customer).await.json();
    assert_eq!(me["platform_admin"], false);
    assert_eq!(me["roles"], json!([READER]));
    assert_eq!(api.get("/api/v1/tenants", &customer).await.status, StatusCode::FORBIDDEN);

    let operator = token(&tid_control(), &[PLATFORM_ADMIN]).await;
    let reply = api.get("/api/v1/tenants", &operator).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["total"], 2);
    // A control-plane tenant that is not registered has no tenant data of its own.
    assert_eq!(api.get("/api/v1/resources", &operator).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn reader_role_is_required_for_tenant_data() {
    let api = Api::new().await;
    let none = token(&tid_a(), &[]).await;
    let reply = api.get("/api/v1/resources", &none).await;
    assert_eq!(error_field(&reply, StatusCode::FORBIDDEN), None);
    let reader = token(&tid_a(), &[READER]).await;
    assert_eq!(api.get("/api/v1/resources", &reader).await.status, StatusCode::OK);
    let reply = api
        .call(
            Method::POST,
            "/api/v1/subscriptions",
            Some(&reader),
            Some(json!({"subscription_id": guid(500), "display_name": "x"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
}

#[tokio::test]
async fn unconfigured_audience_answers_503_naming_the_setting_and_health_still_works() {
    let api = Api::with(&[("AZCOPS_AUTH_AUDIENCE", "")]).await;
    let reply = api.get("/api/v1/me", "whatever").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"]["details"]["setting"], "AZCOPS_AUTH_AUDIENCE");
    let health = api.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
}
