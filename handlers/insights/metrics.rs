//! Custom metrics: the operating figures, derived from the structured events the handler
//! already logs (so a figure and its log line cannot disagree) plus explicit `metric` events
//! on target [`METRICS_TARGET`]. [`NAMES`] is the list `scripts/check-infra.sh` holds the alert
//! rules and the workbook to.

use serde_json::{Map, Value};

/// The target of explicit metric events (`metric` = name, `value` = number, other fields
/// become dimensions); they are DEBUG so they stay out of the invocation's logs.
pub const METRICS_TARGET: &str = "azcops::metrics";

/// Every custom metric the handler emits.
pub const NAMES: &[&str] = &[
    "azcops.ingestion.duration_ms",
    "azcops.ingestion.subscriptions_succeeded",
    "azcops.ingestion.subscriptions_failed",
    "azcops.ingestion.rows",
    "azcops.azure.requests",
    "azcops.azure.throttled",
    "azcops.azure.quota_wait_ms",
    "azcops.rules.evaluated",
    "azcops.findings",
    "azcops.savings.monthly",
    "azcops.api.request.duration_ms",
    "azcops.data.age_hours",
];

/// A metric value with its dimensions.
pub type Figure = (&'static str, f64, Map<String, Value>);

fn number(fields: &Map<String, Value>, key: &str) -> Option<f64> {
    fields.get(key).and_then(Value::as_f64)
}

fn dims(fields: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| {
            let v = fields.get(*k)?;
            Some(((*k).to_owned(), Value::String(v.as_str().map_or_else(|| v.to_string(), str::to_owned))))
        })
        .collect()
}

/// The metrics an event with `message` and `fields` stands for.
pub fn derived(message: &str, fields: &Map<String, Value>) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut push = |name: &'static str, value: Option<f64>, keys: &[&str]| {
        if let Some(value) = value {
            out.push((name, value, dims(fields, keys)));
        }
    };
    match message {
        "ingestion.subscription_succeeded" => {
            let keys = &["tenant_id", "subscription_id", "run_id"];
            push("azcops.ingestion.duration_ms", number(fields, "duration_ms"), keys);
            push("azcops.ingestion.subscriptions_succeeded", Some(1.0), &["tenant_id", "run_id"]);
        }
        "ingestion.subscriptions_failed" => {
            push("azcops.ingestion.subscriptions_failed", Some(1.0), &["tenant_id", "run_id"]);
        }
        "rule_engine.rules_evaluated" => {
            push("azcops.rules.evaluated", number(fields, "rules"), &["tenant_id", "subscription_id"]);
        }
        "recommendations.savings_identified" => {
            let keys = &["tenant_id", "category", "currency"];
            push("azcops.findings", number(fields, "recommendations"), keys);
            push("azcops.savings.monthly", number(fields, "monthly_savings"), keys);
        }
        "request completed" => {
            push(
                "azcops.api.request.duration_ms",
                number(fields, "duration_ms"),
                &["route", "method", "status"],
            );
        }
        _ => {}
    }
    out
}

/// Azure calls of one invocation, per API, reported when it ends.
#[derive(Debug, Default, Clone, Copy)]
pub struct AzureTally {
    /// Requests sent (attempts).
    pub requests: u64,
    /// Of which answered 429.
    pub throttled: u64,
    /// Time spent waiting for the client's own quota pacing.
    pub quota_wait_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_map_to_named_metrics_with_dimensions() {
        let fields = json!({"category": "waste", "recommendations": 3, "monthly_savings": 12.5, "currency": "EUR",
            "tenant_id": "t", "subscription_id": "s"});
        let figures = derived("recommendations.savings_identified", fields.as_object().unwrap());
        assert_eq!(figures.len(), 2);
        assert_eq!((figures[1].0, figures[1].1), ("azcops.savings.monthly", 12.5));
        assert_eq!(figures[1].2["category"], "waste");
        assert!(!figures[1].2.contains_key("subscription_id"));
        assert!(figures.iter().all(|f| NAMES.contains(&f.0)));
        assert!(derived("something else", fields.as_object().unwrap()).is_empty());
    }
}
