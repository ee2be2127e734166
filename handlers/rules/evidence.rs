//! [`Evidence`]: the facts a finding rests on, a JSON object kept as its JSON text.
//!
//! Why not a `serde_json::Value`: an object is a B-tree node of over 600 bytes plus an
//! allocation per key, and evaluating a million resources holds a quarter of a million
//! findings at once — building that memory and touching it for the first time cost a third of
//! the engine's time. Rules write each field straight to text with [`EvidenceBuilder`]; the
//! object is parsed back only where it is stored or inspected.

use serde::{Serialize, Serializer};
use serde_json::Value;

/// A finding's evidence: one JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence(Box<str>);

impl Evidence {
    /// Starts an object; add fields with [`EvidenceBuilder::field`].
    pub fn object() -> EvidenceBuilder {
        EvidenceBuilder { buf: Vec::with_capacity(256) }
    }

    /// The object as a JSON value.
    pub fn to_value(&self) -> Value {
        // The text was written by `EvidenceBuilder` from serialisable values, so it always
        // parses; `Null` would only mark a bug in the builder.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// Writes an [`Evidence`] object field by field.
#[derive(Debug)]
pub struct EvidenceBuilder {
    buf: Vec<u8>,
}

impl EvidenceBuilder {
    /// Adds `key` with `value` serialised as `serde_json::json!` would.
    pub fn field(mut self, key: &str, value: impl Serialize) -> Self {
        self.buf.push(if self.buf.is_empty() { b'{' } else { b',' });
        let at = self.buf.len();
        // Writing to a `Vec` cannot fail, and none of the rules' field types fails to
        // serialise (where `json!` would panic); should one, its field reads `null` rather
        // than leaving broken JSON.
        if serde_json::to_writer(&mut self.buf, key).is_err() {
            self.buf.truncate(at);
            self.buf.extend_from_slice(b"\"\"");
        }
        self.buf.push(b':');
        let at = self.buf.len();
        if serde_json::to_writer(&mut self.buf, &value).is_err() {
            self.buf.truncate(at);
            self.buf.extend_from_slice(b"null");
        }
        self
    }

    /// The finished object.
    pub fn build(mut self) -> Evidence {
        if self.buf.is_empty() {
            self.buf.push(b'{');
        }
        self.buf.push(b'}');
        // serde_json writes UTF-8 only.
        Evidence(String::from_utf8(self.buf).unwrap_or_default().into_boxed_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use crate::rules::ObservedCost;

    #[test]
    fn same_object_as_json_macro() {
        let cost = Some(ObservedCost::from_window(30.0, 29.5, 30, 28));
        let created = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let (sku, missing): (Option<&str>, Option<f64>) = (Some("Premium_LRS \"v2\""), None);
        let built = Evidence::object()
            .field("sku", sku)
            .field("size_gb", 128.0)
            .field("age_days", 120_i64)
            .field("present", true)
            .field("missing", missing)
            .field("not_finite", f64::NAN)
            .field("time_created", created)
            .field("observed_cost", cost)
            .field("nested", json!({"sites": 0}))
            .build();
        let expected = json!({
            "sku": sku, "size_gb": 128.0, "age_days": 120, "present": true, "missing": missing,
            "not_finite": f64::NAN, "time_created": created, "observed_cost": cost, "nested": {"sites": 0},
        });
        assert_eq!(built.to_value(), expected);
        assert_eq!(serde_json::to_value(&built).unwrap(), expected);
        assert_eq!(Evidence::object().build().to_value(), json!({}));
    }
}
