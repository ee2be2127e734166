//! A recursive structural comparison of a sandbox response with a real example: every key the
//! sandbox sends must exist in the example with the same casing and JSON type (null on either
//! side counts as "optional"), arrays are compared element-wise against the union of the
//! example's elements, and keys the example has but the sandbox omits are allowed (optional).

use serde_json::{Map, Value};

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Merges the elements of an example array into one shape (union of object keys).
fn union(items: &[Value]) -> Option<Value> {
    let mut iter = items.iter();
    let mut acc = iter.next()?.clone();
    for item in iter {
        acc = merge(acc, item);
    }
    Some(acc)
}

fn merge(a: Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, v) in b {
                let merged = match a.remove(k) {
                    Some(existing) => merge(existing, v),
                    None => v.clone(),
                };
                a.insert(k.clone(), merged);
            }
            Value::Object(a)
        }
        (Value::Array(mut a), Value::Array(b)) => {
            a.extend(b.iter().cloned());
            Value::Array(a)
        }
        (Value::Null, b) => b.clone(),
        (a, _) => a,
    }
}

/// Options: paths (dotted, `[]` for array elements) whose extra keys are allowed, whose
/// content is a free-form string map, or which are skipped.
#[derive(Default)]
pub struct Rules<'a> {
    /// Keys the sandbox may add at these paths (full path of the key).
    pub extra: &'a [&'a str],
    /// Objects that are maps (keys free, values compared to the example's value type).
    pub maps: &'a [&'a str],
    /// Paths not compared.
    pub skip: &'a [&'a str],
}

/// Compares `actual` against `expected`; returns every mismatch.
pub fn compare(actual: &Value, expected: &Value, rules: &Rules<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    walk(actual, expected, "", rules, &mut errors);
    errors
}

fn walk(actual: &Value, expected: &Value, path: &str, rules: &Rules<'_>, errors: &mut Vec<String>) {
    if rules.skip.contains(&path) || actual.is_null() || expected.is_null() {
        return;
    }
    if kind(actual) != kind(expected) {
        errors.push(format!("{path}: sandbox {} vs example {}", kind(actual), kind(expected)));
        return;
    }
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) if rules.maps.contains(&path) => {
            let sample = e.values().find(|v| !v.is_null()).cloned().unwrap_or(Value::String(String::new()));
            for (k, v) in a {
                walk(v, &sample, &format!("{path}.{k}"), rules, errors);
            }
        }
        (Value::Object(a), Value::Object(e)) => object(a, e, path, rules, errors),
        (Value::Array(a), Value::Array(e)) => {
            if let Some(shape) = union(e) {
                for item in a {
                    walk(item, &shape, &format!("{path}[]"), rules, errors);
                }
            }
        }
        _ => {}
    }
}

fn object(
    a: &Map<String, Value>,
    e: &Map<String, Value>,
    path: &str,
    rules: &Rules<'_>,
    errors: &mut Vec<String>,
) {
    for (k, v) in a {
        let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        match e.get(k) {
            Some(ev) => walk(v, ev, &child, rules, errors),
            None if rules.extra.contains(&child.as_str()) => {}
            None => {
                let hint = e
                    .keys()
                    .find(|ek| ek.eq_ignore_ascii_case(k))
                    .map(|ek| format!(" (example spells it {ek})"));
                errors.push(format!("{child}: not in the example{}", hint.unwrap_or_default()));
            }
        }
    }
}

#[test]
fn the_comparison_can_fail() {
    let example = serde_json::json!({ "a": 1, "b": { "c": "x" }, "list": [{ "k": 1 }, { "j": "s" }] });
    assert!(
        compare(&serde_json::json!({ "a": 2, "list": [{ "k": 5, "j": "t" }] }), &example, &Rules::default())
            .is_empty()
    );
    let bad = serde_json::json!({ "A": 1, "b": { "c": 3 }, "list": [{ "k": "1" }] });
    let errors = compare(&bad, &example, &Rules::default());
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("example spells it a"), "{errors:?}");
}
