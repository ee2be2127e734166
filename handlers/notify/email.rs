//! Email through Azure Communication Services: `POST {endpoint}/emails:send?api-version=2023-03-31`
//! with a managed-identity bearer token for `https://communication.azure.com/.default`.

use serde_json::{Value, json};

use super::event::Envelope;
use super::teams::summary;

/// The ACS Email API version this body follows.
pub const API_VERSION: &str = "2023-03-31";
/// The token scope of Azure Communication Services.
pub const SCOPE: &str = "https://communication.azure.com/.default";

/// The send URL of an ACS `endpoint`.
pub fn send_url(endpoint: &str) -> String {
    format!("{}/emails:send?api-version={API_VERSION}", endpoint.trim_end_matches('/'))
}

/// The request body sending `envelope` from `sender` to `recipient`.
pub fn body(envelope: &Envelope, sender: &str, recipient: &str, dashboard_url: Option<&str>) -> Value {
    let (title, line, facts) = summary(envelope);
    let mut text = format!("{title}\n\n");
    let mut html = format!("<h2>{}</h2>", escape(&title));
    if !line.is_empty() {
        text.push_str(&format!("{line}\n\n"));
        html.push_str(&format!("<p>{}</p>", escape(&line)));
    }
    if !facts.is_empty() {
        html.push_str("<ul>");
        for (label, value) in &facts {
            text.push_str(&format!("- {label}: {value}\n"));
            html.push_str(&format!("<li>{}: {}</li>", escape(label), escape(value)));
        }
        html.push_str("</ul>");
    }
    if let Some(url) = dashboard_url {
        text.push_str(&format!("\nOpen the dashboard: {url}\n"));
        html.push_str(&format!("<p><a href=\"{}\">Open the AzCops dashboard</a></p>", escape(url)));
    }
    text.push_str(&format!("\nEvent {} ({})\n", envelope.id, envelope.event_type));
    json!({
        "senderAddress": sender,
        "content": {"subject": format!("[AzCops] {title}"), "plainText": text, "html": html},
        "recipients": {"to": [{"address": recipient}]},
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_follows_the_acs_send_shape_and_escapes_html() {
        let envelope = Envelope {
            id: "e1".into(),
            event_type: "ingestion.failed".into(),
            tenant_id: "t".into(),
            occurred_at: chrono::Utc::now(),
            data: json!({"subscription_id": "s", "error": "<boom>"}),
        };
        let body = body(&envelope, "DoNotReply@x.azurecomm.net", "ops@contoso.com", None);
        assert_eq!(body["senderAddress"], "DoNotReply@x.azurecomm.net");
        assert_eq!(body["recipients"]["to"][0]["address"], "ops@contoso.com");
        assert_eq!(body["content"]["subject"], "[AzCops] Ingestion failed");
        assert!(body["content"]["html"].as_str().unwrap().contains("&lt;boom&gt;"));
        assert!(body["content"]["plainText"].as_str().unwrap().contains("error: <boom>"));
        assert_eq!(
            send_url("https://acs.communication.azure.com/"),
            "https://acs.communication.azure.com/emails:send?api-version=2023-03-31"
        );
    }
}
