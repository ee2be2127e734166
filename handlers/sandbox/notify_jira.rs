//! Jira Cloud REST v3, simulated for ticketing channels: `POST /rest/api/3/issue` (fields
//! `project`, `issuetype`, `summary` and an Atlassian Document Format `description`; answered
//! `201` with `{id, key, self}`), `GET /rest/api/3/search/jql?jql=labels = "<label>"` and
//! `GET /rest/api/3/issue/{key}` (status with its category, resolution). Requests need
//! `Authorization: Basic <email:api-token>`. Tickets are kept in the sandbox's
//! [`super::notify_servicenow::TicketBook`].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::notify_servicenow::{Ticket, credentials};
use super::server::{Shared, json_response};

fn errors(status: StatusCode, messages: &[&str], fields: Value) -> Response {
    json_response(status, &json!({"errorMessages": messages, "errors": fields}))
}

/// The caller's email, or the `401` to answer (boxed: responses are large).
fn authorised(headers: &HeaderMap) -> Result<String, Box<Response>> {
    match credentials(headers) {
        Some(("Basic", user)) if user.contains('@') => Ok(user),
        _ => Err(Box::new(errors(
            StatusCode::UNAUTHORIZED,
            &["You are not authenticated. Use email:api-token."],
            json!({}),
        ))),
    }
}

/// Why `fields` is not an issue the API creates, field by field.
pub fn check_fields(fields: &Value) -> serde_json::Map<String, Value> {
    let mut problems = serde_json::Map::new();
    let project = &fields["project"];
    if project["key"].as_str().is_none_or(str::is_empty) && !project["id"].is_string() {
        problems.insert("project".into(), json!("Specify a valid project ID or key"));
    }
    let issue_type = &fields["issuetype"];
    if issue_type["name"].as_str().is_none_or(str::is_empty) && !issue_type["id"].is_string() {
        problems.insert("issuetype".into(), json!("Specify an issue type"));
    }
    match fields["summary"].as_str() {
        Some(s) if !s.trim().is_empty() && s.chars().count() <= 255 && !s.contains('\n') => {}
        _ => {
            problems.insert(
                "summary".into(),
                json!("You must specify a summary of the issue (one line, 255 characters)."),
            );
        }
    }
    let description = &fields["description"];
    if !description.is_null()
        && (description["type"] != "doc" || description["version"] != 1 || !description["content"].is_array())
    {
        problems.insert("description".into(), json!("Operation value must be an Atlassian Document"));
    }
    if let Some(labels) = fields.get("labels")
        && !labels.as_array().is_some_and(|l| l.iter().all(|x| x.as_str().is_some_and(|s| !s.contains(' '))))
    {
        problems.insert("labels".into(), json!("Labels are strings without spaces"));
    }
    problems
}

/// `POST /rest/api/3/issue`.
pub async fn create(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let user = match authorised(&headers) {
        Ok(user) => user,
        Err(response) => return *response,
    };
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return errors(StatusCode::BAD_REQUEST, &["The request body is not JSON."], json!({}));
    };
    let problems = check_fields(&parsed["fields"]);
    if !problems.is_empty() {
        return errors(StatusCode::BAD_REQUEST, &[], Value::Object(problems));
    }
    let fields = &parsed["fields"];
    let project = fields["project"]["key"].as_str().unwrap_or("PRJ").to_owned();
    let mut book = state.tickets.lock();
    let n =
        book.iter().filter(|t| t.system == "jira" && t.key.starts_with(&format!("{project}-"))).count() + 1;
    let id = (10_000 + book.iter().filter(|t| t.system == "jira").count() + 1).to_string();
    let labels: Vec<String> = fields["labels"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let ticket = Ticket {
        system: "jira",
        table: "issue".into(),
        key: format!("{project}-{n}"),
        id: id.clone(),
        correlation: labels,
        state: String::new(),
        close_code: String::new(),
        jira: ("To Do".into(), "new".into(), None),
        body: parsed.clone(),
    };
    let key = ticket.key.clone();
    book.push(ticket);
    drop(book);
    state.notify.keep(json!({"service": "jira", "authorization": "Basic", "user": user, "body": parsed}));
    json_response(
        StatusCode::CREATED,
        &json!({"id": id, "key": key, "self": format!("{}/rest/api/3/issue/{id}", state.base_url)}),
    )
}

fn issue(ticket: &Ticket) -> Value {
    let (name, category, resolution) = &ticket.jira;
    json!({
        "id": ticket.id, "key": ticket.key,
        "fields": {
            "status": {"name": name, "statusCategory": {"key": category}},
            "resolution": resolution.as_ref().map(|r| json!({"name": r})),
            "labels": ticket.correlation,
        },
    })
}

/// `GET /rest/api/3/search/jql?jql=labels = "<label>"` (the one query form the platform sends).
pub async fn search(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = authorised(&headers) {
        return *response;
    }
    let jql = query.get("jql").map(String::as_str).unwrap_or_default();
    let Some(label) = jql.strip_prefix("labels = \"").and_then(|l| l.strip_suffix('"')) else {
        return errors(
            StatusCode::BAD_REQUEST,
            &["The sandbox answers labels = \"<label>\" queries only."],
            json!({}),
        );
    };
    let found: Vec<Value> = state
        .tickets
        .lock()
        .iter()
        .filter(|t| t.system == "jira" && t.correlation.iter().any(|l| l == label))
        .map(issue)
        .collect();
    json_response(StatusCode::OK, &json!({"issues": found, "isLast": true}))
}

/// `GET /rest/api/3/issue/{key}`.
pub async fn read(State(state): State<Shared>, Path(key): Path<String>, headers: HeaderMap) -> Response {
    if let Err(response) = authorised(&headers) {
        return *response;
    }
    let book = state.tickets.lock();
    match book.iter().find(|t| t.system == "jira" && (t.key == key || t.id == key)) {
        Some(ticket) => json_response(StatusCode::OK, &issue(ticket)),
        None => errors(
            StatusCode::NOT_FOUND,
            &["Issue does not exist or you do not have permission to see it."],
            json!({}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_fields_are_checked_like_the_api() {
        let good = json!({
            "project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "s",
            "description": {"type": "doc", "version": 1, "content": []}, "labels": ["azcops"],
        });
        assert!(check_fields(&good).is_empty());
        let mut plain = good.clone();
        plain["description"] = json!("plain text is v2, not v3");
        assert!(check_fields(&plain).contains_key("description"));
        assert_eq!(check_fields(&json!({})).len(), 3);
        let mut spaced = good;
        spaced["labels"] = json!(["a b"]);
        assert!(check_fields(&spaced).contains_key("labels"));
    }
}
