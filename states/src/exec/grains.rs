//! `grains.*`: the minion's grains as it computed them at start.
use std::path::Path;

use common::data::{Map, Value};
use serde_json::json;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};

pub const ITEMS: ExecFunction = ExecFunction {
    name: "grains.items",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "all grains",
    parse: |_| Ok(ExecCall::GrainsItems),
};

pub const GET: ExecFunction = ExecFunction {
    name: "grains.get",
    params: &[
        Param::required("key"),
        Param::optional("default"),
        Param::optional("delimiter"),
    ],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "one grain by `a:b:c` path, or the default ('')",
    parse: |a| {
        Ok(ExecCall::GrainsGet {
            key: a.str("key")?,
            // `default=None` is a default of None, as in Salt.
            default: a
                .given("default")
                .cloned()
                .unwrap_or(Value::String(String::new())),
            delimiter: a
                .opt_str("delimiter")
                .unwrap_or_else(|| common::data::DEFAULT_DELIMITER.to_string()),
        })
    },
};

pub fn get(grains: &Value, key: &str, default: &Value, delimiter: &str) -> Value {
    common::data::traverse(grains, key, delimiter)
        .cloned()
        .unwrap_or_else(|| default.clone())
}

// `grains.setval` / `grains.delval`: persisted as Salt persists them, in the
// `grains` file beside the minion's config (Salt: /etc/salt/grains), which
// the minion reads at start and on each grains refresh, under its config's
// `grains:`. The minion detects its grains again after such a call, so the
// value shows in `grains.items` and in the grains the master next gets.

/// A call that writes the grains file.
#[derive(Debug, Clone, PartialEq)]
pub enum GrainsWrite {
    /// `grains.setval`: returns `{key: val}`.
    Setval {
        key: String,
        val: Value,
        destructive: bool,
    },
    /// `grains.delval`: Salt's `grains.set(key, None)`, returning its
    /// `{comment, changes, result}`.
    Delval {
        key: String,
        destructive: bool,
        force: bool,
    },
}

pub const SETVAL: ExecFunction = ExecFunction {
    name: "grains.setval",
    params: &[
        Param::required("key"),
        Param::required("val"),
        Param::optional("destructive"),
        // The master compiles the pillar for every job: it is always fresh.
        Param::optional("refresh_pillar"),
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "sets a grain in the minion's grains file; {key: val}",
    parse: |a| {
        Ok(ExecCall::GrainsWrite(GrainsWrite::Setval {
            key: a.str("key")?,
            val: a.given("val").cloned().unwrap_or(Value::Null),
            destructive: a.bool("destructive").unwrap_or(false),
        }))
    },
};

pub const DELVAL: ExecFunction = ExecFunction {
    name: "grains.delval",
    params: &[
        Param::required("key"),
        Param::optional("destructive"),
        Param::optional("force"),
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "sets a grain to None (destructive=True: removes it) in the grains file",
    parse: |a| {
        Ok(ExecCall::GrainsWrite(GrainsWrite::Delval {
            key: a.str("key")?,
            destructive: a.bool("destructive").unwrap_or(false),
            force: a.bool("force").unwrap_or(false),
        }))
    },
};

impl GrainsWrite {
    /// Runs against the minion's live grains and its grains file.
    pub(super) fn run(&self, grains: &Value, file: Option<&Path>) -> Result<Value, ExecError> {
        let file = file.ok_or_else(|| {
            ExecError::Failed(
                "grains are written to the minion's grains file; this call has none (run it on a minion)"
                    .into(),
            )
        })?;
        match self {
            GrainsWrite::Setval {
                key,
                val,
                destructive,
            } => setvals(file, &[(key.clone(), val.clone())], *destructive),
            GrainsWrite::Delval {
                key,
                destructive,
                force,
            } => set_none(grains, file, key, *destructive, *force),
        }
    }
}

/// Salt's `grains.setvals`: each key set in the file (a `None` with
/// `destructive` removes it); returns what was asked.
fn setvals(file: &Path, new: &[(String, Value)], destructive: bool) -> Result<Value, ExecError> {
    let mut stored = read_file(file)?;
    for (key, val) in new {
        if val.is_null() && destructive {
            stored.remove(key);
        } else {
            stored.insert(key.clone(), val.clone());
        }
    }
    let text = common::yaml::dump(
        &Value::Object(stored),
        &common::yaml::DumpOptions {
            default_flow_style: Some(false),
            sort_keys: true,
            allow_unicode: false,
        },
    );
    durable::Durable::new()
        .mode(0o644)
        .write(file, text.as_bytes())
        .map_err(|e| {
            ExecError::Failed(format!(
                "Unable to write to grains file at {}: {e}",
                file.display()
            ))
        })?;
    Ok(Value::Object(new.iter().cloned().collect()))
}

/// The grains file's map; none, or not a map, is empty (as Salt reads it).
pub fn read_file(file: &Path) -> Result<Map<String, Value>, ExecError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => {
            return Err(ExecError::Failed(format!(
                "Unable to read existing grains file: {e}"
            )))
        }
    };
    match common::yaml::load(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(ExecError::Failed(format!(
            "Unable to read existing grains file: {e}"
        ))),
    }
}

fn set_result(comment: String, changes: Value, result: bool) -> Value {
    json!({"comment": comment, "changes": changes, "result": result})
}

/// Salt's `grains.set(key, None, destructive, force)` (what `delval` is),
/// nested `a:b` keys through maps.
fn set_none(
    grains: &Value,
    file: &Path,
    key: &str,
    destructive: bool,
    force: bool,
) -> Result<Value, ExecError> {
    let delimiter = common::data::DEFAULT_DELIMITER;
    let existing = common::data::traverse(grains, key, delimiter);
    if existing.is_some_and(Value::is_null) && !destructive {
        return Ok(set_result("Grain is already set".into(), json!({}), true));
    }
    if existing.is_some_and(|v| v.is_object() || v.is_array()) && !force {
        return Ok(set_result(
            format!(
                "The key '{key}' exists but is a dict or a list. Use 'force=True' to overwrite."
            ),
            json!({}),
            false,
        ));
    }
    let mut key = key.to_string();
    let mut value = Value::Null;
    while let Some((parent, rest)) = key.rsplit_once(delimiter) {
        // Salt's `get(key, {})`: a missing parent is an empty map.
        let parent_value = common::data::traverse(grains, parent, delimiter)
            .cloned()
            .unwrap_or_else(|| json!({}));
        value = match parent_value {
            Value::Object(mut map) => {
                if value.is_null() && destructive {
                    map.remove(rest);
                } else {
                    map.insert(rest.to_string(), value);
                }
                Value::Object(map)
            }
            Value::Array(_) => {
                return Err(ExecError::Failed(format!(
                    "grains.delval: Brine does not implement a key inside a list ('{parent}' is a list)"
                )))
            }
            Value::String(s) if s == rest => json!({ rest: value }),
            _ if force => json!({ rest: value }),
            other => {
                let shown = common::pyfmt::py_str(&other);
                return Ok(set_result(
                    format!("The key '{parent}' value is '{shown}', which is different from the provided key '{rest}'. Use 'force=True' to overwrite."),
                    json!({}),
                    false,
                ));
            }
        };
        key = parent.to_string();
    }
    let changes = setvals(file, &[(key, value)], destructive)?;
    Ok(set_result(String::new(), changes, true))
}
