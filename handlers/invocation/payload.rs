//! Typed trigger payloads, decoded from an [`InvocationRequest`] exactly as the host encodes them.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::encoding::{decode_bytes, decode_number, decode_string};
use super::{DecodeError, InvocationRequest};

/// A payload type a trigger's input binding decodes into.
pub trait TriggerPayload: Sized {
    /// Decodes the trigger binding `binding` (and the trigger's metadata) from `request`.
    ///
    /// # Errors
    /// The binding is missing or not encoded as the host encodes this trigger.
    fn decode(binding: &str, request: &InvocationRequest) -> Result<Self, DecodeError>;
}

/// A timer trigger's `TimerInfo` (spec §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerInfo {
    /// Schedule flags.
    #[serde(rename = "Schedule")]
    pub schedule: TimerSchedule,
    /// The monitor's state before this run; `None` when the schedule monitor is off.
    #[serde(rename = "ScheduleStatus")]
    pub schedule_status: Option<ScheduleStatus>,
    /// True when the host runs a missed occurrence late.
    #[serde(rename = "IsPastDue")]
    pub is_past_due: bool,
}

/// `TimerInfo.Schedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerSchedule {
    /// True for CRON schedules.
    #[serde(rename = "AdjustForDST")]
    pub adjust_for_dst: bool,
}

/// `TimerInfo.ScheduleStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleStatus {
    /// The previous run.
    #[serde(rename = "Last")]
    pub last: DateTime<FixedOffset>,
    /// This occurrence (the schedule's next time as of the previous run).
    #[serde(rename = "Next")]
    pub next: DateTime<FixedOffset>,
    /// When the monitor last wrote this status.
    #[serde(rename = "LastUpdated")]
    pub last_updated: DateTime<FixedOffset>,
}

impl TimerInfo {
    /// The schedule occurrence this run stands for: `ScheduleStatus.Next` when the monitor is on.
    pub fn occurrence(&self) -> Option<DateTime<FixedOffset>> {
        self.schedule_status.as_ref().map(|s| s.next)
    }
}

impl TriggerPayload for TimerInfo {
    fn decode(binding: &str, request: &InvocationRequest) -> Result<Self, DecodeError> {
        let value = request.binding(binding)?;
        serde_json::from_value(value.clone())
            .map_err(|e| DecodeError::field(format!("Data.{binding}"), format!("not a TimerInfo: {e}")))
    }
}

/// A storage-queue message and its delivery metadata (spec §4.5).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueTrigger {
    /// The message text (already decoded from the host's double encoding).
    pub message: String,
    /// Delivery attempts including this one.
    pub dequeue_count: u32,
    /// The queue message id (a JSON message's own `id` property overrides it, as on the host).
    pub id: Option<String>,
    /// When the message was enqueued.
    pub insertion_time: Option<DateTime<FixedOffset>>,
    /// When the message expires.
    pub expiration_time: Option<DateTime<FixedOffset>>,
}

impl TriggerPayload for QueueTrigger {
    fn decode(binding: &str, request: &InvocationRequest) -> Result<Self, DecodeError> {
        let message = decode_string(&format!("Data.{binding}"), request.binding(binding)?)?;
        let dequeue_count = match request.meta("DequeueCount") {
            Some(v) => decode_number("Metadata.DequeueCount", v)?,
            None => return Err(DecodeError::field("Metadata.DequeueCount", "missing")),
        };
        let id = request.meta("Id").and_then(|v| decode_string("Metadata.Id", v).ok());
        Ok(Self {
            message,
            dequeue_count,
            id,
            insertion_time: meta_date(request, "InsertionTime"),
            expiration_time: meta_date(request, "ExpirationTime"),
        })
    }
}

fn meta_date(request: &InvocationRequest, key: &str) -> Option<DateTime<FixedOffset>> {
    request
        .meta(key)
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim_matches('"')).ok())
}

/// A blob-created trigger: the blob's content, URI and path tokens (spec §4.7).
#[derive(Debug, Clone, PartialEq)]
pub struct BlobTrigger {
    /// The blob content (double-encoded text or base64 with `dataType: binary`).
    pub content: Vec<u8>,
    /// The blob's URI.
    pub uri: String,
    /// The `{token}` values of the binding's path pattern (and any other string metadata).
    pub path_params: BTreeMap<String, String>,
    /// The blob's user metadata (`Metadata.Metadata`).
    pub user_metadata: BTreeMap<String, String>,
    /// The serialised `BlobProperties` object, kept as sent.
    pub properties: Value,
}

const BLOB_META_KEYS: [&str; 4] = ["Uri", "Properties", "Metadata", "sys"];

impl TriggerPayload for BlobTrigger {
    fn decode(binding: &str, request: &InvocationRequest) -> Result<Self, DecodeError> {
        let field = format!("Data.{binding}");
        let value = request.binding(binding)?;
        // A double-encoded string always starts with a quote, which base64 never contains.
        let content = match value.as_str() {
            Some(s) if s.starts_with('"') => decode_string(&field, value)?.into_bytes(),
            _ => decode_bytes(&field, value)?,
        };
        let uri = match request.meta("Uri") {
            Some(v) => decode_string("Metadata.Uri", v)?,
            None => return Err(DecodeError::field("Metadata.Uri", "missing")),
        };
        let path_params = request
            .metadata
            .iter()
            .filter(|(k, _)| !BLOB_META_KEYS.iter().any(|known| known.eq_ignore_ascii_case(k)))
            .filter_map(|(k, v)| decode_string(k, v).ok().map(|s| (k.clone(), s)))
            .collect();
        let user_metadata = request
            .meta("Metadata")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned()))).collect())
            .unwrap_or_default();
        let properties = request.meta("Properties").cloned().unwrap_or(Value::Null);
        Ok(Self { content, uri, path_params, user_metadata, properties })
    }
}

/// A non-forwarded HTTP trigger's request object (spec §4.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpTriggerRequest {
    /// The URL as received by the host.
    #[serde(rename = "Url")]
    pub url: String,
    /// The HTTP method.
    #[serde(rename = "Method")]
    pub method: String,
    /// Query parameters (repeated keys comma-joined by the host).
    #[serde(rename = "Query", default, deserialize_with = "query_map")]
    pub query: BTreeMap<String, String>,
    /// Request headers, each with all its values.
    #[serde(rename = "Headers", default)]
    pub headers: BTreeMap<String, Vec<String>>,
    /// Route parameters.
    #[serde(rename = "Params", default)]
    pub params: BTreeMap<String, String>,
    /// The caller's identities as the host serialised them.
    #[serde(rename = "Identities", default)]
    pub identities: Vec<Value>,
    /// The body text (base64 for binary content types); absent when empty.
    #[serde(rename = "Body", default)]
    pub body: Option<String>,
}

impl HttpTriggerRequest {
    /// The first value of header `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, values)| values.first())
            .map(String::as_str)
    }
}

/// Older hosts send `Query` as a JSON string; current ones as an object.
fn query_map<'de, D: serde::Deserializer<'de>>(de: D) -> Result<BTreeMap<String, String>, D::Error> {
    match Value::deserialize(de)? {
        Value::Object(map) => Ok(map
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect()),
        Value::String(text) => Ok(serde_json::from_str(&text).unwrap_or_default()),
        _ => Ok(BTreeMap::new()),
    }
}

impl TriggerPayload for HttpTriggerRequest {
    fn decode(binding: &str, request: &InvocationRequest) -> Result<Self, DecodeError> {
        let value = request.binding(binding)?;
        serde_json::from_value(value.clone())
            .map_err(|e| DecodeError::field(format!("Data.{binding}"), format!("not an HTTP request: {e}")))
    }
}
