//! The invocation request and response envelopes (protocol spec §4.1 and §6).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::DecodeError;

/// What the host POSTs to `/<FunctionName>`: one `Data` entry per input binding and the
/// trigger's binding data in `Metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvocationRequest {
    /// Input binding values keyed by binding name.
    #[serde(rename = "Data", alias = "data", default)]
    pub data: Map<String, Value>,
    /// Trigger metadata (values double-encoded as the host sends them).
    #[serde(rename = "Metadata", alias = "metadata", default)]
    pub metadata: Map<String, Value>,
}

impl InvocationRequest {
    /// Parses an envelope, naming the JSON path of the first problem.
    ///
    /// # Errors
    /// The body is not JSON or not an object of the envelope's shape.
    pub fn from_slice(body: &[u8]) -> Result<Self, DecodeError> {
        let deserializer = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(deserializer).map_err(|e| DecodeError::Envelope {
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        })
    }

    /// The value of input binding `name`.
    ///
    /// # Errors
    /// The binding is absent.
    pub fn binding(&self, name: &str) -> Result<&Value, DecodeError> {
        self.data.get(name).ok_or_else(|| DecodeError::MissingBinding { binding: name.to_owned() })
    }

    /// A metadata entry, looked up case-insensitively as the host's dictionary does.
    pub fn meta(&self, key: &str) -> Option<&Value> {
        self.metadata
            .get(key)
            .or_else(|| self.metadata.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
    }

    /// The `sys` metadata the host always adds.
    pub fn sys(&self) -> Option<SysMetadata> {
        self.meta("sys").and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// The `Metadata.sys` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SysMetadata {
    /// The function name.
    #[serde(rename = "MethodName")]
    pub method_name: String,
    /// The host's UTC time at dispatch (7 fractional digits).
    #[serde(rename = "UtcNow")]
    pub utc_now: String,
    /// A fresh GUID per invocation.
    #[serde(rename = "RandGuid")]
    pub rand_guid: String,
}

/// What the handler answers: output binding values, log lines, and the `$return` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvocationResponse {
    /// Output binding values keyed by binding name.
    #[serde(rename = "Outputs", alias = "outputs", default)]
    pub outputs: Map<String, Value>,
    /// Log lines the host records against this invocation.
    #[serde(rename = "Logs", alias = "logs", default)]
    pub logs: Vec<String>,
    /// Value for a `$return` binding; `null` otherwise (see spec §6.2 on why it must stay null).
    #[serde(rename = "ReturnValue", alias = "returnValue", default)]
    pub return_value: Value,
}

impl InvocationResponse {
    /// A response with no outputs.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds an output binding value.
    #[must_use]
    pub fn with_output(mut self, binding: &str, value: Value) -> Self {
        self.outputs.insert(binding.to_owned(), value);
        self
    }
}

/// The value of an `http` output binding: status code, headers (names as given) and the body
/// as text, the shape the host turns into the HTTP response.
pub fn http_output<'a>(
    status: u16,
    headers: impl IntoIterator<Item = (&'a str, String)>,
    body: &str,
) -> Value {
    let headers: Map<String, Value> =
        headers.into_iter().map(|(name, value)| (name.to_owned(), Value::String(value))).collect();
    serde_json::json!({"statusCode": status, "headers": headers, "body": body})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_envelopes_name_the_path() {
        let err = InvocationRequest::from_slice(br#"{"Data": [1]}"#).unwrap_err();
        assert!(err.to_string().contains("Data"), "{err}");
        assert!(InvocationRequest::from_slice(b"not json").is_err());
    }

    #[test]
    fn metadata_lookup_ignores_case() {
        let req = InvocationRequest::from_slice(br#"{"Data":{},"Metadata":{"DequeueCount":"2"}}"#).unwrap();
        assert!(req.meta("dequeuecount").is_some());
    }

    #[test]
    fn response_serialises_with_host_member_names() {
        let resp = InvocationResponse::empty().with_output("messages", serde_json::json!(["a"]));
        let json = serde_json::to_value(&resp).unwrap();
        assert_eq!(json, serde_json::json!({"Outputs":{"messages":["a"]},"Logs":[],"ReturnValue":null}));
    }
}
