//! `cache: postgres`: the grains minions send, written to the shared store
//! by a thread of their own, many per transaction. Written where they
//! arrive, each was a transaction and its NOTIFY on the listener's task,
//! holding up every other minion's message to that master: a fleet of
//! 10,000 took 2.4 times as long to come up (BENCHMARKS.md).
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};

use crate::pg_cache::PgCache;

/// Grains waiting to be written, by minion id; a newer set replaces what
/// has not been written yet.
pub struct GrainsWriter {
    pending: Mutex<BTreeMap<String, Arc<str>>>,
    wake: Condvar,
}

impl GrainsWriter {
    /// Starts the writing thread, for the life of the process.
    pub fn start(pg: Arc<PgCache>) -> Arc<GrainsWriter> {
        let writer = Arc::new(GrainsWriter {
            pending: Mutex::new(BTreeMap::new()),
            wake: Condvar::new(),
        });
        let w = writer.clone();
        let started = std::thread::Builder::new()
            .name("brine-grains-pg".into())
            .spawn(move || loop {
                let batch = w.next_batch();
                let rows: Vec<(&str, &str)> =
                    batch.iter().map(|(id, j)| (id.as_str(), &**j)).collect();
                if let Err(e) = pg.set_grains_many(&rows) {
                    tracing::warn!(minions = rows.len(), error = %e, "cannot store grains in PostgreSQL");
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the thread that stores grains in PostgreSQL");
        }
        writer
    }

    /// Queues `id`'s grains (JSON text) to be written.
    pub fn write(&self, id: &str, json: Arc<str>) {
        self.pending.lock().unwrap().insert(id.to_string(), json);
        self.wake.notify_one();
    }

    /// Drops what is queued for `id` (its key was deleted).
    pub fn forget(&self, id: &str) {
        self.pending.lock().unwrap().remove(id);
    }

    /// Waits for grains to write and takes all of them.
    fn next_batch(&self) -> BTreeMap<String, Arc<str>> {
        let mut pending = self.pending.lock().unwrap();
        while pending.is_empty() {
            pending = self.wake.wait(pending).unwrap();
        }
        std::mem::take(&mut *pending)
    }
}
