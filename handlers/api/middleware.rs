//! Request middleware: correlation id in and out, one log line per request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::telemetry::correlation_id_or_new;

/// The correlation header accepted from callers and echoed back.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The request's correlation id, as [`correlation_and_logging`] settled it; audit rows carry it
/// so a change can be traced to its request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CorrelationId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        // Outside the middleware (envelope-mode functions) the caller's header is still honoured.
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_else(|| {
            Self(correlation_id_or_new(parts.headers.get(CORRELATION_HEADER).and_then(|v| v.to_str().ok())))
        }))
    }
}

/// Takes a well-formed `X-Correlation-ID` or makes one, runs the request in a span carrying it,
/// echoes it back, and logs method, route template, status and `duration_ms` — never headers,
/// so bearer tokens cannot reach the log.
pub async fn correlation_and_logging(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let correlation_id =
        correlation_id_or_new(request.headers().get(CORRELATION_HEADER).and_then(|v| v.to_str().ok()));
    request.extensions_mut().insert(CorrelationId(correlation_id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let invocation_id = request
        .headers()
        .get(crate::invocation::INVOCATION_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // A W3C trace context makes the request part of the caller's trace in Application Insights.
    let traceparent =
        request.headers().get("traceparent").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let span = tracing::info_span!(
        "request",
        correlation_id = %correlation_id,
        route = %route,
        method = %method,
        traceparent = %traceparent
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = %route,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            correlation_id = %correlation_id,
            invocation_id = %invocation_id,
            "request completed"
        );
    });
    response
}

/// Adds the security headers to every response and drops any `Server` banner.
pub async fn security_headers(request: Request, next: Next) -> Response {
    // The documentation pages run scripts and styles from the binary; everything else is data.
    let path = request.uri().path();
    let docs = path.ends_with("/redoc") || path.contains("/docs/") || path.ends_with("/docs");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("strict-transport-security", "max-age=31536000; includeSubDomains"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ("cache-control", "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let csp = if docs {
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    headers.insert("content-security-policy", HeaderValue::from_static(csp));
    headers.remove(axum::http::header::SERVER);
    response
}

/// Answers 503 in the API's error shape when a request runs longer than the configured limit,
/// so a hanging dependency never hangs the caller.
pub async fn timeout(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => axum::response::IntoResponse::into_response(super::ApiError::Unavailable {
            message: "the request timed out".into(),
            retry_after: super::error::UNAVAILABLE_RETRY_AFTER_SECS,
        }),
    }
}
