//! What a candidate state tree changes for one minion: its low chunks
//! compared with the current tree's, by state tag
//! (`state_|-id_|-name_|-fun`, unique within a compile). Pure data in, data
//! out; `master plan` builds its report from it.
//!
//! A chunk's `order` is left out of the comparison: adding one chunk
//! renumbers every chunk after it, and a plan that listed each of them as
//! changed would hide the change that matters.
use std::collections::{BTreeSet, HashMap};

use common::data::{Map, Value};
use serde_json::json;

use super::Chunk;
use crate::run::tag;

/// Chunk keys that are not compared.
const IGNORED: &[&str] = &["order"];

/// One argument that differs between the current and the candidate chunk;
/// `None` where the argument is absent on that side.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgChange {
    pub arg: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// A chunk present on both sides (same tag) whose arguments differ.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedChunk {
    pub tag: String,
    pub args: Vec<ArgChange>,
}

/// The difference between two compiles of one minion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanDiff {
    /// Candidate chunks whose tag the current compile lacks, in candidate order.
    pub added: Vec<Chunk>,
    /// Current chunks whose tag the candidate lacks, in current order.
    pub removed: Vec<Chunk>,
    /// In candidate order.
    pub changed: Vec<ChangedChunk>,
}

impl PlanDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// `{"added": [chunk...], "removed": [chunk...], "changed": [{"tag",
    /// "args": {arg: {"old", "new"}}}]}`; an absent side is `null`.
    pub fn to_json(&self) -> Value {
        let chunks = |c: &[Chunk]| Value::Array(c.iter().cloned().map(Value::Object).collect());
        let changed = self
            .changed
            .iter()
            .map(|c| {
                let mut args = Map::new();
                for a in &c.args {
                    args.insert(
                        a.arg.clone(),
                        json!({"old": a.old.clone(), "new": a.new.clone()}),
                    );
                }
                json!({"tag": c.tag, "args": args})
            })
            .collect();
        json!({
            "added": chunks(&self.added),
            "removed": chunks(&self.removed),
            "changed": Value::Array(changed),
        })
    }
}

/// Compares the current tree's chunks with the candidate's.
pub fn diff(current: &[Chunk], candidate: &[Chunk]) -> PlanDiff {
    let old: HashMap<String, &Chunk> = current.iter().map(|c| (tag(c), c)).collect();
    let new_tags: BTreeSet<String> = candidate.iter().map(tag).collect();
    let mut out = PlanDiff::default();
    for chunk in candidate {
        let t = tag(chunk);
        match old.get(&t) {
            None => out.added.push(chunk.clone()),
            Some(before) => {
                let args = changed_args(before, chunk);
                if !args.is_empty() {
                    out.changed.push(ChangedChunk { tag: t, args });
                }
            }
        }
    }
    out.removed = current
        .iter()
        .filter(|c| !new_tags.contains(&tag(c)))
        .cloned()
        .collect();
    out
}

/// The arguments that differ, in the candidate's key order, then those only
/// the current chunk has.
fn changed_args(old: &Chunk, new: &Chunk) -> Vec<ArgChange> {
    let mut out = Vec::new();
    for (k, v) in new {
        if IGNORED.contains(&k.as_str()) {
            continue;
        }
        if old.get(k) != Some(v) {
            out.push(ArgChange {
                arg: k.clone(),
                old: old.get(k).cloned(),
                new: Some(v.clone()),
            });
        }
    }
    for (k, v) in old {
        if !IGNORED.contains(&k.as_str()) && !new.contains_key(k) {
            out.push(ArgChange {
                arg: k.clone(),
                old: Some(v.clone()),
                new: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: &str, fun: &str, args: Value) -> Chunk {
        let mut c = json!({
            "state": "file", "__id__": id, "name": id, "fun": fun,
            "__sls__": "app", "__env__": "base", "order": 10000,
        });
        for (k, v) in args.as_object().unwrap() {
            c[k] = v.clone();
        }
        c.as_object().unwrap().clone()
    }

    #[test]
    fn identical_compiles_have_no_difference() {
        let a = vec![chunk("/a", "managed", json!({"mode": "0644"}))];
        let d = diff(&a, &a.clone());
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            d.to_json(),
            json!({"added": [], "removed": [], "changed": []})
        );
    }

    #[test]
    fn a_changed_argument_is_listed_with_its_old_and_new_value_only() {
        let old = vec![
            chunk("/a", "managed", json!({"mode": "0644", "user": "root"})),
            chunk("/b", "managed", json!({})),
        ];
        let new = vec![
            chunk("/a", "managed", json!({"mode": "0600", "user": "root"})),
            chunk("/b", "managed", json!({})),
        ];
        let d = diff(&old, &new);
        assert!(d.added.is_empty() && d.removed.is_empty());
        assert_eq!(
            d.changed,
            vec![ChangedChunk {
                tag: "file_|-/a_|-/a_|-managed".into(),
                args: vec![ArgChange {
                    arg: "mode".into(),
                    old: Some(json!("0644")),
                    new: Some(json!("0600")),
                }],
            }]
        );
        assert_eq!(
            d.to_json()["changed"][0]["args"],
            json!({"mode": {"old": "0644", "new": "0600"}})
        );
    }

    #[test]
    fn an_argument_given_on_one_side_only_is_null_on_the_other() {
        let old = vec![chunk("/a", "managed", json!({"backup": "minion"}))];
        let new = vec![chunk("/a", "managed", json!({"makedirs": true}))];
        let d = diff(&old, &new);
        assert_eq!(
            d.to_json()["changed"][0]["args"],
            json!({
                "makedirs": {"old": null, "new": true},
                "backup": {"old": "minion", "new": null},
            })
        );
    }

    #[test]
    fn added_and_removed_chunks_by_tag_and_renumbered_order_is_no_change() {
        let old = vec![
            chunk("/a", "managed", json!({})),
            chunk("/gone", "managed", json!({})),
        ];
        let mut renumbered = chunk("/a", "managed", json!({}));
        renumbered["order"] = json!(10001);
        let new = vec![
            chunk("/new", "managed", json!({})),
            renumbered,
            // Same id, another function: a different chunk.
            chunk("/a", "absent", json!({})),
        ];
        let d = diff(&old, &new);
        assert_eq!(
            d.added.iter().map(tag).collect::<Vec<_>>(),
            ["file_|-/new_|-/new_|-managed", "file_|-/a_|-/a_|-absent"]
        );
        assert_eq!(
            d.removed.iter().map(tag).collect::<Vec<_>>(),
            ["file_|-/gone_|-/gone_|-managed"]
        );
        assert!(d.changed.is_empty(), "{:?}", d.changed);
    }
}
