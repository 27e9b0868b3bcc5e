//! `master serve`: the daemon. Two listeners (minions on `ret_port`,
//! operators on `operator_port`), the key store, the live-minion registry
//! with its on-disk grains cache, job dispatch and the job cache.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use common::render::Session;
use common::saltenvs::Saltenvs;
use tokio::sync::mpsc;
use transport::keys::KeyPair;
use transport::wire::{Admission, Jid, JobReturn, MasterMsg};

use crate::config::MasterConfig;
use crate::jobcache::JobCache;
use crate::listener::{self, Limits, MinionPeer};
use crate::pki::KeyStore;

pub mod compile;
mod compile_cache;
mod drift;
pub mod events;
mod grains_cache;
mod grains_writer;
mod job_record;
mod late_return;
pub mod mine;
mod minion_job;
mod minions;
mod operators;
mod pillar_mine;
mod plan;
mod plan_apply;
pub mod probe;
mod publish;
mod runfun;
mod secrets_who;
mod shared_acl;
mod shared_cache;
mod shared_keys;
mod shared_watch;

use grains_cache::GrainsCache;
use probe::ProbeReplies;
pub use publish::KEEPALIVE;

/// A minion with a session open now.
pub struct LiveMinion {
    pub peer: Arc<MinionPeer>,
    pub probes: Arc<ProbeReplies>,
}

/// What the master keeps about one minion's part of a running job.
pub struct RunningJob {
    /// The render inputs, for templates the minion asks the master to render.
    pub session: Option<Arc<Session>>,
    /// The files of every saltenv, which the minion's requests read.
    pub saltenvs: Saltenvs,
    /// The git commits those files are checked out from, kept on disk
    /// until the job is done.
    pub git: Option<Arc<crate::gitfs::Snapshot>>,
    /// Where the return goes (the publish waiting for it).
    pub done: mpsc::UnboundedSender<(String, JobReturn)>,
    /// SHA-256 → url of the files this job may fetch by hash.
    pub blobs: HashMap<String, String>,
}

/// Encoded compiles kept for reuse, at most (about 2 KiB per state).
const COMPILE_CACHE_BYTES: usize = 64 << 20;

pub struct Master {
    pub config: MasterConfig,
    pub key: Arc<KeyPair>,
    pub keys: Mutex<KeyStore>,
    pub jobs: Mutex<JobCache>,
    pub live: RwLock<HashMap<String, LiveMinion>>,
    /// Grains of every minion that ever connected, as last sent.
    pub grains: GrainsCache,
    /// Every minion's mine data, as last sent (`mine::MineStore`).
    pub mine: mine::MineStore,
    /// Minions whose pillar's `mine_functions` are to be sent to them.
    pub pillar_mine: pillar_mine::PillarMineQueue,
    /// Compiles reused while their inputs are unchanged.
    pub compiled: compile_cache::CompileCache,
    pub running: Mutex<HashMap<(Jid, String), RunningJob>>,
    /// What `gpg` decrypted for a minion whose return had not come by its
    /// job's deadline: hidden from that return if it comes later (in memory
    /// only: a plaintext is never written down).
    pub late_secrets: Mutex<HashMap<(Jid, String), Vec<common::render::Secret>>>,
    /// Returns with no publish waiting, recorded in batches off the runtime.
    pub late_returns: late_return::LateReturnQueue,
    /// Sessions of minions told their key is pending, kept open so that
    /// `master keys accept` admits them at once.
    pub pending: Mutex<HashMap<String, Arc<MinionPeer>>>,
    /// Serials of the sessions held while pending and not admitted since
    /// (a held session replaced by a newer one stays unadmitted).
    pub held: Mutex<HashSet<u64>>,
    /// Set once when the master stops: no new sessions, jobs or returns.
    /// Taking a return holds it for reading, so once it is set every return
    /// acked so far has reached its job's wave (see [`stop`]).
    pub stopping: RwLock<bool>,
    /// State runs minions asked for themselves (`minion apply`, `schedule`).
    pub minion_jobs: minion_job::MinionJobs,
    /// The state tree and pillar from git, when the config names remotes.
    pub gitfs: Option<Arc<crate::gitfs::GitFs>>,
    /// `master events`: Salt's event bus, one bounded queue per subscriber.
    pub events: events::EventBus,
    /// The operator ACL applied now: the config's, or with `key_store:
    /// postgres` the shared one (`shared_acl`), replaced when it changes.
    pub acl: RwLock<Option<crate::config::Acl>>,
    /// `key_store: postgres`: where the shared ACL is kept.
    pub shared_acl: Option<crate::pg_acl::PgAcl>,
    /// `cache: postgres`: where grains and mine are kept.
    pub shared_cache: Option<Arc<crate::pg_cache::PgCache>>,
    /// What the shared store's listener heard since start, until
    /// `shared_watch::watch` takes it.
    heard: Mutex<Option<std::sync::mpsc::Receiver<crate::pgstore::Heard>>>,
}

impl Master {
    /// The ACL decision with the ACL applied now (the config's, or the
    /// shared one as PostgreSQL last announced it).
    pub fn allows(&self, operator: &str, target_expr: &str, function: &str) -> bool {
        let acl = self.acl.read().unwrap();
        crate::config::acl_allows(acl.as_ref(), operator, target_expr, function)
    }

    /// Forgets a deleted minion's cached data: its mine (and, with `cache:
    /// postgres`, its grains) here and, shared, on every master.
    pub fn forget_cache(&self, id: &str) {
        if let Some(pg) = &self.shared_cache {
            self.grains.forget_unwritten(id);
            if let Err(e) = pg.delete(id) {
                tracing::warn!(minion = %id, error = %e, "cannot delete a minion's cache in PostgreSQL");
            }
            self.grains.heard(id, None);
        }
        self.mine.remove(id);
    }

    /// The ids whose keys are accepted, as the key store lists them now.
    pub fn accepted_ids(&self) -> Result<Vec<String>, String> {
        Ok(self
            .keys
            .lock()
            .unwrap()
            .list()
            .map_err(|e| e.to_string())?
            .accepted)
    }

    pub fn open(config: MasterConfig) -> anyhow::Result<Arc<Master>> {
        let mut keys = KeyStore::open(&config.pki_dir)?
            .limit_pending(config.max_pending_keys, config.pending_key_rate);
        if config.stores.key_store == crate::config::Store::Postgres {
            keys = keys.shared(crate::pki_postgres::PgKeys::open(config.stores.dsn())?);
        }
        let key = Arc::new(KeyPair::load_or_create(&config.pki_dir.join("master.key"))?);
        transport::keys::create_private_dir(&config.cachedir)?;
        let jobs = open_job_cache(&config, &key)?;
        let orphaned = jobs.finish_orphaned()?;
        if orphaned > 0 {
            tracing::info!(jobs = orphaned, "jobs left running by the previous master marked finished; their late returns are still recorded");
        }
        // Listening first: a change made while the tables are read is heard.
        let heard = shared_watch::listen(&config)?;
        let shared_acl = match config.stores.key_store {
            crate::config::Store::Postgres => {
                Some(crate::pg_acl::PgAcl::open(config.stores.dsn())?)
            }
            crate::config::Store::Local => None,
        };
        let acl = match &shared_acl {
            Some(pg) => shared_acl::resolve(&config, pg)?,
            None => config.acl.clone(),
        };
        let (grains, mine, shared_cache) = match config.stores.cache {
            crate::config::Store::Postgres => {
                let pg = Arc::new(crate::pg_cache::PgCache::open(config.stores.dsn())?);
                let rows = pg.load_all()?;
                tracing::info!(
                    minions = rows.len(),
                    "grains and mine in PostgreSQL (cache: postgres)"
                );
                (
                    GrainsCache::shared(pg.clone(), &rows),
                    mine::MineStore::shared(pg.clone(), &rows),
                    Some(pg),
                )
            }
            crate::config::Store::Local => (
                GrainsCache::load(&config.cachedir),
                mine::MineStore::load(&config.cachedir),
                None,
            ),
        };
        let master = Master {
            key,
            keys: Mutex::new(keys),
            jobs: Mutex::new(jobs),
            live: RwLock::new(HashMap::new()),
            grains,
            mine,
            pillar_mine: pillar_mine::PillarMineQueue::default(),
            compiled: compile_cache::CompileCache::new(COMPILE_CACHE_BYTES),
            running: Mutex::new(HashMap::new()),
            late_secrets: Mutex::new(HashMap::new()),
            late_returns: late_return::LateReturnQueue::default(),
            pending: Mutex::new(HashMap::new()),
            held: Mutex::new(HashSet::new()),
            stopping: RwLock::new(false),
            minion_jobs: Default::default(),
            gitfs: crate::gitfs::GitFs::new(&config.git, &config.cachedir).map(Arc::new),
            events: events::EventBus::default(),
            acl: RwLock::new(acl),
            shared_acl,
            shared_cache,
            heard: Mutex::new(heard),
            config,
        };
        Ok(Arc::new(master))
    }

    /// The trees a job starting now compiles from: the config's roots, with
    /// the pinned git commits when there are git remotes.
    pub fn tree(&self) -> compile::Tree {
        self.tree_with(|_| {})
    }

    /// The current tree with its environments edited first (`master plan`
    /// puts a candidate checkout in place of one saltenv's roots).
    pub fn tree_with(&self, edit: impl FnOnce(&mut common::config::Environments)) -> compile::Tree {
        let (mut envs, git) = match &self.gitfs {
            Some(g) => {
                let snapshot = g.snapshot();
                (g.environments(&self.config.envs, &snapshot), Some(snapshot))
            }
            None => (self.config.envs.clone(), None),
        };
        edit(&mut envs);
        let mut tree =
            compile::Tree::new(&envs, self.config.nodegroups.clone()).with_renderers(&self.config);
        tree.git = git;
        tree
    }

    /// The pinned commits of the state tree and of the pillar in `tree`, as
    /// a job records them.
    pub fn git_commits(
        &self,
        tree: &compile::Tree,
    ) -> (Option<common::data::Value>, Option<common::data::Value>) {
        match (&self.gitfs, &tree.git) {
            (Some(g), Some(s)) => (g.commits(s, true), g.commits(s, false)),
            _ => (None, None),
        }
    }

    pub fn live_peer(&self, id: &str) -> Option<(Arc<MinionPeer>, Arc<ProbeReplies>)> {
        self.live
            .read()
            .unwrap()
            .get(id)
            .map(|m| (m.peer.clone(), m.probes.clone()))
    }

    /// Closes a minion's session now (its key was deleted or rejected).
    pub fn disconnect(&self, id: &str, reason: &str) {
        let refuse = |peer: &MinionPeer| {
            let _ = peer.send(&MasterMsg::Admission(Admission::Refused {
                reason: reason.to_string(),
            }));
            peer.close();
        };
        if let Some(m) = self.live.write().unwrap().remove(id) {
            refuse(&m.peer);
            m.probes.close_all();
        }
        if let Some(peer) = self.pending.lock().unwrap().remove(id) {
            refuse(&peer);
        }
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.read().unwrap()
    }

    /// Makes an admitted minion's session the live one for its id; an older
    /// session of the same id is closed.
    pub fn go_live(&self, id: &str, peer: &Arc<MinionPeer>) {
        replace_live(&mut self.live.write().unwrap(), id, peer.clone());
    }

    /// Admits the held session of minion `id` if its key is now accepted
    /// (`master keys accept`), instead of leaving the minion to retry after
    /// its `acceptance_wait_time`.
    pub fn admit_pending(&self, id: &str) {
        let mut pending = self.pending.lock().unwrap();
        let Some(peer) = pending.get(id).cloned() else {
            return;
        };
        let accepted = self.keys.lock().unwrap().accepted_key(id).ok().flatten();
        if accepted.as_ref() != Some(&peer.key) {
            return;
        }
        pending.remove(id);
        drop(pending);
        if peer.is_closed() {
            return;
        }
        // Under the registry's lock, so no job reaches the minion before
        // the admission it is waiting for.
        let mut live = self.live.write().unwrap();
        if peer
            .send(&MasterMsg::Admission(Admission::Accepted))
            .is_err()
        {
            return;
        }
        self.held.lock().unwrap().remove(&peer.serial);
        tracing::info!(minion = %id, "admitted a waiting minion: its key was accepted");
        replace_live(&mut live, id, peer);
        self.events.minion_start(id);
    }
}

fn replace_live(live: &mut HashMap<String, LiveMinion>, id: &str, peer: Arc<MinionPeer>) {
    let old = live.insert(
        id.to_string(),
        LiveMinion {
            peer,
            probes: Default::default(),
        },
    );
    if let Some(old) = old {
        old.peer.close();
        old.probes.close_all();
    }
}

/// The operator key root uses on the master host: made at start, listed in
/// `pki/operators/local.pub`, readable only by the master's user.
fn ensure_local_operator(master: &Master) -> anyhow::Result<()> {
    let path = master.config.pki_dir.join("operator.key");
    let key = KeyPair::load_or_create(&path)?;
    let keys = master.keys.lock().unwrap();
    if keys.operator_for(&key.public)?.is_none() {
        keys.add_operator("local", &key.public)?;
    }
    Ok(())
}

/// Runs for the life of the daemon: prunes the job cache every hour.
pub async fn housekeeping(master: Arc<Master>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let m = master.clone();
        let pruned =
            tokio::task::spawn_blocking(move || m.jobs.lock().unwrap().prune(m.config.keep_jobs))
                .await;
        if let Ok(Err(e)) = pruned {
            tracing::warn!(error = %e, "cannot prune the job cache");
        }
    }
}

/// How often a master sharing the job cache looks for masters that died
/// with jobs running.
const GONE_MASTERS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// With the shared job cache: finishes the running jobs of a master seen
/// without a connection to the store at two looks in a row (it died; one
/// look could fall between a store restart and its reconnect), so `jobs
/// active` on the survivors does not list them until it comes back.
async fn finish_jobs_of_gone_masters(master: Arc<Master>) {
    let mut suspects: Vec<String> = Vec::new();
    loop {
        tokio::time::sleep(GONE_MASTERS_EVERY).await;
        if master.is_stopping() {
            return;
        }
        let m = master.clone();
        let seen = std::mem::take(&mut suspects);
        let looked = tokio::task::spawn_blocking(move || {
            let jobs = m.jobs.lock().unwrap();
            let finished = match seen.is_empty() {
                true => 0,
                false => jobs.finish_jobs_of_absent(&seen)?,
            };
            Ok::<_, crate::jobcache::JobCacheError>((seen, finished, jobs.absent_masters()?))
        })
        .await;
        match looked {
            Ok(Ok((seen, finished, absent))) => {
                if finished > 0 {
                    tracing::info!(jobs = finished, masters = ?seen, "finished the running jobs of masters that are gone; their late returns are still recorded");
                }
                suspects = absent;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot look for masters that are gone"),
            Err(e) => tracing::warn!(error = %e, "cannot look for masters that are gone"),
        }
    }
}

/// Starts both listeners; returns the endpoints they bound.
pub async fn start(master: Arc<Master>) -> anyhow::Result<(String, String)> {
    ensure_local_operator(&master)?;
    if let Some(gitfs) = master.gitfs.clone() {
        // Before the ports open: the first job sees the remotes' commits
        // (or the last good ones, if a remote cannot be reached).
        let g = gitfs.clone();
        tokio::task::spawn_blocking(move || g.update()).await?;
        tokio::spawn(crate::gitfs::updates(gitfs));
    }
    shared_watch::watch(&master)?;
    let c = &master.config;
    let limits = Limits {
        handshake_rate: c.handshake_rate,
        handshake_burst: c.handshake_rate.saturating_mul(2),
        ..Limits::default()
    };
    let minion_ep = listener::serve(
        &format!("tcp://{}:{}", c.interface, c.ret_port),
        master.key.clone(),
        Arc::new(minions::MinionSide::new(master.clone())),
        limits,
    )
    .await?;
    let op_ep = listener::serve(
        &format!("tcp://{}:{}", c.interface, c.operator_port),
        master.key.clone(),
        Arc::new(operators::OperatorSide::new(master.clone())),
        limits,
    )
    .await?;
    tokio::spawn(pillar_mine::worker(master.clone()));
    if c.stores.job_cache == crate::config::Store::Postgres {
        tokio::spawn(finish_jobs_of_gone_masters(master.clone()));
    }
    // Start-up code (config, stores, gitfs, the listeners) is not run again:
    // its pages go once the master is up, as the minion's do, instead of
    // staying resident until the first publish trims them.
    tokio::spawn(async {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let _ = tokio::task::spawn_blocking(process_tuning::code_pages::trim).await;
    });
    tracing::info!(minions = %minion_ep, operators = %op_ep, fingerprint = %master.key.public.fingerprint(), "master listening");
    Ok((minion_ep, op_ep))
}

/// How long a stopping master waits for its publishes to record the returns
/// they were handed. Recording a batch takes milliseconds; this bounds a
/// compile still running when the stop came.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Stops the master's work before it exits (SIGTERM, SIGINT), in the
/// order that loses nothing: admit nothing more (sessions, publishes,
/// returns); close the minions' sessions; let every publish record the
/// returns it was handed (they were acked: only the job cache has them
/// now); sync the job cache. A return that arrives after this is not acked,
/// so its minion keeps it and delivers it to the next master process, which
/// records it as a late return. Operators waiting on a job see the master
/// lost and are pointed at `master jobs show`.
pub async fn stop(master: &Arc<Master>) {
    *master.stopping.write().unwrap() = true;
    tracing::info!("stopping: no new sessions, jobs or returns");
    let live: Vec<LiveMinion> = master
        .live
        .write()
        .unwrap()
        .drain()
        .map(|(_, m)| m)
        .collect();
    for m in live {
        m.peer.close();
        m.probes.close_all();
    }
    for (_, peer) in master.pending.lock().unwrap().drain() {
        peer.close();
    }
    let deadline = tokio::time::Instant::now() + STOP_WAIT;
    loop {
        // Dropping the waves' senders ends their wait: each records what it
        // was handed and finishes. Cleared again each turn, for a job whose
        // compile finished since.
        master.running.lock().unwrap().clear();
        if publish::in_progress() == 0 {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                publishes = publish::in_progress(),
                "stopping without waiting longer for publishes"
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let m = master.clone();
    let synced = tokio::task::spawn_blocking(move || m.jobs.lock().unwrap().checkpoint()).await;
    match synced {
        Ok(Ok(())) => tracing::info!("job cache synced; stopped"),
        Ok(Err(e)) => tracing::error!(error = %e, "cannot sync the job cache"),
        Err(e) => tracing::error!(error = %e, "cannot sync the job cache"),
    }
}

/// The job cache `master_job_cache` names: this master's SQLite file, or the
/// PostgreSQL store shared with other masters (where its jobs are marked
/// with its public key's fingerprint).
fn open_job_cache(config: &MasterConfig, key: &KeyPair) -> anyhow::Result<JobCache> {
    let stores = &config.stores;
    Ok(match stores.job_cache {
        crate::config::Store::Local => JobCache::open(&config.cachedir.join("jobs.sqlite"))?,
        crate::config::Store::Postgres => {
            let master = key.public.fingerprint();
            let cache = JobCache::open_postgres(stores.dsn(), &master)?;
            tracing::info!("job cache in PostgreSQL (master_job_cache: postgres)");
            cache
        }
    })
}
