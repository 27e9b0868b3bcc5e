//! The host probe of masterless mode (and of the master's renderer, through
//! `answer_probe`): a template's `salt['cmd.run']`, `file.file_exists`,
//! `user.info`, `cmd.has_exec` run the execution functions' own table entries
//! on this host at `/`.
use std::path::Path;

use common::data::{Map, Value};
use common::render::{CmdOptions, CmdOutput, HostProbe, ProbeError};

/// Answers `salt['cmd.run']`, `file.file_exists`, `user.info` from this host.
pub struct LocalProbe;

impl LocalProbe {
    fn call(
        &self,
        fun: &str,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Result<Value, ProbeError> {
        states::exec::run_at(Path::new("/"), &Value::Null, fun, &args, &kwargs)
            .map_err(|e| ProbeError::Failed(e.to_string()))
    }

    fn call_bool(&self, fun: &str, arg: &str) -> Result<bool, ProbeError> {
        match self.call(fun, vec![Value::from(arg)], Map::new())? {
            Value::Bool(b) => Ok(b),
            other => Err(ProbeError::Failed(format!(
                "{fun}: expected true or false, got {other}"
            ))),
        }
    }
}

impl HostProbe for LocalProbe {
    fn cmd(&self, command: &str, options: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        let mut kwargs = Map::new();
        if let Some(cwd) = &options.cwd {
            kwargs.insert("cwd".into(), Value::from(cwd.as_str()));
        }
        if let Some(shell) = &options.shell {
            kwargs.insert("shell".into(), Value::from(shell.as_str()));
        }
        let env: Map<String, Value> = options
            .env
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        kwargs.insert("env".into(), Value::Object(env));
        kwargs.insert("python_shell".into(), Value::Bool(!options.no_shell));
        // The template strips what it shows; the probe hands over the bytes.
        kwargs.insert("rstrip".into(), Value::Bool(false));
        let out = self.call("cmd.run_all", vec![Value::from(command)], kwargs)?;
        let text = |k: &str| out.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Ok(CmdOutput {
            stdout: text("stdout"),
            stderr: text("stderr"),
            retcode: out.get("retcode").and_then(Value::as_i64).unwrap_or(-1) as i32,
        })
    }

    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        self.call_bool("file.file_exists", path)
    }

    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        self.call_bool("file.directory_exists", path)
    }

    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        self.call_bool("cmd.has_exec", name)
    }

    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        self.call("user.info", vec![Value::from(name)], Map::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_info_reads_this_hosts_passwd() {
        let root = LocalProbe.user_info("root").unwrap();
        assert_eq!(root["uid"], 0);
        assert_eq!(root["home"], json!("/root"));
        assert_eq!(
            LocalProbe.user_info("no-such-brine-user").unwrap(),
            json!({})
        );
    }

    #[test]
    fn has_exec_searches_path() {
        assert!(LocalProbe.has_exec("sh").unwrap());
        assert!(LocalProbe.has_exec("/bin/sh").unwrap());
        assert!(!LocalProbe.has_exec("no-such-brine-command").unwrap());
    }

    #[test]
    fn paths_are_read_at_slash() {
        assert!(LocalProbe.directory_exists("/etc").unwrap());
        assert!(!LocalProbe.file_exists("/etc").unwrap());
        assert!(LocalProbe.file_exists("/etc/passwd").unwrap());
    }

    #[test]
    fn cmd_runs_through_the_shell_unless_told_not_to() {
        let out = LocalProbe
            .cmd("echo a | tr a b", &CmdOptions::default())
            .unwrap();
        assert_eq!(out.stdout, "b\n");
        let opts = CmdOptions {
            no_shell: true,
            ..Default::default()
        };
        let out = LocalProbe.cmd("echo a | tr a b", &opts).unwrap();
        assert_eq!(out.stdout, "a | tr a b\n");
        // Split as Python's shlex splits: quotes group, `"\$"` keeps its backslash.
        let out = LocalProbe
            .cmd("printf '%s|' 'a b' \"\\$x\"", &opts)
            .unwrap();
        assert_eq!(out.stdout, "a b|\\$x|");
        let env = CmdOptions {
            env: vec![("BRINE_PROBE".into(), "yes".into())],
            cwd: Some("/tmp".into()),
            ..Default::default()
        };
        let out = LocalProbe
            .cmd("echo $BRINE_PROBE; pwd; exit 4", &env)
            .unwrap();
        assert_eq!((out.stdout.as_str(), out.retcode), ("yes\n/tmp\n", 4));
    }
}
