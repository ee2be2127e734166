//! Azure Communication Services Email, simulated: `POST /emails:send?api-version=2023-03-31`
//! with a bearer token whose audience is `https://communication.azure.com`, the documented body
//! (`senderAddress`, `content.subject` with `plainText` or `html`, `recipients.to[].address`),
//! answered `202 Accepted` with `Operation-Location` like the service. Everything accepted (and
//! what the Teams simulation accepts) is kept for `GET /_sandbox/notifications`.

use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::auth;
use super::server::{Shared, json_response};

/// The API version the simulation serves.
pub const API_VERSION: &str = "2023-03-31";
/// The token audience of Communication Services.
pub const AUDIENCE: &str = "https://communication.azure.com";
/// Most requests kept.
const MAX_KEPT: usize = 1000;

/// What the notification simulations accepted, oldest first.
#[derive(Debug, Default)]
pub struct NotifySink(Mutex<Vec<Value>>);

impl NotifySink {
    fn lock(&self) -> MutexGuard<'_, Vec<Value>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps one accepted request (`service`, path, the auth scheme seen, the body).
    pub fn keep(&self, record: Value) {
        let mut kept = self.lock();
        if kept.len() >= MAX_KEPT {
            kept.remove(0);
        }
        kept.push(record);
    }
}

fn acs_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({"error": {"code": code, "message": message}}))
}

/// Why a send body does not follow the documented shape, if it does not.
pub fn check_body(body: &Value) -> Option<&'static str> {
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.trim().is_empty());
    if !text(&body["senderAddress"]) {
        return Some("senderAddress is required");
    }
    if !text(&body["content"]["subject"]) {
        return Some("content.subject is required");
    }
    if !text(&body["content"]["plainText"]) && !text(&body["content"]["html"]) {
        return Some("content.plainText or content.html is required");
    }
    let to = body["recipients"]["to"].as_array();
    if !to.is_some_and(|to| {
        !to.is_empty()
            && to
                .iter()
                .all(|r| text(&r["address"]) && r["address"].as_str().is_some_and(|a| a.contains('@')))
    }) {
        return Some("recipients.to needs at least one address");
    }
    None
}

/// `POST /emails:send`.
pub async fn send(
    State(state): State<Shared>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if query.get("api-version").map(String::as_str) != Some(API_VERSION) {
        return acs_error(StatusCode::BAD_REQUEST, "InvalidApiVersion", "api-version must be 2023-03-31");
    }
    let raw = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = auth::bearer(raw).and_then(|t| state.auth.verify_for(t, now, AUDIENCE)) {
        return acs_error(StatusCode::UNAUTHORIZED, "Unauthorized", &e.to_string());
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return acs_error(StatusCode::BAD_REQUEST, "InvalidRequest", "the body is not JSON");
    };
    if let Some(why) = check_body(&parsed) {
        return acs_error(StatusCode::BAD_REQUEST, "InvalidRequest", why);
    }
    let operation = headers
        .get("operation-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    state.notify.keep(json!({
        "service": "acs_email", "operation_id": operation, "authorization": "Bearer", "body": parsed,
    }));
    let mut response = json_response(StatusCode::ACCEPTED, &json!({"id": operation, "status": "Running"}));
    let location = format!("{}/emails/operations/{operation}?api-version={API_VERSION}", state.base_url);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("operation-location", value);
    }
    response
}

/// `GET /_sandbox/notifications`: what the notification simulations accepted.
pub async fn list(State(state): State<Shared>) -> Response {
    json_response(StatusCode::OK, &json!({"items": *state.notify.lock()}))
}

/// `DELETE /_sandbox/notifications`.
pub async fn clear(State(state): State<Shared>) -> StatusCode {
    state.notify.lock().clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_bodies_are_checked_like_the_service() {
        let good = json!({
            "senderAddress": "DoNotReply@x.azurecomm.net",
            "content": {"subject": "s", "plainText": "p"},
            "recipients": {"to": [{"address": "a@b.com"}]},
        });
        assert_eq!(check_body(&good), None);
        let mut no_to = good.clone();
        no_to["recipients"]["to"] = json!([]);
        assert!(check_body(&no_to).is_some());
        let mut no_content = good.clone();
        no_content["content"] = json!({"subject": "s"});
        assert!(check_body(&no_content).is_some());
        assert!(check_body(&json!({})).is_some());
    }
}
