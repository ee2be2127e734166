//! ITSM tickets, pure: where a ServiceNow or Jira channel points, how it authenticates, the
//! request bodies (ServiceNow Table API, Jira REST v3 with an Atlassian Document Format
//! description) and how a ticket's remote state maps to what AzCops records.
//!
//! A channel's URL says where tickets go: ServiceNow
//! `https://<instance>.service-now.com[?table=incident|change_request]`, Jira
//! `https://<site>.atlassian.net?project=<KEY>[&issuetype=<name>]`. Its secret is
//! `user:password` (or `bearer:<OAuth token>`) for ServiceNow and `email:api-token` for Jira.

mod state;

use base64::Engine as _;
use serde_json::{Value, json};

pub use state::{RemoteState, remote_state};

/// The channel kinds that create tickets rather than receive deliveries.
pub const KINDS: [&str; 2] = ["servicenow", "jira"];

/// True when channels of `kind` create tickets.
pub fn is_ticketing(kind: &str) -> bool {
    KINDS.contains(&kind)
}

/// The record a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// A ServiceNow incident.
    Incident,
    /// A ServiceNow change request.
    ChangeRequest,
    /// A Jira issue.
    Issue,
}

impl RecordType {
    /// The type as stored (and, for ServiceNow, the table name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::ChangeRequest => "change_request",
            Self::Issue => "issue",
        }
    }

    /// The type stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Incident, Self::ChangeRequest, Self::Issue].into_iter().find(|t| t.as_str() == text)
    }
}

/// Where a ticketing channel creates its tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `servicenow` or `jira`.
    pub system: &'static str,
    /// The instance's or site's base URL, without path or query (no trailing slash).
    pub base: String,
    /// What is created.
    pub record: RecordType,
    /// The Jira project key.
    pub project: Option<String>,
    /// The Jira issue type name.
    pub issue_type: String,
}

/// The target of a channel of `kind` at `url`.
///
/// # Errors
/// The kind does not create tickets, or the URL lacks what it needs (the reason says what).
pub fn target(kind: &str, url: &url::Url) -> Result<Target, String> {
    let query = |name: &str| {
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty())
    };
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    base.set_path("");
    let base = base.as_str().trim_end_matches('/').to_owned();
    match kind {
        "servicenow" => {
            let record = match query("table").as_deref() {
                None | Some("incident") => RecordType::Incident,
                Some("change_request") => RecordType::ChangeRequest,
                Some(_) => return Err("table must be incident or change_request".into()),
            };
            Ok(Target { system: "servicenow", base, record, project: None, issue_type: String::new() })
        }
        "jira" => {
            let project = query("project").ok_or("a Jira channel URL needs ?project=<KEY>")?;
            if !project.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || project.len() > 64 {
                return Err("project must be a Jira project key such as OPS".into());
            }
            let issue_type = query("issuetype").unwrap_or_else(|| "Task".into());
            if issue_type.chars().count() > 60 {
                return Err("issuetype must be at most 60 characters".into());
            }
            Ok(Target { system: "jira", base, record: RecordType::Issue, project: Some(project), issue_type })
        }
        other => Err(format!("{other} channels create no tickets")),
    }
}

/// The `Authorization` header value of `system` from the channel's secret.
///
/// # Errors
/// The secret does not have the system's format (the reason never repeats it).
pub fn authorization(system: &str, secret: &str) -> Result<String, String> {
    let secret = secret.trim();
    if system == "servicenow"
        && let Some(token) = secret.strip_prefix("bearer:")
    {
        let token = token.trim();
        if token.is_empty() || token.chars().any(char::is_whitespace) {
            return Err("a bearer secret is bearer:<OAuth access token>".into());
        }
        return Ok(format!("Bearer {token}"));
    }
    let Some((user, password)) = secret.split_once(':') else {
        return Err(match system {
            "jira" => "the secret of a Jira channel is email:api-token".into(),
            _ => "the secret of a ServiceNow channel is user:password or bearer:<token>".into(),
        });
    };
    if user.is_empty() || password.is_empty() || (system == "jira" && !user.contains('@')) {
        return Err(match system {
            "jira" => "the secret of a Jira channel is email:api-token".into(),
            _ => "the secret of a ServiceNow channel is user:password or bearer:<token>".into(),
        });
    }
    Ok(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(secret)))
}

/// What an approval tells a ticket: the `recommendation.status_changed` event's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// Recommendation id.
    pub recommendation_id: String,
    /// Title.
    pub title: String,
    /// Subscription.
    pub subscription_id: String,
    /// Resource.
    pub resource_id: String,
    /// Rule.
    pub rule_id: String,
    /// Monthly savings, rounded to the currency's minor unit.
    pub savings: f64,
    /// ISO 4217 code.
    pub currency: String,
    /// Who approved.
    pub approved_by: String,
    /// Why, if said.
    pub reason: Option<String>,
}

impl Approval {
    /// The approval an event's data describes, if it is one (a change to `approved`).
    pub fn from_event(data: &Value) -> Option<Self> {
        let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
        if data.get("to").and_then(Value::as_str) != Some("approved") {
            return None;
        }
        Some(Self {
            recommendation_id: text("recommendation_id")?,
            title: text("title").unwrap_or_default(),
            subscription_id: text("subscription_id").unwrap_or_default(),
            resource_id: text("resource_id").unwrap_or_default(),
            rule_id: text("rule_id").unwrap_or_default(),
            savings: data.get("estimated_monthly_savings").and_then(Value::as_f64).unwrap_or(0.0),
            currency: text("currency").unwrap_or_default(),
            approved_by: text("changed_by").unwrap_or_default(),
            reason: text("reason"),
        })
    }

    fn summary(&self) -> String {
        let summary = format!("[AzCops] {}", self.title);
        // Both systems cap the one-line summary (Jira at 255 characters, ServiceNow at 160).
        summary.chars().take(160).collect()
    }

    fn lines(&self, dashboard: Option<&str>) -> Vec<String> {
        let mut lines = vec![
            format!("Estimated monthly savings: {:.2} {}", self.savings, self.currency),
            format!("Resource: {}", self.resource_id),
            format!("Subscription: {}", self.subscription_id),
            format!("Rule: {}", self.rule_id),
            format!("Approved by: {}", self.approved_by),
        ];
        if let Some(reason) = &self.reason {
            lines.push(format!("Reason: {reason}"));
        }
        if let Some(base) = dashboard {
            lines.push(format!("AzCops: {base}/recommendations/{}", self.recommendation_id));
        }
        lines.push(format!("Recommendation id: {}", self.recommendation_id));
        lines
    }
}

/// The Jira label that finds the issue of one delivery again.
pub fn correlation_label(correlation: &str) -> String {
    format!("azcops-{correlation}")
}

/// The path (with query) and body of the request creating the ticket of `approval`,
/// carrying `correlation` (the delivery id) so a retry can find it.
pub fn create_request(
    target: &Target,
    approval: &Approval,
    correlation: &str,
    dashboard: Option<&str>,
) -> (String, Value) {
    let lines = approval.lines(dashboard);
    match target.record {
        RecordType::Issue => {
            let paragraphs: Vec<Value> = lines
                .iter()
                .map(|line| json!({"type": "paragraph", "content": [{"type": "text", "text": line}]}))
                .collect();
            let body = json!({"fields": {
                "project": {"key": target.project},
                "issuetype": {"name": target.issue_type},
                "summary": approval.summary(),
                "description": {"type": "doc", "version": 1, "content": paragraphs},
                "labels": ["azcops", correlation_label(correlation)],
            }});
            ("/rest/api/3/issue".to_owned(), body)
        }
        record => {
            let mut body = json!({
                "short_description": approval.summary(),
                "description": lines.join("\n"),
                "correlation_id": correlation,
                "correlation_display": "AzCops",
            });
            if record == RecordType::ChangeRequest {
                body["type"] = json!("normal");
            }
            (format!("/api/now/table/{}?sysparm_fields={FIELDS}", record.as_str()), body)
        }
    }
}

/// The ServiceNow fields read back.
const FIELDS: &str = "sys_id,number,state,close_code";

/// The path (with query) finding the ticket created with `correlation`, if a previous attempt
/// created one without recording it.
pub fn lookup_path(target: &Target, correlation: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    match target.record {
        RecordType::Issue => {
            let jql = format!("labels = \"{}\"", correlation_label(correlation));
            format!("/rest/api/3/search/jql?jql={}&fields=status&maxResults=1", encode(&jql))
        }
        record => format!(
            "/api/now/table/{}?sysparm_query={}&sysparm_fields={FIELDS}&sysparm_limit=1",
            record.as_str(),
            encode(&format!("correlation_id={correlation}"))
        ),
    }
}

/// A created (or found) ticket: its human key and the system's own id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// `INC0010001`, `CHG0030001` or `OPS-12`.
    pub key: String,
    /// ServiceNow `sys_id` or Jira issue id.
    pub external_id: String,
}

/// The ticket a create answer names.
pub fn parse_created(target: &Target, body: &Value) -> Option<Created> {
    match target.record {
        RecordType::Issue => created_of(body, "key", "id"),
        _ => created_of(&body["result"], "number", "sys_id"),
    }
}

/// The ticket a lookup answer names, if any.
pub fn parse_found(target: &Target, body: &Value) -> Option<Created> {
    match target.record {
        RecordType::Issue => body["issues"].as_array()?.first().and_then(|i| created_of(i, "key", "id")),
        _ => body["result"].as_array()?.first().and_then(|r| created_of(r, "number", "sys_id")),
    }
}

/// Longest ticket key or id kept (ServiceNow's `sys_id` is 32 characters).
const MAX_TICKET_ID: usize = 64;

/// The ticket a JSON object names. Its key and id come from the tenant's ITSM system and go into
/// request paths and the links people open, so only short ASCII letters, digits, `-` and `_`
/// are taken (every ServiceNow number and `sys_id`, Jira key and issue id has that shape).
fn created_of(value: &Value, key: &str, id: &str) -> Option<Created> {
    let plain = |s: &&str| {
        !s.is_empty()
            && s.len() <= MAX_TICKET_ID
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let text = |k: &str| value.get(k).and_then(Value::as_str).filter(plain).map(str::to_owned);
    Some(Created { key: text(key)?, external_id: text(id)? })
}

/// Where people open the ticket.
pub fn ticket_url(target: &Target, created: &Created) -> String {
    match target.record {
        RecordType::Issue => format!("{}/browse/{}", target.base, created.key),
        record => {
            format!("{}/nav_to.do?uri={}.do%3Fsys_id%3D{}", target.base, record.as_str(), created.external_id)
        }
    }
}

/// The path (with query) reading a ticket's state.
pub fn state_path(record: RecordType, key: &str, external_id: &str) -> String {
    match record {
        RecordType::Issue => format!("/rest/api/3/issue/{key}?fields=status,resolution"),
        record => format!("/api/now/table/{}/{external_id}?sysparm_fields={FIELDS}", record.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> url::Url {
        url::Url::parse(url).unwrap()
    }

    fn approval() -> Approval {
        Approval::from_event(&json!({
            "recommendation_id": "r1", "title": "Delete disk-1", "subscription_id": "s",
            "resource_id": "/subscriptions/s/disks/disk-1", "rule_id": "waste.unattached_disk",
            "estimated_monthly_savings": 40.0, "currency": "EUR", "from": "open", "to": "approved",
            "changed_by": "alice", "reason": null,
        }))
        .unwrap()
    }

    #[test]
    fn channel_urls_name_the_table_or_project() {
        let sn =
            target("servicenow", &parsed("https://acme.service-now.com/x?table=change_request")).unwrap();
        assert_eq!(
            (sn.base.as_str(), sn.record),
            ("https://acme.service-now.com", RecordType::ChangeRequest)
        );
        let incident = target("servicenow", &parsed("https://acme.service-now.com")).unwrap();
        assert_eq!(incident.record, RecordType::Incident);
        assert!(target("servicenow", &parsed("https://a.service-now.com?table=problem")).is_err());
        let jira = target("jira", &parsed("https://acme.atlassian.net?project=OPS&issuetype=Bug")).unwrap();
        assert_eq!((jira.project.as_deref(), jira.issue_type.as_str()), (Some("OPS"), "Bug"));
        assert!(target("jira", &parsed("https://acme.atlassian.net")).is_err());
        assert!(target("jira", &parsed("https://acme.atlassian.net?project=a%20b")).is_err());
        assert!(target("webhook", &parsed("https://x.example.com")).is_err());
    }

    #[test]
    fn secrets_become_basic_or_bearer_authorization() {
        assert_eq!(authorization("servicenow", "admin:pw").unwrap(), "Basic YWRtaW46cHc=");
        assert_eq!(authorization("servicenow", "bearer:tok123").unwrap(), "Bearer tok123");
        assert!(authorization("servicenow", "nocolon").is_err());
        assert!(authorization("jira", "bearer:tok").is_err(), "Jira takes email:api-token");
        assert!(authorization("jira", "me@x.com:token").unwrap().starts_with("Basic "));
        let error = authorization("jira", "secret-without-colon").unwrap_err();
        assert!(!error.contains("secret-without-colon"));
    }

    #[test]
    fn only_approvals_make_tickets() {
        assert!(Approval::from_event(&json!({"recommendation_id": "r", "to": "rejected"})).is_none());
        assert_eq!(approval().approved_by, "alice");
    }

    #[test]
    fn request_bodies_follow_each_api() {
        let jira = target("jira", &parsed("https://acme.atlassian.net?project=OPS")).unwrap();
        let (path, body) = create_request(&jira, &approval(), "d1", Some("https://azcops.example.com"));
        assert_eq!(path, "/rest/api/3/issue");
        assert_eq!(body["fields"]["project"]["key"], "OPS");
        assert_eq!(body["fields"]["description"]["type"], "doc");
        assert_eq!(body["fields"]["labels"][1], "azcops-d1");
        let text = body["fields"]["description"]["content"][0]["content"][0]["text"].as_str().unwrap();
        assert_eq!(text, "Estimated monthly savings: 40.00 EUR");
        let sn = target("servicenow", &parsed("https://acme.service-now.com?table=change_request")).unwrap();
        let (path, body) = create_request(&sn, &approval(), "d1", None);
        assert!(path.starts_with("/api/now/table/change_request?"));
        assert_eq!((body["correlation_id"].as_str(), body["type"].as_str()), (Some("d1"), Some("normal")));
        assert_eq!(body["short_description"], "[AzCops] Delete disk-1");
        assert!(lookup_path(&sn, "d1").contains("sysparm_query=correlation_id%3Dd1"));
        assert!(lookup_path(&jira, "d1").contains("jql=labels+%3D+%22azcops-d1%22"));
    }

    #[test]
    fn ticket_ids_that_could_leave_the_path_are_refused() {
        let jira = target("jira", &parsed("https://acme.atlassian.net?project=OPS")).unwrap();
        for (key, id) in [("OPS-1/../../x", "1"), ("OPS-1", "1?x=y"), ("", "1"), ("OPS 1", "1")] {
            assert_eq!(parse_created(&jira, &serde_json::json!({"key": key, "id": id})), None, "{key} {id}");
        }
        let long = "a".repeat(MAX_TICKET_ID + 1);
        assert_eq!(parse_created(&jira, &serde_json::json!({"key": long, "id": "1"})), None);
        let ok = parse_created(&jira, &serde_json::json!({"key": "OPS-12", "id": "10042"})).unwrap();
        assert_eq!((ok.key.as_str(), ok.external_id.as_str()), ("OPS-12", "10042"));
    }

    #[test]
    fn answers_name_the_ticket() {
        let sn = target("servicenow", &parsed("https://acme.service-now.com")).unwrap();
        let created = parse_created(&sn, &json!({"result": {"number": "INC1", "sys_id": "abc"}})).unwrap();
        assert_eq!(
            ticket_url(&sn, &created),
            "https://acme.service-now.com/nav_to.do?uri=incident.do%3Fsys_id%3Dabc"
        );
        assert_eq!(parse_found(&sn, &json!({"result": []})), None);
        assert_eq!(
            parse_found(&sn, &json!({"result": [{"number": "INC1", "sys_id": "abc"}]})),
            Some(created)
        );
        let jira = target("jira", &parsed("https://acme.atlassian.net?project=OPS")).unwrap();
        let issue = parse_created(&jira, &json!({"id": "10001", "key": "OPS-1"})).unwrap();
        assert_eq!(ticket_url(&jira, &issue), "https://acme.atlassian.net/browse/OPS-1");
        assert_eq!(parse_found(&jira, &json!({"issues": [{"id": "10001", "key": "OPS-1"}]})), Some(issue));
    }
}
