//! The invocation server through its router: gating, failures, health, correlation, logging.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use azcops::state::{AppState, DiagnosticOptions, NoDatabase};
use serde_json::Value;
use tower::ServiceExt as _;

const PORT: u16 = 7777;

fn router(diagnostics: bool) -> axum::Router {
    let options = DiagnosticOptions { enabled: diagnostics, fanout: 2, fail_sequence: None };
    azcops::app::router(AppState::new(Arc::new(NoDatabase), options), "api", PORT)
}

fn invocation(function: &str, body: &str) -> Request<Body> {
    Request::post(format!("/{function}"))
        .header("host", format!("127.0.0.1:{PORT}"))
        .header("x-azure-functions-invocationid", "11111111-2222-3333-4444-555555555555")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn json(response: axum::response::Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

const TIMER: &str = r#"{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{}}"#;

#[tokio::test]
async fn readiness_answers_on_root() {
    let response = router(false).oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn functions_fail_naming_what_is_missing_in_this_process() {
    // This router has no curated store: planning cannot run and says so.
    let response = router(false).oneshot(invocation("nightly_ingest", TIMER)).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = json(response).await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("curated store (DATABASE_URL)"), "{message}");
    assert!(
        body["Logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("nightly_ingest failed"))
    );
}

#[tokio::test]
async fn malformed_envelopes_get_400_naming_the_problem() {
    for (body, needle) in [
        ("not json", "envelope"),
        (r#"{"Data":{},"Metadata":{}}"#, "timer"),
        (r#"{"Data":{"timer":5}}"#, "TimerInfo"),
    ] {
        let response = router(false).oneshot(invocation("retention", body)).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = json(response).await["error"]["message"].as_str().unwrap().to_owned();
        assert!(text.contains(needle), "{text}");
    }
}

#[tokio::test]
async fn diagnostic_functions_answer_only_when_enabled() {
    let response = router(false).oneshot(invocation("diag_fanout", TIMER)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = router(true).oneshot(invocation("diag_fanout", TIMER)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["Outputs"]["messages"].as_array().unwrap().len(), 2);
    assert_eq!(body["ReturnValue"], Value::Null);
}

#[tokio::test]
async fn invocation_routes_refuse_requests_not_from_the_host() {
    let forwarded = Request::post("/retention")
        .header("host", "myapp.azurewebsites.net")
        .header("x-azure-functions-invocationid", "x")
        .body(Body::from(TIMER))
        .unwrap();
    assert_eq!(router(false).oneshot(forwarded).await.unwrap().status(), StatusCode::NOT_FOUND);
    let no_id = Request::post("/retention")
        .header("host", format!("127.0.0.1:{PORT}"))
        .body(Body::from(TIMER))
        .unwrap();
    assert_eq!(router(false).oneshot(no_id).await.unwrap().status(), StatusCode::NOT_FOUND);
    let prefixed = Request::post("/api/retention")
        .header("host", format!("127.0.0.1:{PORT}"))
        .body(Body::from(TIMER))
        .unwrap();
    let response = router(false).oneshot(prefixed).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(response).await["error"]["code"], "not_found");
}

#[tokio::test]
async fn health_reports_degraded_without_a_database_and_echoes_correlation_ids() {
    let request =
        Request::get("/api/health").header("x-correlation-id", "abc-123").body(Body::empty()).unwrap();
    let response = router(false).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    assert_eq!(response.headers()["x-correlation-id"], "abc-123");
    let body = json(response).await;
    assert_eq!(
        body,
        serde_json::json!({"status": "degraded", "version": env!("CARGO_PKG_VERSION"), "database": "disconnected"})
    );
    let bad = Request::get("/api/health")
        .header("x-correlation-id", "bad id with spaces")
        .body(Body::empty())
        .unwrap();
    let response = router(false).oneshot(bad).await.unwrap();
    let echoed = response.headers()["x-correlation-id"].to_str().unwrap().to_owned();
    assert_ne!(echoed, "bad id with spaces");
    assert!(uuid::Uuid::parse_str(&echoed).is_ok());
}

/// Starts `azcops serve` as the host would, with `database_url`, and waits until it answers.
fn spawn_serve(database_url: &str) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_azcops"))
        .arg("serve")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("FUNCTIONS_APP_ROOT_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "info")
        .env("AZCOPS_DIAGNOSTIC_FUNCTIONS", "true")
        .env_remove("AZCOPS_LOG_FORMAT")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while client.get(format!("{base}/")).send().is_err() {
        assert!(std::time::Instant::now() < deadline, "azcops serve did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child, base)
}

#[test]
fn serve_starts_and_reports_degraded_while_the_database_is_unreachable() {
    let (mut child, base) = spawn_serve("postgres://postgres@127.0.0.1:1/azcops");
    let started = std::time::Instant::now();
    let health = reqwest::blocking::get(format!("{base}/api/health")).unwrap();
    assert_eq!(health.status().as_u16(), 207);
    let body: Value = health.json().unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "disconnected");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "health must not hang");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Runs `azcops serve` as the host would, sends it a request with a bearer token and a failing
/// invocation, and reads the JSON lines it wrote to stdout.
#[test]
fn serve_logs_json_lines_with_invocation_fields_and_never_a_token() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn_serve(&format!("sqlite://{}", dir.path().join("azcops.db").display()));
    let client = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
    let secret = "eyJhbGciOiJSUzI1NiJ9.secret-token-value.sig";
    let health = client
        .get(format!("{base}/api/health"))
        .header("authorization", format!("Bearer {secret}"))
        .header("x-correlation-id", "corr-42")
        .send()
        .unwrap();
    assert_eq!(health.status().as_u16(), 200, "SQLite is created on demand");
    // A queue message that is not an ingestion message: a decode failure (400).
    let not_a_message = r#"{"Data":{"message":"\"hello\""},"Metadata":{"DequeueCount":"1"}}"#;
    let failed = client
        .post(format!("{base}/ingest_subscription"))
        .header("x-azure-functions-invocationid", "11111111-2222-3333-4444-555555555555")
        .header("x-correlation-id", "corr-43")
        .header("authorization", format!("Bearer {secret}"))
        .body(not_a_message)
        .send()
        .unwrap();
    assert_eq!(failed.status().as_u16(), 400);
    let fanout = client
        .post(format!("{base}/diag_fanout"))
        .header("x-azure-functions-invocationid", "99999999-2222-3333-4444-555555555555")
        .header("x-correlation-id", "corr-44")
        .body(TIMER)
        .send()
        .unwrap();
    assert_eq!(fanout.status().as_u16(), 200);
    child.kill().unwrap();
    let stdout = child.stdout.take().unwrap();
    let text: Vec<String> = BufReader::new(stdout).lines().map_while(Result::ok).collect();
    child.wait().unwrap();
    assert!(!text.iter().any(|l| l.contains("secret-token-value")), "a token reached the log:\n{text:?}");
    let lines: Vec<Value> = text.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let request_line = lines.iter().find(|l| l["message"] == "request completed").unwrap();
    assert_eq!(request_line["correlation_id"], "corr-42");
    assert_eq!(request_line["route"], "/api/health");
    assert!(request_line["duration_ms"].is_u64());
    let invocation_line = lines.iter().find(|l| l["message"] == "invocation failed").unwrap();
    for key in [
        "invocation_id",
        "function",
        "correlation_id",
        "operation_name",
        "duration_ms",
        "tenant_id",
        "subscription_id",
    ] {
        assert!(!invocation_line[key].is_null(), "{key} missing in {invocation_line}");
    }
    assert_eq!(invocation_line["function"], "ingest_subscription");
    assert_eq!(invocation_line["correlation_id"], "corr-43");
    assert!(
        invocation_line["error"].as_str().unwrap().contains("not an ingestion message"),
        "{invocation_line}"
    );
    // Every event inside an invocation carries the invocation's fields, not only the last line.
    let inner = lines.iter().find(|l| l["message"] == "diag_fanout emitting messages").unwrap();
    assert_eq!(inner["invocation_id"], "99999999-2222-3333-4444-555555555555");
    assert_eq!(inner["function"], "diag_fanout");
    assert_eq!(inner["operation_name"], "diag_fanout");
    assert_eq!(inner["correlation_id"], "corr-44");
    assert_eq!(inner["count"], 3, "AZCOPS_DIAGNOSTIC_FANOUT defaults to 3");
}
