//! `file.accumulated` (salt/states/file.py `accumulated`): text gathered
//! during a run for a file that a later `file.managed` (its template's
//! `accumulator` variable) or `file.blockreplace` (appended to its
//! content) of the same run consumes.
//!
//! Salt keeps these in a file per state run (`_load_accumulators` /
//! `_persist_accummulators`, deleted when the run ends); Brine keeps them in
//! memory on the run's [`HostRead`] (the executor gives each run a fresh
//! [`Accumulators`]). The order is the requisites': the accumulator's
//! `require_in`/`watch_in` makes the consumer run after it. Recording text
//! changes nothing on the host, so it happens in test mode too, as in Salt.
use common::data::{Map, Value};

use super::super::{Args, Check, HostRead, StateError};

/// One run's accumulators, in Salt's two shapes.
#[derive(Debug, Default)]
pub struct Accumulators {
    /// filename → accumulator name → texts (strings or maps), in order.
    data: Map<String, Value>,
    /// filename → accumulator name → the ids its requisites name.
    deps: Map<String, Value>,
}

fn entry<'m>(map: &'m mut Map<String, Value>, a: &str, b: &str) -> &'m mut Vec<Value> {
    let inner = map
        .entry(a.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !inner.is_object() {
        *inner = Value::Object(Map::new());
    }
    let Value::Object(inner) = inner else {
        unreachable!("made a map above")
    };
    let list = inner
        .entry(b.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    match list {
        Value::Array(l) => l,
        _ => unreachable!("made a list above"),
    }
}

/// A requisite argument as a list of its entries (Salt reads them from
/// `__low__` as given: a list, or one map).
fn requisites(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(items)) => items.clone(),
        Some(other @ Value::Object(_)) => vec![other.clone()],
        _ => Vec::new(),
    }
}

pub(super) fn accumulated(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    if name.is_empty() {
        return Ok(Check::fail("Must provide name to file.accumulated"));
    }
    let filename = args.str("filename")?.unwrap_or_default();
    let text = match args.get("text") {
        None | Some(Value::Null) => return Ok(Check::fail("No text supplied for accumulator")),
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    };
    let mut deps = requisites(args.get("require_in"));
    deps.extend(requisites(args.get("watch_in")));
    // Salt's `"file" in x`: a map's key, or a substring of a bare id.
    let names_a_file = |d: &Value| match d {
        Value::Object(m) => m.contains_key("file"),
        Value::String(s) => s.contains("file"),
        _ => false,
    };
    if !deps.iter().any(names_a_file) {
        let str_of = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("");
        return Ok(Check::fail(format!(
            "Orphaned accumulator {name} in {}:{}",
            str_of("__sls__"),
            str_of("__id__")
        )));
    }
    let mut store = host.accumulators();
    let ids = entry(&mut store.deps, &filename, &name);
    for d in &deps {
        match d {
            Value::Object(m) => ids.extend(m.values().cloned()),
            // Salt extends the list with a bare id's characters; kept, since
            // only a consumer whose id is among them counts as named.
            Value::String(s) => ids.extend(s.chars().map(|c| Value::String(c.to_string()))),
            _ => {}
        }
    }
    let texts = entry(&mut store.data, &filename, &name);
    let mut comment = String::new();
    for chunk in text {
        if !texts.contains(&chunk) {
            texts.push(chunk);
            comment = format!("Accumulator {name} for file {filename} was charged by text");
        }
    }
    Ok(Check::clean(comment))
}

/// `file.managed`'s template variable `accumulator`: every accumulator of
/// `name` (accumulator name → texts), if any was charged this run.
pub(super) fn template_var(host: &HostRead, name: &str) -> Option<Value> {
    host.accumulators().data.get(name).cloned()
}

/// `file.blockreplace`'s content with the accumulated lines for `name`
/// appended, one per line: only the accumulators that name this state's
/// `id` among their requisites, else all of them (Salt's filter).
pub(super) fn extend_block(host: &HostRead, name: &str, id: &str, content: &mut String) {
    let store = host.accumulators();
    let Some(Value::Object(accumulators)) = store.data.get(name) else {
        return;
    };
    let named: Vec<&String> = match store.deps.get(name) {
        Some(Value::Object(deps)) => deps
            .iter()
            .filter(|(acc, ids)| {
                accumulators.contains_key(*acc)
                    && ids
                        .as_array()
                        .is_some_and(|l| l.iter().any(|i| i.as_str() == Some(id)))
            })
            .map(|(acc, _)| acc)
            .collect(),
        _ => Vec::new(),
    };
    let chosen: Vec<&String> = if named.is_empty() {
        accumulators.keys().collect()
    } else {
        named
    };
    for acc in chosen {
        for line in accumulators[acc.as_str()].as_array().into_iter().flatten() {
            let line = common::pyfmt::py_str(line);
            if content.is_empty() {
                *content = line;
            } else {
                content.push('\n');
                content.push_str(&line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::super::testutil::{chunk, TestHost};

    /// An accumulator charging `text` for `/out`, and the managed file
    /// whose template joins it.
    fn chunks(text: &str) -> Vec<common::data::Map<String, common::data::Value>> {
        vec![
            chunk(
                "file",
                "accumulated",
                json!({"__id__": "acc", "__sls__": "t", "__env__": "base", "order": 1,
                       "name": "acc", "filename": "/out", "text": text,
                       "require_in": [{"file": "out"}]}),
            ),
            chunk(
                "file",
                "managed",
                json!({"__id__": "out", "__sls__": "t", "__env__": "base", "order": 2,
                       "name": "/out", "source": "salt://t.j2", "template": "jinja",
                       "require": [{"file": "acc"}]}),
            ),
        ]
    }

    #[test]
    fn each_run_starts_with_no_accumulated_text() {
        let t = TestHost::new();
        t.source("t.j2", "{{ accumulator['acc'] | join(',') }}\n");
        let host = t.host.clone();
        let first = crate::run::Runner::new(host.clone(), false).run(chunks("one"));
        assert_eq!(first.failed(), 0, "{}", first.to_json());
        assert_eq!(t.read("/out"), "one\n");
        // The same HostRead for a second run: only that run's text counts.
        let second = crate::run::Runner::new(host, false).run(chunks("two"));
        assert_eq!(second.failed(), 0, "{}", second.to_json());
        assert_eq!(t.read("/out"), "two\n");
    }
}
