//! The data model shared by grains, pillar, high data and low chunks: an ordered
//! JSON value (`serde_json` with `preserve_order`), which is also exactly what
//! `salt-call --out json` prints, so outputs compare mechanically.
//!
//! Two things Python holds that plain JSON cannot, and Brine keeps (through
//! Brine's patched `serde_json`, `vendor/PATCHES.md`): non-finite floats
//! (YAML's `.inf`, `.nan`), which JSON text writes as Python's `json.dumps`
//! does (`Infinity`, `NaN`); and map keys that were not strings (YAML's
//! `139:`), which stay JSON text but remember their [`KeyKind`], so a
//! template sees the int `139` and `yaml`/`json`/`repr` treat it as Python does.
pub use serde_json::map::KeyKind;
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
                        d.insert_with_kind(k.clone(), u.key_kind(k), uv.clone());
                    }
                }
            }
        }
        (d, u) => *d = u.clone(),
    }
}

/// A map key as the value it was before it became JSON text: the int `139`
/// for YAML's `139:`, the text itself for a string key.
pub fn key_value(text: &str, kind: KeyKind) -> Value {
    match kind {
        KeyKind::Str => Value::String(text.to_string()),
        KeyKind::Null => Value::Null,
        KeyKind::Bool => Value::Bool(text == "true"),
        KeyKind::Int => match (text.parse::<i64>(), text.parse::<u64>()) {
            (Ok(i), _) => Value::from(i),
            (_, Ok(u)) => Value::from(u),
            // An int past 64 bits is held as the float nearest to it, as
            // everywhere else in the data model.
            _ => Value::from(text.parse::<f64>().unwrap_or(f64::NAN)),
        },
        KeyKind::Float => Value::from(text.parse::<f64>().unwrap_or(f64::NAN)),
    }
}

/// The kind of key a scalar makes: what [`key_value`] turns back into it.
/// `None` for a list or a map, which cannot be a key.
pub fn kind_of_key(v: &Value) -> Option<KeyKind> {
    Some(match v {
        Value::Null => KeyKind::Null,
        Value::Bool(_) => KeyKind::Bool,
        Value::Number(n) if n.is_f64() => KeyKind::Float,
        Value::Number(_) => KeyKind::Int,
        Value::String(_) => KeyKind::Str,
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// Python's `sorted()` of a dict's keys: strings by code point, numbers
/// (bools among them) by value. `Err` with Python's `TypeError` message when
/// the keys cannot be compared (a string and a number, or a `None` among
/// several keys), which `json.dumps(sort_keys=True)` raises and PyYAML's
/// dumper catches to keep the insertion order.
pub fn sorted_like_python(map: &Map<String, Value>) -> Result<Vec<(&String, &Value)>, String> {
    let mut entries: Vec<(&String, KeyKind, &Value)> =
        map.iter().map(|(k, v)| (k, map.key_kind(k), v)).collect();
    let class = |kind: KeyKind| match kind {
        KeyKind::Str => "str",
        KeyKind::Null => "NoneType",
        KeyKind::Int => "int",
        KeyKind::Float => "float",
        KeyKind::Bool => "bool",
    };
    let numeric = |kind: KeyKind| matches!(kind, KeyKind::Int | KeyKind::Float | KeyKind::Bool);
    if entries.len() > 1 {
        let first = entries[0].1;
        let clash = entries.iter().skip(1).find(|(_, kind, _)| {
            let both_numbers = numeric(first) && numeric(*kind);
            !(both_numbers || (first == KeyKind::Str && *kind == KeyKind::Str))
        });
        if let Some((_, kind, _)) = clash {
            return Err(format!(
                "'<' not supported between instances of '{}' and '{}'",
                class(*kind),
                class(first)
            ));
        }
    }
    if entries
        .first()
        .is_some_and(|(_, kind, _)| *kind == KeyKind::Str)
    {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    } else {
        let number = |(text, kind, _): &(&String, KeyKind, &Value)| {
            key_value(text, *kind)
                .as_f64()
                .unwrap_or(if text.as_str() == "true" { 1.0 } else { 0.0 })
        };
        entries.sort_by(|a, b| number(a).total_cmp(&number(b)));
    }
    Ok(entries.into_iter().map(|(k, _, v)| (k, v)).collect())
}

/// `map` in the order [`sorted_like_python`] gives, as PyYAML's dumper sorts
/// a plain dict: left as it is when Python cannot compare its keys.
pub fn sort_keys_like_python(map: &mut Map<String, Value>) {
    let Ok(sorted) = sorted_like_python(map) else {
        return;
    };
    let keys: Vec<String> = sorted.into_iter().map(|(k, _)| k.clone()).collect();
    let mut out = Map::with_capacity(keys.len());
    for k in keys {
        let kind = map.key_kind(&k);
        if let Some(v) = map.swap_remove(&k) {
            out.insert_with_kind(k, kind, v);
        }
    }
    *map = out;
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
    fn non_finite_floats_are_floats_and_print_as_python_json_does() {
        let v = crate::yaml::load("[.inf, -.inf, .nan, '.inf']").unwrap();
        assert!(v[0].as_f64().is_some_and(|f| f == f64::INFINITY));
        assert!(v[2].as_f64().is_some_and(f64::is_nan));
        assert_eq!(v[3], json!(".inf"));
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, r#"[Infinity,-Infinity,NaN,".inf"]"#);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        assert!(is_truthy(&v[2]), "bool(nan) is True in Python");
        assert!(serde_json::from_str::<Value>("-NaN").is_err());
        assert!(serde_json::from_str::<Value>("Inf").is_err());
    }

    #[test]
    fn keys_remember_what_they_were_through_merge_and_clone() {
        let loaded = crate::yaml::load("m: {http: 1, 139: 2, true: 3, ~: 4, 1.5: 5}").unwrap();
        let mut merged = json!({"m": {"ssh": 0}});
        merge_recursive(&mut merged, &loaded, false);
        let m = merged["m"].as_object().unwrap().clone();
        let kinds: Vec<KeyKind> = m.keys().map(|k| m.key_kind(k)).collect();
        use KeyKind::*;
        assert_eq!(kinds, [Str, Str, Int, Bool, Null, Float]);
        assert_eq!(key_value("139", Int), json!(139));
        assert_eq!(
            crate::pyfmt::py_repr(&merged["m"]),
            "{'ssh': 0, 'http': 1, 139: 2, True: 3, None: 4, 1.5: 5}"
        );
        // A key removed and added again is the string it is added as.
        let mut m = m;
        m.remove("139");
        m.insert("139".into(), json!(2));
        assert_eq!(m.key_kind("139"), Str);
        assert_eq!(m.key_kind("absent"), Str);
    }

    #[test]
    fn keys_sort_as_python_sorts_them_or_refuse_as_python_does() {
        let ints = crate::yaml::load("{10: a, 9: b, 100: c}").unwrap();
        let order: Vec<&String> = sorted_like_python(ints.as_object().unwrap())
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(order, ["9", "10", "100"]);
        let mixed = crate::yaml::load("{http: a, 139: b}").unwrap();
        let err = sorted_like_python(mixed.as_object().unwrap()).unwrap_err();
        assert_eq!(
            err,
            "'<' not supported between instances of 'int' and 'str'"
        );
        let mut nested = Map::new();
        nested.insert("x".into(), mixed.clone());
        let nested = Value::Array(vec![Value::Object(nested)]);
        assert_eq!(crate::pyfmt::json_sort_error(&nested), Some(err));
        // PyYAML's dumper keeps the order of keys it cannot sort, and writes
        // an int key plain where a string key that looks like one is quoted.
        let block = crate::yaml::dump(
            &mixed,
            &crate::yaml::DumpOptions {
                default_flow_style: Some(false),
                sort_keys: true,
                allow_unicode: true,
            },
        );
        assert_eq!(block, "http: a\n139: b\n");
        assert_eq!(crate::yaml::dump_flow(&json!({"139": 1})), "{'139': 1}\n");
        // An int key past 64 bits keeps Python's exact text (found by fuzzing).
        let big = crate::yaml::load("123456789012345678901234567890: big").unwrap();
        assert_eq!(
            crate::yaml::dump_block(&big),
            "123456789012345678901234567890: big\n"
        );
        assert_eq!(
            crate::pyfmt::py_repr(&big),
            "{123456789012345678901234567890: 'big'}"
        );
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
