//! Salt's Jinja filters and tests (`salt/utils/jinja.py`, `salt/utils/data.py`).
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::convert::{py_str_jinja, to_data, to_jinja};
use super::dictupdate::traverse;
use super::mutable::{map_pairs, seq_items, MutList};

fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Registers every Salt filter and test on `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("yaml", |v: Value, flow_style: Option<bool>| {
        let data = super::convert::to_data_yaml_order(&v);
        let text = if flow_style.unwrap_or(true) {
            crate::yaml::dump_flow(&data)
        } else {
            crate::yaml::dump_block(&data)
        };
        Value::from_safe_string(text.trim().to_string())
    });
    env.add_filter("json", |v: Value, kwargs: Kwargs| -> Result<Value, Error> {
        let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
        let indent = kwargs.get::<Option<usize>>("indent")?;
        kwargs.assert_all_used()?;
        // Salt's json filter: json.dumps(sort_keys=True, ensure_ascii=False).
        let opts = crate::pyfmt::JsonOptions {
            sort_keys,
            indent,
            ensure_ascii: false,
        };
        let data = to_data(&v);
        if let Some(type_error) = sort_keys
            .then(|| crate::pyfmt::json_sort_error(&data))
            .flatten()
        {
            return Err(fail(format!("json: {type_error}")));
        }
        let text = crate::pyfmt::json_dumps_with(&data, &opts);
        Ok(Value::from_safe_string(text.trim().to_string()))
    });
    env.add_filter("tojson", |v: Value, indent: Option<usize>| {
        // Jinja2's htmlsafe_json_dumps; Salt's environment keeps insertion order.
        let text = crate::pyfmt::json_dumps(&to_data(&v), false, indent)
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\'', "\\u0027");
        Value::from_safe_string(text)
    });
    env.add_filter("yaml_encode", |v: Value| -> Result<Value, Error> {
        crate::yaml::encode_scalar(&to_data(&v))
            .map(Value::from_safe_string)
            .map_err(|e| fail(format!("yaml_encode: {}", e.message)))
    });
    env.add_filter("yaml_dquote", |v: Value| {
        Value::from_safe_string(crate::yaml::dquote(&py_str_jinja(&v)))
    });
    env.add_filter("yaml_squote", |v: Value| {
        Value::from_safe_string(format!("'{}'", py_str_jinja(&v).replace('\'', "''")))
    });
    env.add_filter("load_yaml", load_yaml);
    env.add_filter("load_json", load_json);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", |t: String, r: String, kw: Kwargs| {
        regex_find(t, r, kw, false)
    });
    env.add_filter("regex_match", |t: String, r: String, kw: Kwargs| {
        regex_find(t, r, kw, true)
    });
    env.add_filter(
        "traverse",
        |data: Value, path: String, default: Option<Value>, delim: Option<String>| {
            traverse(&data, &path, delim.as_deref().unwrap_or(":"))
                .unwrap_or(default.unwrap_or(Value::from(())))
        },
    );
    env.add_filter("to_bool", |v: Value| Value::from(to_bool(&v)));
    env.add_filter("unique", |v: Value| -> Result<Value, Error> {
        let mut out: Vec<Value> = Vec::new();
        for item in v.try_iter()? {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        Ok(MutList::new_value(out))
    });
    env.add_filter("path_join", |first: Value, rest: Rest<Value>| {
        // salt.utils.path.join: later parts lose their leading '/', then normpath.
        let mut out = normpath(&py_str_jinja(&first));
        for part in rest.iter().map(|p| normpath(&py_str_jinja(p))) {
            let part = part.trim_start_matches('/');
            if !out.is_empty() && !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(part);
        }
        Value::from(normpath(&out))
    });
    env.add_filter("sequence", |v: Value| match v.kind() {
        ValueKind::Seq => v,
        _ => MutList::new_value(vec![v]),
    });
    env.add_filter("to_num", |v: Value| {
        let s = py_str_jinja(&v);
        s.parse::<i64>()
            .map(Value::from)
            .or_else(|_| s.parse::<f64>().map(Value::from))
            .unwrap_or(v)
    });
    env.add_filter("string", |v: Value| Value::from(py_str_jinja(&v)));
    env.add_filter(
        "format",
        |fmt: String, args: Rest<Value>| -> Result<Value, Error> {
            let arg = if args.len() == 1 {
                args[0].clone()
            } else {
                Value::from(args.to_vec())
            };
            super::percent::format(&fmt, &arg)
        },
    );
    env.add_filter("quote", |v: Value| {
        Value::from(shell_quote(&py_str_jinja(&v)))
    });
    env.add_filter("flatten", |v: Value| MutList::new_value(flatten(&v)));
    env.add_filter("union", |a: Value, b: Value| {
        set_op(&a, &b, |inb, _| !inb, true)
    });
    env.add_filter("intersect", |a: Value, b: Value| {
        set_op(&a, &b, |inb, _| inb, false)
    });
    env.add_filter("difference", |a: Value, b: Value| {
        set_op(&a, &b, |inb, _| !inb, false)
    });
    env.add_filter("md5", |v: Value| hex_digest::<md5::Md5>(&v));
    env.add_filter("sha1", |v: Value| hex_digest::<sha1::Sha1>(&v));
    env.add_filter("sha256", |v: Value| hex_digest::<sha2::Sha256>(&v));
    env.add_filter("sha512", |v: Value| hex_digest::<sha2::Sha512>(&v));
    env.add_filter("base64_encode", |v: Value| {
        use base64::Engine;
        Value::from(base64::engine::general_purpose::STANDARD.encode(py_str_jinja(&v)))
    });
    env.add_filter("base64_decode", |v: Value| -> Result<Value, Error> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(py_str_jinja(&v).trim())
            .map_err(|e| fail(format!("base64_decode: {e}")))?;
        Ok(Value::from(String::from_utf8_lossy(&bytes).into_owned()))
    });
    env.add_test("list", |v: Value| v.kind() == ValueKind::Seq);
    // Jinja2's `iterable` is false for None (MiniJinja says true).
    env.add_test("iterable", |v: Value| {
        !v.is_none() && !v.is_undefined() && v.try_iter().is_ok()
    });
    env.add_test("callable", |v: Value| {
        v.as_object().is_some() && matches!(v.kind(), ValueKind::Plain)
    });
    // Jinja2's random: one item of the sequence (a character of a string),
    // undefined when it is empty. Random per render, as in Salt.
    env.add_filter(
        "random",
        |state: &State, v: Value| -> Result<Value, Error> {
            let items: Vec<Value> = match v.as_str() {
                Some(s) => s.chars().map(Value::from).collect(),
                None => v.try_iter()?.collect(),
            };
            state.consume_fuel(items.len() as u64 / 64)?;
            if items.is_empty() {
                return Ok(Value::UNDEFINED);
            }
            use std::hash::{BuildHasher, Hasher};
            // A fresh RandomState is seeded from the OS: enough for picking an item.
            let pick = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            Ok(items[(pick % items.len() as u64) as usize].clone())
        },
    );
    // Jinja2's default(value, default_value='', boolean=False).
    let default = |v: Value,
                   dflt: Option<Value>,
                   boolean: Option<bool>,
                   kwargs: Kwargs|
     -> Result<Value, Error> {
        let boolean = boolean
            .or(kwargs.get::<Option<bool>>("boolean")?)
            .unwrap_or(false);
        let dflt = dflt
            .or(kwargs.get::<Option<Value>>("default_value")?)
            .unwrap_or(Value::from(""));
        kwargs.assert_all_used()?;
        Ok(if v.is_undefined() || (boolean && !v.is_true()) {
            dflt
        } else {
            v
        })
    };
    env.add_filter("default", default);
    env.add_filter("d", default);
    // Python dict/OrderedDict from (key, value) pairs or keywords.
    env.add_function(
        "odict",
        |args: Rest<Value>, kwargs: Kwargs| -> Result<Value, Error> {
            let mut pairs = Vec::new();
            for arg in args.iter() {
                // OrderedDict(mapping) is a shallow copy in the mapping's order.
                if let Some(map) = map_pairs(arg) {
                    pairs.extend(map);
                    continue;
                }
                for item in seq_items(arg).unwrap_or_default() {
                    let kv = seq_items(&item).unwrap_or_default();
                    if let [k, v] = kv.as_slice() {
                        pairs.push((k.clone(), v.clone()));
                    }
                }
            }
            for key in kwargs.args() {
                pairs.push((Value::from(key), kwargs.get::<Value>(key)?));
            }
            Ok(super::mutable::MutMap::new_ordered(pairs))
        },
    );
}

fn load_yaml(v: Value) -> Result<Value, Error> {
    let text = py_str_jinja(&v);
    crate::yaml::load(&text)
        .map(|d| to_jinja(&d))
        .map_err(|e| fail(format!("load_yaml: {e}")))
}

fn load_json(v: Value) -> Result<Value, Error> {
    let text = py_str_jinja(&v);
    serde_json::from_str::<serde_json::Value>(&text)
        .map(|d| to_jinja(&d))
        .map_err(|e| {
            fail(format!(
                "load_json: line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })
}

/// Python regex flags as Rust inline flags.
fn build_regex(pattern: &str, kw: &Kwargs) -> Result<regex::Regex, Error> {
    let mut flags = String::new();
    if kw.get::<Option<bool>>("ignorecase")?.unwrap_or(false) {
        flags.push('i');
    }
    if kw.get::<Option<bool>>("multiline")?.unwrap_or(false) {
        flags.push('m');
    }
    let full = if flags.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{flags}){pattern}")
    };
    regex::Regex::new(&full).map_err(|e| fail(format!("bad regular expression {pattern:?}: {e}")))
}

fn regex_replace(
    state: &State,
    text: Value,
    pattern: String,
    repl: String,
    kw: Kwargs,
) -> Result<Value, Error> {
    let re = build_regex(&pattern, &kw)?;
    // Python's \1 / \g<name> group references, in Rust's ${1} / ${name} form.
    let backref = regex::Regex::new(r"\\(\d+)|\\g<(\w+)>").expect("static regex");
    let repl = repl.replace('$', "$$");
    let repl = backref.replace_all(&repl, |c: &regex::Captures| {
        format!("${{{}}}", c.get(1).or(c.get(2)).map_or("", |m| m.as_str()))
    });
    // Every match may add the whole replacement, so the output can be far
    // larger than anything the template holds: it is paid for as it grows.
    let text = py_str_jinja(&text);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(&text) {
        let m = caps.get(0).expect("group 0 is the match");
        let before = out.len();
        out.push_str(&text[last..m.start()]);
        caps.expand(&repl, &mut out);
        last = m.end();
        state.consume_fuel(1 + (out.len() - before) as u64 / 64)?;
    }
    out.push_str(&text[last..]);
    Ok(Value::from(out))
}

fn regex_find(text: String, pattern: String, kw: Kwargs, anchored: bool) -> Result<Value, Error> {
    let re = build_regex(&pattern, &kw)?;
    let caps = match re.captures(&text) {
        Some(c) if !anchored || c.get(0).is_some_and(|m| m.start() == 0) => c,
        _ => return Ok(Value::from(())),
    };
    let groups: Vec<Value> = caps
        .iter()
        .skip(1)
        .map(|m| m.map_or(Value::from(()), |m| Value::from(m.as_str())))
        .collect();
    Ok(Value::from(groups))
}

/// Salt's `to_bool` filter.
pub fn to_bool(v: &Value) -> bool {
    match v.kind() {
        ValueKind::None | ValueKind::Undefined => false,
        ValueKind::Bool => v.is_true(),
        ValueKind::String => matches!(
            v.as_str().unwrap_or("").to_lowercase().as_str(),
            "yes" | "1" | "true"
        ),
        ValueKind::Number => v.as_i64().is_some_and(|i| i > 0),
        ValueKind::Map | ValueKind::Seq => v.len().unwrap_or(0) > 0,
        _ => false,
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn flatten(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for item in seq_items(v).unwrap_or_default() {
        if item.kind() == ValueKind::Seq {
            out.extend(flatten(&item));
        } else {
            out.push(item);
        }
    }
    out
}

fn set_op(a: &Value, b: &Value, keep: impl Fn(bool, &Value) -> bool, append_b: bool) -> Value {
    let a_items = seq_items(a).unwrap_or_default();
    let b_items = seq_items(b).unwrap_or_default();
    let mut out: Vec<Value> = Vec::new();
    if append_b {
        for item in a_items.iter().chain(b_items.iter()) {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
    } else {
        for item in &a_items {
            if keep(b_items.contains(item), item) && !out.contains(item) {
                out.push(item.clone());
            }
        }
    }
    MutList::new_value(out)
}

/// Salt's hash filters: the hex digest of the value's UTF-8 text.
fn hex_digest<D: sha2::Digest>(v: &Value) -> Value {
    let digest = D::digest(py_str_jinja(v).as_bytes());
    Value::from(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
}

/// Python's `posixpath.normpath`.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    // POSIX keeps exactly two leading slashes; one or three-plus become one.
    let lead = if path.starts_with("//") && !path.starts_with("///") {
        "//"
    } else if path.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if !lead.is_empty() => {}
            c => parts.push(c),
        }
    }
    let joined = format!("{lead}{}", parts.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::normpath;

    #[test]
    fn normpath_matches_python() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("//", "//"),
            ("///a", "/a"),
            ("a/./b/../c", "a/c"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("a/b/", "a/b"),
            ("a//b", "a/b"),
            ("./", "."),
        ] {
            assert_eq!(normpath(input), want, "{input:?}");
        }
    }
}
