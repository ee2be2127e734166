//! The host's value conversion rules (protocol spec §4.2/§4.3), in both directions.
//!
//! The handler decodes with these; the local host emulator encodes with them, so a payload the
//! emulator sends is exactly what the handler would receive from the real host.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::DecodeError;

/// Encodes a string value the way the host does: JSON-serialised, then emitted as a string
/// (`hello` → `"\"hello\""` on the wire).
pub fn encode_string(text: &str) -> Value {
    Value::String(Value::String(text.to_owned()).to_string())
}

/// Encodes bytes the way the host does for `dataType: binary`: base64.
pub fn encode_bytes(bytes: &[u8]) -> Value {
    Value::String(BASE64.encode(bytes))
}

/// Decodes a double-encoded string value (`"\"hello\""` → `hello`).
///
/// # Errors
/// The value is not a string, or its content is not a JSON string literal.
pub fn decode_string(field: &str, value: &Value) -> Result<String, DecodeError> {
    let Value::String(outer) = value else {
        return Err(DecodeError::field(field, "expected a JSON string"));
    };
    match serde_json::from_str::<Value>(outer) {
        Ok(Value::String(inner)) => Ok(inner),
        _ => Err(DecodeError::field(field, "expected a double-encoded JSON string as the host sends")),
    }
}

/// Decodes a scalar metadata value that the host sends as its JSON text (`"3"` → `3`).
///
/// # Errors
/// The value is not a string holding a number of the target type.
pub fn decode_number<T: std::str::FromStr>(field: &str, value: &Value) -> Result<T, DecodeError> {
    let text = match value {
        Value::String(s) => s.trim_matches('"').to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err(DecodeError::field(field, "expected a number")),
    };
    text.parse().map_err(|_| DecodeError::field(field, "expected a number"))
}

/// Decodes a base64 value (`dataType: binary`).
///
/// # Errors
/// The value is not a base64 string.
pub fn decode_bytes(field: &str, value: &Value) -> Result<Vec<u8>, DecodeError> {
    let Value::String(text) = value else {
        return Err(DecodeError::field(field, "expected a base64 string"));
    };
    BASE64.decode(text).map_err(|_| DecodeError::field(field, "expected a base64 string"))
}

/// Adds the top-level properties of a JSON-object trigger value to `metadata`, as the host does:
/// scalars turned into their text and then double-encoded (`2` → `"\"2\""`), objects kept,
/// arrays skipped; keys match case-insensitively, so a
/// promoted `id` replaces the queue's `Id`.
pub fn promote_json_properties(metadata: &mut Map<String, Value>, trigger_text: &str) {
    let trimmed = trigger_text.trim();
    if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
        return;
    }
    let Ok(Value::Object(props)) = serde_json::from_str::<Value>(trimmed) else {
        return;
    };
    for (key, value) in props {
        let encoded = match value {
            Value::Array(_) | Value::Null => continue,
            Value::Object(_) => value,
            Value::String(text) => encode_string(&text),
            other => encode_string(&other.to_string()),
        };
        if let Some(existing) = metadata.keys().find(|k| k.eq_ignore_ascii_case(&key)).cloned() {
            metadata.remove(&existing);
        }
        metadata.insert(key, encoded);
    }
}

/// True when `text` would be base64-decoded by the host's output conversion (spec §6.3 rule 2).
pub fn host_would_base64_decode(text: &str) -> bool {
    !text.is_empty() && BASE64.decode(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_round_trip_through_double_encoding() {
        let wire = encode_string("hello \"world\"");
        assert_eq!(wire, json!("\"hello \\\"world\\\"\""));
        assert_eq!(decode_string("x", &wire).unwrap(), "hello \"world\"");
    }

    #[test]
    fn single_encoded_string_is_rejected_with_the_field_name() {
        let err = decode_string("Data.message", &json!("hello")).unwrap_err();
        assert!(err.to_string().contains("Data.message"));
    }

    #[test]
    fn numbers_arrive_as_their_text() {
        assert_eq!(decode_number::<u32>("d", &json!("3")).unwrap(), 3);
        assert_eq!(decode_number::<u32>("d", &json!("\"4\"")).unwrap(), 4);
        assert!(decode_number::<u32>("d", &json!("x")).is_err());
    }

    #[test]
    fn json_properties_are_promoted_like_the_host() {
        let mut meta = Map::new();
        meta.insert("Id".into(), encode_string("queue-id"));
        promote_json_properties(&mut meta, r#"{"id":"mine","qty":2,"tags":["a"],"c":{"x":1}}"#);
        assert_eq!(meta.get("id"), Some(&json!("\"mine\"")));
        assert!(!meta.contains_key("Id"));
        assert_eq!(meta.get("qty"), Some(&json!("\"2\"")));
        assert!(!meta.contains_key("tags"));
        assert_eq!(meta.get("c"), Some(&json!({"x":1})));
    }

    #[test]
    fn base64_lookalikes_are_detected() {
        assert!(host_would_base64_decode("test"));
        assert!(!host_would_base64_decode("{\"a\":1}"));
    }
}
