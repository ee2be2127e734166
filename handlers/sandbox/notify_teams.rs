//! A Teams Workflows webhook ("when a webhook request is received"), simulated:
//! `POST /workflows/{id}/triggers/manual/paths/invoke?sig=…` with a message carrying an
//! Adaptive Card attachment, answered `202 Accepted` as the workflow trigger does. A missing
//! `sig` is refused as the service refuses it.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::server::{Shared, json_response};

/// Why a message is not one a Workflows webhook posts to a channel, if it is not.
pub fn check_message(body: &Value) -> Option<&'static str> {
    if body["type"] != "message" {
        return Some("type must be message");
    }
    let Some(attachments) = body["attachments"].as_array().filter(|a| !a.is_empty()) else {
        return Some("attachments must hold an Adaptive Card");
    };
    for attachment in attachments {
        if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
            return Some("attachments[].contentType must be application/vnd.microsoft.card.adaptive");
        }
        let card = &attachment["content"];
        if card["type"] != "AdaptiveCard" || !card["version"].is_string() || !card["body"].is_array() {
            return Some("attachments[].content must be an AdaptiveCard with a version and a body");
        }
    }
    None
}

/// `POST /workflows/{id}/triggers/manual/paths/invoke`.
pub async fn invoke(
    State(state): State<Shared>,
    Path(workflow): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let error = |status: StatusCode, code: &str, message: &str| {
        json_response(status, &json!({"error": {"code": code, "message": message}}))
    };
    if query.get("sig").is_none_or(String::is_empty) {
        return error(
            StatusCode::UNAUTHORIZED,
            "DirectApiAuthorizationRequired",
            "the request is not signed (sig)",
        );
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequestContent", "the body is not JSON");
    };
    if let Some(why) = check_message(&parsed) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequestContent", why);
    }
    state.notify.keep(json!({"service": "teams_workflow", "workflow": workflow, "body": parsed}));
    StatusCode::ACCEPTED.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_message_shape_is_checked() {
        let envelope = crate::notify::event::Envelope {
            id: "e".into(),
            event_type: "notification.test".into(),
            tenant_id: "t".into(),
            occurred_at: chrono::Utc::now(),
            data: json!({"x": 1}),
        };
        assert_eq!(check_message(&crate::notify::teams::message(&envelope, None)), None);
        assert!(check_message(&json!({"type": "message", "attachments": []})).is_some());
        assert!(check_message(&json!({"text": "hi"})).is_some());
    }
}
