//! Running what the master sends: an apply (compiled chunks through the
//! state engine), an execution function, or a probe a template needs.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use common::data::{Map, Value};
use common::render::{CmdOptions, HostProbe};
use serde_json::json;
use states::exec::{Call, ExecCall, ExecEnv};
use states::run::Runner;
use states::state::HostRead;
use transport::wire::{Jid, JobKind, JobReturn, ProbeCall};

use super::jobs::JobTable;
use super::masters::Uplinks;
use super::sources::JobSources;
use super::uplink::Uplink;
use super::GrainsSource;
use crate::probe::LocalProbe;

/// What a job needs from the daemon.
pub struct JobEnv {
    /// The session with the master that sent the job: its file and
    /// template requests go there.
    pub uplink: Arc<Uplink>,
    /// Every master's: the job's result and changed grains.
    pub uplinks: Arc<Uplinks>,
    /// Which master `uplink` is.
    pub slot: usize,
    /// The grains jobs see: as sent at connecting, then as refreshed.
    pub grains: RwLock<Value>,
    /// Where `grains.setval`/`delval` write.
    pub grains_file: Option<PathBuf>,
    /// Detects the grains again (after a job wrote the grains file).
    pub grains_source: GrainsSource,
    /// Where states apply (`/` unless `state_root` is set).
    pub root: PathBuf,
    pub file_cache: PathBuf,
    pub trim_code_pages: bool,
    /// The jobs running now (`saltutil.running`, `saltutil.kill_job`).
    pub jobs: Arc<JobTable>,
}

/// Whether a job may change the host: its result must then survive a power
/// loss until the master has it. The table of execution functions says which
/// only read; a call that does not parse is kept durably like any other.
pub fn changes_host(kind: &JobKind) -> bool {
    match kind {
        JobKind::Apply { test, .. } => !test,
        JobKind::Run { fun, args, kwargs } => {
            !Call::parse(fun, args, kwargs).is_ok_and(|c| c.read_only())
        }
    }
}

pub fn run_job(env: &JobEnv, jid: &Jid, kind: JobKind) -> JobReturn {
    let control = env.jobs.begin(jid, &kind);
    let (ret, retcode) = control.run(|| run_kind(env, jid, kind));
    env.jobs.end(jid);
    let (ret, retcode) = if control.is_killed() {
        let said = format!(
            "Job {jid} was killed (saltutil.kill_job): what it changed before stays changed; it is not run again."
        );
        (Value::String(said), 1)
    } else {
        (ret, retcode)
    };
    JobReturn {
        jid: jid.clone(),
        success: retcode == 0,
        ret,
        retcode,
    }
}

fn run_kind(env: &JobEnv, jid: &Jid, kind: JobKind) -> (Value, i32) {
    match kind {
        JobKind::Apply {
            chunks,
            test,
            pillar,
            manifest,
        } => apply(env, jid, chunks, test, pillar, manifest),
        JobKind::Run { fun, args, kwargs } => {
            // The daemon's own: answered from its table of running jobs.
            match Call::parse(&fun, &args, &kwargs).map(|c| c.call) {
                Ok(ExecCall::SaltutilRunning) => return (env.jobs.running(), 0),
                Ok(ExecCall::SaltutilKillJob { jid }) => return (env.jobs.kill(&jid), 0),
                _ => {}
            }
            match run_function(env, jid, &fun, &args, &kwargs) {
                // Salt's minion: a return with `result` or `success` False is a
                // failed job (`grains.delval` on a map, say): it ran, and failed,
                // as a failed state does.
                Ok(v)
                    if ["result", "success"]
                        .iter()
                        .any(|k| v.get(k) == Some(&Value::Bool(false))) =>
                {
                    (v, 2)
                }
                Ok(v) => (v, 0),
                Err(e) => (Value::String(e.to_string()), 1),
            }
        }
    }
}

/// An execution function, with the master as its file server (`cp.get_file`)
/// and the grains file to write (`grains.setval`). After a call that wrote
/// the grains file, the grains are detected again so the next job sees them,
/// and sent to the master before this job's return.
fn run_function(
    env: &JobEnv,
    jid: &Jid,
    fun: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Value, states::exec::ExecError> {
    let call = Call::parse(fun, args, kwargs)?;
    let sources = JobSources {
        jid: jid.clone(),
        uplink: env.uplink.clone(),
        manifest: HashMap::new(),
        cache: env.file_cache.clone(),
        // cp.get_file and cmd.script may name an http(s) URL too.
        remote: states::remote::RemoteFiles::new(env.file_cache.clone()),
    };
    let host = HostRead::new(env.root.clone(), Arc::new(sources));
    let grains = env.grains.read().unwrap().clone();
    let ret = call.run(&ExecEnv {
        host: &host,
        grains: &grains,
        grains_file: env.grains_file.as_deref(),
    })?;
    if matches!(call.call, ExecCall::GrainsWrite(_)) {
        let now = (env.grains_source)();
        if now.is_object() {
            *env.grains.write().unwrap() = now.clone();
            if let Err(e) = env
                .uplinks
                .blocking_broadcast(&transport::wire::MinionMsg::Grains { grains: now })
            {
                tracing::warn!(error = %e, "cannot send the new grains; the next refresh will");
            }
        }
    }
    Ok(ret)
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
        remote: states::remote::RemoteFiles::new(env.file_cache.clone()),
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

/// Answers a template's read of this host for the master's renderer, with
/// the same table entries a masterless render uses.
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
    fn functions_run_under_the_minions_state_root() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/hostname"), "in-the-root\n").unwrap();
        let grains = serde_json::json!({"id": "m1"});
        let run = |fun: &str, args: Vec<Value>| {
            states::exec::run_at(root.path(), &grains, fun, &args, &Map::new())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            run("file.read", vec!["/etc/hostname".into()]),
            Ok(Value::from("in-the-root\n"))
        );
        assert_eq!(run("grains.get", vec!["id".into()]), Ok(Value::from("m1")));
        let e = run("no.such", vec![]).unwrap_err();
        assert!(e.contains("'no.such'"), "{e}");
        let e = run("pillar.items", vec![]).unwrap_err();
        assert!(e.contains("answered by the master"), "{e}");
    }

    #[test]
    fn only_jobs_that_may_change_the_host_need_a_durable_result() {
        assert!(!changes_host(&run("test.ping")));
        assert!(!changes_host(&run("grains.items")));
        assert!(changes_host(&run("cmd.run")));
        assert!(changes_host(&run("service.restart")));
        // From the table: every read-only row, and nothing that may write.
        for f in states::exec::FUNCTIONS {
            let call = JobKind::Run {
                fun: f.name.into(),
                args: f
                    .params
                    .iter()
                    .filter(|p| p.required)
                    .map(|_| "x".into())
                    .collect(),
                kwargs: Map::new(),
            };
            let read_only = f.access == states::exec::Access::ReadOnly;
            assert_eq!(changes_host(&call), !read_only, "{}", f.name);
        }
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
