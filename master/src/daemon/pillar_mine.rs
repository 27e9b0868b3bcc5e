//! The `mine_functions` of each minion's pillar, sent to that minion.
//!
//! Salt's minion runs its config's `mine_functions` with its pillar's merged
//! over them (`config.merge`). A Brine minion never holds its whole pillar,
//! so the master compiles it (from the grains the minion just sent, as a job
//! would) and sends only that key (`MasterMsg::MineFunctions`); the minion
//! merges and sends its mine again. This happens when a minion sends grains
//! (every connection, and when they change) and on `saltutil.refresh_pillar`.
//! Compiles queue here and run one batch at a time on one blocking thread,
//! with one [`Tree`] per batch, so 10,000 minions connecting at once cost a
//! background queue, not 10,000 tree walks competing with jobs.
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use common::data::Value;
use transport::wire::MasterMsg;

use super::Master;
use crate::listener::MinionPeer;

/// Minions whose pillar's `mine_functions` are to be worked out and sent.
#[derive(Default)]
pub struct PillarMineQueue {
    waiting: Mutex<BTreeSet<String>>,
    wake: tokio::sync::Notify,
}

impl PillarMineQueue {
    pub fn push(&self, id: &str) {
        self.waiting.lock().unwrap().insert(id.to_string());
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.waiting.lock().unwrap())
            .into_iter()
            .collect()
    }
}

/// Runs for the life of the daemon: empties the queue batch by batch.
pub async fn worker(master: Arc<Master>) {
    loop {
        master.pillar_mine.wake.notified().await;
        let ids = master.pillar_mine.take();
        if ids.is_empty() || master.is_stopping() {
            continue;
        }
        let m = master.clone();
        let _ = tokio::task::spawn_blocking(move || send_batch(&m, &ids)).await;
    }
}

fn send_batch(master: &Arc<Master>, ids: &[String]) {
    let tree = master.tree();
    for id in ids {
        if master.is_stopping() {
            return;
        }
        let (Some((peer, _)), Some(grains)) = (master.live_peer(id), master.grains.get(id)) else {
            continue;
        };
        let probe = super::publish::probe_for(master, id);
        match tree.pillar_for(id, &grains.value(), probe) {
            Ok(pillar) => offer(&peer, id, &pillar, false),
            Err(errors) => {
                let first = errors.0.first().map(|e| e.to_string()).unwrap_or_default();
                tracing::warn!(minion = %id, error = %first, "cannot compile this minion's pillar to read its mine_functions");
            }
        }
    }
}

/// Sends minion `id` the `mine_functions` of its compiled `pillar`: when
/// there are some, or `always` (a refresh, where none may mean "none any
/// more"). A malformed value is logged naming the minion, and not sent.
pub fn offer(peer: &MinionPeer, id: &str, pillar: &Value, always: bool) {
    let functions = match pillar.get("mine_functions") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => match common::config::mine_functions(v) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(minion = %id, error = %e, "this minion's pillar key mine_functions is not usable; not sent");
                return;
            }
        },
    };
    if functions.is_empty() && !always {
        return;
    }
    if let Err(e) = peer.send(&MasterMsg::MineFunctions { functions }) {
        tracing::debug!(minion = %id, error = %e, "cannot send the pillar's mine_functions");
    }
}
