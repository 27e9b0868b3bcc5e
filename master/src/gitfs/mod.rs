//! The state tree and pillar from git (Salt's gitfs and git_pillar).
//!
//! Each remote is fetched in-process by libgit2 into a bare repository
//! under `cachedir/gitfs/<remote-hash>/repo.git`, at start, every
//! `gitfs_update_interval` and on `master fileserver update`. Each saltenv
//! (or pillarenv) a remote serves is pinned to one commit, written once
//! into `cachedir/gitfs/<remote-hash>/<commit>/` (built beside it and
//! renamed into place, files read-only) and served from there as a
//! `file_roots` (`pillar_roots`) directory, so the renderer, the manifest
//! of `salt://` files by SHA-256 and the compile cache (whose key hashes
//! the root paths, so the commit) work on it unchanged. A job takes the
//! [`Snapshot`] current when it starts and holds it to its end: an update
//! swaps in a new snapshot and never changes a directory a job reads. A
//! commit's directory is removed by a later update once no snapshot holds
//! it. A fetch that fails keeps the refs of the last good one, so the
//! remote keeps serving its last good commit (after a restart too), and
//! `master fileserver status` shows the error.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};

use common::config::{EnvRoots, Environments};
use common::data::{Map, Value};
use serde_json::json;

pub mod config;
mod fetch;

pub use config::GitConfig;
use config::{Backend, Remote, Serves};
use transport::wire_plan::{CandidateTree, TreeFile, TreePath};

/// One commit's files on disk; the directory is never changed once made.
#[derive(Debug)]
pub struct Checkout {
    pub dir: PathBuf,
    pub commit: String,
}

/// One saltenv (or pillarenv) of one remote, pinned to a commit.
#[derive(Debug, Clone)]
pub struct Pin {
    pub remote: usize,
    pub env: String,
    pub checkout: Arc<Checkout>,
}

/// The pinned commits a job compiles from, held for the job's life.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub pins: Vec<Pin>,
}

#[derive(Default)]
struct RemoteState {
    pins: Vec<Pin>,
    /// Unix ms of the last fetch that succeeded.
    last_fetch: Option<i64>,
    /// Unix ms of the last fetch tried.
    last_attempt: Option<i64>,
    last_error: Option<String>,
}

pub struct GitFs {
    config: GitConfig,
    dir: PathBuf,
    current: RwLock<Arc<Snapshot>>,
    states: Mutex<Vec<RemoteState>>,
    /// Held by an update for its whole run (one at a time): every checkout
    /// made, by directory, to reuse a live one and to prune the others.
    checkouts: Mutex<HashMap<PathBuf, Weak<Checkout>>>,
}

impl GitFs {
    /// `None` when the config names no git remote.
    pub fn new(config: &GitConfig, cachedir: &Path) -> Option<GitFs> {
        config.enabled().then(|| GitFs {
            config: config.clone(),
            dir: cachedir.join("gitfs"),
            current: RwLock::new(Arc::new(Snapshot::default())),
            states: Mutex::new(
                config
                    .remotes
                    .iter()
                    .map(|_| RemoteState::default())
                    .collect(),
            ),
            checkouts: Mutex::new(HashMap::new()),
        })
    }

    pub fn update_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.update_interval)
    }

    /// The snapshot a job starting now compiles from.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn remote_dir(&self, remote: &Remote) -> PathBuf {
        let kind = match &remote.serves {
            Serves::Files { .. } => "gitfs",
            Serves::Pillar { .. } => "git_pillar",
        };
        let key = format!(
            "{kind}\0{}\0{}\0{}",
            remote.url, remote.root, remote.mountpoint
        );
        self.dir
            .join(&common::digest::sha256_hex(key.as_bytes())[..16])
    }

    /// Fetches every remote and pins what each serves; false if any fetch
    /// failed (that remote keeps its last good commits). Blocking.
    pub fn update(&self) -> bool {
        let mut checkouts = self.checkouts.lock().unwrap_or_else(|e| e.into_inner());
        let mut all_ok = true;
        for (i, remote) in self.config.remotes.iter().enumerate() {
            let now = crate::jobcache::now_ms();
            let rdir = self.remote_dir(remote);
            let outcome = self.update_remote(i, remote, &rdir, &mut checkouts);
            let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
            let state = &mut states[i];
            state.last_attempt = Some(now);
            match outcome {
                Ok((fetched, pins)) => {
                    state.pins = pins;
                    match fetched {
                        Ok(()) => {
                            state.last_fetch = Some(now);
                            state.last_error = None;
                        }
                        Err(e) => {
                            all_ok = false;
                            tracing::warn!(remote = %remote.name, error = %e, "cannot fetch a git remote: serving its last good commits");
                            state.last_error = Some(e.to_string());
                        }
                    }
                }
                Err(e) => {
                    all_ok = false;
                    tracing::warn!(remote = %remote.name, error = %e, "cannot update a git remote: serving its last good commits");
                    state.last_error = Some(e.to_string());
                }
            }
        }
        let pins = self
            .states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .flat_map(|s| s.pins.clone())
            .collect();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Snapshot { pins });
        self.prune(&mut checkouts);
        all_ok
    }

    /// The fetch's outcome and the remote's pins from the refs it left.
    #[allow(clippy::type_complexity)]
    fn update_remote(
        &self,
        index: usize,
        remote: &Remote,
        rdir: &Path,
        checkouts: &mut HashMap<PathBuf, Weak<Checkout>>,
    ) -> Result<(Result<(), fetch::GitError>, Vec<Pin>), fetch::GitError> {
        let repo = fetch::open(&rdir.join("repo.git"))?;
        let fetched = fetch::fetch(&repo, remote);
        let (branches, tags) = fetch::refs(&repo)?;
        if fetched.is_err() && branches.is_empty() && tags.is_empty() {
            // Never fetched: nothing to serve.
            return fetched.map(|()| (Ok(()), Vec::new()));
        }
        let mut pins = Vec::new();
        for (env, commit) in envs_of(remote, &branches, &tags)? {
            let dest = rdir.join(&commit);
            let live = checkouts.get(&dest).and_then(Weak::upgrade);
            let checkout = match live {
                Some(c) => c,
                None => {
                    if !dest.is_dir() {
                        fetch::checkout(&repo, &commit, &remote.root, &remote.mountpoint, &dest)?;
                    }
                    let c = Arc::new(Checkout {
                        dir: dest.clone(),
                        commit,
                    });
                    checkouts.insert(dest, Arc::downgrade(&c));
                    c
                }
            };
            pins.push(Pin {
                remote: index,
                env,
                checkout,
            });
        }
        Ok((fetched, pins))
    }

    /// `master plan --rev REV`: the state tree at `rev` (a branch, tag or
    /// commit) of the one remote serving files, fetched first so a branch
    /// pushed a moment ago is seen, as a candidate tree, with the commit it
    /// resolved to. What the master serves does not change: nothing is
    /// pinned or checked out.
    pub fn tree_at(&self, rev: &str) -> Result<(CandidateTree, String), String> {
        let serving: Vec<&Remote> = self
            .config
            .remotes
            .iter()
            .filter(|r| matches!(r.serves, Serves::Files { .. }))
            .collect();
        let remote = match serving.as_slice() {
            [one] => *one,
            [] => {
                return Err(
                    "--rev needs a gitfs remote serving the state tree; this master has none"
                        .into(),
                )
            }
            many => {
                return Err(format!(
                "--rev needs exactly one gitfs remote serving the state tree; this master has {}",
                many.len()
            ))
            }
        };
        // One repository user at a time, as an update is.
        let _updates = self.checkouts.lock().unwrap_or_else(|e| e.into_inner());
        let repo =
            fetch::open(&self.remote_dir(remote).join("repo.git")).map_err(|e| e.to_string())?;
        fetch::fetch(&repo, remote).map_err(|e| {
            format!(
                "cannot fetch gitfs remote {}: {e} (a plan of {rev:?} needs it as the remote has it now)",
                remote.name
            )
        })?;
        let commit = fetch::resolve(&repo, rev).map_err(|e| format!("--rev {rev}: {e}"))?;
        let files = fetch::read_files(&repo, &commit, &remote.root, &remote.mountpoint)
            .map_err(|e| format!("--rev {rev}: {e}"))?;
        let files = files
            .into_iter()
            .map(|(path, data)| {
                let path = TreePath::try_from(path).map_err(|e| format!("--rev {rev}: {e}"))?;
                Ok(TreeFile { path, data })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok((CandidateTree { files }, commit))
    }

    /// Removes the commit directories no snapshot holds any more (and
    /// leftovers of an interrupted checkout).
    fn prune(&self, checkouts: &mut HashMap<PathBuf, Weak<Checkout>>) {
        checkouts.retain(|_, w| w.strong_count() > 0);
        for remote in &self.config.remotes {
            let rdir = self.remote_dir(remote);
            let Ok(entries) = std::fs::read_dir(&rdir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                let name = e.file_name();
                let name = name.to_string_lossy();
                let commit_dir = name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit());
                let leftover = name.starts_with(".tmp-");
                if (commit_dir && !checkouts.contains_key(&path)) || leftover {
                    if let Err(err) = std::fs::remove_dir_all(&path) {
                        tracing::warn!(dir = %path.display(), error = %err, "cannot remove an old git checkout");
                    }
                }
            }
        }
    }

    /// `envs` with the snapshot's checkouts as `file_roots` (in
    /// `fileserver_backend`'s order: the first directory holding a file
    /// serves it, as Salt's first backend with the file does) and
    /// git_pillar's as `pillar_roots` (beside the configured ones; the
    /// config refuses a pillarenv in both).
    pub fn environments(&self, envs: &Environments, snapshot: &Snapshot) -> Environments {
        let mut out = envs.clone();
        let add = |roots: &mut Vec<(String, Vec<PathBuf>)>, env: &str, dir: &Path| match roots
            .iter_mut()
            .find(|(e, _)| e == env)
        {
            Some((_, dirs)) => dirs.push(dir.to_path_buf()),
            None => roots.push((env.to_string(), vec![dir.to_path_buf()])),
        };
        let of_kind = |files: bool| {
            snapshot.pins.iter().filter(move |p| {
                matches!(self.config.remotes[p.remote].serves, Serves::Files { .. }) == files
            })
        };
        if self.config.serves_git_files() {
            let mut roots: Vec<(String, Vec<PathBuf>)> = Vec::new();
            for backend in &self.config.backends {
                match backend {
                    Backend::Roots => {
                        for (env, dirs) in &envs.file_roots.0 {
                            for d in dirs {
                                add(&mut roots, env, d);
                            }
                        }
                    }
                    Backend::Git => {
                        for pin in of_kind(true) {
                            add(&mut roots, &pin.env, &pin.checkout.dir);
                        }
                    }
                }
            }
            if roots.is_empty() {
                roots.push(("base".into(), Vec::new()));
            }
            out.file_roots = EnvRoots(roots);
        }
        let pillar_remotes = self
            .config
            .remotes
            .iter()
            .any(|r| matches!(r.serves, Serves::Pillar { .. }));
        if pillar_remotes {
            let mut roots = if self.config.pillar_roots_given {
                envs.pillar_roots.0.clone()
            } else {
                Vec::new()
            };
            for pin in of_kind(false) {
                add(&mut roots, &pin.env, &pin.checkout.dir);
            }
            if roots.is_empty() {
                roots.push(("base".into(), Vec::new()));
            }
            out.pillar_roots = EnvRoots(roots);
        }
        out
    }

    /// `{remote name: {env: commit}}` of the state tree (`files`) or the
    /// pillar, as a job records them; `None` if no remote serves that.
    pub fn commits(&self, snapshot: &Snapshot, files: bool) -> Option<Value> {
        let mut out = Map::new();
        for (i, remote) in self.config.remotes.iter().enumerate() {
            if matches!(remote.serves, Serves::Files { .. }) != files {
                continue;
            }
            let envs: Map<String, Value> = snapshot
                .pins
                .iter()
                .filter(|p| p.remote == i)
                .map(|p| (p.env.clone(), Value::String(p.checkout.commit.clone())))
                .collect();
            out.insert(remote.name.clone(), Value::Object(envs));
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    /// What `master fileserver status` shows.
    pub fn status(&self) -> Value {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let remotes: Vec<Value> = self
            .config
            .remotes
            .iter()
            .zip(states.iter())
            .map(|(remote, state)| {
                let envs: Map<String, Value> = state
                    .pins
                    .iter()
                    .map(|p| (p.env.clone(), Value::String(p.checkout.commit.clone())))
                    .collect();
                let (kind, envs_key) = match remote.serves {
                    Serves::Files { .. } => ("gitfs", "saltenvs"),
                    Serves::Pillar { .. } => ("git_pillar", "pillarenvs"),
                };
                json!({
                    "name": remote.name,
                    "url": config::without_credentials(&remote.url),
                    "kind": kind,
                    envs_key: envs,
                    "last_fetch": state.last_fetch,
                    "last_attempt": state.last_attempt,
                    "last_error": state.last_error,
                })
            })
            .collect();
        json!({
            "update_interval": self.config.update_interval,
            "remotes": remotes,
        })
    }
}

/// The saltenvs (or the pillarenv) a remote serves, each with its commit,
/// from its branches and tags: Salt's mapping (the `base` branch is saltenv
/// `base`, every other branch and tag a saltenv of its name, a branch
/// winning over a tag; `saltenv` options map an env to a ref).
fn envs_of(
    remote: &Remote,
    branches: &[(String, String)],
    tags: &[(String, String)],
) -> Result<Vec<(String, String)>, fetch::GitError> {
    let resolve = |r: &str| {
        branches
            .iter()
            .chain(tags)
            .find(|(n, _)| n == r)
            .map(|(_, c)| c.clone())
    };
    match &remote.serves {
        Serves::Pillar { branch, env } => {
            let commit = resolve(branch).ok_or_else(|| {
                fetch::GitError::Git(format!("the remote has no branch {branch:?}"))
            })?;
            Ok(vec![(env.clone(), commit)])
        }
        Serves::Files { base, saltenv_refs } => {
            let mut out: Vec<(String, String)> = Vec::new();
            for (name, commit) in branches.iter().chain(tags) {
                let env = if name == base { "base" } else { name.as_str() };
                // A ref whose name is not a saltenv name (`feature/x`), or
                // a branch named `base` that is not the base branch.
                if common::env_name::check(env).is_err() || (env == "base" && name != base) {
                    continue;
                }
                if !out.iter().any(|(e, _)| e == env) {
                    out.push((env.to_string(), commit.clone()));
                }
            }
            for (env, r) in saltenv_refs {
                let Some(commit) = resolve(r) else {
                    tracing::warn!(remote = %remote.name, saltenv = %env, "the ref mapped to a saltenv is not on the remote");
                    continue;
                };
                out.retain(|(e, _)| e != env);
                out.push((env.clone(), commit));
            }
            Ok(out)
        }
    }
}

const NO_REMOTES: &str =
    "no git remotes: the config names neither gitfs_remotes nor an ext_pillar git";

/// `master fileserver update`: every remote fetched now; the status after,
/// with `updated: false` when a remote failed.
pub async fn answer_update(gitfs: Option<Arc<GitFs>>) -> Result<Value, String> {
    let gitfs = gitfs.ok_or(NO_REMOTES)?;
    let g = gitfs.clone();
    let ok = tokio::task::spawn_blocking(move || g.update())
        .await
        .map_err(|e| e.to_string())?;
    let mut status = gitfs.status();
    status["updated"] = Value::Bool(ok);
    Ok(status)
}

/// `master fileserver status`.
pub fn answer_status(gitfs: Option<&GitFs>) -> Result<Value, String> {
    Ok(gitfs.ok_or(NO_REMOTES)?.status())
}

/// Runs for the life of the daemon: an update every `gitfs_update_interval`.
pub async fn updates(gitfs: Arc<GitFs>) {
    let period = gitfs.update_interval();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let g = gitfs.clone();
        let _ = tokio::task::spawn_blocking(move || g.update()).await;
    }
}

#[cfg(test)]
mod tests;
