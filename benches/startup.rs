//! Cold start and idle memory of the release handler: process spawn → first answer on
//! `/api/health`, and resident memory once it is idle. Prints the median of the runs, first
//! without telemetry, then with Application Insights configured (a connection string whose
//! ingestion endpoint is a local receiver answering every upload with 200), so the exporter's
//! start-up and memory are measured against the same targets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One GET with a raw socket, so the probe itself costs microseconds, not a client's set-up.
fn health(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A local ingestion endpoint: reads each upload and answers 200, so the exporter never waits
/// on a refused connection. Returns its base URL.
fn telemetry_receiver() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buffer = [0u8; 65536];
            let _ = stream.read(&mut buffer);
            let body = r#"{"itemsReceived":0,"itemsAccepted":0,"errors":[]}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Starts the handler `runs` times with `env` and prints its figures under `prefix`.
fn measure(prefix: &str, runs: usize, env: &[(&str, String)]) {
    let binary = env!("CARGO_BIN_EXE_azcops");
    let app_root = env!("CARGO_MANIFEST_DIR");
    let mut starts = Vec::with_capacity(runs);
    let mut rss = Vec::with_capacity(runs);
    for _ in 0..runs {
        let port = free_port();
        let started = Instant::now();
        let mut child = Command::new(binary)
            .arg("serve")
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .env("FUNCTIONS_APP_ROOT_PATH", app_root)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = started + Duration::from_secs(10);
        loop {
            if matches!(health(port), Some(200 | 207)) {
                break;
            }
            assert!(Instant::now() < deadline, "handler did not answer within 10 s");
            std::thread::sleep(Duration::from_micros(200));
        }
        starts.push(started.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(200));
        rss.push(rss_kib(child.id()) as f64 / 1024.0);
        child.kill().unwrap();
        child.wait().unwrap();
    }
    println!("{prefix}.runs: {runs}");
    println!("{prefix}.cold_start_median_ms: {:.1}", median(&mut starts));
    println!("{prefix}.cold_start_max_ms: {:.1}", starts.iter().copied().fold(0.0, f64::max));
    println!("{prefix}.idle_rss_median_mib: {:.1}", median(&mut rss));
}

fn main() {
    let runs: usize =
        std::env::var("AZCOPS_BENCH_STARTUP_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(25);
    measure("startup", runs, &[]);
    let connection = format!(
        "InstrumentationKey=00000000-0000-4000-8000-0000000000b1;IngestionEndpoint={}",
        telemetry_receiver()
    );
    measure(
        "startup.telemetry",
        runs,
        &[
            ("APPLICATIONINSIGHTS_CONNECTION_STRING", connection),
            ("WEBSITE_SITE_NAME", "azcops-bench".to_owned()),
        ],
    );
    let size = std::fs::metadata(env!("CARGO_BIN_EXE_azcops")).map(|m| m.len()).unwrap_or(0);
    println!("startup.binary_size_mib: {:.1}", size as f64 / 1_048_576.0);
}
