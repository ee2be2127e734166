//! The OpenAPI document and the documentation pages, served by the binary without auth.

use axum::http::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn openapi_document_and_pages() {
    let api = Api::new().await;
    let reply = api.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/health",
        "/api/v1/me",
        "/api/v1/tenants/{id}",
        "/api/v1/subscriptions/{id}",
        "/api/v1/resources",
        "/api/v1/resources/export.csv",
        "/api/v1/resources/{id}",
        "/api/v1/ingestion/trigger",
        "/api/v1/costs",
        "/api/v1/costs/summary",
        "/api/v1/costs/export.csv",
        "/api/v1/ingestion/status/{run_id}",
        "/api/v1/recommendations",
        "/api/v1/recommendations/{id}",
        "/api/v1/recommendations/{id}/approve",
        "/api/v1/recommendations/{id}/execute",
        "/api/v1/recommendations/summary",
        "/api/v1/recommendations/export.csv",
        "/api/v1/audit-logs",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let trigger = &paths["/api/v1/ingestion/trigger"]["post"]["responses"];
    for status in ["202", "409", "429"] {
        assert!(trigger.get(status).is_some(), "trigger answers {status}: {trigger}");
    }
    assert!(trigger["429"]["description"].as_str().unwrap().contains("ingestion_cooldown"), "{trigger}");
    assert!(trigger["409"]["description"].as_str().unwrap().contains("details.run_id"), "{trigger}");
    assert!(trigger["429"]["headers"].get("Retry-After").is_some());
    let list = doc["components"]["schemas"]["ResourceSummary"]["properties"].as_object().unwrap();
    assert!(list.contains_key("tags") && !list.contains_key("properties"), "lists omit properties");
    let one = &paths["/api/v1/resources/{id}"]["get"]["responses"]["200"];
    assert!(one.to_string().contains("#/components/schemas/Resource\""), "{one}");

    let docs = api.call(Method::GET, "/api/docs/", None, None).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("swagger"), "{}", &docs.text[..200.min(docs.text.len())]);
    let redoc = api.call(Method::GET, "/api/redoc", None, None).await;
    assert_eq!(redoc.status, StatusCode::OK);
    assert!(redoc.text.contains("redoc/redoc.standalone.js") && !redoc.text.contains("cdn"));
    let request = axum::http::Request::builder()
        .uri("/api/redoc/redoc.standalone.js")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(api.router.clone(), request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
}
