//! The ServiceNow Table API, simulated for ticketing channels:
//! `POST /api/now/table/{incident|change_request}` (answered `201` with `{"result": record}`),
//! `GET /api/now/table/{table}?sysparm_query=correlation_id=<id>` (`{"result": [..]}`) and
//! `GET /api/now/table/{table}/{sys_id}` (`404` `{"error": .., "status": "failure"}` when unknown).
//! Requests need `Authorization: Basic <user:password>` or `Bearer <token>` and JSON with a
//! `short_description`. The tickets (and the Jira simulation's, [`super::notify_jira`]) are kept
//! in one [`TicketBook`]; `POST /_sandbox/tickets/{key}/close` closes one as `done` or
//! `cancelled`, `GET /_sandbox/tickets` lists them.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::server::{Shared, json_response};

/// One simulated ticket.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// `servicenow` or `jira`.
    pub system: &'static str,
    /// `incident`, `change_request` or `issue`.
    pub table: String,
    /// Number or issue key.
    pub key: String,
    /// `sys_id` or issue id.
    pub id: String,
    /// ServiceNow `correlation_id`, or the Jira labels.
    pub correlation: Vec<String>,
    /// ServiceNow state code.
    pub state: String,
    /// ServiceNow close code.
    pub close_code: String,
    /// Jira status name, status category key and resolution.
    pub jira: (String, String, Option<String>),
    /// The request body that created it.
    pub body: Value,
}

/// Every simulated ticket, oldest first.
#[derive(Debug, Default)]
pub struct TicketBook(Mutex<Vec<Ticket>>);

impl TicketBook {
    /// The tickets, locked (a poisoned lock still holds whole tickets).
    pub fn lock(&self) -> MutexGuard<'_, Vec<Ticket>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The scheme and user of a Basic or Bearer `Authorization` header, if well formed (never the
/// password or token).
pub fn credentials(headers: &HeaderMap) -> Option<(&'static str, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() {
        return Some(("Bearer", String::new()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    (!user.is_empty() && !password.is_empty()).then(|| ("Basic", user.to_owned()))
}

fn failure(status: StatusCode, message: &str, detail: &str) -> Response {
    json_response(status, &json!({"error": {"message": message, "detail": detail}, "status": "failure"}))
}

fn record(ticket: &Ticket) -> Value {
    json!({
        "sys_id": ticket.id, "number": ticket.key, "state": ticket.state, "close_code": ticket.close_code,
        "correlation_id": ticket.correlation.first(),
    })
}

/// The caller's scheme and user when `table` is one the simulation serves, or the `401`/`400`
/// to answer (boxed: responses are large).
fn checked(headers: &HeaderMap, table: &str) -> Result<(&'static str, String), Box<Response>> {
    let caller = credentials(headers).ok_or_else(|| {
        Box::new(failure(
            StatusCode::UNAUTHORIZED,
            "User Not Authenticated",
            "Required to provide Auth information",
        ))
    })?;
    if matches!(table, "incident" | "change_request") {
        Ok(caller)
    } else {
        Err(Box::new(failure(StatusCode::BAD_REQUEST, "Invalid table", &format!("Invalid table {table}"))))
    }
}

/// `POST /api/now/table/{table}`.
pub async fn create(
    State(state): State<Shared>,
    Path(table): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (scheme, user) = match checked(&headers, &table) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return failure(
            StatusCode::BAD_REQUEST,
            "Exception while reading request",
            "The payload is not valid JSON.",
        );
    };
    if parsed["short_description"].as_str().is_none_or(|s| s.trim().is_empty()) {
        return failure(StatusCode::BAD_REQUEST, "Invalid request", "short_description is required");
    }
    let mut book = state.tickets.lock();
    let (prefix, first, state_code) =
        if table == "incident" { ("INC", 10_001, "1") } else { ("CHG", 30_001, "-5") };
    let n = first + book.iter().filter(|t| t.table == table).count();
    let ticket = Ticket {
        system: "servicenow",
        table: table.clone(),
        key: format!("{prefix}{n:07}"),
        id: uuid::Uuid::new_v4().simple().to_string(),
        correlation: parsed["correlation_id"].as_str().map(str::to_owned).into_iter().collect(),
        state: state_code.to_owned(),
        close_code: String::new(),
        jira: Default::default(),
        body: parsed.clone(),
    };
    let answer = record(&ticket);
    book.push(ticket);
    drop(book);
    state.notify.keep(json!({
        "service": "servicenow", "table": table, "authorization": scheme, "user": user, "body": parsed,
    }));
    json_response(StatusCode::CREATED, &json!({"result": answer}))
}

/// `GET /api/now/table/{table}?sysparm_query=correlation_id=<id>`.
pub async fn query(
    State(state): State<Shared>,
    Path(table): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = checked(&headers, &table) {
        return *response;
    }
    let wanted =
        query.get("sysparm_query").and_then(|q| q.strip_prefix("correlation_id=")).map(str::to_owned);
    let limit = query.get("sysparm_limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(10_000);
    let found: Vec<Value> = state
        .tickets
        .lock()
        .iter()
        .filter(|t| t.system == "servicenow" && t.table == table)
        .filter(|t| wanted.as_ref().is_none_or(|w| t.correlation.contains(w)))
        .take(limit)
        .map(record)
        .collect();
    json_response(StatusCode::OK, &json!({"result": found}))
}

/// `GET /api/now/table/{table}/{sys_id}`.
pub async fn read(
    State(state): State<Shared>,
    Path((table, sys_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = checked(&headers, &table) {
        return *response;
    }
    let book = state.tickets.lock();
    match book.iter().find(|t| t.system == "servicenow" && t.table == table && t.id == sys_id) {
        Some(ticket) => json_response(StatusCode::OK, &json!({"result": record(ticket)})),
        None => failure(
            StatusCode::NOT_FOUND,
            "No Record found",
            "Record doesn't exist or ACL restricts the record retrieval",
        ),
    }
}

/// `POST /_sandbox/tickets/{key}/close` with `{"outcome": "done" | "cancelled"}`: ServiceNow
/// incidents become 7 Closed or 8 Canceled, change requests 3 Closed (`successful`) or 4
/// Canceled, Jira issues Done with resolution Done or Won't Do.
pub async fn close(State(state): State<Shared>, Path(key): Path<String>, body: Bytes) -> Response {
    let outcome =
        serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["outcome"].as_str().map(str::to_owned));
    let done = match outcome.as_deref() {
        Some("done") => true,
        Some("cancelled") => false,
        _ => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": "outcome must be done or cancelled"}),
            );
        }
    };
    let mut book = state.tickets.lock();
    let Some(ticket) = book.iter_mut().find(|t| t.key == key) else {
        return json_response(StatusCode::NOT_FOUND, &json!({"error": "no such ticket"}));
    };
    match (ticket.table.as_str(), done) {
        ("incident", true) => ticket.state = "7".into(),
        ("incident", false) => ticket.state = "8".into(),
        ("change_request", true) => (ticket.state, ticket.close_code) = ("3".into(), "successful".into()),
        ("change_request", false) => ticket.state = "4".into(),
        (_, true) => ticket.jira = ("Done".into(), "done".into(), Some("Done".into())),
        (_, false) => ticket.jira = ("Done".into(), "done".into(), Some("Won't Do".into())),
    }
    json_response(StatusCode::OK, &json!({"key": ticket.key, "state": ticket.state}))
}

/// `GET /_sandbox/tickets`: every simulated ticket.
pub async fn list(State(state): State<Shared>) -> Response {
    let items: Vec<Value> = state
        .tickets
        .lock()
        .iter()
        .map(|t| json!({"system": t.system, "table": t.table, "key": t.key, "id": t.id, "body": t.body}))
        .collect();
    json_response(StatusCode::OK, &json!({"items": items}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_basic_or_bearer_credentials_pass() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            credentials(&headers)
        };
        assert_eq!(with("Basic YWRtaW46cHc="), Some(("Basic", "admin".to_owned())));
        assert_eq!(with("Bearer abc"), Some(("Bearer", String::new())));
        assert_eq!(with("Basic YWRtaW4="), None, "no password");
        assert_eq!(with("Digest x"), None);
        assert_eq!(credentials(&HeaderMap::new()), None);
    }
}
