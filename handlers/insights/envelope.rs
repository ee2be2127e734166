//! Breeze envelopes: the JSON Application Insights ingestion accepts for requests,
//! dependencies, traces and metrics.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// What every envelope of this process shares.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Instrumentation key.
    pub ikey: String,
    /// Cloud role (the function app's name).
    pub role: String,
    /// Cloud role instance (the host name).
    pub instance: String,
}

/// Where an item sits in a trace.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    /// Trace id (32 hex).
    pub id: String,
    /// The parent span's id.
    pub parent_id: Option<String>,
    /// Operation name (the function or route).
    pub name: Option<String>,
}

/// Application Insights' duration format: `d.hh:mm:ss.fffffff`.
pub fn duration(d: Duration) -> String {
    let total = d.as_secs();
    let ticks = d.subsec_nanos() / 100;
    format!(
        "{}.{:02}:{:02}:{:02}.{ticks:07}",
        total / 86_400,
        (total / 3600) % 24,
        (total / 60) % 60,
        total % 60
    )
}

/// The trace id and parent span id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), when
/// well formed and not all zeros.
pub fn parse_traceparent(value: &str) -> Option<(String, String)> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = hex(version, 2) && version != "ff" && hex(trace, 32) && hex(parent, 16) && hex(flags, 2);
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    (valid && !zero(trace) && !zero(parent))
        .then(|| (trace.to_ascii_lowercase(), parent.to_ascii_lowercase()))
}

/// A new random id of `bytes` bytes in hex.
pub fn new_id(bytes: usize) -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    uuid[..bytes * 2].to_owned()
}

impl Envelope {
    fn wrap(&self, kind: &str, base_type: &str, time: SystemTime, op: &Operation, base: Value) -> Value {
        let mut tags = Map::new();
        tags.insert("ai.cloud.role".into(), self.role.clone().into());
        tags.insert("ai.cloud.roleInstance".into(), self.instance.clone().into());
        tags.insert("ai.internal.sdkVersion".into(), concat!("azcops:", env!("CARGO_PKG_VERSION")).into());
        if !op.id.is_empty() {
            tags.insert("ai.operation.id".into(), op.id.clone().into());
        }
        if let Some(parent) = &op.parent_id {
            tags.insert("ai.operation.parentId".into(), parent.clone().into());
        }
        if let Some(name) = &op.name {
            tags.insert("ai.operation.name".into(), name.clone().into());
        }
        let time: DateTime<Utc> = time.into();
        json!({
            "name": format!("Microsoft.ApplicationInsights.{kind}"),
            "time": time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "iKey": self.ikey,
            "tags": tags,
            "data": {"baseType": base_type, "baseData": base},
        })
    }

    /// A request (an invocation or an API request).
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &self,
        op: &Operation,
        id: &str,
        name: &str,
        start: SystemTime,
        took: Duration,
        code: &str,
        success: bool,
        properties: Map<String, Value>,
    ) -> Value {
        let base = json!({"ver": 2, "id": id, "name": name, "duration": duration(took), "responseCode": code,
            "success": success, "properties": properties});
        self.wrap("Request", "RequestData", start, op, base)
    }

    /// A dependency call (an Azure API request, or an in-process span).
    #[allow(clippy::too_many_arguments)]
    pub fn dependency(
        &self,
        op: &Operation,
        kind: &str,
        target: &str,
        name: &str,
        data: &str,
        start: SystemTime,
        took: Duration,
        code: &str,
        success: bool,
        properties: Map<String, Value>,
    ) -> Value {
        let base = json!({"ver": 2, "id": new_id(8), "name": name, "type": kind, "target": target, "data": data,
            "duration": duration(took), "resultCode": code, "success": success, "properties": properties});
        self.wrap("RemoteDependency", "RemoteDependencyData", start, op, base)
    }

    /// A trace message; `severity` 0 verbose … 4 critical.
    pub fn message(
        &self,
        op: &Operation,
        time: SystemTime,
        message: &str,
        severity: u8,
        properties: Map<String, Value>,
    ) -> Value {
        let base = json!({"ver": 2, "message": message, "severityLevel": severity, "properties": properties});
        self.wrap("Message", "MessageData", time, op, base)
    }

    /// One custom metric value.
    pub fn metric(
        &self,
        op: &Operation,
        time: SystemTime,
        name: &str,
        value: f64,
        properties: Map<String, Value>,
    ) -> Value {
        let base = json!({"ver": 2, "metrics": [{"name": name, "value": value, "count": 1}], "properties": properties});
        self.wrap("Metric", "MetricData", time, op, base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_dotnet_timespan_format() {
        assert_eq!(duration(Duration::from_millis(1500)), "0.00:00:01.5000000");
        assert_eq!(duration(Duration::from_secs(90_061)), "1.01:01:01.0000000");
    }

    #[test]
    fn traceparents_are_validated() {
        let (trace, parent) =
            parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(
            (trace.as_str(), parent.as_str()),
            ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
    }

    #[test]
    fn envelopes_carry_the_role_and_operation() {
        let env = Envelope { ikey: "k".into(), role: "func-azcops".into(), instance: "host".into() };
        let op = Operation {
            id: "a".repeat(32),
            parent_id: Some("b".repeat(16)),
            name: Some("nightly_ingest".into()),
        };
        let item = env.metric(&op, SystemTime::UNIX_EPOCH, "azcops.rules.evaluated", 3.0, Map::new());
        assert_eq!(item["tags"]["ai.cloud.role"], "func-azcops");
        assert_eq!(item["tags"]["ai.operation.id"], "a".repeat(32));
        assert_eq!(item["data"]["baseData"]["metrics"][0]["name"], "azcops.rules.evaluated");
        assert_eq!(item["time"], "1970-01-01T00:00:00.000000Z");
    }
}
