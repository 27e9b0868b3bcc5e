//! `file.replace`, the execution function: one implementation with the
//! `file.replace` state. The call is handed to that state's check (its
//! Python-regex substitution, append/prepend, binary-file refusal and diff)
//! and, unless `dry_run`, to its apply (the atomic write keeping owner and
//! mode, the backup). Salt's state calls this function the same way, so
//! both return the same diff.
use common::data::{Map, Value};

use super::{Access, AnsweredBy, Bound, ExecCall, ExecError, ExecFunction, Param};
use crate::state::file::File;
use crate::state::{Args, Check, HostWrite, StateModule};

/// Salt's `file.replace` parameters, in its order.
const PARAMS: &[Param] = &[
    Param::required("path"),
    Param::required("pattern"),
    Param::required("repl"),
    Param::optional("count"),
    Param::optional("flags"),
    Param::optional("bufsize"),
    Param::optional("append_if_not_found"),
    Param::optional("prepend_if_not_found"),
    Param::optional("not_found_content"),
    Param::optional("backup"),
    Param::optional("dry_run"),
    Param::unsupported("search_only"),
    Param::optional("show_changes"),
    Param::optional("ignore_if_missing"),
    // Brine always writes a new file atomically (a new inode).
    Param::unsupported("preserve_inode"),
    Param::optional("backslash_literal"),
];

pub const REPLACE: ExecFunction = ExecFunction {
    name: "file.replace",
    params: PARAMS,
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a regex substitution over a file; returns the diff (True/False without show_changes)",
    parse: |a| ReplaceCall::parse(a).map(ExecCall::FileReplace),
};

/// A `file.replace` call: the state's low chunk and the module's own knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaceCall {
    pub path: String,
    pub chunk: Map<String, Value>,
    pub dry_run: bool,
    pub show_changes: bool,
    pub ignore_if_missing: bool,
}

impl ReplaceCall {
    fn parse(a: &Bound) -> Result<Self, ExecError> {
        let path = a.str("path")?;
        let mut chunk = Map::new();
        chunk.insert("state".into(), Value::from("file"));
        chunk.insert("fun".into(), Value::from("replace"));
        chunk.insert("name".into(), Value::from(path.clone()));
        for key in [
            "pattern",
            "repl",
            "count",
            "flags",
            "bufsize",
            "append_if_not_found",
            "prepend_if_not_found",
            "not_found_content",
            "backup",
            "backslash_literal",
        ] {
            if let Some(v) = a.given(key) {
                chunk.insert(key.into(), v.clone());
            }
        }
        // The state's diff is what this returns; show_changes only picks
        // the shape of the answer.
        chunk.insert("show_changes".into(), Value::Bool(true));
        Ok(ReplaceCall {
            path,
            chunk,
            dry_run: a.bool("dry_run").unwrap_or(false),
            show_changes: a.bool("show_changes").unwrap_or(true),
            ignore_if_missing: a.bool("ignore_if_missing").unwrap_or(false),
        })
    }

    /// Salt's return: the unified diff ("" for none), or with
    /// `show_changes=False` whether the file changed (would change).
    pub fn run(&self, host: &HostWrite) -> Result<Value, ExecError> {
        if !host.path(&self.path)?.exists() {
            if self.ignore_if_missing {
                return Ok(Value::Bool(false));
            }
            return Err(ExecError::Failed(format!("File not found: {}", self.path)));
        }
        let args = Args::new(&self.chunk);
        let diff = match File.check("replace", &args, host.read())? {
            Check::Clean { .. } => String::new(),
            Check::Change { changes, apply, .. } => {
                if !self.dry_run {
                    let applied = apply.apply(host)?;
                    if !applied.result {
                        return Err(ExecError::Failed(applied.comment));
                    }
                }
                match changes.get("diff") {
                    Some(Value::String(d)) => d.clone(),
                    _ => String::new(),
                }
            }
            Check::Fail { comment, .. } | Check::Reported { comment, .. } => {
                return Err(ExecError::Failed(comment))
            }
        };
        Ok(if self.show_changes {
            Value::String(diff)
        } else {
            Value::Bool(!diff.is_empty())
        })
    }
}
