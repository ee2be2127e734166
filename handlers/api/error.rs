//! The API's one error type and its JSON shape `{"error": {"code", "message", "details"}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::store::StoreError;

/// Seconds a client should wait before retrying when the database is unavailable.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// An error answered to an API caller; internal causes are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid bearer token. `error` is the RFC 6750 error code for `WWW-Authenticate`;
    /// the message is deliberately generic so a caller learns nothing about why a token failed.
    #[error("authentication required")]
    Unauthorized {
        /// `invalid_request` (no or malformed header) or `invalid_token`.
        error: &'static str,
    },
    /// 403: authenticated but lacking a role.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such route or object (also for objects of another tenant).
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the object exists already or the state forbids the change.
    #[error("{0}")]
    Conflict(String),
    /// 409 with `details` naming what is in the way (e.g. the active run's id).
    #[error("{message}")]
    ConflictWith {
        /// What conflicts.
        message: String,
        /// Machine-readable details.
        details: Value,
    },
    /// 413: the request body is larger than the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 422: a field failed validation.
    #[error("{field}: {message}")]
    Validation {
        /// The offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// 422 `subscription_not_in_tenant`: ARM does not confirm the subscription belongs to the
    /// caller's Azure tenant. Unknown, unreadable and foreign subscriptions answer alike, so the
    /// answer reveals nothing about what the platform identity can see.
    #[error("subscription {0} is not a subscription of this tenant's Azure directory that AzCops can read")]
    SubscriptionNotInTenant(String),
    /// 429: the tenant's rate limit is exhausted.
    #[error("rate limit exceeded")]
    TooManyRequests {
        /// Seconds until a request will be accepted again.
        retry_after: u64,
    },
    /// 429 for a bound other than the request rate (e.g. a cooldown), with its own code.
    #[error("{message}")]
    Throttled {
        /// The error code.
        code: &'static str,
        /// What is exhausted.
        message: String,
        /// Seconds until a request will be accepted again.
        retry_after: u64,
        /// Machine-readable details.
        details: Value,
    },
    /// 413: a CSV export matches more rows than `AZCOPS_API_EXPORT_MAX_ROWS` allows.
    #[error("the export matches more than {max_rows} rows; narrow the filters and export again")]
    ExportTooLarge {
        /// The row cap.
        max_rows: u64,
    },
    /// 429: the tenant already runs `AZCOPS_API_EXPORT_CONCURRENCY` exports.
    #[error("too many exports are running for this tenant; retry when one has finished")]
    ExportsBusy {
        /// Concurrent exports allowed per tenant.
        limit: usize,
        /// Seconds until a retry makes sense.
        retry_after: u64,
    },
    /// 503: PostgreSQL cancelled a statement that ran past `AZCOPS_DB_STATEMENT_TIMEOUT_MS`.
    #[error("a database statement ran longer than the statement timeout and was cancelled")]
    StatementTimeout,
    /// 500: something failed inside; the cause is logged, not returned.
    #[error("internal error")]
    Internal(String),
    /// 503: a dependency (database, key set) is unavailable or the request timed out.
    #[error("{message}")]
    Unavailable {
        /// What is unavailable (no internal detail).
        message: String,
        /// Seconds until a retry makes sense.
        retry_after: u64,
    },
    /// 503: a required setting is missing, so this part of the API cannot serve.
    #[error("setting {0} is not configured")]
    NotConfigured(&'static str),
}

impl ApiError {
    /// A 422 naming `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation { field: field.into(), message: message.into() }
    }

    /// The database is unavailable.
    pub fn database_unavailable() -> Self {
        Self::Unavailable {
            message: "the database is unavailable".into(),
            retry_after: UNAVAILABLE_RETRY_AFTER_SECS,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, Value) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request", Value::Null),
            Self::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "unauthorized", Value::Null),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", Value::Null),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", Value::Null),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", Value::Null),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", Value::Null),
            Self::ConflictWith { details, .. } => (StatusCode::CONFLICT, "conflict", details.clone()),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", Value::Null),
            Self::Validation { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", json!({"field": field}))
            }
            Self::SubscriptionNotInTenant(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "subscription_not_in_tenant",
                json!({"field": "subscription_id"}),
            ),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", Value::Null),
            Self::Throttled { code, details, .. } => (StatusCode::TOO_MANY_REQUESTS, code, details.clone()),
            Self::ExportTooLarge { max_rows } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "export_too_large",
                json!({"max_rows": max_rows, "setting": "AZCOPS_API_EXPORT_MAX_ROWS"}),
            ),
            Self::ExportsBusy { limit, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "export_concurrency_exceeded",
                json!({"limit": limit, "setting": "AZCOPS_API_EXPORT_CONCURRENCY"}),
            ),
            Self::StatementTimeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "statement_timeout",
                json!({"setting": "AZCOPS_DB_STATEMENT_TIMEOUT_MS"}),
            ),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", Value::Null),
            Self::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", Value::Null),
            Self::NotConfigured(setting) => {
                (StatusCode::SERVICE_UNAVAILABLE, "not_configured", json!({"setting": setting}))
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound("not found".into()),
            StoreError::Conflict { what } => Self::Conflict(format!("{what} already exists")),
            StoreError::InvalidTransition { from, to } => {
                Self::Conflict(format!("cannot move a recommendation from {from} to {to}"))
            }
            StoreError::Validation { field, reason } => Self::validation(field, reason),
            StoreError::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "database unavailable");
                Self::database_unavailable()
            }
            // 57014 query_canceled: the statement timeout (or an operator) cancelled it.
            StoreError::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("57014") => {
                tracing::warn!(cause = %db, "database statement cancelled");
                Self::StatementTimeout
            }
            // PostgreSQL refuses some values SQLite stores (NUL bytes, out-of-range dates): class
            // 22 "data exception" is the caller's input, not our failure.
            StoreError::Database(sqlx::Error::Database(db))
                if db.code().is_some_and(|c| c.starts_with("22")) =>
            {
                Self::BadRequest("a value in the request cannot be stored or compared".into())
            }
            other => Self::Internal(other.to_string()),
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
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized { error } => {
                let value = format!("Bearer realm=\"azcops\", error=\"{error}\"");
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Self::TooManyRequests { retry_after }
            | Self::Throttled { retry_after, .. }
            | Self::Unavailable { retry_after, .. }
            | Self::ExportsBusy { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::StatementTimeout => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let response = ApiError::Internal("password=hunter2".into()).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = body(response).await;
        assert!(!text.contains("hunter2"));
        assert!(text.contains("internal_error"));
    }

    #[tokio::test]
    async fn unauthorized_carries_www_authenticate_and_unavailable_retry_after() {
        let response = ApiError::Unauthorized { error: "invalid_token" }.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers().get(header::WWW_AUTHENTICATE).unwrap().to_str().unwrap();
        assert_eq!(challenge, "Bearer realm=\"azcops\", error=\"invalid_token\"");
        let response = ApiError::database_unavailable().into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "5");
    }

    #[tokio::test]
    async fn validation_names_the_field() {
        let text = body(ApiError::validation("page_size", "too big").into_response()).await;
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["error"]["details"]["field"], "page_size");
        assert_eq!(value["error"]["code"], "validation_failed");
    }
}
