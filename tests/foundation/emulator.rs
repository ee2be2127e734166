//! End-to-end tests of `azcops dev` with the real handler child process.

use crate::support::{Dev, make_app, write_blob};

const DIAG: &[&str] = &["api", "ingest_subscription"];

fn quiet_host(host: &mut serde_json::Value) {
    // Retries at once and three attempts keep the test fast; the semantics are the same.
    host["extensions"]["queues"]["visibilityTimeout"] = "00:00:00".into();
    host["extensions"]["queues"]["maxDequeueCount"] = 3.into();
}

#[test]
fn a_timer_fanning_out_n_messages_produces_n_queue_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let app = make_app(dir.path(), DIAG, quiet_host);
    let mut dev = Dev::start(
        &app,
        &dir.path().join("data"),
        &["--run", "diag_fanout", "--until-idle", "--no-timers"],
        &[("AZCOPS_DIAGNOSTIC_FANOUT", "7")],
    );
    assert!(dev.wait_exit().success(), "{}", dev.seen.join("\n"));
    assert_eq!(dev.count("diag_fanout", "Succeeded"), 1);
    assert!(
        dev.seen.iter().any(|l| l.contains("INFO diag_fanout emitting messages count=7")),
        "the invocation's log events come back in Logs and are printed"
    );
    assert_eq!(dev.count("diag_queue", "Succeeded"), 7, "{}", dev.seen.join("\n"));
    assert_eq!(dev.count("diag_queue", "Failed"), 0);
}

#[test]
fn a_failing_message_is_retried_max_dequeue_count_times_then_poisoned() {
    let dir = tempfile::tempdir().unwrap();
    let app = make_app(dir.path(), DIAG, quiet_host);
    let mut dev = Dev::start(
        &app,
        &dir.path().join("data"),
        &["--run", "diag_fanout", "--until-idle", "--no-timers"],
        &[("AZCOPS_DIAGNOSTIC_FANOUT", "3"), ("AZCOPS_DIAGNOSTIC_FAIL_SEQUENCE", "2")],
    );
    assert!(dev.wait_exit().success(), "{}", dev.seen.join("\n"));
    assert_eq!(dev.count("diag_queue", "Succeeded"), 2, "the other messages are unaffected");
    assert_eq!(dev.count("diag_queue", "Failed"), 3, "maxDequeueCount attempts:\n{}", dev.seen.join("\n"));
    assert_eq!(
        dev.seen.iter().filter(|l| l.contains("moved to diag-queue-poison after 3 attempts")).count(),
        1
    );
    assert_eq!(dev.count("diag_poison", "Succeeded"), 1, "the poison function receives it");
    // A failed invocation's Logs are dropped, as by the host; the failure reason is printed.
    let attempts: Vec<&String> = dev.seen.iter().filter(|l| l.contains("failed on purpose")).collect();
    for n in 1..=3 {
        assert!(
            attempts.iter().any(|l| l.contains(&format!("(attempt {n})"))),
            "DequeueCount {n}: {attempts:?}"
        );
    }
}

#[test]
fn a_blob_under_a_trigger_path_produces_exactly_one_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("data");
    write_blob(&storage, "raw/t0/manifests/2026/11/24/old.json", "{}");
    let app = make_app(dir.path(), DIAG, quiet_host);
    let mut dev = Dev::start(&app, &storage, &["--no-timers"], &[]);
    write_blob(&storage, "raw/t1/resource_graph/2026/11/25/sub-1/run.json", "{}");
    write_blob(&storage, "raw/t1/manifests/2026/11/25/sub-1.json", r#"{"run_id":"r1"}"#);
    dev.wait_for("the blob invocation", |l| l.contains("Executed 'Functions.diag_blob' (Succeeded"));
    write_blob(&storage, "raw/t1/manifests/2026/11/25/sub-2.json", r#"{"run_id":"r1"}"#);
    dev.wait_for("the second blob invocation", |l| l.contains("Executed 'Functions.diag_blob' (Succeeded"));
    let uris: Vec<&String> = dev.seen.iter().filter(|l| l.contains("diag_blob received a blob")).collect();
    assert_eq!(uris.len(), 2, "one per new manifest, none for old or non-matching blobs: {uris:?}");
    assert!(uris[0].contains("raw/t1/manifests/2026/11/25/sub-1.json"));
    assert!(uris[1].contains("sub-2.json"));
}

#[test]
fn http_through_the_public_port_reaches_the_router_but_never_internal_routes() {
    let dir = tempfile::tempdir().unwrap();
    let app = make_app(dir.path(), DIAG, quiet_host);
    let mut dev = Dev::start(&app, &dir.path().join("data"), &["--no-timers"], &[]);
    let client = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
    let health = client
        .get(format!("http://127.0.0.1:{}/api/health", dev.port))
        .header("X-Correlation-ID", "test-corr-1")
        .send()
        .unwrap();
    assert_eq!(health.status().as_u16(), 200, "the emulator migrated the SQLite store");
    assert_eq!(health.headers()["x-correlation-id"], "test-corr-1");
    let body: serde_json::Value = health.json().unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"], "connected");
    let envelope = r#"{"Data":{"message":"\"x\""},"Metadata":{"DequeueCount":"1"}}"#;
    for path in ["/api/ingest_subscription", "/ingest_subscription", "/api/diag_queue"] {
        let response =
            client.post(format!("http://127.0.0.1:{}{path}", dev.port)).body(envelope).send().unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
    }
    dev.wait_for("the health request line", |l| l.contains("Executed 'Functions.api' (Succeeded"));
    assert_eq!(dev.count("ingest_subscription", "Succeeded") + dev.count("ingest_subscription", "Failed"), 0);
    assert_eq!(dev.count("diag_queue", "Succeeded") + dev.count("diag_queue", "Failed"), 0);
}

#[test]
fn with_an_empty_route_prefix_internal_routes_stay_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let app = make_app(dir.path(), DIAG, |host| {
        quiet_host(host);
        host["extensions"]["http"]["routePrefix"] = "".into();
    });
    let mut dev = Dev::start(&app, &dir.path().join("data"), &["--no-timers"], &[]);
    let client = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
    let envelope = r#"{"Data":{"message":"\"{\\\"fail\\\":true}\""},"Metadata":{"DequeueCount":"1"}}"#;
    let response = client
        .post(format!("http://127.0.0.1:{}/diag_queue", dev.port))
        .header("X-Azure-Functions-InvocationId", "forged")
        .body(envelope)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404, "a forged public invocation is refused");
    // The repository's `api` function routes `api/{*path}`, so the API keeps `/api` and the root
    // is free for the dashboard.
    let health = client.get(format!("http://127.0.0.1:{}/api/health", dev.port)).send().unwrap();
    assert_eq!(health.status().as_u16(), 200, "the API is served under /api");
    dev.wait_for("the health request", |l| l.contains("GET /api/health -> 200"));
    assert_eq!(dev.count("diag_queue", "Failed") + dev.count("diag_queue", "Succeeded"), 0);
}

#[test]
fn the_admin_call_runs_a_non_http_function() {
    let dir = tempfile::tempdir().unwrap();
    let app = make_app(dir.path(), DIAG, quiet_host);
    let mut dev = Dev::start(&app, &dir.path().join("data"), &["--no-timers"], &[]);
    let client = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
    let response = client
        .post(format!("http://127.0.0.1:{}/admin/functions/diag_queue", dev.port))
        .body(r#"{"input":"hello world"}"#)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    dev.wait_for("the manual run", |l| l.contains("Executed 'Functions.diag_queue' (Succeeded"));
    let missing = client.post(format!("http://127.0.0.1:{}/admin/functions/nope", dev.port)).send().unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
