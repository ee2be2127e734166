//! The Teams message: a Workflows webhook ("Post to a channel when a webhook request is
//! received") takes `{"type": "message", "attachments": [{Adaptive Card}]}`; the card lists
//! the top findings and links to the dashboard.

use serde_json::{Value, json};

use super::event::{Envelope, EventType, NewFindings};

/// Findings listed on a card; the rest are counted.
pub const TOP_FINDINGS: usize = 5;

/// The title, a summary line and `(label, value)` facts of an event, shared by Teams and email.
pub fn summary(envelope: &Envelope) -> (String, String, Vec<(String, String)>) {
    let kind = EventType::parse(&envelope.event_type);
    let title = kind.map_or_else(|| envelope.event_type.clone(), |k| k.title().to_owned());
    let data = &envelope.data;
    match kind {
        Some(EventType::RecommendationsNew | EventType::DigestWeekly) => {
            let findings: Option<NewFindings> = serde_json::from_value(data.clone()).ok();
            let Some(findings) = findings else { return (title, String::new(), facts_of(data)) };
            let totals: Vec<String> =
                findings.total_savings.iter().map(|(c, v)| format!("{v:.2} {c}")).collect();
            let line = format!(
                "{} finding(s) in subscription {}, saving {} a month.",
                findings.count,
                findings.subscription_id,
                if totals.is_empty() { "nothing".to_owned() } else { totals.join(" + ") }
            );
            let facts = findings
                .findings
                .iter()
                .take(TOP_FINDINGS)
                .map(|f| {
                    (f.title.clone(), format!("{:.2} {}/month", f.estimated_monthly_savings, f.currency))
                })
                .collect();
            (title, line, facts)
        }
        _ => (title, String::new(), facts_of(data)),
    }
}

/// Scalar fields of `data` as facts (nested values are left to the dashboard).
fn facts_of(data: &Value) -> Vec<(String, String)> {
    data.as_object()
        .map(|object| {
            object
                .iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k.clone(), s.clone())),
                    Value::Number(n) => Some((k.clone(), n.to_string())),
                    Value::Bool(b) => Some((k.clone(), b.to_string())),
                    _ => None,
                })
                .take(10)
                .collect()
        })
        .unwrap_or_default()
}

/// The Workflows webhook body of `envelope`, linking `dashboard_url` when configured.
pub fn message(envelope: &Envelope, dashboard_url: Option<&str>) -> Value {
    let (title, line, facts) = summary(envelope);
    let mut body =
        vec![json!({"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true})];
    if !line.is_empty() {
        body.push(json!({"type": "TextBlock", "text": line, "wrap": true}));
    }
    if !facts.is_empty() {
        let facts: Vec<Value> = facts.into_iter().map(|(t, v)| json!({"title": t, "value": v})).collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    body.push(json!({
        "type": "TextBlock", "text": format!("Event {} · {}", envelope.id, envelope.occurred_at.to_rfc3339()),
        "isSubtle": true, "size": "Small", "wrap": true
    }));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(url) = dashboard_url {
        card["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "Open the AzCops dashboard", "url": url}]);
    }
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": card}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::FindingSummary;

    #[test]
    fn the_card_lists_the_top_findings_and_links_the_dashboard() {
        let findings = (0..8)
            .map(|n| FindingSummary {
                id: format!("r{n}"),
                subscription_id: "s".into(),
                resource_id: format!("/d{n}"),
                rule_id: "x".into(),
                title: format!("Delete d{n}"),
                estimated_monthly_savings: f64::from(10 * (n + 1)),
                currency: "EUR".into(),
            })
            .collect();
        let envelope = Envelope {
            id: "e1".into(),
            event_type: "recommendations.new".into(),
            tenant_id: "t".into(),
            occurred_at: chrono::Utc::now(),
            data: serde_json::to_value(NewFindings::new("s", findings)).unwrap(),
        };
        let message = message(&envelope, Some("https://azcops.example.com"));
        let card = &message["attachments"][0]["content"];
        assert_eq!(message["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(card["type"], "AdaptiveCard");
        let facts = card["body"][2]["facts"].as_array().unwrap();
        assert_eq!(facts.len(), TOP_FINDINGS);
        assert_eq!(facts[0]["title"], "Delete d7", "largest first");
        assert!(card["body"][1]["text"].as_str().unwrap().contains("8 finding(s)"));
        assert_eq!(card["actions"][0]["url"], "https://azcops.example.com");
    }
}
