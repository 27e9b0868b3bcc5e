//! `cache: postgres`: grains and mine data another master stored reach
//! this master's in-memory maps (the read path of targeting and
//! `mine.get`) through `brine_cache`, and a reconnect reloads them whole.
use std::sync::Arc;

use super::Master;
use crate::pg_cache::CacheChange;

/// A change announced on `brine_cache`: the row is read and put in memory.
pub fn on_note(m: &Arc<Master>, payload: &str) {
    let Some(pg) = &m.shared_cache else {
        return;
    };
    let Some(change) = CacheChange::parse(payload) else {
        return;
    };
    let id = match &change {
        CacheChange::Grains(id) | CacheChange::Mine(id) | CacheChange::Deleted(id) => id,
    };
    if crate::pki::validate_id(id).is_err() {
        return;
    }
    let row = match pg.row(id) {
        Ok(r) => r.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(minion = %id, error = %e, "cannot read a minion's cache from PostgreSQL");
            return;
        }
    };
    match change {
        CacheChange::Grains(_) => m.grains.heard(id, row.grains.as_deref()),
        CacheChange::Mine(_) => m.mine.heard(id, row.mine.as_deref()),
        CacheChange::Deleted(_) => {
            m.grains.heard(id, row.grains.as_deref());
            m.mine.heard(id, row.mine.as_deref());
        }
    }
}

/// Reloads every minion's grains and mine (notifications may have been lost).
pub fn reload(m: &Arc<Master>) {
    let Some(pg) = &m.shared_cache else {
        return;
    };
    match pg.load_all() {
        Ok(rows) => {
            m.grains.replace_all(&rows);
            m.mine.replace_all(&rows);
            tracing::info!(
                minions = rows.len(),
                "grains and mine reloaded from PostgreSQL"
            );
        }
        Err(e) => tracing::warn!(error = %e, "cannot reload grains and mine from PostgreSQL"),
    }
}
