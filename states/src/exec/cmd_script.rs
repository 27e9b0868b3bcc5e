//! `cmd.script`: fetch a script (`salt://` through the run's [`Sources`], or a
//! local path), run it from a private temp copy with `args`, return what
//! `cmd.run_all` returns. One implementation with the `cmd.script` state: the
//! call is handed to that state's check and apply, which fetch, write the
//! temp file, run it (`runas`, `cwd`, `env`, `umask`, `timeout`, ...) and
//! clean up; the state's `changes` are the module's return.
//!
//! [`Sources`]: crate::state::Sources
use common::data::{is_true, Map, Value};

use super::{Access, AnsweredBy, Bound, ExecCall, ExecError, ExecFunction, Param};
use crate::state::cmd::Cmd;
use crate::state::{Args, Check, HostWrite, StateModule};

/// Salt's `cmd.script` parameters, in its order. The Windows-only and
/// logging ones are accepted and mean nothing here, as in the state.
const PARAMS: &[Param] = &[
    Param::required("source"),
    Param::optional("args"),
    Param::optional("cwd"),
    Param::optional("stdin"),
    Param::optional("runas"),
    Param::optional("group"),
    Param::optional("shell"),
    Param::optional("python_shell"),
    Param::optional("env"),
    Param::optional("template"),
    Param::optional("umask"),
    Param::optional("output_encoding"),
    Param::optional("output_loglevel"),
    Param::unsupported("log_callback"),
    Param::optional("hide_output"),
    Param::optional("timeout"),
    Param::optional("reset_system_locale"),
    Param::optional("saltenv"),
    Param::optional("use_vt"),
    Param::unsupported("bg"),
    Param::optional("password"),
    Param::optional("success_retcodes"),
    Param::optional("success_stdout"),
    Param::optional("success_stderr"),
];

pub const SCRIPT: ExecFunction = ExecFunction {
    name: "cmd.script",
    params: PARAMS,
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "runs a salt:// or local script with args; returns as cmd.run_all",
    parse: |a| ScriptCall::parse(a).map(ExecCall::CmdScript),
};

/// A `cmd.script` call as the `cmd.script` state's low chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptCall {
    pub chunk: Map<String, Value>,
}

impl ScriptCall {
    fn parse(a: &Bound) -> Result<Self, ExecError> {
        let source = a.str("source")?;
        let mut chunk = Map::new();
        chunk.insert("state".into(), Value::from("cmd"));
        chunk.insert("fun".into(), Value::from("script"));
        chunk.insert("name".into(), Value::from(source.clone()));
        chunk.insert("source".into(), Value::from(source));
        // Salt's `_python_shell_default`: a `shell` means a shell unless
        // told otherwise. Through a shell Salt runs `SHELL -c SCRIPT ARGS...`,
        // so the arguments become the shell's `$0`... and the script gets
        // none; without one it runs `[SCRIPT, *args]`, a string being ONE
        // argument. The state runs `sh -c "'SCRIPT' 'ARG'..."`, which is
        // that argv.
        let python_shell = match a.get("python_shell") {
            Some(v) => is_true(v),
            None => a.get("shell").is_some(),
        };
        if python_shell {
            if let Some(shell) = a.get("shell") {
                chunk.insert("shell".into(), shell.clone());
            }
        } else if let Some(args) = a.get("args") {
            let words = match args {
                Value::Array(items) => items.clone(),
                other => vec![Value::from(common::pyfmt::py_str(other))],
            };
            chunk.insert("args".into(), Value::Array(words));
        }
        for key in [
            "cwd",
            "stdin",
            "runas",
            "group",
            "env",
            "template",
            "umask",
            "output_encoding",
            "output_loglevel",
            "hide_output",
            "timeout",
            "reset_system_locale",
            "saltenv",
            "use_vt",
            "password",
            "success_retcodes",
            "success_stdout",
            "success_stderr",
        ] {
            if let Some(v) = a.get(key) {
                chunk.insert(key.into(), v.clone());
            }
        }
        Ok(ScriptCall { chunk })
    }

    /// Runs the script: the state's check fetches it, its apply runs it.
    pub fn run(&self, host: &HostWrite) -> Result<Value, ExecError> {
        let args = Args::new(&self.chunk);
        match Cmd.check("script", &args, host.read())? {
            Check::Change { apply, .. } => {
                let applied = apply.apply(host)?;
                match applied.changes {
                    Some(ran) if !ran.is_empty() => Ok(Value::Object(ran)),
                    // Failed before the script ran (no such runas user, a
                    // cwd that is not there): Salt's CommandExecutionError.
                    _ => Err(ExecError::Failed(applied.comment)),
                }
            }
            Check::Fail { comment, .. } => Err(ExecError::Failed(comment)),
            Check::Clean { comment, .. } | Check::Reported { comment, .. } => Err(
                ExecError::Failed(format!("cmd.script: the script did not run: {comment}")),
            ),
        }
    }
}
