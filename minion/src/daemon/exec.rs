//! Running what the master sends: an apply (compiled chunks through the
//! state engine), an execution function, or a probe a template needs.
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::{CmdOptions, HostProbe};
use serde_json::json;
use states::run::Runner;
use states::state::HostRead;
use transport::wire::{Jid, JobKind, JobReturn, ProbeCall};

use super::sources::JobSources;
use super::uplink::Uplink;
use crate::probe::LocalProbe;

/// What a job needs from the daemon.
pub struct JobEnv {
    pub uplink: Arc<Uplink>,
    pub grains: Value,
    /// Where states apply (`/` unless `state_root` is set).
    pub root: PathBuf,
    pub file_cache: PathBuf,
    pub trim_code_pages: bool,
}

/// Functions that only read the host. Their results are cheap to ask for
/// again and record no change, so the outbox keeps them without an fsync.
const READ_ONLY: &[&str] = &[
    "test.ping",
    "test.echo",
    "grains.items",
    "grains.get",
    "file.read",
    "pkg.version",
    "service.status",
];

/// Whether a job may change the host: its result must then survive a power
/// loss until the master has it.
pub fn changes_host(kind: &JobKind) -> bool {
    match kind {
        JobKind::Apply { test, .. } => !test,
        JobKind::Run { fun, .. } => !READ_ONLY.contains(&fun.as_str()),
    }
}

pub fn run_job(env: &JobEnv, jid: &Jid, kind: JobKind) -> JobReturn {
    let (ret, retcode) = match kind {
        JobKind::Apply {
            chunks,
            test,
            pillar,
            manifest,
        } => apply(env, jid, chunks, test, pillar, manifest),
        JobKind::Run { fun, args, kwargs } => match function(env, &fun, &args, &kwargs) {
            Ok(v) => (v, 0),
            Err(e) => (Value::String(e), 1),
        },
    };
    JobReturn {
        jid: jid.clone(),
        success: retcode == 0,
        ret,
        retcode,
    }
}

fn apply(
    env: &JobEnv,
    jid: &Jid,
    chunks: Vec<Map<String, Value>>,
    test: bool,
    pillar: Value,
    manifest: Vec<(String, String)>,
) -> (Value, i32) {
    let sources = JobSources {
        jid: jid.clone(),
        uplink: env.uplink.clone(),
        manifest: manifest.into_iter().collect::<HashMap<_, _>>(),
        cache: env.file_cache.clone(),
    };
    if let Err(e) = sources.prefetch() {
        // The states that need a file will say so; the others still run.
        tracing::warn!(jid = %jid, error = %e, "cannot fetch the job's files");
    }
    let host = HostRead::new(env.root.clone(), Arc::new(sources)).with_pillar(pillar);
    let report = Runner::new(host, test).run(chunks);
    let code = if report.failed() > 0 { 2 } else { 0 };
    (report.to_json(), code)
}

fn arg<'a>(
    args: &'a [Value],
    kwargs: &'a Map<String, Value>,
    i: usize,
    name: &str,
) -> Option<&'a Value> {
    kwargs.get(name).or_else(|| args.get(i))
}

fn arg_str(
    args: &[Value],
    kwargs: &Map<String, Value>,
    i: usize,
    name: &str,
) -> Result<String, String> {
    match arg(args, kwargs, i, name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("missing argument {name}")),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        _ => false,
    }
}

/// Execution functions, by Salt's names.
fn function(
    env: &JobEnv,
    fun: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Value, String> {
    match fun {
        "test.ping" => Ok(Value::Bool(true)),
        "test.echo" => arg_str(args, kwargs, 0, "text").map(Value::String),
        "test.version" => Ok(Value::String(env!("CARGO_PKG_VERSION").into())),
        "grains.items" => Ok(env.grains.clone()),
        "grains.get" => {
            let key = arg_str(args, kwargs, 0, "key")?;
            let default = arg(args, kwargs, 1, "default")
                .cloned()
                .unwrap_or(Value::String(String::new()));
            Ok(common::data::traverse(&env.grains, &key, ":")
                .cloned()
                .unwrap_or(default))
        }
        "cmd.run" | "cmd.run_all" => {
            let command = arg_str(args, kwargs, 0, "cmd")?;
            // Salt's python_shell: argv unless a shell is asked for.
            let shell = truthy(kwargs.get("python_shell"));
            let out = run_command(&command, shell, kwargs.get("cwd").and_then(Value::as_str))?;
            if fun == "cmd.run_all" {
                return Ok(
                    json!({"stdout": out.stdout, "stderr": out.stderr, "retcode": out.retcode}),
                );
            }
            let mut text = out.stdout;
            if !out.stderr.is_empty() {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&out.stderr);
            }
            Ok(Value::String(text))
        }
        "service.restart" | "service.start" | "service.stop" | "service.reload" => {
            let name = arg_str(args, kwargs, 0, "name")?;
            let verb = fun.trim_start_matches("service.");
            let ok = Command::new("systemctl")
                .args([verb, &name])
                .stdin(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run systemctl: {e}"))?
                .success();
            Ok(Value::Bool(ok))
        }
        "service.status" => {
            let name = arg_str(args, kwargs, 0, "name")?;
            let ok = Command::new("systemctl")
                .args(["is-active", "--quiet", &name])
                .stdin(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run systemctl: {e}"))?
                .success();
            Ok(Value::Bool(ok))
        }
        "pkg.version" => {
            let name = arg_str(args, kwargs, 0, "name")?;
            let out = Command::new("dpkg-query")
                .args(["-W", "-f", "${db:Status-Abbrev}${Version}", &name])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run dpkg-query: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            Ok(Value::String(
                text.strip_prefix("ii ")
                    .map(str::to_string)
                    .unwrap_or_default(),
            ))
        }
        "pkg.install" => {
            let name = arg_str(args, kwargs, 0, "name")?;
            let before = function(
                env,
                "pkg.version",
                &[Value::String(name.clone())],
                &Map::new(),
            )?;
            let out = Command::new("apt-get")
                .args(["install", "-y", "-q", "--", &name])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run apt-get: {e}"))?;
            if !out.status.success() {
                return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
            }
            let after = function(
                env,
                "pkg.version",
                &[Value::String(name.clone())],
                &Map::new(),
            )?;
            if before == after {
                return Ok(json!({}));
            }
            Ok(json!({ name: {"old": before, "new": after} }))
        }
        "file.read" => {
            let path = arg_str(args, kwargs, 0, "path")?;
            std::fs::read_to_string(&path)
                .map(Value::String)
                .map_err(|e| format!("{path}: {e}"))
        }
        other => Err(format!("'{other}' is not available on this minion")),
    }
}

struct Output {
    stdout: String,
    stderr: String,
    retcode: i32,
}

fn run_command(command: &str, shell: bool, cwd: Option<&str>) -> Result<Output, String> {
    let mut cmd = if shell {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(command);
        c
    } else {
        let argv = crate::probe::shlex_split(command)
            .ok_or_else(|| format!("cannot split {command:?} into words"))?;
        let (prog, rest) = argv.split_first().ok_or("empty command")?;
        let mut c = Command::new(prog);
        c.args(rest);
        c
    };
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    Ok(Output {
        stdout: String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        retcode: out.status.code().unwrap_or(-1),
    })
}

/// Answers a template's read of this host for the master's renderer.
pub fn answer_probe(call: ProbeCall) -> Result<Value, String> {
    let p = LocalProbe;
    let e = |e: common::render::ProbeError| e.to_string();
    match call {
        ProbeCall::Cmd {
            command,
            cwd,
            shell,
            env,
            no_shell,
        } => {
            let out = p
                .cmd(
                    &command,
                    &CmdOptions {
                        cwd,
                        shell,
                        env,
                        no_shell,
                    },
                )
                .map_err(e)?;
            Ok(json!({"stdout": out.stdout, "stderr": out.stderr, "retcode": out.retcode}))
        }
        ProbeCall::FileExists(path) => p.file_exists(&path).map(Value::Bool).map_err(e),
        ProbeCall::DirectoryExists(path) => p.directory_exists(&path).map(Value::Bool).map_err(e),
        ProbeCall::UserInfo(name) => p.user_info(&name).map_err(e),
        ProbeCall::HasExec(name) => p.has_exec(&name).map(Value::Bool).map_err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fun: &str) -> JobKind {
        JobKind::Run {
            fun: fun.into(),
            args: vec![],
            kwargs: Map::new(),
        }
    }

    #[test]
    fn only_jobs_that_may_change_the_host_need_a_durable_result() {
        assert!(!changes_host(&run("test.ping")));
        assert!(!changes_host(&run("grains.items")));
        assert!(changes_host(&run("cmd.run")));
        assert!(changes_host(&run("service.restart")));
        let apply = |test| JobKind::Apply {
            chunks: vec![],
            test,
            pillar: Value::Null,
            manifest: vec![],
        };
        assert!(changes_host(&apply(false)));
        assert!(!changes_host(&apply(true)));
    }
}
