//! `cmd.*`: commands on the minion. `cmd.run` and its siblings may change
//! the host (they run whatever they are given), so they run through
//! [`HostWrite`]; `cmd.has_exec` only looks. `cmd.script` is the `cmd.script`
//! state's own fetch-and-run (see `cmd_script.rs`).
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::data::Value;
use serde_json::json;

use super::{Access, AnsweredBy, Bound, ExecCall, ExecError, ExecFunction, Param};
use crate::state::{CmdRun, Exec, HostRead, HostWrite};

/// Salt's `cmd.run` parameters, in its order (the unsupported ones keep the
/// positions of the ones after them).
const RUN_PARAMS: &[Param] = &[
    Param::required("cmd"),
    Param::optional("cwd"),
    Param::unsupported("stdin"),
    Param::unsupported("runas"),
    Param::unsupported("group"),
    Param::optional("shell"),
    Param::optional("python_shell"),
    Param::optional("env"),
    Param::unsupported("clean_env"),
    Param::unsupported("template"),
    Param::optional("rstrip"),
];

pub const RUN: ExecFunction = ExecFunction {
    name: "cmd.run",
    params: RUN_PARAMS,
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a command's output, stderr after stdout; argv unless python_shell=True",
    parse: |a| CmdCall::parse(a, CmdOutput::Text).map(ExecCall::Cmd),
};

pub const RUN_ALL: ExecFunction = ExecFunction {
    name: "cmd.run_all",
    params: RUN_PARAMS,
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a command's stdout, stderr and retcode",
    parse: |a| CmdCall::parse(a, CmdOutput::All).map(ExecCall::Cmd),
};

pub const RUN_STDOUT: ExecFunction = ExecFunction {
    name: "cmd.run_stdout",
    params: RUN_PARAMS,
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a command's stdout alone",
    parse: |a| CmdCall::parse(a, CmdOutput::Stdout).map(ExecCall::Cmd),
};

pub const RETCODE: ExecFunction = ExecFunction {
    name: "cmd.retcode",
    // Salt's cmd.retcode has no `rstrip`: its output is not returned.
    params: RUN_PARAMS.split_at(RUN_PARAMS.len() - 1).0,
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a command's exit code",
    parse: |a| CmdCall::parse(a, CmdOutput::Retcode).map(ExecCall::Cmd),
};

pub const HAS_EXEC: ExecFunction = ExecFunction {
    name: "cmd.has_exec",
    params: &[Param::required("cmd")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "whether a command is an executable on the PATH",
    parse: |a| Ok(ExecCall::CmdHasExec { cmd: a.str("cmd")? }),
};

/// `cmd.run` / `cmd.run_all` with the arguments Brine implements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CmdCall {
    pub cmd: String,
    pub cwd: Option<String>,
    /// The shell for `python_shell=True` (`/bin/sh` when not given).
    pub shell: Option<String>,
    pub env: Vec<(String, String)>,
    /// Through the shell; otherwise the line is split into argv by
    /// `shlex.split` and nothing in it is interpreted.
    pub python_shell: bool,
    /// Strip trailing whitespace from stdout and stderr (Salt's default).
    pub rstrip: bool,
    /// Which of the run's parts the call returns.
    pub output: CmdOutput,
}

/// What a `cmd.*` call returns of its run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum CmdOutput {
    /// `cmd.run`: stdout then stderr, as one text.
    #[default]
    Text,
    /// `cmd.run_all`: `{stdout, stderr, retcode}`.
    All,
    /// `cmd.run_stdout`.
    Stdout,
    /// `cmd.retcode`.
    Retcode,
}

impl CmdCall {
    fn parse(a: &Bound, output: CmdOutput) -> Result<Self, ExecError> {
        Ok(CmdCall {
            cmd: a.str("cmd")?,
            cwd: a.opt_str("cwd"),
            shell: a.opt_str("shell"),
            env: a.pairs("env")?,
            // Brine keeps argv as the default even from the CLI, where Salt
            // would use a shell: the safer reading of a line from the network.
            python_shell: a.bool("python_shell").unwrap_or(false),
            rstrip: a.bool("rstrip").unwrap_or(true),
            output,
        })
    }

    pub fn run(&self, host: &HostWrite) -> Result<CmdRun, ExecError> {
        let argv = if self.python_shell {
            let shell = self.shell.as_deref().unwrap_or("/bin/sh");
            vec![shell.to_string(), "-c".to_string(), self.cmd.clone()]
        } else {
            common::shlex::split(&self.cmd).map_err(|e| {
                ExecError::Failed(format!("cannot split {:?} into words: {e}", self.cmd))
            })?
        };
        if argv.is_empty() {
            return Err(ExecError::Failed("empty command".into()));
        }
        let spec = Exec {
            argv,
            env: self.env.clone(),
            cwd: self.cwd.as_ref().map(PathBuf::from),
            ..Exec::default()
        };
        let mut out = host.exec(&spec)?.run;
        if self.rstrip {
            out.stdout.truncate(out.stdout.trim_end().len());
            out.stderr.truncate(out.stderr.trim_end().len());
        }
        Ok(out)
    }

    /// The call's return: `cmd.run_all`'s map, `cmd.run`'s text, ...
    pub fn output(&self, out: CmdRun) -> Value {
        match self.output {
            CmdOutput::All => {
                return json!({"stdout": out.stdout, "stderr": out.stderr, "retcode": out.retcode})
            }
            CmdOutput::Stdout => return Value::String(out.stdout),
            CmdOutput::Retcode => return Value::from(out.retcode),
            CmdOutput::Text => {}
        }
        let mut text = out.stdout;
        if !out.stderr.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&out.stderr);
        }
        Value::String(text)
    }
}

/// Salt's `cmd.has_exec`: an executable regular file, named by path or found
/// on the minion's PATH (under the state root).
pub fn has_exec(host: &HostRead, name: &str) -> Result<bool, ExecError> {
    let is_exec = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let at = |p: &Path| -> Result<PathBuf, ExecError> {
        match p.to_str() {
            Some(s) if p.is_absolute() => Ok(host.path(s)?),
            _ => Ok(p.to_path_buf()),
        }
    };
    if name.contains('/') {
        return Ok(is_exec(&at(Path::new(name))?));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    // A PATH entry the state root refuses (`..`) cannot hold the command.
    Ok(std::env::split_paths(&path).any(|dir| at(&dir).is_ok_and(|d| is_exec(&d.join(name)))))
}
