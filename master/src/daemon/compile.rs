//! What one minion gets for an apply: its pillar, its low chunks, and the
//! manifest of `salt://` files those chunks name. Compiled on the master with
//! the minion's cached grains and a probe that asks that minion.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::config::{Environments, MinionConfig};
use common::data::{Map, Value};
use common::digest::sha256_hex;
use common::render::mine::{MineError, MineSource, Mined};
use common::render::{hide_secrets, CmdOptions, CmdOutput, HostProbe, ProbeError, Secret, Session};
use common::saltenvs::Saltenvs;
use common::target::TargetKind;
use common::tree_error::TreeErrors;
use states::compile::{Chunk, JobEnv, Minion, MinionTrees};

use super::compile_cache::{self, CompileCache, Reusable};

/// The state and pillar trees as they are when a job starts; a tree changed
/// on disk is seen by the next job.
pub struct Tree {
    pub trees: MinionTrees,
    envs: Environments,
    /// The trees' files and the nodegroups as they were when the job
    /// started (see [`compile_cache`]).
    pub fingerprint: compile_cache::Key,
    /// What `gpg` decrypted for each minion compiled from this tree: its
    /// returns show `<secret PATH>` in their place.
    secrets: Mutex<HashMap<String, Vec<Secret>>>,
    /// The git commits the trees are checked out from (`Master::tree`),
    /// held so that no update removes them while this tree is used.
    pub git: Option<Arc<crate::gitfs::Snapshot>>,
}

impl Tree {
    /// Every saltenv of the master's `file_roots` and `pillar_roots`, with
    /// its env keys and nodegroups.
    pub fn new(envs: &Environments, nodegroups: Map<String, Value>) -> Tree {
        let roots: Vec<&std::path::Path> = envs
            .file_roots
            .all_dirs()
            .chain(envs.pillar_roots.all_dirs())
            .map(PathBuf::as_path)
            .collect();
        let fingerprint = compile_cache::tree_fingerprint(&roots, &nodegroups);
        let trees = MinionTrees::new(envs, nodegroups);
        Tree {
            fingerprint,
            trees,
            envs: envs.clone(),
            secrets: Mutex::new(HashMap::new()),
            git: None,
        }
    }

    /// The trees with the master's `renderer` option, and `python3` and
    /// `gpg` (with `gpg_keydir`) for the `py` and `gpg` renderers.
    pub fn with_renderers(mut self, config: &crate::config::MasterConfig) -> Tree {
        let programs = external_render::Programs {
            python: PathBuf::from("python3"),
            gpg_keydir: config.gpg_keydir.clone(),
        };
        self.trees = self
            .trees
            .with_renderers(Arc::new(programs), config.renderer.clone());
        self
    }

    fn note_secrets(&self, id: &str, secrets: &[Secret]) {
        if secrets.is_empty() {
            return;
        }
        let mut all = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mine = all.entry(id.to_string()).or_default();
        for s in secrets {
            if !mine.contains(s) {
                mine.push(s.clone());
            }
        }
    }

    /// What was decrypted for minion `id`, taken out of this tree.
    pub fn take_secrets(&self, id: &str) -> Option<Vec<Secret>> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
    }

    /// `v` (a return of minion `id`) with what was decrypted for it hidden.
    pub fn hide_secrets(&self, id: &str, v: &mut Value) {
        let all = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(secrets) = all.get(id) {
            hide_secrets(v, secrets);
        }
    }

    /// `opts` as a minion's templates see them.
    pub fn opts(&self, id: &str) -> Value {
        MinionConfig {
            envs: self.envs.clone(),
            ..MinionConfig::default()
        }
        .opts(id)
    }

    /// Runs `f` with minion `id` as a compile sees it (its `opts` made
    /// here, since the `Minion` only borrows them).
    pub fn with_minion<T>(
        &self,
        id: &str,
        grains: &Value,
        probe: Arc<dyn HostProbe>,
        f: impl FnOnce(&Minion<'_>) -> T,
    ) -> T {
        let opts = self.opts(id);
        f(&Minion {
            id,
            grains,
            opts: &opts,
            probe,
        })
    }

    pub fn pillar_for(
        &self,
        id: &str,
        grains: &Value,
        probe: Arc<dyn HostProbe>,
    ) -> Result<Value, TreeErrors> {
        let (pillar, secrets) =
            self.with_minion(id, grains, probe, |m| self.trees.pillar.compile_secrets(m))?;
        self.note_secrets(id, &secrets);
        Ok(pillar)
    }
}

impl Tree {
    /// The minion's pillar for a job (its pillarenv, its `pillar=`), what
    /// `gpg` decrypted noted as [`pillar_for`](Self::pillar_for) does.
    pub fn job_pillar_for(&self, minion: &Minion, job: &JobEnv) -> Result<Value, TreeErrors> {
        let (pillar, secrets) = self.job_pillar_compiled(minion, job)?;
        self.note_secrets(minion.id, &secrets);
        Ok(job.override_pillar(pillar))
    }

    /// The pillar of the job's pillarenv and what `gpg` decrypted in it.
    fn job_pillar_compiled(
        &self,
        minion: &Minion,
        job: &JobEnv,
    ) -> Result<(Value, Vec<Secret>), TreeErrors> {
        self.trees.check_envs(job)?;
        let (_, pillar_tree) = self.trees.for_job(job);
        pillar_tree.compile_secrets(minion)
    }

    /// What `gpg` decrypts in the minion's pillar for a job, not noted: for
    /// a late return whose job's own were never noted here (another master
    /// published it) or are gone (this master restarted).
    pub fn job_pillar_secrets(
        &self,
        minion: &Minion,
        job: &JobEnv,
    ) -> Result<Vec<Secret>, TreeErrors> {
        Ok(self.job_pillar_compiled(minion, job)?.1)
    }
}

/// `state.single`: the one chunk the call built, with the minion's pillar
/// and a session for what it renders; no state tree is compiled.
pub fn compile_single(
    tree: &Tree,
    id: &str,
    grains: &Value,
    probe: Arc<dyn HostProbe>,
    chunk: Chunk,
    job: &JobEnv,
) -> Result<Compiled, TreeErrors> {
    let (pillar, session) = tree.with_minion(id, grains, probe, |minion| {
        let pillar = tree.job_pillar_for(minion, job)?;
        let (states, _) = tree.trees.for_job(job);
        let session = Arc::new(states.session(minion, &pillar));
        Ok::<_, TreeErrors>((pillar, session))
    })?;
    let chunks = vec![chunk];
    let manifest = manifest(tree.trees.states.saltenvs(), &chunks);
    Ok(Compiled {
        chunks,
        pillar,
        session,
        manifest,
        no_states: None,
    })
}

/// One minion's compiled job.
pub struct Compiled {
    pub chunks: Vec<Chunk>,
    pub pillar: Value,
    /// Kept for the job's life: templates the states render later
    /// (`file.managed template: jinja`) render with the same inputs.
    pub session: Arc<Session>,
    pub manifest: Vec<(String, String)>,
    /// A highstate with nothing to run (never cached, so never reused).
    pub no_states: Option<states::compile::NoStates>,
}

/// Compiles the highstate (`sls` empty) or the named SLS for one minion,
/// with the job's saltenv, pillarenv and `pillar=`.
pub fn compile(
    tree: &Tree,
    id: &str,
    grains: &Value,
    probe: Arc<dyn HostProbe>,
    sls: &[String],
    job: &JobEnv,
) -> Result<Compiled, TreeErrors> {
    let (compiled, session) = tree.with_minion(id, grains, probe, |m| {
        let compiled = tree.trees.compile_job(m, sls, job)?;
        tree.note_secrets(id, &compiled.secrets);
        let session = Arc::new(tree.trees.session(m, &compiled.pillar));
        Ok::<_, TreeErrors>((compiled, session))
    })?;
    let manifest = manifest(tree.trees.states.saltenvs(), &compiled.chunks);
    Ok(Compiled {
        chunks: compiled.chunks,
        pillar: compiled.pillar,
        session,
        manifest,
        no_states: compiled.no_states,
    })
}

impl Compiled {
    /// The job narrowed to `chunks` (a subset of its own), with the
    /// manifest of the files those name only.
    pub fn narrowed(self, tree: &Tree, chunks: Vec<Chunk>) -> Compiled {
        let manifest = manifest(tree.trees.states.saltenvs(), &chunks);
        Compiled {
            chunks,
            manifest,
            ..self
        }
    }
}

/// [`compile`], reusing an earlier compile with the same inputs; a compile
/// that asked the minion anything is not kept.
pub fn compile_reusing(
    cache: &CompileCache,
    tree: &Tree,
    id: &str,
    grains: &Value,
    probe: Arc<dyn HostProbe>,
    sls: &[String],
    job: &JobEnv,
) -> Result<Compiled, TreeErrors> {
    let key = compile_cache::key(&tree.fingerprint, id, grains, sls, job);
    // Read before compiling: a mine change during the compile makes it stale.
    let mine_generation = probe.mine().map(|m| m.generation());
    if let Some(r) = cache.get(&key).filter(|r| r.fresh(mine_generation)) {
        let session = tree.with_minion(id, grains, probe, |m| {
            Arc::new(tree.trees.session(m, &r.pillar))
        });
        return Ok(Compiled {
            chunks: r.chunks,
            pillar: r.pillar,
            session,
            manifest: r.manifest,
            no_states: None,
        });
    }
    let watched = Arc::new(WatchedProbe {
        inner: probe,
        asked: AtomicBool::new(false),
        mined: AtomicBool::new(false),
    });
    let compiled = compile(tree, id, grains, watched.clone(), sls, job)?;
    // A compile that decrypted something is not kept: the cache holds no
    // plaintext, and each job notes its secrets afresh.
    let decrypted = tree
        .secrets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(id);
    if !watched.asked.load(Ordering::Relaxed) && !decrypted && compiled.no_states.is_none() {
        cache.put(
            key,
            &Reusable {
                chunks: compiled.chunks.clone(),
                pillar: compiled.pillar.clone(),
                manifest: compiled.manifest.clone(),
                mine_generation: mine_generation.filter(|_| watched.mined.load(Ordering::Relaxed)),
            },
        );
    }
    Ok(compiled)
}

/// Notes whether a compile asked the host anything, or read the mine.
struct WatchedProbe {
    inner: Arc<dyn HostProbe>,
    asked: AtomicBool,
    mined: AtomicBool,
}

impl MineSource for WatchedProbe {
    fn matching(
        &self,
        tgt: &Value,
        kind: TargetKind,
        functions: &[String],
        pillar_functions: &[common::config::MineFunction],
    ) -> Result<Mined, MineError> {
        self.mined.store(true, Ordering::Relaxed);
        let mine = self.inner.mine().ok_or(MineError::Unavailable)?;
        mine.matching(tgt, kind, functions, pillar_functions)
    }
    fn generation(&self) -> u64 {
        self.inner.mine().map_or(0, |m| m.generation())
    }
}

impl WatchedProbe {
    fn ask(&self) -> &dyn HostProbe {
        self.asked.store(true, Ordering::Relaxed);
        &*self.inner
    }
}

impl HostProbe for WatchedProbe {
    fn cmd(&self, command: &str, options: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        self.ask().cmd(command, options)
    }
    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        self.ask().file_exists(path)
    }
    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        self.ask().directory_exists(path)
    }
    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        self.ask().user_info(name)
    }
    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        self.ask().has_exec(name)
    }
    fn mine(&self) -> Option<&dyn MineSource> {
        self.inner.mine().map(|_| self as &dyn MineSource)
    }
}

/// The `salt://` files the chunks name, with their SHA-256, so the minion
/// can fetch only what its cache lacks. Templates are listed too (a state
/// reads their source before asking the master to render them). Each URL
/// is resolved in its saltenv (its `?saltenv=`, else the state's
/// `saltenv` argument or SLS's saltenv) and listed under the spelling the
/// executor asks for (`common::salt_url::in_env`).
pub fn manifest(saltenvs: &Saltenvs, chunks: &[Chunk]) -> Vec<(String, String)> {
    let mut urls = Vec::new();
    for chunk in chunks {
        let env = chunk
            .get("saltenv")
            .and_then(Value::as_str)
            .or_else(|| chunk.get("__env__").and_then(Value::as_str))
            .unwrap_or("base");
        for (k, v) in chunk {
            if !k.starts_with("__") {
                collect_urls(v, env, &mut urls);
            }
        }
    }
    urls.sort();
    urls.dedup();
    urls.into_iter()
        .filter_map(|url| {
            // A URL that leaves the roots, names a saltenv not configured,
            // or names a FIFO or device, is left out: the state asking for it
            // gets the refusal from the file server.
            let rel = common::salt_url::path(&url).ok()?;
            let env = common::salt_url::saltenv(&url).unwrap_or("base");
            let path = saltenvs.get(env)?.find(rel)?;
            let bytes = common::files::read_regular(&path).ok()?;
            Some((url, sha256_hex(&bytes)))
        })
        .collect()
}

fn collect_urls(v: &Value, env: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.starts_with("salt://") => out.push(common::salt_url::in_env(s, env)),
        Value::Array(a) => a.iter().for_each(|x| collect_urls(x, env, out)),
        Value::Object(m) => m.values().for_each(|x| collect_urls(x, env, out)),
        _ => {}
    }
}
