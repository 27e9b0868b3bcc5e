//! Salt's `check_requisite`: the status of a state's requisites, which decides
//! whether and how it runs (Salt's documented requisite truth table).
use std::collections::{BTreeSet, HashMap};

use common::data::Value;
use common::target::fnmatch;

use super::ret::{tag, StateRet};
use crate::compile::Chunk;

/// Requisite kinds in Salt's evaluation order.
pub const KINDS: &[&str] = &[
    "require",
    "require_any",
    "watch",
    "watch_any",
    "prereq",
    "onfail",
    "onfail_any",
    "onfail_all",
    "onchanges",
    "onchanges_any",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Run it.
    Met,
    /// A requisite has not run yet (or does not exist).
    Unmet,
    /// A required state failed: not run, result False.
    Fail,
    /// Watched state changed: run, then mod_watch if it made no change itself.
    Change,
    /// prereq: the pre-checked state would not change: not run.
    Pre,
    /// onfail: nothing failed: not run, result True.
    Onfail,
    /// onchanges: nothing changed: not run, result True.
    Onchanges,
}

/// A requisite entry `{state: name}` (or a bare id).
pub fn entries(chunk: &Chunk, kind: &str) -> Vec<(String, String)> {
    let Some(Value::Array(items)) = chunk.get(kind) else {
        return vec![];
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(s) => Some(("id".to_string(), s.clone())),
            Value::Object(m) => m.iter().next().and_then(|(k, v)| match v {
                Value::Null => None,
                v => Some((k.clone(), common::pyfmt::py_str(v))),
            }),
            _ => None,
        })
        .collect()
}

/// Whether `candidate` is what requisite `key: val` names.
pub fn names(candidate: &Chunk, key: &str, val: &str) -> bool {
    let s = |k: &str| {
        candidate
            .get(k)
            .map(common::pyfmt::py_str)
            .unwrap_or_default()
    };
    if key == "sls" {
        let included = candidate
            .get("__sls_included_from__")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(val)));
        return fnmatch(&s("__sls__"), val) || included;
    }
    (fnmatch(&s("name"), val) || fnmatch(&s("__id__"), val)) && (key == "id" || s("state") == key)
}

/// The chunks each requisite kind of `low` refers to; `None` if one is missing.
pub fn resolve(
    low: &Chunk,
    chunks: &[Chunk],
    kinds: &[&str],
) -> Option<HashMap<String, Vec<usize>>> {
    let mut out: HashMap<String, Vec<usize>> = HashMap::new();
    for kind in kinds {
        for (key, val) in entries(low, kind) {
            let found: Vec<usize> = chunks
                .iter()
                .enumerate()
                .filter(|(_, c)| names(c, &key, &val))
                .map(|(i, _)| i)
                .collect();
            if found.is_empty() {
                return None;
            }
            out.entry(kind.to_string()).or_default().extend(found);
        }
    }
    Some(out)
}

/// The chunks whose `__id__` is `id`, with every chunk their requisites
/// name, transitively, in the run's order: Salt's `state.sls_id` calls
/// `call_chunk` on the ID's chunks, which runs a requisite not yet run.
pub fn with_requisites(chunks: Vec<Chunk>, id: &str) -> Vec<Chunk> {
    let mut kinds: Vec<&str> = KINDS.to_vec();
    kinds.push("prerequired");
    let mut wanted: BTreeSet<usize> = BTreeSet::new();
    let mut todo: Vec<usize> = (0..chunks.len())
        .filter(|&i| chunks[i].get("__id__").and_then(Value::as_str) == Some(id))
        .collect();
    while let Some(i) = todo.pop() {
        if !wanted.insert(i) {
            continue;
        }
        for kind in &kinds {
            for (key, val) in entries(&chunks[i], kind) {
                todo.extend((0..chunks.len()).filter(|&j| names(&chunks[j], &key, &val)));
            }
        }
    }
    chunks
        .into_iter()
        .enumerate()
        .filter(|(i, _)| wanted.contains(i))
        .map(|(_, c)| c)
        .collect()
}

/// `check_requisite`: the status of `low`'s requisites given what has run.
pub fn check(
    low: &Chunk,
    chunks: &[Chunk],
    running: &HashMap<String, StateRet>,
    pre_run: &HashMap<String, StateRet>,
    has_mod_watch: bool,
    include_prerequired: bool,
) -> (Status, HashMap<String, Vec<usize>>) {
    let mut kinds: Vec<&str> = KINDS.to_vec();
    if include_prerequired {
        kinds.push("prerequired");
    }
    // Without a mod_watch, watch is require (Salt converts it).
    let rename = |k: &str| -> String {
        match (k, has_mod_watch) {
            ("watch", false) => "require".into(),
            ("watch_any", false) => "require_any".into(),
            _ => k.into(),
        }
    };
    let present = kinds.iter().any(|k| low.contains_key(*k)) || low.contains_key("prerequired");
    if !present {
        return (Status::Met, HashMap::new());
    }
    let Some(resolved) = resolve(low, chunks, &kinds) else {
        return (Status::Unmet, HashMap::new());
    };
    let mut reqs: HashMap<String, Vec<usize>> = HashMap::new();
    for (kind, idxs) in resolved {
        reqs.entry(rename(&kind)).or_default().extend(idxs);
    }
    let mut fun_stats: BTreeSet<&'static str> = BTreeSet::new();
    for (r_state, idxs) in &reqs {
        let mut stats: BTreeSet<&'static str> = BTreeSet::new();
        let run_dict = if r_state.starts_with("prereq") && !r_state.starts_with("prerequired") {
            pre_run
        } else {
            running
        };
        for &i in idxs {
            let Some(ret) = run_dict.get(&tag(&chunks[i])) else {
                stats.insert("unmet");
                continue;
            };
            if r_state.starts_with("onfail") {
                if ret.result == Some(true) {
                    stats.insert("onfail");
                    continue;
                }
            } else if ret.result == Some(false) {
                stats.insert("fail");
                continue;
            }
            if r_state.starts_with("onchanges") {
                stats.insert(if ret.changes.is_empty() {
                    "onchanges"
                } else {
                    "onchangesmet"
                });
                continue;
            }
            if r_state.starts_with("watch") && !ret.changes.is_empty() {
                stats.insert("change");
                continue;
            }
            // Salt's two ifs, kept in their shape: a prereq that would change
            // is both "premet" and "met"; a prerequired with a result adds nothing.
            let prereq_kind = r_state.starts_with("prereq");
            let prerequired = r_state.starts_with("prerequired");
            if prereq_kind && ret.result.is_none() && !prerequired {
                stats.insert("premet");
            }
            if prereq_kind && ret.result.is_some() {
                if !prerequired {
                    stats.insert("pre");
                }
            } else if ret.state_ran {
                stats.insert("met");
            }
        }
        if r_state.ends_with("_any") || r_state == "onfail" {
            if stats.contains("met") || stats.contains("change") {
                stats.remove("fail");
            }
            if stats.contains("onchangesmet") {
                stats.remove("onchanges");
                stats.remove("fail");
            }
            if stats.contains("onfail") && stats.contains("met") {
                stats.remove("onfail");
            }
        }
        if r_state.ends_with("_all") && stats.contains("onfail") {
            stats.remove("met");
        }
        fun_stats.extend(stats);
    }
    let has = |s: &str| fun_stats.contains(s);
    let status = if has("unmet") {
        Status::Unmet
    } else if has("fail") {
        Status::Fail
    } else if has("pre") {
        if has("premet") {
            Status::Met
        } else {
            Status::Pre
        }
    } else if has("onfail") && !has("onchangesmet") {
        Status::Onfail
    } else if has("onchanges") && !has("onchangesmet") {
        Status::Onchanges
    } else if has("change") {
        Status::Change
    } else if has("onfail") {
        Status::Onfail
    } else {
        Status::Met
    };
    (status, reqs)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn low(id: &str, extra: Value) -> Chunk {
        let mut c: Chunk = serde_json::from_value(
            json!({"state": "test", "fun": "nop", "__id__": id, "name": id, "__sls__": "s"}),
        )
        .unwrap();
        if let Value::Object(m) = extra {
            c.extend(m);
        }
        c
    }

    #[test]
    fn with_requisites_keeps_the_id_and_what_it_needs_in_order() {
        let chunks = vec![
            low("a", json!({})),
            low("unrelated", json!({})),
            low("b", json!({"require": [{"test": "a"}]})),
            low("c", json!({"watch": ["b"], "onchanges": [{"test": "d"}]})),
            low("d", json!({})),
        ];
        let ids = |v: Vec<Chunk>| -> Vec<String> {
            v.iter()
                .map(|c| c["__id__"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            ids(with_requisites(chunks.clone(), "c")),
            ["a", "b", "c", "d"]
        );
        assert_eq!(ids(with_requisites(chunks.clone(), "a")), ["a"]);
        assert!(with_requisites(chunks, "nosuch").is_empty());
    }
}
