//! Application Insights ingestion (Breeze): `POST /v2/track` and `/v2.1/track` take a JSON array
//! of envelopes or newline-delimited envelopes, optionally gzip-compressed, and answer
//! `{"itemsReceived","itemsAccepted","errors"}` as the service does. What was received is kept
//! (the newest [`DEFAULT_CAPACITY`] items and uploads) and listed at `GET /_sandbox/telemetry`,
//! so tests and demos show what would reach Azure.
//!
//! A bearer token, when sent, must be one the sandbox issued for `https://monitor.azure.com`
//! (its identity endpoint issues them); with `require_token` (set by `PUT /_sandbox/telemetry`,
//! as an Application Insights resource with local authentication disabled) an upload without
//! one is refused. `PUT` can also make every upload fail with a status, to test exporters
//! against an ingestion outage; `DELETE` forgets what was received.

use std::collections::VecDeque;
use std::io::Read as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::{self, TokenError};
use super::server::{Rejection, Shared, json_response};

/// The audience Application Insights ingestion accepts (with or without the trailing slash).
pub const MONITOR_AUDIENCE: &str = "https://monitor.azure.com";

/// Items (and uploads) kept by default; older ones are dropped and counted.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Largest capacity `PUT /_sandbox/telemetry` accepts.
pub const MAX_CAPACITY: usize = 100_000;

/// Largest upload accepted after decompression (413 above), so a small gzip body cannot expand
/// without limit.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// How the endpoint behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Refuse uploads without a bearer token (401).
    pub require_token: bool,
    /// Items and uploads kept.
    pub capacity: usize,
    /// Answer every upload with this status instead (an outage), keeping nothing.
    pub fail_status: Option<u16>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self { require_token: false, capacity: DEFAULT_CAPACITY, fail_status: None }
    }
}

/// One accepted upload.
#[derive(Debug, Clone, Serialize)]
pub struct Upload {
    /// Sequence number from 1.
    pub id: u64,
    /// `/v2/track` or `/v2.1/track`.
    pub path: String,
    /// Whether the body was gzip-compressed.
    pub gzip: bool,
    /// Items in it.
    pub items: usize,
    /// The bearer's claims (never the token), when one was sent.
    pub bearer: Option<BearerInfo>,
}

/// What the sandbox learnt from an upload's bearer token.
#[derive(Debug, Clone, Serialize)]
pub struct BearerInfo {
    /// Tenant.
    pub tid: String,
    /// Principal object id.
    pub oid: String,
    /// Audience.
    pub aud: String,
}

/// What the endpoint received since start (or the last `DELETE`).
#[derive(Debug, Default)]
pub struct Received {
    config: TelemetryConfig,
    uploads: VecDeque<Upload>,
    items: VecDeque<Value>,
    next_upload: u64,
    dropped_items: u64,
    refused: u64,
}

/// The endpoint's state, shared by its routes.
#[derive(Debug, Default)]
pub struct TelemetrySink(Mutex<Received>);

impl TelemetrySink {
    fn lock(&self) -> MutexGuard<'_, Received> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn breeze(status: StatusCode, received: usize, accepted: usize, errors: Vec<Value>) -> Response {
    json_response(status, &json!({"itemsReceived": received, "itemsAccepted": accepted, "errors": errors}))
}

fn refusal(status: StatusCode, message: &str) -> Rejection {
    Box::new(breeze(
        status,
        0,
        0,
        vec![json!({"index": 0, "statusCode": status.as_u16(), "message": message})],
    ))
}

/// Decompresses (when gzip) and bounds the body.
fn decode(headers: &HeaderMap, body: &[u8]) -> Result<(Vec<u8>, bool), Rejection> {
    let encoded = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(str::trim);
    let gzip = encoded.is_some_and(|e| e.eq_ignore_ascii_case("gzip")) || body.starts_with(&[0x1f, 0x8b]);
    let too_large =
        || refusal(StatusCode::PAYLOAD_TOO_LARGE, "the payload is larger than the sandbox accepts");
    if !gzip {
        return if body.len() > MAX_BODY_BYTES { Err(too_large()) } else { Ok((body.to_vec(), false)) };
    }
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| refusal(StatusCode::BAD_REQUEST, &format!("the gzip body does not decompress: {e}")))?;
    if out.len() > MAX_BODY_BYTES { Err(too_large()) } else { Ok((out, true)) }
}

/// Splits a body into envelopes: a JSON array, one object, or one object per line.
fn envelopes(text: &str) -> Result<Vec<Result<Value, String>>, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('[') {
        let items: Vec<Value> =
            serde_json::from_str(trimmed).map_err(|e| format!("invalid JSON array: {e}"))?;
        return Ok(items.into_iter().map(Ok).collect());
    }
    Ok(trimmed
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}")))
        .collect())
}

/// Why an envelope is not one Application Insights accepts (the fields Breeze requires).
fn invalid_envelope(item: &Value) -> Option<&'static str> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if !item.is_object() {
        Some("an envelope must be a JSON object")
    } else if !text("name") {
        Some("Field 'name' on type 'Envelope' is required but missing or empty")
    } else if !text("time") {
        Some("Field 'time' on type 'Envelope' is required but missing or empty")
    } else if !text("iKey") {
        Some("Field 'iKey' on type 'Envelope' is required but missing or empty")
    } else if !item.pointer("/data/baseType").is_some_and(Value::is_string) {
        Some("Field 'baseType' on type 'Data' is required but missing or empty")
    } else {
        None
    }
}

fn bearer_check(
    state: &Shared,
    headers: &HeaderMap,
    required: bool,
) -> Result<Option<BearerInfo>, Rejection> {
    let raw = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if raw.is_none() && !required {
        return Ok(None);
    }
    let now = chrono::Utc::now().timestamp();
    match auth::bearer(raw).and_then(|t| state.auth.verify_for(t, now, MONITOR_AUDIENCE)) {
        Ok(claims) => Ok(Some(BearerInfo { tid: claims.tid, oid: claims.oid, aud: claims.aud })),
        Err(TokenError::Audience(aud)) => Err(refusal(
            StatusCode::FORBIDDEN,
            &format!("The token's audience '{aud}' is not {MONITOR_AUDIENCE}: insufficient access"),
        )),
        Err(TokenError::Missing) => Err(refusal(
            StatusCode::UNAUTHORIZED,
            "Authorization is required: local authentication is disabled on this resource",
        )),
        Err(e) => Err(refusal(StatusCode::UNAUTHORIZED, &e.to_string())),
    }
}

/// `POST /v2/track`, `POST /v2.1/track`.
pub async fn track(State(state): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let config = state.telemetry.lock().config;
    if let Some(status) = config.fail_status {
        state.telemetry.lock().refused += 1;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return *refusal(status, "the sandbox is configured to fail every upload");
    }
    let outcome = bearer_check(&state, &headers, config.require_token)
        .and_then(|bearer| decode(&headers, &body).map(|decoded| (bearer, decoded)));
    let (bearer, (bytes, gzip)) = match outcome {
        Ok(parts) => parts,
        Err(response) => {
            state.telemetry.lock().refused += 1;
            return *response;
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return *refusal(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let items = match envelopes(text) {
        Ok(items) => items,
        Err(message) => return *refusal(StatusCode::BAD_REQUEST, &message),
    };
    let received = items.len();
    let mut errors = Vec::new();
    let mut accepted = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match item
            .map_err(|e| e.clone())
            .and_then(|v| invalid_envelope(&v).map_or(Ok(v), |m| Err(m.to_owned())))
        {
            Ok(value) => accepted.push(value),
            Err(message) => errors.push(json!({"index": index, "statusCode": 400, "message": message})),
        }
    }
    let count = accepted.len();
    {
        let mut guard = state.telemetry.lock();
        let store = &mut *guard;
        store.next_upload += 1;
        let upload =
            Upload { id: store.next_upload, path: uri.path().to_owned(), gzip, items: count, bearer };
        push_bounded(&mut store.uploads, upload, store.config.capacity);
        for item in accepted {
            if push_bounded(&mut store.items, item, store.config.capacity) {
                store.dropped_items += 1;
            }
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else if count == 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::PARTIAL_CONTENT
    };
    breeze(status, received, count, errors)
}

/// Appends, dropping the oldest beyond `capacity`; true when one was dropped.
fn push_bounded<T>(queue: &mut VecDeque<T>, value: T, capacity: usize) -> bool {
    queue.push_back(value);
    if queue.len() > capacity {
        queue.pop_front();
        true
    } else {
        false
    }
}

/// `GET /_sandbox/telemetry`: the configuration, the kept uploads and items, and how many items
/// were dropped for capacity or uploads refused.
pub async fn list(State(state): State<Shared>) -> Response {
    let r = state.telemetry.lock();
    json_response(
        StatusCode::OK,
        &json!({
            "config": r.config,
            "uploads": r.uploads,
            "items": r.items,
            "dropped_items": r.dropped_items,
            "refused_uploads": r.refused,
        }),
    )
}

/// `PUT /_sandbox/telemetry`: replaces the configuration (a JSON [`TelemetryConfig`]).
pub async fn configure(State(state): State<Shared>, body: Bytes) -> Response {
    let config = match serde_json::from_slice::<TelemetryConfig>(&body) {
        Ok(config) => config,
        Err(e) => {
            return super::server::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidTelemetryConfig",
                &e.to_string(),
            );
        }
    };
    if !(1..=MAX_CAPACITY).contains(&config.capacity) {
        let message = format!("capacity must be between 1 and {MAX_CAPACITY}");
        return super::server::arm_error(StatusCode::BAD_REQUEST, "InvalidTelemetryConfig", &message);
    }
    if config.fail_status.is_some_and(|s| !(400..=599).contains(&s)) {
        let message = "fail_status must be an HTTP error status (400-599)";
        return super::server::arm_error(StatusCode::BAD_REQUEST, "InvalidTelemetryConfig", message);
    }
    let mut r = state.telemetry.lock();
    r.config = config;
    while r.items.len() > config.capacity {
        r.items.pop_front();
        r.dropped_items += 1;
    }
    while r.uploads.len() > config.capacity {
        r.uploads.pop_front();
    }
    json_response(StatusCode::OK, &json!(config))
}

/// `DELETE /_sandbox/telemetry`: forgets what was received (the configuration stays).
pub async fn clear(State(state): State<Shared>) -> StatusCode {
    let mut r = state.telemetry.lock();
    let config = r.config;
    *r = Received { config, ..Received::default() };
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_into_envelopes_as_arrays_or_lines() {
        assert_eq!(envelopes(r#"[{"a":1},{"b":2}]"#).unwrap().len(), 2);
        let lines = envelopes("{\"a\":1}\n\n{\"b\":2}\nnot json\n").unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[2].is_err());
        assert!(envelopes("[1,").is_err());
    }

    #[test]
    fn envelopes_need_the_fields_breeze_requires() {
        let good = json!({"name": "x", "time": "t", "iKey": "k", "data": {"baseType": "MessageData", "baseData": {}}});
        assert_eq!(invalid_envelope(&good), None);
        let mut no_key = good.clone();
        no_key["iKey"] = json!("");
        assert!(invalid_envelope(&no_key).unwrap().contains("iKey"));
        assert!(
            invalid_envelope(&json!({"name": "x", "time": "t", "iKey": "k"})).unwrap().contains("baseType")
        );
    }

    #[test]
    fn the_queue_keeps_the_newest_up_to_its_capacity() {
        let mut q = VecDeque::new();
        assert!(!push_bounded(&mut q, 1, 2));
        assert!(!push_bounded(&mut q, 2, 2));
        assert!(push_bounded(&mut q, 3, 2));
        assert_eq!(q, [2, 3]);
    }
}
