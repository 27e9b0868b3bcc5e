//! Salt's mine as templates read it: `salt['mine.get'](tgt, fun, tgt_type)`.
//!
//! The renderer keeps no mine. Whoever renders hands one over through its
//! host probe ([`HostProbe::mine`](super::HostProbe::mine)): the master
//! answers from the data its minions sent, masterless mode runs this host's
//! own `mine_functions` (Salt's `salt-call --local mine.get`, which reads
//! only the local minion's cache). A render given no mine fails the call,
//! instead of Brine's old `{}`, which read as "no minion matched".
use crate::config::MineFunction;
use crate::data::{Map, Value};
use crate::target::{TargetError, TargetKind};

/// Why `mine.get` could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MineError {
    #[error("mine.get: {0}")]
    Target(#[from] TargetError),
    /// Salt matches these against each minion's cached pillar; the master
    /// keeps no pillar cache to match them with.
    #[error(
        "mine.get with a target that reads pillar ({kind}) is not supported by Brine: \
         there is no pillar cache to match it against"
    )]
    NeedsPillar { kind: TargetKind },
    #[error("mine.get: unknown tgt_type '{0}'")]
    UnknownKind(String),
    #[error("mine.get: {0}")]
    Failed(String),
    #[error("mine.get is not available in this render (no mine was given to it)")]
    Unavailable,
}

/// Minions and their mine entries, sorted by minion id.
pub type Mined = Vec<(String, Map<String, Value>)>;

/// Where `mine.get` reads the mine.
pub trait MineSource: Send + Sync {
    /// For every minion `tgt` matches as a `kind` target, its mine entries
    /// named in `functions` (those it has), sorted by minion id. A minion
    /// with none of them is left out. `pillar_functions` is the rendering
    /// minion's own pillar `mine_functions`: a source that runs this host's
    /// functions itself (masterless) merges them over its config's; the
    /// master's store already holds what minions ran from their pillar.
    fn matching(
        &self,
        tgt: &Value,
        kind: TargetKind,
        functions: &[String],
        pillar_functions: &[MineFunction],
    ) -> Result<Mined, MineError>;

    /// A number that changes whenever any mine data changes, so a cache of
    /// renders that read the mine can tell when they went stale.
    fn generation(&self) -> u64;
}

/// `mine.get(tgt, fun, tgt_type)` shaped as Salt returns it: with one
/// function `{minion: data}`; with a list, or a comma-separated string of
/// several, `{function: {minion: data}}`.
pub fn get(
    source: &dyn MineSource,
    tgt: &Value,
    fun: &Value,
    tgt_type: &str,
    pillar_functions: &[MineFunction],
) -> Result<Value, MineError> {
    let kind = TargetKind::from_salt_name(tgt_type)
        .ok_or_else(|| MineError::UnknownKind(tgt_type.to_string()))?;
    let (functions, by_function) = match fun {
        Value::String(s) => {
            let mut names: Vec<String> = Vec::new();
            for name in s.split(',') {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
            let several = names.len() > 1;
            (names, several)
        }
        Value::Array(items) => (items.iter().map(crate::pyfmt::py_str).collect(), true),
        // Salt returns {} for any other type.
        _ => return Ok(Value::Object(Map::new())),
    };
    let found = source.matching(tgt, kind, &functions, pillar_functions)?;
    let mut out = Map::new();
    if by_function {
        for function in &functions {
            for (id, data) in &found {
                if let Some(v) = data.get(function) {
                    let per = out
                        .entry(function.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = per {
                        m.insert(id.clone(), v.clone());
                    }
                }
            }
        }
    } else if let Some(function) = functions.first() {
        for (id, data) in found {
            if let Some(v) = data.get(function) {
                out.insert(id, v.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

/// Keeps the entries of `data` named in `functions`.
pub fn select(data: &Map<String, Value>, functions: &[String]) -> Map<String, Value> {
    functions
        .iter()
        .filter_map(|f| data.get(f).map(|v| (f.clone(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Two minions' mine, matched by id glob only.
    struct Fixed(Vec<(String, Map<String, Value>)>);

    impl MineSource for Fixed {
        fn matching(
            &self,
            tgt: &Value,
            kind: TargetKind,
            functions: &[String],
            _: &[MineFunction],
        ) -> Result<Mined, MineError> {
            let target = crate::target::Target::parse_value(tgt, kind, &Map::new())?;
            let empty = json!({});
            Ok(self
                .0
                .iter()
                .filter(|(id, _)| {
                    target.matches(&crate::target::Facts {
                        id,
                        grains: &empty,
                        pillar: &empty,
                    })
                })
                .map(|(id, d)| (id.clone(), select(d, functions)))
                .filter(|(_, d)| !d.is_empty())
                .collect())
        }
        fn generation(&self) -> u64 {
            0
        }
    }

    fn fixed() -> Fixed {
        let m = |v: Value| v.as_object().unwrap().clone();
        Fixed(vec![
            ("db1".into(), m(json!({"network.ip_addrs": ["10.0.0.9"]}))),
            (
                "web1".into(),
                m(json!({"network.ip_addrs": ["10.0.0.1"], "disk": {"/": 1}})),
            ),
        ])
    }

    #[test]
    fn one_function_is_keyed_by_minion_and_several_by_function() {
        let f = fixed();
        let one = get(&f, &json!("*"), &json!("network.ip_addrs"), "glob", &[]).unwrap();
        assert_eq!(one, json!({"db1": ["10.0.0.9"], "web1": ["10.0.0.1"]}));
        let web = get(&f, &json!("web*"), &json!("network.ip_addrs"), "glob", &[]).unwrap();
        assert_eq!(web, json!({"web1": ["10.0.0.1"]}));
        // A repeated name is one function, as Salt's set() makes it.
        let same = get(&f, &json!("web1"), &json!("disk,disk"), "glob", &[]).unwrap();
        assert_eq!(same, json!({"web1": {"/": 1}}));
        let two = get(
            &f,
            &json!("*"),
            &json!("network.ip_addrs,disk"),
            "glob",
            &[],
        )
        .unwrap();
        assert_eq!(
            two,
            json!({"network.ip_addrs": {"db1": ["10.0.0.9"], "web1": ["10.0.0.1"]},
                   "disk": {"web1": {"/": 1}}})
        );
        let listed = get(&f, &json!("db1"), &json!(["disk"]), "glob", &[]).unwrap();
        assert_eq!(listed, json!({}));
        let none = get(&f, &json!("*"), &json!("nothing.here"), "glob", &[]).unwrap();
        assert_eq!(none, json!({}));
    }

    #[test]
    fn an_unknown_tgt_type_is_an_error_naming_it() {
        let e = get(&fixed(), &json!("*"), &json!("x"), "range", &[]).unwrap_err();
        assert_eq!(e.to_string(), "mine.get: unknown tgt_type 'range'");
    }
}
