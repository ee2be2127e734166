//! `azcops demo`'s console: progress and the summary, not every invocation and Azure request
//! (those go to `<data-dir>/demo.log` unless `--verbose`).

use std::process::Command;

#[test]
fn the_demo_console_shows_progress_and_the_summary_and_logs_requests_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let output = Command::new(env!("CARGO_BIN_EXE_azcops"))
        .args(["demo", "--no-serve", "--estate", "tenants=2,subscriptions=1,resources=10,days=2"])
        .arg("--port")
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(&data)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let console = format!("{stdout}\n{stderr}");
    for per_request in ["azure request", "Executing 'Functions.", "[handler]", "/providers/Microsoft."] {
        assert!(!console.contains(per_request), "{per_request:?} on the console:\n{console}");
    }
    assert!(stdout.contains("subscriptions ingested"), "progress:\n{stdout}");
    assert!(stdout.contains("cost rows") && stdout.contains("succeeded"), "the summary:\n{stdout}");
    assert!(stdout.contains("demo.log"), "says where the details are:\n{stdout}");
    let log = std::fs::read_to_string(data.join("demo.log")).unwrap();
    assert!(log.contains("azure request"), "the requests are in the log");
    assert!(log.contains("Executing 'Functions.nightly_ingest'"), "the invocations are in the log");
}
