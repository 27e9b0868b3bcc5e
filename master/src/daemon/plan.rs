//! `master plan`: what a candidate state tree (sent by the operator) would
//! change on each targeted minion. Per minion, from its cached grains, the
//! current tree and the candidate are compiled (in parallel on the blocking
//! pool, at most `worker_threads` at once; the current side through the
//! compile cache) and their low chunks compared
//! (`states::compile::plan_diff`). Nothing is published: the only thing a
//! minion may be asked is a template's read-only host probe, and with
//! `offline` not even that.
//!
//! The candidate is written under `cachedir/plans/` for the compile (the
//! renderer and the `salt://` finder read directories) and removed after;
//! it replaces the file roots of the job's saltenv (`base` unless the job
//! or the config names one), and a candidate pillar tree the pillar roots
//! of its pillarenv, as `minion apply --local --file-root` does masterless.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::config::{EnvRoots, Environments};
use common::data::{Map, Value};
use common::digest::sha256_hex;
use common::render::{CmdOptions, CmdOutput, HostProbe, ProbeError};
use common::tree_error::{TreeError, TreeErrors};
use serde_json::json;
use states::compile::plan_diff;
use states::compile::{Chunk, JobEnv};
use tokio::sync::Semaphore;
use transport::wire::{Publish, PublishWhat};
use transport::wire_plan::{CandidateTree, PlanRequest, PlannedMinion, SavedPlan, PLAN_VERSION};

use super::compile::{compile, compile_reusing, Tree};
use super::Master;

/// The candidate trees as files under `cachedir/plans/`, removed on drop.
pub struct CandidateDirs {
    root: PathBuf,
    pub states: PathBuf,
    pub pillar: Option<PathBuf>,
}

impl CandidateDirs {
    /// Writes `tree` (and `pillar`) under a fresh directory of `cachedir`.
    pub fn write(
        cachedir: &Path,
        tree: &CandidateTree,
        pillar: Option<&CandidateTree>,
    ) -> Result<CandidateDirs, String> {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let root = cachedir.join("plans").join(format!(
            "{}-{nanos}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        let dirs = CandidateDirs {
            states: root.join("salt"),
            pillar: pillar.map(|_| root.join("pillar")),
            root,
        };
        let e = |e: std::io::Error| format!("cannot write the candidate tree on the master: {e}");
        write_tree(&dirs.states, tree).map_err(e)?;
        if let (Some(dir), Some(p)) = (&dirs.pillar, pillar) {
            write_tree(dir, p).map_err(e)?;
        }
        Ok(dirs)
    }
}

impl Drop for CandidateDirs {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            tracing::warn!(dir = %self.root.display(), error = %e, "cannot remove a candidate tree");
        }
    }
}

/// Paths were checked when the request decoded (`TreePath`: relative, no
/// `..`), so each file lands under `dir`.
fn write_tree(dir: &Path, tree: &CandidateTree) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for f in &tree.files {
        let path = dir.join(f.path.as_str());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &f.data)?;
    }
    Ok(())
}

/// The master's trees with the candidate in place of the job's saltenv's
/// file roots (and pillarenv's pillar roots).
pub fn candidate_tree(master: &Master, job: &JobEnv, dirs: &CandidateDirs) -> Tree {
    master.tree_with(|envs| candidate_envs(envs, job, dirs))
}

fn candidate_envs(envs: &mut Environments, job: &JobEnv, dirs: &CandidateDirs) {
    let saltenv = job
        .saltenv
        .clone()
        .or_else(|| envs.saltenv.clone())
        .unwrap_or_else(|| "base".into());
    replace_roots(&mut envs.file_roots, &saltenv, &dirs.states);
    if let Some(pillar) = &dirs.pillar {
        let pillarenv = job
            .pillarenv
            .clone()
            .or_else(|| envs.pillarenv.clone())
            .unwrap_or_else(|| "base".into());
        replace_roots(&mut envs.pillar_roots, &pillarenv, pillar);
    }
}

fn replace_roots(roots: &mut EnvRoots, env: &str, dir: &Path) {
    match roots.0.iter_mut().find(|(e, _)| e == env) {
        Some((_, dirs)) => *dirs = vec![dir.to_path_buf()],
        None => roots.0.push((env.to_string(), vec![dir.to_path_buf()])),
    }
}

/// Template host probes refused (`master plan --offline`): the render error
/// names the file and line of the call.
pub struct Offline;

fn offline(what: String) -> ProbeError {
    ProbeError::Unavailable(format!(
        "{what} would ask the minion's host, and the plan is --offline"
    ))
}

impl HostProbe for Offline {
    fn cmd(&self, command: &str, _: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        Err(offline(format!("cmd.run {command:?}")))
    }
    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        Err(offline(format!("file.file_exists {path:?}")))
    }
    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        Err(offline(format!("file.directory_exists {path:?}")))
    }
    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        Err(offline(format!("user.info {name:?}")))
    }
    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        Err(offline(format!("cmd.has_exec {name:?}")))
    }
}

/// The probe a plan's compiles for minion `id` use.
fn plan_probe(master: &Arc<Master>, id: &str, offline: bool) -> Arc<dyn HostProbe> {
    if offline {
        super::mine::with_mine(master, Arc::new(Offline))
    } else {
        super::publish::probe_for(master, id)
    }
}

/// SHA-256 of a value as JSON (grains, pillar).
pub fn value_digest(v: &Value) -> String {
    sha256_hex(&serde_json::to_vec(v).unwrap_or_default())
}

/// `v` with what `gpg` decrypted for minion `id` shown as `<secret ...>`.
pub fn shown(tree: &Tree, id: &str, mut v: Value) -> Value {
    tree.hide_secrets(id, &mut v);
    v
}

/// Chunks as a plan shows and saves them: secrets hidden.
pub fn shown_chunks(tree: &Tree, id: &str, chunks: Vec<Chunk>) -> Vec<Chunk> {
    let v = shown(
        tree,
        id,
        Value::Array(chunks.into_iter().map(Value::Object).collect()),
    );
    match v {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|c| match c {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A compile's errors, each with its file, line and column when it has them.
pub fn errors_json(errors: &TreeErrors) -> Vec<Value> {
    errors
        .0
        .iter()
        .map(|e| match e {
            TreeError::Render(r) => json!({
                "file": r.file,
                "line": r.line,
                "column": r.column,
                "message": e.to_string(),
            }),
            TreeError::Tree(_) => json!({
                "file": null, "line": null, "column": null,
                "message": e.to_string(),
            }),
        })
        .collect()
}

/// What the plan found for one minion.
struct MinionPlan {
    report: Value,
    saved: Option<PlannedMinion>,
}

struct PlanInputs {
    master: Arc<Master>,
    current: Arc<Tree>,
    candidate: Arc<Tree>,
    sls: Vec<String>,
    job: JobEnv,
    offline: bool,
    save: bool,
}

fn plan_one(p: &PlanInputs, id: &str) -> MinionPlan {
    let Some(grains) = p.master.grains.get(id).map(|g| g.value()) else {
        return MinionPlan {
            report: json!({"errors": [{"file": null, "line": null, "column": null,
                "message": format!("no cached grains for {id}: it has never connected")}]}),
            saved: None,
        };
    };
    let probe = plan_probe(&p.master, id, p.offline);
    let current = compile_reusing(
        &p.master.compiled,
        &p.current,
        id,
        &grains,
        probe.clone(),
        &p.sls,
        &p.job,
    );
    let candidate = compile(&p.candidate, id, &grains, probe, &p.sls, &p.job);
    let mut report = Map::new();
    let (current, candidate) = match (current, candidate) {
        (Ok(cur), Ok(cand)) => (cur, cand),
        (cur, cand) => {
            if let Err(e) = &cand {
                let v = shown(&p.candidate, id, Value::Array(errors_json(e)));
                report.insert("errors".into(), v);
            }
            if let Err(e) = &cur {
                let v = shown(&p.current, id, Value::Array(errors_json(e)));
                report.insert("current_errors".into(), v);
            }
            return MinionPlan {
                report: Value::Object(report),
                saved: None,
            };
        }
    };
    let old = shown_chunks(&p.current, id, current.chunks);
    let new = shown_chunks(&p.candidate, id, candidate.chunks);
    let diff = plan_diff::diff(&old, &new);
    let saved = p.save.then(|| PlannedMinion {
        grains: value_digest(&grains),
        pillar: value_digest(&shown(&p.candidate, id, candidate.pillar)),
        chunks: new,
    });
    MinionPlan {
        report: diff.to_json(),
        saved,
    }
}

/// `--rev REV`: the gitfs remote's state tree at REV, read on the blocking
/// pool (it fetches).
pub async fn tree_at_rev(
    master: &Arc<Master>,
    rev: &str,
) -> Result<(CandidateTree, String), String> {
    let Some(gitfs) = master.gitfs.clone() else {
        return Err("--rev needs the tree from git (fileserver_backend with git, gitfs_remotes); this master serves file_roots only".into());
    };
    let rev = rev.to_string();
    tokio::task::spawn_blocking(move || gitfs.tree_at(&rev))
        .await
        .map_err(|e| format!("reading --rev failed: {e}"))?
}

/// Answers `OpRequest::Plan`: `{"minions": {id: report}, "plan": saved
/// plan or null}`.
pub async fn plan(
    master: Arc<Master>,
    operator: &str,
    mut req: PlanRequest,
) -> Result<Value, String> {
    if !master.allows(operator, &req.target, "plan") {
        return Err(format!(
            "operator {operator} may not run plan on {}",
            req.target
        ));
    }
    let rev = req.rev.clone();
    let commit = match &rev {
        Some(rev) => {
            let (tree, commit) = tree_at_rev(&master, rev).await?;
            tracing::info!(rev = %rev, commit = %commit, "planning a gitfs revision");
            req.tree = tree;
            Some(commit)
        }
        None => None,
    };
    req.tree.check()?;
    if let Some(p) = &req.pillar_tree {
        p.check()?;
    }
    let job = super::publish::from_wire(&req.env);
    let current = Arc::new(master.tree());
    current.trees.check_envs(&job).map_err(|e| e.to_string())?;
    let publish = Publish {
        target: req.target.clone(),
        tgt_type: req.tgt_type,
        what: PublishWhat::Apply {
            sls: req.sls.clone(),
            test: true,
            env: req.env.clone(),
        },
        timeout_secs: 0,
        batch: None,
    };
    let ids = super::publish::targets(&master, &current, &publish).await?;
    let tree_digest = req.tree.digest();
    let pillar_digest = req.pillar_tree.as_ref().map(CandidateTree::digest);
    let (dirs, candidate) = {
        let m = master.clone();
        let job = job.clone();
        tokio::task::spawn_blocking(move || {
            let dirs =
                CandidateDirs::write(&m.config.cachedir, &req.tree, req.pillar_tree.as_ref())?;
            let candidate = candidate_tree(&m, &job, &dirs);
            Ok::<_, String>((dirs, candidate))
        })
        .await
        .map_err(|e| e.to_string())??
    };
    let inputs = Arc::new(PlanInputs {
        master: master.clone(),
        current,
        candidate: Arc::new(candidate),
        sls: req.sls.clone(),
        job,
        offline: req.offline,
        save: req.save,
    });
    tracing::info!(operator = %operator, target = %req.target, minions = ids.len(), offline = req.offline, "plan");
    let results = for_each_minion(&master, &ids, inputs, plan_one).await?;
    drop(dirs);
    let mut minions = Map::new();
    let mut saved = std::collections::BTreeMap::new();
    for (id, r) in ids.into_iter().zip(results) {
        if let Some(s) = r.saved {
            saved.insert(id.clone(), s);
        }
        minions.insert(id, r.report);
    }
    let plan = req.save.then(|| SavedPlan {
        version: PLAN_VERSION,
        target: req.target,
        tgt_type: req.tgt_type,
        sls: req.sls,
        env: req.env,
        tree: tree_digest,
        pillar_tree: pillar_digest,
        rev,
        commit,
        minions: saved,
    });
    Ok(json!({
        "minions": minions,
        "plan": serde_json::to_value(plan).map_err(|e| e.to_string())?,
    }))
}

/// Runs `one` for each id on the blocking pool, at most `worker_threads` at
/// once (as a publish compiles); the results in `ids`' order.
pub async fn for_each_minion<I, R>(
    master: &Master,
    ids: &[String],
    inputs: Arc<I>,
    one: fn(&I, &str) -> R,
) -> Result<Vec<R>, String>
where
    I: Send + Sync + 'static,
    R: Send + 'static,
{
    let limit = Arc::new(Semaphore::new(master.config.worker_threads.max(1)));
    let mut tasks = Vec::with_capacity(ids.len());
    for id in ids {
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let inputs = inputs.clone();
        let id = id.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            one(&inputs, &id)
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.map_err(|e| e.to_string())?);
    }
    Ok(out)
}
