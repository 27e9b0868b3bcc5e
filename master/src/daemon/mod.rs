//! `master serve`: the daemon. Two listeners (minions on `ret_port`,
//! operators on `operator_port`), the key store, the live-minion registry
//! with its on-disk grains cache, job dispatch and the job cache.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use common::render::{Renderer, Session};
use tokio::sync::mpsc;
use transport::keys::KeyPair;
use transport::wire::{Jid, JobReturn};

use crate::config::MasterConfig;
use crate::jobcache::JobCache;
use crate::listener::{self, Limits, MinionPeer};
use crate::pki::KeyStore;

pub mod compile;
mod compile_cache;
mod grains_cache;
mod minions;
mod operators;
pub mod probe;
mod publish;
mod runfun;

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
    pub renderer: Arc<Renderer>,
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
    /// Compiles reused while their inputs are unchanged.
    pub compiled: compile_cache::CompileCache,
    pub running: Mutex<HashMap<(Jid, String), RunningJob>>,
}

impl Master {
    pub fn open(config: MasterConfig) -> anyhow::Result<Arc<Master>> {
        let keys = KeyStore::open(&config.pki_dir)?
            .limit_pending(config.max_pending_keys, config.pending_key_rate);
        let key = Arc::new(KeyPair::load_or_create(&config.pki_dir.join("master.key"))?);
        transport::keys::create_private_dir(&config.cachedir)?;
        let jobs = JobCache::open(&config.cachedir.join("jobs.sqlite"))?;
        let orphaned = jobs.finish_orphaned()?;
        if orphaned > 0 {
            tracing::info!(jobs = orphaned, "jobs left running by the previous master marked finished; their late returns are still recorded");
        }
        let master = Master {
            key,
            keys: Mutex::new(keys),
            jobs: Mutex::new(jobs),
            live: RwLock::new(HashMap::new()),
            grains: GrainsCache::load(&config.cachedir),
            compiled: compile_cache::CompileCache::new(COMPILE_CACHE_BYTES),
            running: Mutex::new(HashMap::new()),
            config,
        };
        Ok(Arc::new(master))
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
        if let Some(m) = self.live.write().unwrap().remove(id) {
            let _ = m.peer.send(&transport::wire::MasterMsg::Admission(
                transport::wire::Admission::Refused {
                    reason: reason.to_string(),
                },
            ));
            m.peer.close();
            m.probes.close_all();
        }
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

/// Starts both listeners; returns the endpoints they bound.
pub async fn start(master: Arc<Master>) -> anyhow::Result<(String, String)> {
    ensure_local_operator(&master)?;
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
    tracing::info!(minions = %minion_ep, operators = %op_ep, fingerprint = %master.key.public.fingerprint(), "master listening");
    Ok((minion_ep, op_ep))
}
