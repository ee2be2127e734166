//! How a ticket's remote state maps to what AzCops records: done (the recommendation is
//! executed), cancelled (recorded, the recommendation stays approved) or still open.

use serde_json::Value;

use super::RecordType;

/// Where a ticket stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteState {
    /// Still being worked on (the remote state, as read).
    Open(String),
    /// Carried out: the recommendation becomes `executed`.
    Done(String),
    /// Closed without being carried out (cancelled, won't do, unsuccessful).
    Cancelled(String),
}

/// Jira resolutions that close an issue without doing it.
const NOT_DONE: [&str; 5] = ["won't do", "won't fix", "declined", "duplicate", "cannot reproduce"];

/// The state of a ticket from the answer to [`state_path`]'s request.
///
/// ServiceNow incidents: 6 Resolved and 7 Closed are done, 8 Canceled is cancelled. Change
/// requests: 3 Closed is done unless its close code is `unsuccessful`, 4 Canceled is cancelled.
/// Jira: status category `done` is done unless the resolution is one of Won't Do, Won't Fix,
/// Declined, Duplicate or Cannot Reproduce.
pub fn remote_state(record: RecordType, body: &Value) -> Option<RemoteState> {
    match record {
        RecordType::Issue => {
            let fields = &body["fields"];
            let category = fields["status"]["statusCategory"]["key"].as_str()?;
            let name = fields["status"]["name"].as_str().unwrap_or(category).to_owned();
            if category != "done" {
                return Some(RemoteState::Open(name));
            }
            let resolution = fields["resolution"]["name"].as_str().unwrap_or_default();
            if NOT_DONE.contains(&resolution.to_ascii_lowercase().as_str()) {
                Some(RemoteState::Cancelled(format!("{name} ({resolution})")))
            } else {
                Some(RemoteState::Done(name))
            }
        }
        record => {
            let result = &body["result"];
            let state = match &result["state"] {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let close_code = result["close_code"].as_str().unwrap_or_default();
            let label = if close_code.is_empty() { state.clone() } else { format!("{state} ({close_code})") };
            Some(match (record, state.as_str()) {
                (RecordType::Incident, "6" | "7") => RemoteState::Done(label),
                (RecordType::Incident, "8") => RemoteState::Cancelled(label),
                (RecordType::ChangeRequest, "3") if close_code.eq_ignore_ascii_case("unsuccessful") => {
                    RemoteState::Cancelled(label)
                }
                (RecordType::ChangeRequest, "3") => RemoteState::Done(label),
                (RecordType::ChangeRequest, "4") => RemoteState::Cancelled(label),
                _ => RemoteState::Open(label),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn remote_states_map_to_done_cancelled_or_open() {
        let sn = |record, state: &str, code: &str| {
            remote_state(record, &json!({"result": {"state": state, "close_code": code}})).unwrap()
        };
        assert!(matches!(sn(RecordType::Incident, "6", ""), RemoteState::Done(_)));
        assert!(matches!(sn(RecordType::Incident, "7", ""), RemoteState::Done(_)));
        assert!(matches!(sn(RecordType::Incident, "8", ""), RemoteState::Cancelled(_)));
        assert!(matches!(sn(RecordType::Incident, "2", ""), RemoteState::Open(_)));
        assert!(matches!(sn(RecordType::ChangeRequest, "3", "successful"), RemoteState::Done(_)));
        assert!(matches!(sn(RecordType::ChangeRequest, "3", "unsuccessful"), RemoteState::Cancelled(_)));
        assert!(matches!(sn(RecordType::ChangeRequest, "4", ""), RemoteState::Cancelled(_)));
        assert!(matches!(sn(RecordType::ChangeRequest, "-1", ""), RemoteState::Open(_)));
        let jira = |category: &str, resolution: Value| {
            remote_state(
                RecordType::Issue,
                &json!({"fields": {"status": {"name": "X", "statusCategory": {"key": category}}, "resolution": resolution}}),
            )
            .unwrap()
        };
        assert!(matches!(jira("done", json!({"name": "Done"})), RemoteState::Done(_)));
        assert!(matches!(jira("done", json!({"name": "Won't Do"})), RemoteState::Cancelled(_)));
        assert!(matches!(jira("indeterminate", Value::Null), RemoteState::Open(_)));
        assert_eq!(remote_state(RecordType::Issue, &json!({})), None);
    }
}
