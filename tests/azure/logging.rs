//! Every request is logged with structured fields; tokens and continuation tokens never are.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use azcops::azure::CallContext;
use azcops::azure::connectors::advisor;
use serde_json::json;

use crate::fake::{Fake, Reply, query_param};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One process-wide subscriber: scoped subscribers race with other test threads over tracing's
/// callsite interest cache, so lines are captured globally and picked out by correlation id.
fn captured() -> Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Buffer::default();
            let writer = buffer.clone();
            let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            buffer
        })
        .clone()
}

#[tokio::test]
async fn requests_are_logged_without_secrets() {
    let buffer = captured();
    let base = Arc::new(Mutex::new(String::new()));
    let base_in = base.clone();
    let fake = Fake::start(move |seen, i| match i {
        0 => Reply::json(200, json!({"value": [], "nextLink": format!("{}{}?api-version=2023-01-01&$skiptoken=SECRET-SKIP", base_in.lock().unwrap(), seen.path)})),
        _ => {
            assert_eq!(query_param(seen, "$skiptoken").as_deref(), Some("SECRET-SKIP"));
            Reply::json(200, json!({"value": []}))
        }
    })
    .await;
    *base.lock().unwrap() = fake.base.clone();
    let ctx = CallContext::new("tenant-a", "88888888-8888-8888-8888-888888888888");
    advisor::fetch_recommendations(&fake.client(), &ctx, "88888888-8888-8888-8888-888888888888")
        .await
        .unwrap();
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("SECRET-SKIP"), "continuation tokens are not logged");
    assert!(!text.contains("test-token"), "bearer tokens are not logged");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| {
            v["fields"]["message"] == "azure request"
                && v["fields"]["correlation_id"] == ctx.correlation_id.as_str()
        })
        .collect();
    assert_eq!(lines.len(), 2);
    let f = &lines[1]["fields"];
    assert_eq!(f["method"], "GET");
    assert_eq!(
        f["path"],
        "/subscriptions/88888888-8888-8888-8888-888888888888/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01"
    );
    assert_eq!(f["status"], 200);
    assert_eq!(f["attempt"], 1);
    assert_eq!(f["tenant_id"], "tenant-a");
    assert_eq!(f["subscription_id"], "88888888-8888-8888-8888-888888888888");
    assert_eq!(f["correlation_id"], ctx.correlation_id.as_str());
    assert!(f["duration_ms"].is_u64());
}
