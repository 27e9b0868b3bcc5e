//! Moving values between the data model (`serde_json::Value`) and templates.
use minijinja::value::{Value as JValue, ValueKind};

use super::mutable::{map_pairs, seq_items, MutList, MutMap};
use crate::data::{key_value, kind_of_key, sort_keys_like_python, KeyKind, Map, Value};

/// Data → template value. Maps and lists become Python-like mutable containers.
pub fn to_jinja(v: &Value) -> JValue {
    to_jinja_as(v, false)
}

/// Data → template value whose dicts are `OrderedDict`s (pillar, SLS data).
pub fn to_jinja_ordered(v: &Value) -> JValue {
    to_jinja_as(v, true)
}

fn to_jinja_as(v: &Value, ordered: bool) -> JValue {
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
        Value::Array(items) => {
            MutList::new_value(items.iter().map(|i| to_jinja_as(i, ordered)).collect())
        }
        Value::Object(map) => {
            // A key YAML loaded as `139` is the int 139 to the template.
            let entries = map.iter().map(|(k, v)| {
                let key = match map.key_kind(k) {
                    KeyKind::Str => JValue::from(k.as_str()),
                    kind => to_jinja_as(&key_value(k, kind), ordered),
                };
                (key, to_jinja_as(v, ordered))
            });
            if ordered {
                MutMap::new_ordered(entries)
            } else {
                MutMap::new_value(entries)
            }
        }
    }
}

/// Template value → data. Non-string keys become their Python `str()`, as
/// `json.dumps` would print them; undefined becomes null.
pub fn to_data(v: &JValue) -> Value {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::Number => {
            // 1.0 stays a float (Python prints it "1.0"), even though it converts to an int.
            if v.is_integer() {
                if let Some(i) = v.as_i64() {
                    return Value::from(i);
                } else if let Ok(u) = u64::try_from(v.clone()) {
                    return Value::from(u);
                }
            }
            // Infinities and NaN included: the data model holds them.
            f64::try_from(v.clone()).map_or(Value::Null, Value::from)
        }
        ValueKind::String => Value::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => {
            Value::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Map => {
            let mut out = Map::new();
            for (k, val) in map_pairs(v).unwrap_or_default() {
                out.insert_with_kind(key_string(&k), key_kind(&k), to_data(&val));
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

/// Template value → data with the keys of plain dicts sorted and
/// `OrderedDict`s left in order, as PyYAML's dumper treats them.
pub fn to_data_yaml_order(v: &JValue) -> Value {
    match v.kind() {
        ValueKind::Map => {
            let ordered = v
                .downcast_object_ref::<MutMap>()
                .is_some_and(MutMap::is_ordered);
            let pairs = map_pairs(v).unwrap_or_default();
            let mut out = Map::with_capacity(pairs.len());
            for (k, val) in &pairs {
                out.insert_with_kind(key_string(k), key_kind(k), to_data_yaml_order(val));
            }
            // A key the data model holds as text (a tuple) cannot be compared
            // with the others in Python either: PyYAML's sort fails and the
            // dict keeps its order.
            let scalar_keys = pairs.iter().all(|(k, _)| {
                matches!(
                    k.kind(),
                    ValueKind::String | ValueKind::Number | ValueKind::Bool | ValueKind::None
                )
            });
            if !ordered && scalar_keys {
                sort_keys_like_python(&mut out);
            }
            Value::Object(out)
        }
        ValueKind::Seq | ValueKind::Iterable => Value::Array(
            seq_items(v)
                .unwrap_or_default()
                .iter()
                .map(to_data_yaml_order)
                .collect(),
        ),
        _ => to_data(v),
    }
}

/// What a template's map key was, for the data model to keep.
fn key_kind(k: &JValue) -> KeyKind {
    match k.kind() {
        ValueKind::String => KeyKind::Str,
        _ => kind_of_key(&to_data(k)).unwrap_or(KeyKind::Str),
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

/// Python `repr()` of a template value. Containers are walked here, not via
/// the data model, so non-string keys print as Python prints them (`{0: 'a'}`).
pub fn py_repr_jinja(v: &JValue) -> String {
    if v.is_tuple() {
        return tuple_repr(v);
    }
    match v.kind() {
        ValueKind::Map => {
            let items: Vec<String> = map_pairs(v)
                .unwrap_or_default()
                .iter()
                .map(|(k, val)| format!("{}: {}", py_repr_jinja(k), py_repr_jinja(val)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        ValueKind::Seq => {
            let items: Vec<String> = seq_items(v)
                .unwrap_or_default()
                .iter()
                .map(py_repr_jinja)
                .collect();
            format!("[{}]", items.join(", "))
        }
        _ => crate::pyfmt::py_repr(&to_data(v)),
    }
}

/// Python `str()` of a template value.
pub fn py_str_jinja(v: &JValue) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => py_repr_jinja(v),
    }
}

/// `(1, 2)`, `(1,)`: tuples have no data form, so they print here.
fn tuple_repr(v: &JValue) -> String {
    let items: Vec<String> = seq_items(v)
        .unwrap_or_default()
        .iter()
        .map(py_repr_jinja)
        .collect();
    match items.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", items.join(", ")),
    }
}
