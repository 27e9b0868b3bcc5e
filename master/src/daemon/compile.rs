//! What one minion gets for an apply: its pillar, its low chunks, and the
//! manifest of `salt://` files those chunks name. Compiled on the master with
//! the minion's cached grains and a probe that asks that minion.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::config::MinionConfig;
use common::data::{Map, Value};
use common::digest::sha256_hex;
use common::render::mine::{MineError, MineSource, Mined};
use common::render::{CmdOptions, CmdOutput, HostProbe, ProbeError, Renderer, Session};
use common::target::TargetKind;
use common::tree_error::TreeErrors;
use states::compile::{Chunk, Minion, MinionTrees};

use super::compile_cache::{self, CompileCache, Reusable};

/// The state and pillar trees as they are when a job starts; a tree changed
/// on disk is seen by the next job.
pub struct Tree {
    pub trees: MinionTrees,
    pub renderer: Arc<Renderer>,
    pub file_roots: Vec<PathBuf>,
    pub pillar_roots: Vec<PathBuf>,
    /// The trees' files and the nodegroups as they were when the job
    /// started (see [`compile_cache`]).
    pub fingerprint: compile_cache::Key,
}

impl Tree {
    pub fn new(
        file_roots: Vec<PathBuf>,
        pillar_roots: Vec<PathBuf>,
        nodegroups: Map<String, Value>,
    ) -> Tree {
        let roots: Vec<&std::path::Path> = file_roots
            .iter()
            .chain(&pillar_roots)
            .map(PathBuf::as_path)
            .collect();
        let fingerprint = compile_cache::tree_fingerprint(&roots, &nodegroups);
        Tree {
            fingerprint,
            trees: MinionTrees::new(
                file_roots.clone(),
                pillar_roots.clone(),
                SALTENV,
                nodegroups,
            ),
            renderer: Arc::new(Renderer::new(file_roots.clone())),
            file_roots,
            pillar_roots,
        }
    }

    /// `opts` as a minion's templates see them.
    pub fn opts(&self, id: &str) -> Value {
        MinionConfig {
            file_roots: self.file_roots.clone(),
            pillar_roots: self.pillar_roots.clone(),
            ..MinionConfig::default()
        }
        .opts(id)
    }

    pub fn pillar_for(
        &self,
        id: &str,
        grains: &Value,
        probe: Arc<dyn HostProbe>,
    ) -> Result<Value, TreeErrors> {
        let opts = self.opts(id);
        self.trees.pillar(&Minion {
            id,
            grains,
            opts: &opts,
            probe,
        })
    }
}

/// The master serves saltenv `base` only.
const SALTENV: &str = "base";

/// One minion's compiled job.
pub struct Compiled {
    pub chunks: Vec<Chunk>,
    pub pillar: Value,
    /// Kept for the job's life: templates the states render later
    /// (`file.managed template: jinja`) render with the same inputs.
    pub session: Arc<Session>,
    pub manifest: Vec<(String, String)>,
}

/// Compiles the highstate (`sls` empty) or the named SLS for one minion.
pub fn compile(
    tree: &Tree,
    id: &str,
    grains: &Value,
    probe: Arc<dyn HostProbe>,
    sls: &[String],
) -> Result<Compiled, TreeErrors> {
    let opts = tree.opts(id);
    let minion = Minion {
        id,
        grains,
        opts: &opts,
        probe,
    };
    let compiled = tree.trees.compile(&minion, sls)?;
    if compiled.pillar.get("mine_functions").is_some() {
        // Salt merges these over the minion config's; Brine's minions read
        // only their config, so say so rather than leave the mine short.
        tracing::warn!(minion = id, "this minion's pillar sets mine_functions, which Brine does not read: set them in the minion's config");
    }
    let session = Arc::new(tree.trees.session(&minion, &compiled.pillar));
    let manifest = manifest(&tree.renderer, &compiled.chunks);
    Ok(Compiled {
        chunks: compiled.chunks,
        pillar: compiled.pillar,
        session,
        manifest,
    })
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
) -> Result<Compiled, TreeErrors> {
    let key = compile_cache::key(&tree.fingerprint, id, grains, sls);
    // Read before compiling: a mine change during the compile makes it stale.
    let mine_generation = probe.mine().map(|m| m.generation());
    if let Some(r) = cache.get(&key).filter(|r| r.fresh(mine_generation)) {
        let opts = tree.opts(id);
        let minion = Minion {
            id,
            grains,
            opts: &opts,
            probe,
        };
        let session = Arc::new(tree.trees.session(&minion, &r.pillar));
        return Ok(Compiled {
            chunks: r.chunks,
            pillar: r.pillar,
            session,
            manifest: r.manifest,
        });
    }
    let watched = Arc::new(WatchedProbe {
        inner: probe,
        asked: AtomicBool::new(false),
        mined: AtomicBool::new(false),
    });
    let compiled = compile(tree, id, grains, watched.clone(), sls)?;
    if !watched.asked.load(Ordering::Relaxed) {
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
    ) -> Result<Mined, MineError> {
        self.mined.store(true, Ordering::Relaxed);
        let mine = self.inner.mine().ok_or(MineError::Unavailable)?;
        mine.matching(tgt, kind, functions)
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
/// reads their source before asking the master to render them).
pub fn manifest(renderer: &Renderer, chunks: &[Chunk]) -> Vec<(String, String)> {
    let mut urls = Vec::new();
    for chunk in chunks {
        for (k, v) in chunk {
            if !k.starts_with("__") {
                collect_urls(v, &mut urls);
            }
        }
    }
    urls.sort();
    urls.dedup();
    urls.into_iter()
        .filter_map(|url| {
            // A URL that leaves the roots, or names a FIFO or device, is left
            // out: the state asking for it gets the refusal from the file server.
            let rel = common::salt_url::path(&url).ok()?;
            let path = renderer.find(rel)?;
            let bytes = common::files::read_regular(&path).ok()?;
            Some((url, sha256_hex(&bytes)))
        })
        .collect()
}

fn collect_urls(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.starts_with("salt://") => {
            out.push(s.split('?').next().unwrap_or(s).to_string())
        }
        Value::Array(a) => a.iter().for_each(|x| collect_urls(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_urls(x, out)),
        _ => {}
    }
}
