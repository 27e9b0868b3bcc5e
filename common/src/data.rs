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

/// Python's `bool(v)`: what a template's `{% if %}`, an `onlyif`-style
/// condition or an `allow_empty` check sees. Not for boolean arguments of
/// execution functions: those follow Salt's [`is_true`], where `"yes"` is
/// false and `"1"` is true.
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

/// Salt's `salt.utils.data.is_true`, the truthiness of a boolean argument
/// (`python_shell`, `test`, ...): a number (or a string Python's `int()` or
/// `float()` reads) is true when greater than 0, after `int()` truncates it;
/// another string when it is `true` in any case; anything else by Python's
/// `bool()`.
pub fn is_true(v: &Value) -> bool {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i > 0,
            (_, Some(u), _) => u > 0,
            (_, _, Some(f)) => f.trunc() > 0.0,
            _ => false,
        },
        Value::String(s) => match python_number(s) {
            Some(f) => f > 0.0,
            None => s.to_lowercase() == "true",
        },
        other => is_truthy(other),
    }
}

/// Python's `float(int(s))`, else `float(s)`: surrounding whitespace is
/// ignored and `_` may sit between digits. `None` when both raise.
fn python_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let bytes = s.as_bytes();
    let underscores_ok = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'_'
            || (i > 0
                && i + 1 < bytes.len()
                && bytes[i - 1].is_ascii_digit()
                && bytes[i + 1].is_ascii_digit())
    });
    if !underscores_ok {
        return None;
    }
    let plain = s.replace('_', "");
    let digits = plain.strip_prefix(['+', '-']).unwrap_or(&plain);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let zero = digits.bytes().all(|b| b == b'0');
        return Some(match (zero, plain.starts_with('-')) {
            (true, _) => 0.0,
            (false, true) => -1.0,
            (false, false) => 1.0,
        });
    }
    plain.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn is_true_is_salts() {
        // Expected values printed by Python 3.11 running the body of
        // salt.utils.data.is_true over json.loads(CASE).
        let cases = json!([
            [null, false], [true, true], [false, false], [0, false], [1, true],
            [2, true], [-1, false], [0.5, false], [1.5, true], [-0.5, false],
            ["True", true], ["true", true], ["TRUE", true], ["yes", false],
            ["on", false], ["1", true], ["0", false], ["-1", false], [" 1 ", true],
            ["2", true], ["0.5", true], ["0.0", false], ["1e3", true], ["inf", true],
            ["nan", false], ["-inf", false], ["1_000", true], ["", false],
            ["false", false], ["no", false], ["y", false], [[], false], [[0], true],
            [{}, false], [{"a": 1}, true]
        ]);
        for case in cases.as_array().unwrap() {
            assert_eq!(is_true(&case[0]), case[1] == json!(true), "{}", case[0]);
        }
    }

    #[test]
    fn is_truthy_is_pythons_bool() {
        assert!(is_truthy(&json!("no")));
        assert!(!is_truthy(&json!("")));
        assert!(is_truthy(&json!(0.5)));
        assert!(!is_truthy(&json!({})));
    }

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
