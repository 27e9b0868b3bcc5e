//! The data model shared by grains, pillar, high data and low chunks: an ordered
//! JSON value (`serde_json` with `preserve_order`), which is also exactly what
//! `salt-call --out json` prints, so outputs compare mechanically.
pub use serde_json::Map;
pub use serde_json::Value;

/// The delimiter Salt uses in `pillar.get` / `grains.get` paths.
pub const DEFAULT_DELIMITER: &str = ":";

/// Looks up `a:b:c` in nested maps (and list indexes), as `salt.utils.data.traverse_dict_and_list`.
pub fn traverse<'a>(root: &'a Value, path: &str, delimiter: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(root);
    }
    let mut cur = root;
    for part in path.split(delimiter) {
        cur = match cur {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Salt's `salt.utils.dictupdate.update(dest, upd, recursive_update=True, merge_lists)`:
/// maps merge key by key, anything else is replaced (lists are concatenated
/// without duplicates when `merge_lists`).
pub fn merge_recursive(dest: &mut Value, upd: &Value, merge_lists: bool) {
    match (dest, upd) {
        (Value::Object(d), Value::Object(u)) => {
            for (k, uv) in u {
                match d.get_mut(k) {
                    Some(dv) if dv.is_object() && uv.is_object() => {
                        merge_recursive(dv, uv, merge_lists)
                    }
                    Some(Value::Array(dl)) if merge_lists && uv.is_array() => {
                        for item in uv.as_array().into_iter().flatten() {
                            if !dl.contains(item) {
                                dl.push(item.clone());
                            }
                        }
                    }
                    _ => {
                        d.insert(k.clone(), uv.clone());
                    }
                }
            }
        }
        (d, u) => *d = u.clone(),
    }
}

/// Python's truthiness for a value.
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn traverse_walks_maps_and_lists() {
        let v = json!({"a": {"b": [10, {"c": "x"}]}});
        assert_eq!(traverse(&v, "a:b:1:c", ":"), Some(&json!("x")));
        assert_eq!(traverse(&v, "a:b:0", ":"), Some(&json!(10)));
        assert_eq!(traverse(&v, "a:z", ":"), None);
        assert_eq!(traverse(&v, "a/b/0", "/"), Some(&json!(10)));
    }

    #[test]
    fn merge_recursive_merges_maps_and_replaces_scalars() {
        let mut d = json!({"a": {"x": 1, "l": [1]}, "b": 1});
        merge_recursive(
            &mut d,
            &json!({"a": {"y": 2, "l": [1, 2]}, "b": {"n": 1}}),
            false,
        );
        assert_eq!(
            d,
            json!({"a": {"x": 1, "l": [1, 2], "y": 2}, "b": {"n": 1}})
        );
        let mut d = json!({"l": [1, 3]});
        merge_recursive(&mut d, &json!({"l": [1, 2]}), true);
        assert_eq!(d, json!({"l": [1, 3, 2]}));
    }
}
