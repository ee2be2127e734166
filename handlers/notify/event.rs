//! Event types and the JSON body every channel receives a form of:
//! `{id, type, tenant_id, occurred_at, data}`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kinds of events a channel can subscribe to (`--events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    /// New findings of one subscription evaluation, with their savings.
    #[serde(rename = "recommendations.new")]
    RecommendationsNew,
    /// Cost anomalies were detected.
    #[serde(rename = "anomaly.detected")]
    AnomalyDetected,
    /// A subscription's ingestion failed for good.
    #[serde(rename = "ingestion.failed")]
    IngestionFailed,
    /// A budget crossed an alert threshold.
    #[serde(rename = "budget.threshold")]
    BudgetThreshold,
    /// A person moved a recommendation along its lifecycle.
    #[serde(rename = "recommendation.status_changed")]
    RecommendationStatusChanged,
    /// The weekly digest of a channel.
    #[serde(rename = "digest.weekly")]
    DigestWeekly,
    /// A test delivery (`azcops channel test`), sent to one channel whatever its filters.
    #[serde(rename = "notification.test")]
    NotificationTest,
}

/// The event types a channel may filter on, as they are written.
pub const EVENT_TYPES: &[&str] = &[
    "recommendations.new",
    "anomaly.detected",
    "ingestion.failed",
    "budget.threshold",
    "recommendation.status_changed",
    "digest.weekly",
];

impl EventType {
    /// Every type.
    pub const ALL: [Self; 7] = [
        Self::RecommendationsNew,
        Self::AnomalyDetected,
        Self::IngestionFailed,
        Self::BudgetThreshold,
        Self::RecommendationStatusChanged,
        Self::DigestWeekly,
        Self::NotificationTest,
    ];

    /// The type as written on the wire and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecommendationsNew => "recommendations.new",
            Self::AnomalyDetected => "anomaly.detected",
            Self::IngestionFailed => "ingestion.failed",
            Self::BudgetThreshold => "budget.threshold",
            Self::RecommendationStatusChanged => "recommendation.status_changed",
            Self::DigestWeekly => "digest.weekly",
            Self::NotificationTest => "notification.test",
        }
    }

    /// The type written as `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text.trim())
    }

    /// A short human title, for Teams cards and email subjects.
    pub fn title(self) -> &'static str {
        match self {
            Self::RecommendationsNew => "New cost-saving findings",
            Self::AnomalyDetected => "Cost anomaly detected",
            Self::IngestionFailed => "Ingestion failed",
            Self::BudgetThreshold => "Budget threshold reached",
            Self::RecommendationStatusChanged => "Recommendation status changed",
            Self::DigestWeekly => "Weekly cost-saving digest",
            Self::NotificationTest => "AzCops test notification",
        }
    }
}

/// One finding as events carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingSummary {
    /// Recommendation id.
    pub id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// ARM resource id.
    pub resource_id: String,
    /// Rule id.
    pub rule_id: String,
    /// Title.
    pub title: String,
    /// Estimated monthly savings in `currency`, rounded to its minor unit.
    pub estimated_monthly_savings: f64,
    /// ISO 4217 code.
    pub currency: String,
}

/// The `data` of a `recommendations.new` event (or one channel's share of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFindings {
    /// The evaluated subscription.
    pub subscription_id: String,
    /// Findings, largest savings first.
    pub findings: Vec<FindingSummary>,
    /// How many findings the event has (more than `findings` when the body was bounded).
    pub count: usize,
    /// Total monthly savings per currency (never added across currencies).
    pub total_savings: BTreeMap<String, f64>,
    /// True when findings were dropped to keep the body under the size bound.
    #[serde(default)]
    pub truncated: bool,
}

impl NewFindings {
    /// The data of `findings` of `subscription_id`, sorted by savings and totalled per currency.
    pub fn new(subscription_id: &str, mut findings: Vec<FindingSummary>) -> Self {
        for f in &mut findings {
            f.estimated_monthly_savings =
                crate::money::round_to_minor_unit(f.estimated_monthly_savings, &f.currency);
        }
        findings.sort_by(|a, b| {
            b.estimated_monthly_savings.total_cmp(&a.estimated_monthly_savings).then_with(|| a.id.cmp(&b.id))
        });
        let mut total_savings: BTreeMap<String, f64> = BTreeMap::new();
        for f in &findings {
            *total_savings.entry(f.currency.clone()).or_default() += f.estimated_monthly_savings;
        }
        for (currency, total) in &mut total_savings {
            *total = crate::money::round_to_minor_unit(*total, currency);
        }
        Self {
            subscription_id: subscription_id.to_owned(),
            count: findings.len(),
            findings,
            total_savings,
            truncated: false,
        }
    }
}

/// The envelope every webhook delivery posts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Event id (UUID v7), the idempotency key.
    pub id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// AzCops tenant id.
    pub tenant_id: String,
    /// When the change happened (RFC 3339, UTC).
    pub occurred_at: DateTime<Utc>,
    /// Type-specific data.
    pub data: serde_json::Value,
}

/// `envelope` serialised in at most `max_bytes`: findings are dropped from the end (smallest
/// savings first, `truncated` set) until it fits; a body that still does not fit keeps only
/// the counts. Receivers always get valid JSON.
pub fn bounded_body(envelope: &Envelope, max_bytes: usize) -> Vec<u8> {
    let mut envelope = envelope.clone();
    let mut body = serde_json::to_vec(&envelope).unwrap_or_default();
    while body.len() > max_bytes {
        let Some(findings) = envelope.data.get_mut("findings").and_then(|f| f.as_array_mut()) else { break };
        if findings.is_empty() {
            break;
        }
        // Halve quickly while far over, then drop one at a time to keep as many as fit.
        let keep = if body.len() > max_bytes * 2 { findings.len() / 2 } else { findings.len() - 1 };
        findings.truncate(keep);
        envelope.data["truncated"] = serde_json::Value::Bool(true);
        body = serde_json::to_vec(&envelope).unwrap_or_default();
    }
    if body.len() > max_bytes {
        let count = envelope.data.get("count").cloned().unwrap_or(serde_json::Value::Null);
        envelope.data = serde_json::json!({ "truncated": true, "count": count });
        body = serde_json::to_vec(&envelope).unwrap_or_default();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn finding(n: u32, savings: f64, currency: &str) -> FindingSummary {
        FindingSummary {
            id: format!("r{n}"),
            subscription_id: "s".into(),
            resource_id: format!("/subscriptions/s/providers/x/disks/d{n}"),
            rule_id: "waste.unattached_disk".into(),
            title: format!("Delete d{n}"),
            estimated_monthly_savings: savings,
            currency: currency.into(),
        }
    }

    #[test]
    fn types_round_trip_and_filters_name_the_public_ones() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
        assert!(!EVENT_TYPES.contains(&"notification.test"));
        assert_eq!(EventType::parse("nope"), None);
    }

    #[test]
    fn new_findings_sort_by_savings_and_total_per_currency() {
        let data = NewFindings::new(
            "s",
            vec![finding(1, 5.004, "EUR"), finding(2, 40.0, "USD"), finding(3, 10.0, "EUR")],
        );
        assert_eq!(data.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["r2", "r3", "r1"]);
        assert_eq!(data.total_savings["EUR"], 15.0);
        assert_eq!(data.total_savings["USD"], 40.0);
        assert_eq!(data.count, 3);
    }

    #[test]
    fn bodies_over_the_bound_drop_findings_and_say_so() {
        let findings = (0..200).map(|n| finding(n, f64::from(1000 - n), "EUR")).collect();
        let data = NewFindings::new("s", findings);
        let envelope = Envelope {
            id: "e".into(),
            event_type: "recommendations.new".into(),
            tenant_id: "t".into(),
            occurred_at: Utc::now(),
            data: serde_json::to_value(&data).unwrap(),
        };
        let whole = bounded_body(&envelope, 1 << 20);
        let bounded = bounded_body(&envelope, 4096);
        assert!(bounded.len() <= 4096 && whole.len() > 4096);
        let parsed: Envelope = serde_json::from_slice(&bounded).unwrap();
        let kept: NewFindings = serde_json::from_value(parsed.data).unwrap();
        assert!(kept.truncated && kept.count == 200 && !kept.findings.is_empty());
        assert_eq!(kept.findings[0].id, "r0", "the largest savings are kept");
        let tiny = bounded_body(&envelope, 10);
        let parsed: serde_json::Value = serde_json::from_slice(&tiny).unwrap();
        assert_eq!(parsed["data"], serde_json::json!({"truncated": true, "count": 200}));
    }
}
