//! The API's one error type and its JSON shape `{"error": {"code", "message", "details"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answered to an API caller; internal causes are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such route or object (also for objects of another tenant).
    #[error("{0}")]
    NotFound(String),
    /// 422: a field failed validation.
    #[error("{field}: {message}")]
    Validation {
        /// The offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// 500: something failed inside; the cause is logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, Value) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request", Value::Null),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", Value::Null),
            Self::Validation { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", json!({"field": field}))
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", Value::Null),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, details) = self.parts();
        if let Self::Internal(cause) = &self {
            tracing::error!(cause = %cause, "request failed");
        }
        let body = json!({"error": {"code": code, "message": self.to_string(), "details": details}});
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let response = ApiError::Internal("password=hunter2".into()).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("hunter2"));
        assert!(text.contains("internal_error"));
    }
}
