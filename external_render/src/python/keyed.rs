//! Map keys that are not strings, across the `#!py` protocol.
//!
//! JSON has string keys only, so a pillar's `139:` would reach `__pillar__` as
//! `'139'`, and a `run()` returning `{80: ...}` would come back as `"80"`. Such
//! a map crosses as `{"\u0000keyed": [[KIND, TEXT, VALUE], ...]}` (KIND one of
//! `int`, `float`, `bool`, `null`, `str`; TEXT as `json.dumps` prints the key),
//! and the other side builds the dict back. A map whose keys include the
//! marker itself is wrapped too, so a wrapped map can never be mistaken for
//! data. `shim.py` has the same encoding (`_tag`/`_untag`).
use common::data::{KeyKind, Map, Value};

const MARKER: &str = "\u{0}keyed";

/// `v` with every map that has a non-string key (or the marker) wrapped.
pub(super) fn tag(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(tag).collect()),
        Value::Object(map) if map.has_non_string_keys() || map.contains_key(MARKER) => {
            let entries = map
                .iter()
                .map(|(k, item)| {
                    let kind = kind_name(map.key_kind(k));
                    Value::Array(vec![kind.into(), k.clone().into(), tag(item)])
                })
                .collect();
            let mut wrapped = Map::new();
            wrapped.insert(MARKER.into(), Value::Array(entries));
            Value::Object(wrapped)
        }
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, item)| (k.clone(), tag(item))).collect())
        }
        other => other.clone(),
    }
}

/// The data `tag` (or the shim's `_tag`) wrapped, with its key kinds back.
pub(super) fn untag(v: Value) -> Result<Value, String> {
    Ok(match v {
        Value::Array(items) => {
            Value::Array(items.into_iter().map(untag).collect::<Result<_, _>>()?)
        }
        Value::Object(mut map) if map.len() == 1 && map.contains_key(MARKER) => {
            let Some(Value::Array(entries)) = map.remove(MARKER) else {
                return Err("a keyed map that is not a list of entries".into());
            };
            let mut out = Map::with_capacity(entries.len());
            for entry in entries {
                let parts = match entry {
                    Value::Array(parts) => <[Value; 3]>::try_from(parts).ok(),
                    _ => None,
                };
                let Some([Value::String(kind), Value::String(text), item]) = parts else {
                    return Err("a keyed map entry that is not [kind, key, value]".into());
                };
                let kind = kind_of_name(&kind)?;
                if out.contains_key(&text) {
                    return Err(format!(
                        "the dict has two keys that are the same key {text:?} in Brine's \
                         data (such as 1 and '1'), which cannot hold both"
                    ));
                }
                let item = untag(item)?;
                out.insert_with_kind(text, kind, item);
            }
            Value::Object(out)
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, item)| Ok((k, untag(item)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other,
    })
}

fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Str => "str",
        KeyKind::Int => "int",
        KeyKind::Float => "float",
        KeyKind::Bool => "bool",
        KeyKind::Null => "null",
    }
}

fn kind_of_name(name: &str) -> Result<KeyKind, String> {
    Ok(match name {
        "str" => KeyKind::Str,
        "int" => KeyKind::Int,
        "float" => KeyKind::Float,
        "bool" => KeyKind::Bool,
        "null" => KeyKind::Null,
        other => return Err(format!("a keyed map entry of unknown kind {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::data::key_value;

    #[test]
    fn keys_keep_their_kind_through_tag_and_untag() {
        let v = common::yaml::load("a: {http: 1, 139: [{true: x, ~: y}], 1.5: z}").unwrap();
        let wrapped = tag(&v);
        let text = serde_json::to_string(&wrapped).unwrap();
        assert!(text.contains(r#"["int","139","#), "{text}");
        let back = untag(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, v);
        let a = back["a"].as_object().unwrap();
        assert_eq!(a.key_kind("139"), KeyKind::Int);
        assert_eq!(a.key_kind("1.5"), KeyKind::Float);
        let inner = a["139"][0].as_object().unwrap();
        assert_eq!(inner.key_kind("true"), KeyKind::Bool);
        assert_eq!(key_value("null", inner.key_kind("null")), Value::Null);
    }

    #[test]
    fn a_map_holding_the_marker_is_wrapped_so_it_reads_back_as_data() {
        let mut m = Map::new();
        m.insert(MARKER.into(), Value::from("user data"));
        let v = Value::Object(m);
        assert_eq!(untag(tag(&v)).unwrap(), v);
        assert!(untag(serde_json::json!({ MARKER: [["str", "1", 1], ["int", "1", 2]] })).is_err());
        assert!(untag(serde_json::json!({ MARKER: [["tuple", "1", 1]] })).is_err());
    }
}
