//! `cache: postgres`: grains and mine data another master stored reach
//! this master's in-memory maps (the read path of targeting and
//! `mine.get`) through `brine_cache`, and a reconnect reloads them whole.
use std::sync::Arc;

use super::grains_cache::GrainsCache;
use super::Master;
use crate::pg_cache::CacheChange;

/// A change announced on `brine_cache`: the row is read and put in memory,
/// unless the note's grains are those held already. At a fleet's start
/// every minion's grains are announced once and both masters hold them
/// (each got them from the minion), so reading each back was 20,000 reads
/// competing with the handshakes for PostgreSQL.
pub fn on_note(m: &Arc<Master>, payload: &str) {
    let Some(pg) = &m.shared_cache else {
        return;
    };
    let Some(change) = CacheChange::parse(payload) else {
        return;
    };
    let id = change.id();
    if crate::pki::validate_id(id).is_err() {
        return;
    }
    if held_already(&m.grains, &change) {
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
        CacheChange::Grains { .. } => m.grains.heard(id, row.grains.as_deref()),
        CacheChange::Mine(_) => m.mine.heard(id, row.mine.as_deref()),
        CacheChange::Deleted(_) => {
            m.grains.heard(id, row.grains.as_deref());
            m.mine.heard(id, row.mine.as_deref());
        }
    }
}

/// Whether `change` announces grains `grains` holds already, text for text.
fn held_already(grains: &GrainsCache, change: &CacheChange) -> bool {
    match change {
        CacheChange::Grains {
            id,
            digest: Some(digest),
        } => grains.get(id).is_some_and(|g| g.digest() == *digest),
        _ => false,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grains_held_already_are_not_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cache = GrainsCache::load(dir.path());
        let grains = serde_json::json!({"id": "web1", "os": "Debian"});
        cache.set("web1", &grains);
        let text = serde_json::to_string(&grains).unwrap();
        let note = |id: &str, digest: Option<String>| CacheChange::Grains {
            id: id.into(),
            digest,
        };
        let same = crate::pg_cache::grains_digest(&text);
        assert!(held_already(&cache, &note("web1", Some(same.clone()))));
        // Other grains, another minion, a note without a digest, or the
        // mine: read.
        let other = crate::pg_cache::grains_digest(r#"{"id":"web1","os":"Rocky"}"#);
        assert!(!held_already(&cache, &note("web1", Some(other))));
        assert!(!held_already(&cache, &note("web2", Some(same))));
        assert!(!held_already(&cache, &note("web1", None)));
        assert!(!held_already(&cache, &CacheChange::Mine("web1".into())));
    }
}
