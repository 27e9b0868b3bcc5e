//! A low chunk's arguments, with typed getters that read Salt's forms
//! (`mode: 644`, `'0644'`, `True`/`"yes"`), and a record of what was read so
//! arguments no state function asked for are reported. `Args` knows its
//! chunk's signature (from `state`/`fun`), and in debug builds refuses a read
//! the signature table does not list.
use std::cell::RefCell;
use std::collections::BTreeSet;

use common::data::{Map, Value};

use super::signatures::{self, Signature};
use super::StateError;

/// The arguments of one low chunk.
pub struct Args<'a> {
    chunk: &'a Map<String, Value>,
    read: RefCell<BTreeSet<String>>,
    table: Option<Table>,
}

/// The chunk's `state.fun` and what its table says it accepts.
struct Table {
    module: &'static str,
    function: &'static Signature,
    mod_watch: Option<&'static Signature>,
}

impl Table {
    /// The table of the chunk's `state`/`fun`, if Brine has that function.
    fn of(chunk: &Map<String, Value>) -> Option<Table> {
        let module = chunk.get("state")?.as_str()?;
        let fun = chunk.get("fun")?.as_str()?;
        let m = super::registry().into_iter().find(|m| m.name() == module)?;
        Some(Table {
            module: m.name(),
            function: m.signature(fun)?,
            mod_watch: m.mod_watch_signature(),
        })
    }

    /// Documented, not merely accepted: a `**kwargs` function's table
    /// still names every argument it uses.
    fn lists(&self, key: &str) -> bool {
        self.function.documents(key) || self.mod_watch.is_some_and(|w| w.documents(key))
    }
}

impl<'a> Args<'a> {
    pub fn new(chunk: &'a Map<String, Value>) -> Self {
        Args {
            chunk,
            read: RefCell::new(BTreeSet::new()),
            table: Table::of(chunk),
        }
    }

    /// The raw value of an argument, if given (and not null).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        if let Some(t) = &self.table {
            // A read the table does not list would make `unknown_args` call
            // a working argument misspelt: every state test that reads an
            // argument checks its function's entry here.
            debug_assert!(
                t.lists(key),
                "{}.{} reads '{key}', which its signature table does not list \
                 (add it in states/src/state/signatures/tables.rs)",
                t.module,
                t.function.name
            );
        }
        self.read.borrow_mut().insert(key.to_string());
        self.chunk.get(key).filter(|v| !v.is_null())
    }

    /// `name` (always present in a low chunk).
    pub fn name(&self) -> String {
        self.chunk
            .get("name")
            .map(common::pyfmt::py_str)
            .unwrap_or_default()
    }

    pub fn str(&self, key: &str) -> Result<Option<String>, StateError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(common::pyfmt::py_str(v))),
            Some(v) => Err(StateError::args(format!(
                "'{key}' must be a string, got {v}"
            ))),
        }
    }

    pub fn str_or(&self, key: &str, default: &str) -> Result<String, StateError> {
        Ok(self.str(key)?.unwrap_or_else(|| default.to_string()))
    }

    /// A boolean as Salt reads it (`True`, `"true"`, `"yes"`, `1`).
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, StateError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
            Some(Value::String(s)) => match s.to_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(true),
                "false" | "no" | "off" | "0" | "" => Ok(false),
                _ => Err(StateError::args(format!(
                    "'{key}' must be true or false, got {s:?}"
                ))),
            },
            Some(v) => Err(StateError::args(format!(
                "'{key}' must be true or false, got {v}"
            ))),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, StateError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
            Some(v) => Err(StateError::args(format!(
                "'{key}' must be an integer, got {v}"
            ))),
        }
    }

    /// A file mode as Salt's file states read it: `644`, `'0644'`, `0644`
    /// (which YAML already turned into 644) all mean octal 644.
    pub fn mode(&self, key: &str) -> Result<Option<u32>, StateError> {
        let text = match self.get(key) {
            None => return Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(v) => {
                return Err(StateError::args(format!(
                    "'{key}' must be a file mode like 644, got {v}"
                )))
            }
        };
        let digits = text.trim_start_matches("0o");
        u32::from_str_radix(digits, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .map(Some)
            .ok_or_else(|| StateError::args(format!("'{key}' is not an octal file mode: {text:?}")))
    }

    /// A list of strings; a single string is a one-item list, as Salt accepts.
    pub fn str_list(&self, key: &str) -> Result<Option<Vec<String>>, StateError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => {
                Ok(Some(items.iter().map(common::pyfmt::py_str).collect()))
            }
            Some(v) => Err(StateError::args(format!("'{key}' must be a list, got {v}"))),
        }
    }

    /// Every argument not common to all states (Salt's `**kwargs` of a
    /// state function that reads them by name, as `module.run` does), each
    /// counted as read.
    pub fn kwargs(&self) -> Map<String, Value> {
        let extra: Map<String, Value> = self
            .chunk
            .iter()
            .filter(|(k, _)| !signatures::is_common(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.read.borrow_mut().extend(extra.keys().cloned());
        extra
    }

    /// Arguments given but neither read nor handled by the executor.
    pub fn unknown(&self) -> Vec<String> {
        let read = self.read.borrow();
        self.chunk
            .keys()
            .filter(|k| !signatures::is_common(k) && !read.contains(*k))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn modes_in_every_salt_spelling_are_octal() {
        let c =
            chunk(json!({"a": 644, "b": "0644", "c": "755", "d": "0o600", "e": 999, "f": "rw"}));
        let args = Args::new(&c);
        assert_eq!(args.mode("a").unwrap(), Some(0o644));
        assert_eq!(args.mode("b").unwrap(), Some(0o644));
        assert_eq!(args.mode("c").unwrap(), Some(0o755));
        assert_eq!(args.mode("d").unwrap(), Some(0o600));
        assert!(args.mode("e").is_err());
        assert!(args.mode("f").is_err());
        assert_eq!(args.mode("missing").unwrap(), None);
    }

    #[test]
    fn unknown_arguments_are_the_unread_ones() {
        let c = chunk(
            json!({"name": "x", "state": "file", "fun": "managed", "order": 1, "mode": 644, "typo": 1, "__sls__": "a", "require": []}),
        );
        let args = Args::new(&c);
        let _ = args.mode("mode");
        assert_eq!(args.unknown(), vec!["typo".to_string()]);
    }

    #[test]
    fn bools_as_salt_reads_them() {
        let c = chunk(json!({"a": true, "b": "yes", "c": 0, "d": "maybe"}));
        let args = Args::new(&c);
        assert!(args.bool_or("a", false).unwrap());
        assert!(args.bool_or("b", false).unwrap());
        assert!(!args.bool_or("c", true).unwrap());
        assert!(args.bool_or("d", true).is_err());
        assert!(args.bool_or("e", true).unwrap());
    }
}
