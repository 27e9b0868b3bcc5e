//! `key_store: postgres`: what another master decides about a minion key
//! takes effect here at once, through the same paths as this master's own
//! `master keys` command: an accepted key admits the minion's waiting
//! session, a rejected or deleted one closes its session.
use std::sync::Arc;

use super::Master;
use crate::config::Store;
use crate::pki::KeyState;
use crate::pki_postgres::KeyChange;

/// A change announced on `brine_keys`.
pub fn on_note(m: &Arc<Master>, payload: &str) {
    let Some(change) = KeyChange::parse(payload) else {
        return;
    };
    tracing::debug!(id = %change.id, state = %change.state, "a minion key changed");
    match change.state.as_str() {
        "accepted" => m.admit_pending(&change.id),
        "rejected" => m.disconnect(&change.id, "this minion's key was rejected"),
        "deleted" => {
            m.disconnect(&change.id, "this minion's key was deleted");
            forget_local_mine(m, &change.id);
        }
        _ => {}
    }
}

/// With a local cache, a deleted key takes its mine with it here; a shared
/// cache hears of it on its own channel.
fn forget_local_mine(m: &Master, id: &str) {
    if m.config.stores.cache == Store::Local {
        m.mine.remove(id);
    }
}

/// After notifications may have been lost: every session, live or held
/// pending, is checked against the store as a notification would have:
/// one whose key is no longer accepted is closed, a waiting one whose key
/// now is is admitted.
pub fn reconcile(m: &Arc<Master>) {
    let live: Vec<(String, transport::keys::PublicKey)> = m
        .live
        .read()
        .unwrap()
        .iter()
        .map(|(id, l)| (id.clone(), l.peer.key))
        .collect();
    let mut closed = 0;
    for (id, key) in live {
        let held = m.keys.lock().unwrap().fingerprint(&id);
        let accepted = m.keys.lock().unwrap().accepted_key(&id);
        let reason = match (held, accepted) {
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(minion = %id, error = %e, "cannot check a minion's key");
                continue;
            }
            (_, Ok(Some(k))) if k == key => continue,
            (Ok(None), _) => "this minion's key was deleted",
            (Ok(Some((KeyState::Rejected, _))), _) => "this minion's key was rejected",
            _ => "this minion's key is no longer accepted",
        };
        m.disconnect(&id, reason);
        if reason.ends_with("deleted") {
            forget_local_mine(m, &id);
        }
        closed += 1;
    }
    let pending: Vec<String> = m.pending.lock().unwrap().keys().cloned().collect();
    for id in &pending {
        let held = m.keys.lock().unwrap().fingerprint(id);
        match held {
            Ok(Some((KeyState::Accepted, _))) => m.admit_pending(id),
            Ok(Some((KeyState::Rejected, _))) => m.disconnect(id, "this minion's key was rejected"),
            Ok(None) => m.disconnect(id, "this minion's key was deleted"),
            Ok(Some((KeyState::Pending, _))) => {}
            Err(e) => tracing::warn!(minion = %id, error = %e, "cannot check a minion's key"),
        }
    }
    tracing::info!(
        closed,
        waiting = pending.len(),
        "minion sessions reconciled with the shared key store"
    );
}
