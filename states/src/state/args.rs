//! A low chunk's arguments, with typed getters that read Salt's forms
//! (`mode: 644`, `'0644'`, `True`/`"yes"`), and a record of what was read so
//! arguments no state function asked for are reported.
use std::cell::RefCell;
use std::collections::BTreeSet;

use common::data::{Map, Value};

use super::StateError;

/// Arguments every state accepts, handled by the executor rather than the module.
pub const GLOBAL_ARGS: &[&str] = &[
    "state",
    "fun",
    "name",
    "names",
    "order",
    "require",
    "require_any",
    "require_in",
    "watch",
    "watch_any",
    "watch_in",
    "onchanges",
    "onchanges_any",
    "onchanges_in",
    "onfail",
    "onfail_any",
    "onfail_all",
    "onfail_in",
    "onfail_stop",
    "prereq",
    "prereq_in",
    "prerequired",
    "listen",
    "listen_in",
    "use",
    "use_in",
    "unless",
    "onlyif",
    "creates",
    "failhard",
    "retry",
    "check_cmd",
    "reload_modules",
    "saltenv",
    "parallel",
    "runas",
    "runas_password",
    "fire_event",
];

/// The arguments of one low chunk.
pub struct Args<'a> {
    chunk: &'a Map<String, Value>,
    read: RefCell<BTreeSet<String>>,
}

impl<'a> Args<'a> {
    pub fn new(chunk: &'a Map<String, Value>) -> Self {
        Args {
            chunk,
            read: RefCell::new(BTreeSet::new()),
        }
    }

    /// The raw value of an argument, if given (and not null).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
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

    /// Arguments given but neither read nor handled by the executor.
    pub fn unknown(&self) -> Vec<String> {
        let read = self.read.borrow();
        self.chunk
            .keys()
            .filter(|k| {
                !k.starts_with("__") && !GLOBAL_ARGS.contains(&k.as_str()) && !read.contains(*k)
            })
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
