//! How a cmd state runs its command: the arguments Salt's `cmd.run_all`
//! takes, read once in `check`, and the run itself in `apply` with Salt's
//! environment, working directory, timeout and retcode rules
//! (salt/modules/cmdmod.py `_run`).
use std::path::PathBuf;
use std::time::Duration;

use common::data::{Map, Value};
use common::pyfmt::py_str;

use super::super::{Args, Exec, HostRead, HostWrite, StateError};

/// `stateful:` as Salt reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stateful {
    No,
    Yes,
    /// `stateful: [{test_name: CMD}]`: Salt runs CMD in test mode. Brine
    /// never runs commands in a dry run, so it is only reported.
    TestName(String),
}

/// Everything needed to run one command, read from a state's arguments.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub shell: String,
    /// As the state tree wrote it (for comments) and mapped under the root.
    pub cwd: Option<(String, PathBuf)>,
    /// Where to run when no `cwd` is given and the root is not `/`.
    pub root_dir: Option<PathBuf>,
    pub runas: Option<String>,
    pub group: Option<String>,
    pub env: Vec<(String, String)>,
    pub clean_env: bool,
    pub reset_system_locale: bool,
    pub prepend_path: Option<String>,
    pub stdin: Option<String>,
    pub timeout: Option<(Duration, String)>,
    pub ignore_timeout: bool,
    pub umask: Option<u32>,
    pub success_retcodes: Vec<i64>,
    pub success_stdout: Vec<String>,
    pub success_stderr: Vec<String>,
    pub hide_output: bool,
    pub rstrip: bool,
    pub stateful: Stateful,
}

/// Salt's log levels (`output_loglevel`); anything else Salt logs at info.
const LOGLEVELS: &[&str] = &[
    "all", "garbage", "trace", "debug", "profile", "info", "warning", "error", "critical", "quiet",
];

/// Arguments Salt takes that Brine refuses rather than silently ignore
/// (`template` only for cmd.run, where it would template the command line;
/// cmd.script reads its own).
const UNSUPPORTED: &[(&str, &str)] = &[
    ("root", "running in a chroot"),
    ("bg", "running in the background"),
];

impl RunSpec {
    /// Reads the arguments. `Ok(Err(comment))` is Salt's own refusal (the
    /// state fails with that comment); `Err` is a bad argument.
    pub fn read(
        args: &Args,
        host: &HostRead,
        refused: &[(&str, &str)],
    ) -> Result<Result<RunSpec, String>, StateError> {
        // The executor decides these before the state runs.
        for global in ["unless", "onlyif", "creates"] {
            let _ = args.get(global);
        }
        for (key, what) in UNSUPPORTED.iter().chain(refused) {
            if args.get(key).is_some_and(|v| v != &Value::Bool(false)) {
                return Err(StateError::args(format!(
                    "'{key}' ({what}) is not supported by Brine's cmd states"
                )));
            }
        }
        // Windows-only and terminal-only knobs: accepted, meaningless here.
        for ignored in ["password", "use_vt", "output_encoding", "windows_codepage"] {
            let _ = args.get(ignored);
        }
        if let Some(level) = args.str("output_loglevel")? {
            if !LOGLEVELS.contains(&level.to_lowercase().as_str()) {
                tracing::warn!(level, "unknown output_loglevel, using info");
            }
        }
        // A bad env fails the state (Salt's comment), once every argument is read.
        let env = args.get("env").map_or(Ok(Vec::new()), env_pairs);
        let cwd = match args.str("cwd")? {
            Some(c) if !c.is_empty() => Some((c.clone(), host.path(&c)?)),
            _ => None,
        };
        let root_dir =
            (host.root() != std::path::Path::new("/")).then(|| host.root().to_path_buf());
        // Salt turns a literal `\n` typed in stdin into a newline unless told not to.
        let raw_newlines = args.bool_or("stdin_raw_newlines", false)?;
        let stdin = args.str("stdin")?.map(|s| {
            if raw_newlines {
                s
            } else {
                s.replace("\\n", "\n")
            }
        });
        let spec = RunSpec {
            shell: args
                .str("shell")?
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "/bin/sh".into()),
            cwd,
            root_dir,
            runas: args.str("runas")?.filter(|s| !s.is_empty()),
            group: args.str("group")?.filter(|s| !s.is_empty()),
            clean_env: args.bool_or("clean_env", false)?,
            reset_system_locale: args.bool_or("reset_system_locale", true)?,
            prepend_path: args.str("prepend_path")?.filter(|s| !s.is_empty()),
            stdin,
            timeout: timeout(args)?,
            ignore_timeout: args.bool_or("ignore_timeout", false)?,
            umask: umask(args)?,
            success_retcodes: success_retcodes(args)?,
            success_stdout: split_input(args, "success_stdout")?,
            success_stderr: split_input(args, "success_stderr")?,
            hide_output: args.bool_or("hide_output", false)?,
            rstrip: args.bool_or("rstrip", true)?,
            stateful: stateful(args)?,
            env: Vec::new(),
        };
        Ok(env.map(|env| RunSpec { env, ..spec }))
    }

    /// Runs `command` through the shell (Salt's `python_shell=True`); the
    /// string is the operator's own, from the state tree. `Err(comment)` is
    /// a failure before the command ran, as Salt's state reports it.
    pub fn run(&self, host: &HostWrite, command: &str) -> Result<Map<String, Value>, String> {
        if let Some((given, dir)) = &self.cwd {
            if !dir.is_dir() {
                return Err(format!(
                    "Desired working directory \"{given}\" is not available"
                ));
            }
        }
        if !is_executable(&self.shell) {
            return Err(format!("The shell {} is not available", self.shell));
        }
        let runas_home = match &self.runas {
            Some(user) => Some(lookup_user(host, user)?.home),
            None => None,
        };
        let mut argv: Vec<String> = Vec::new();
        if self.runas.is_some() || self.group.is_some() {
            // argv all the way: the user and group are never parsed by a shell.
            argv.extend(["runuser".into(), "-u".into()]);
            argv.push(self.runas.clone().unwrap_or_else(|| "root".into()));
            if let Some(g) = &self.group {
                argv.extend(["-g".into(), g.clone()]);
            }
            argv.push("--".into());
        }
        argv.extend([self.shell.clone(), "-c".into(), command.to_string()]);

        let mut spec = Exec::new(&argv);
        spec.cwd = Some(match (&self.cwd, &self.root_dir, runas_home) {
            (Some((_, dir)), _, _) => dir.clone(),
            (None, Some(root), _) => root.clone(),
            (None, None, home) => default_cwd(home),
        });
        spec.clear_env = self.clean_env;
        spec.env = self.environment();
        if !self.env.iter().any(|(k, _)| k == "NOTIFY_SOCKET") {
            spec.env_remove.push("NOTIFY_SOCKET".into());
        }
        spec.stdin = self.stdin.as_ref().map(|s| s.clone().into_bytes());
        spec.timeout = self.timeout.as_ref().map(|(d, _)| *d);
        spec.umask = self.umask;

        let exited = host.exec(&spec).map_err(|e| e.to_string())?;
        let run = exited.run;
        if exited.timed_out {
            // Salt's TimedProc message, retcode 1; ignore_timeout makes it a success.
            let secs = self.timeout.as_ref().map(|(_, s)| s.as_str()).unwrap_or("");
            let retcode = if self.ignore_timeout { 0 } else { 1 };
            return Ok(ran_map(
                run.pid,
                retcode,
                format!("{command} : Timed out after {secs} seconds"),
                String::new(),
            ));
        }
        let (mut stdout, mut stderr) = (run.stdout, run.stderr);
        if self.rstrip {
            stdout.truncate(stdout.trim_end().len());
            stderr.truncate(stderr.trim_end().len());
        }
        let mut retcode = i64::from(run.retcode);
        if self.success_retcodes.contains(&retcode)
            || self
                .success_stdout
                .iter()
                .any(|s| stdout.contains(s.as_str()))
            || self
                .success_stderr
                .iter()
                .any(|s| stderr.contains(s.as_str()))
        {
            retcode = 0;
        }
        if self.hide_output {
            stdout.clear();
            stderr.clear();
        }
        Ok(ran_map(run.pid, retcode, stdout, stderr))
    }

    /// Salt's environment: the state's `env`, C locale unless overridden,
    /// `prepend_path` in front of PATH.
    fn environment(&self) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        if self.reset_system_locale {
            for key in [
                "LC_CTYPE",
                "LC_NUMERIC",
                "LC_TIME",
                "LC_COLLATE",
                "LC_MONETARY",
                "LC_MESSAGES",
                "LC_PAPER",
                "LC_NAME",
                "LC_ADDRESS",
                "LC_TELEPHONE",
                "LC_MEASUREMENT",
                "LC_IDENTIFICATION",
                "LANGUAGE",
            ] {
                if !env.iter().any(|(k, _)| k == key) {
                    env.push((key.into(), "C".into()));
                }
            }
        }
        if let Some(prefix) = &self.prepend_path {
            let current = env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    (!self.clean_env)
                        .then(|| std::env::var("PATH").ok())
                        .flatten()
                })
                .unwrap_or_default();
            env.retain(|(k, _)| k != "PATH");
            env.push(("PATH".into(), format!("{prefix}:{current}")));
        }
        env
    }
}

pub fn ran_map(pid: u32, retcode: i64, stdout: String, stderr: String) -> Map<String, Value> {
    super::super::changes([
        ("pid", Value::from(pid)),
        ("retcode", Value::from(retcode)),
        ("stdout", Value::from(stdout)),
        ("stderr", Value::from(stderr)),
    ])
}

/// Salt's `env:` as a list of one-key maps or a map; values `None` become
/// "", others their Python `str()`.
fn env_pairs(v: &Value) -> Result<Vec<(String, String)>, String> {
    const BAD: &str = "Invalidly-formatted 'env' parameter. See documentation.";
    let value = |v: &Value| {
        if v.is_null() {
            String::new()
        } else {
            py_str(v)
        }
    };
    match v {
        Value::Object(map) => Ok(map.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(m) if m.len() == 1 => {
                        out.extend(m.iter().map(|(k, v)| (k.clone(), value(v))))
                    }
                    // The item is named by position and kind, never shown:
                    // `- TOKEN={{ pillar.token }}` is a secret written wrongly.
                    other => {
                        return Err(format!(
                            "{BAD} Each item of an 'env' list must be a one-key map; item {} is {}",
                            i + 1,
                            kind_of(other)
                        ))
                    }
                }
            }
            Ok(out)
        }
        _ => Err(BAD.to_string()),
    }
}

/// What a value is, without its contents.
fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(a) => format!("a list of {}", a.len()),
        Value::Object(m) => format!("a map of {} keys", m.len()),
    }
}

fn timeout(args: &Args) -> Result<Option<(Duration, String)>, StateError> {
    let bad =
        |v: &Value| StateError::args(format!("Error: timeout {} must be a number", py_str(v)));
    match args.get("timeout") {
        None => Ok(None),
        Some(v) => {
            let secs = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| bad(v))?;
            // Salt treats timeout 0 as none.
            Ok((secs > 0.0).then(|| (Duration::from_secs_f64(secs), py_str(v))))
        }
    }
}

/// Salt's umask: octal digits, `022` and `22` alike; zero is refused.
fn umask(args: &Args) -> Result<Option<u32>, StateError> {
    let Some(v) = args.get("umask") else {
        return Ok(None);
    };
    let text = py_str(v);
    let digits = text.trim().trim_start_matches('0');
    if digits.is_empty() {
        return Err(StateError::args("Zero umask is not allowed."));
    }
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .map(Some)
        .ok_or_else(|| StateError::args(format!("Invalid umask: '{text}'")))
}

/// Salt's `split_input`: a list, or a comma-separated string.
fn split_input(args: &Args, key: &str) -> Result<Vec<String>, StateError> {
    Ok(match args.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(py_str).collect(),
        Some(v) => py_str(v).split(',').map(|s| s.trim().to_string()).collect(),
    })
}

fn success_retcodes(args: &Args) -> Result<Vec<i64>, StateError> {
    let mut codes = vec![0];
    for item in split_input(args, "success_retcodes")? {
        codes.push(
            item.trim()
                .parse()
                .map_err(|_| StateError::args("success_retcodes must be a list of integers"))?,
        );
    }
    Ok(codes)
}

fn stateful(args: &Args) -> Result<Stateful, StateError> {
    Ok(match args.get("stateful") {
        None => Stateful::No,
        Some(Value::Array(items)) => match items.first().and_then(|i| i.get("test_name")) {
            Some(name) => Stateful::TestName(py_str(name)),
            None => Stateful::Yes,
        },
        Some(_) => {
            if args.bool_or("stateful", false)? {
                Stateful::Yes
            } else {
                Stateful::No
            }
        }
    })
}

fn is_executable(path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A `runas` user on the real host.
pub struct RunasUser {
    pub uid: u32,
    pub home: String,
}

/// Looks a `runas` user up on the real host through NSS (`getent`), so
/// directory users count too. Salt: "User 'x' is not available".
///
/// Not `state::accounts` (the root's account files, which every other state
/// reads): a command runs on the real host, never under the run's root, and
/// `runuser` resolves the name through NSS, so the real host's users are the
/// ones that exist for it.
pub fn lookup_user(host: &HostRead, user: &str) -> Result<RunasUser, String> {
    let not_available = || format!("User '{user}' is not available");
    let out = host
        .query(&["getent", "passwd", user])
        .map_err(|_| not_available())?;
    let line = out.stdout.lines().next().unwrap_or("");
    let fields: Vec<&str> = line.split(':').collect();
    match (out.retcode, fields.get(2).and_then(|u| u.parse().ok())) {
        (0, Some(uid)) => Ok(RunasUser {
            uid,
            home: fields.get(5).unwrap_or(&"/").to_string(),
        }),
        _ => Err(not_available()),
    }
}

/// Salt runs in the user's home (the minion's when no `runas`), or `/` when
/// that is not readable.
fn default_cwd(runas_home: Option<String>) -> PathBuf {
    let home = runas_home.or_else(|| std::env::var("HOME").ok());
    match home.map(PathBuf::from) {
        Some(h) if std::fs::read_dir(&h).is_ok() => h,
        _ => PathBuf::from("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_forms() {
        assert_eq!(
            env_pairs(&json!([{"A": 1}, {"B": null}])).unwrap(),
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), String::new())
            ]
        );
        assert_eq!(
            env_pairs(&json!({"A": "x"})).unwrap(),
            [("A".to_string(), "x".to_string())]
        );
        assert!(env_pairs(&json!("A=1"))
            .unwrap_err()
            .starts_with("Invalidly-formatted 'env'"));
        let e = env_pairs(&json!(["A=s3cr3t"])).unwrap_err();
        assert!(e.ends_with("item 1 is a string"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(env_pairs(&json!([{"A": 1, "B": 2}])).is_err());
    }
}
