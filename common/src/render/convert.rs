//! Moving values between the data model (`serde_json::Value`) and templates.
use minijinja::value::{Value as JValue, ValueKind};

use super::mutable::{map_pairs, seq_items, MutList, MutMap};
use crate::data::{Map, Value};

/// Data → template value. Maps and lists become Python-like mutable containers.
pub fn to_jinja(v: &Value) -> JValue {
    match v {
        Value::Null => JValue::from(()),
        Value::Bool(b) => JValue::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                JValue::from(i)
            } else if let Some(u) = n.as_u64() {
                JValue::from(u)
            } else {
                JValue::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => JValue::from(s.as_str()),
        Value::Array(items) => MutList::new_value(items.iter().map(to_jinja).collect()),
        Value::Object(map) => MutMap::new_value(
            map.iter()
                .map(|(k, v)| (JValue::from(k.as_str()), to_jinja(v))),
        ),
    }
}

/// Template value → data. Non-string keys become their Python `str()`, as
/// `json.dumps` would print them; undefined becomes null.
pub fn to_data(v: &JValue) -> Value {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::Number => {
            if let Some(i) = v.as_i64() {
                Value::from(i)
            } else if let Ok(u) = u64::try_from(v.clone()) {
                Value::from(u)
            } else {
                f64::try_from(v.clone())
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        ValueKind::String => Value::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => {
            Value::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Map => {
            let mut out = Map::new();
            for (k, val) in map_pairs(v).unwrap_or_default() {
                out.insert(key_string(&k), to_data(&val));
            }
            Value::Object(out)
        }
        ValueKind::Seq | ValueKind::Iterable => Value::Array(
            seq_items(v)
                .unwrap_or_default()
                .iter()
                .map(to_data)
                .collect(),
        ),
        // Macros, functions and other plain objects have no data form; Python
        // would print their repr, which no state tree relies on.
        _ => Value::String(v.to_string()),
    }
}

/// How a map key prints as a JSON object key (Python `json.dumps` rules).
pub fn key_string(k: &JValue) -> String {
    match k.kind() {
        ValueKind::String => k.as_str().unwrap_or_default().to_string(),
        ValueKind::None | ValueKind::Undefined => "null".into(),
        ValueKind::Bool => if k.is_true() { "true" } else { "false" }.into(),
        _ => crate::pyfmt::py_str(&to_data(k)),
    }
}

/// Python `repr()` of a template value.
pub fn py_repr_jinja(v: &JValue) -> String {
    crate::pyfmt::py_repr(&to_data(v))
}

/// Python `str()` of a template value.
pub fn py_str_jinja(v: &JValue) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => crate::pyfmt::py_str(&to_data(v)),
    }
}
