//! Every minion's last grains, in memory and under `cachedir/minions/<id>/`
//! (or, with `cache: postgres`, in the shared store: `crate::pg_cache`).
//!
//! Kept as JSON text, parsed when a target or a compile needs them: a
//! parsed grains map costs several times its text, and at 10,000 minions
//! the parsed maps alone were most of the master's memory.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use common::data::Value;

use super::grains_writer::GrainsWriter;
use crate::pg_cache::{CachedRow, PgCache};

/// One minion's grains as JSON text.
pub struct CachedGrains {
    /// Shared with the shared store's writer, which may still hold it.
    json: Arc<str>,
}

impl CachedGrains {
    fn from_json(json: &str) -> Self {
        CachedGrains { json: json.into() }
    }

    fn new(grains: &Value) -> Self {
        CachedGrains {
            json: serde_json::to_string(grains).unwrap_or_default().into(),
        }
    }

    /// The digest a grains note of the shared store carries of this text.
    pub fn digest(&self) -> String {
        crate::pg_cache::grains_digest(&self.json)
    }

    /// The grains map (an empty map if the text was unreadable).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or_else(|_| Value::Object(Default::default()))
    }
}

#[derive(Default)]
pub struct GrainsCache {
    dir: PathBuf,
    by_id: RwLock<BTreeMap<String, Arc<CachedGrains>>>,
    /// `cache: postgres`: written to the shared store (from a thread of
    /// its own) instead of `dir`; other masters' changes arrive through
    /// [`GrainsCache::heard`].
    shared: Option<Arc<GrainsWriter>>,
}

/// Each minion's `name` under `dir` (`cachedir/minions/<id>/name`) that
/// parses as JSON, for ids that are valid minion ids: what the caches of
/// earlier runs left. Anything else there is skipped.
pub(super) fn per_minion_json(dir: &Path, name: &str) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Some(id) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if crate::pki::validate_id(&id).is_err() {
            continue;
        }
        let text = std::fs::read_to_string(entry.path().join(name)).ok();
        if let Some(v) = text.and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
            found.push((id, v));
        }
    }
    found
}

impl GrainsCache {
    /// Loads what earlier runs left under `cachedir/minions`.
    pub fn load(cachedir: &Path) -> Self {
        let dir = cachedir.join("minions");
        let mut by_id = BTreeMap::new();
        for (id, v) in per_minion_json(&dir, "grains.json") {
            by_id.insert(id, Arc::new(CachedGrains::new(&v)));
        }
        GrainsCache {
            dir,
            by_id: RwLock::new(by_id),
            shared: None,
        }
    }

    /// The grains in `rows` (the shared store's), written through to `pg`.
    pub fn shared(pg: Arc<PgCache>, rows: &[(String, CachedRow)]) -> Self {
        let cache = GrainsCache {
            shared: Some(GrainsWriter::start(pg)),
            ..GrainsCache::default()
        };
        cache.replace_all(rows);
        cache
    }

    /// Replaces what is in memory with `rows` (the shared store reloaded).
    pub fn replace_all(&self, rows: &[(String, CachedRow)]) {
        let by_id = rows
            .iter()
            .filter_map(|(id, r)| {
                Some((
                    id.clone(),
                    Arc::new(CachedGrains::from_json(r.grains.as_deref()?)),
                ))
            })
            .collect();
        *self.by_id.write().unwrap() = by_id;
    }

    /// Minion `id`'s grains as the shared store now holds them (`None`:
    /// none), in memory only: another master stored them.
    pub fn heard(&self, id: &str, json: Option<&str>) {
        let mut by_id = self.by_id.write().unwrap();
        match json {
            Some(j) => by_id.insert(id.to_string(), Arc::new(CachedGrains::from_json(j))),
            None => by_id.remove(id),
        };
    }

    /// Drops `id`'s grains not yet written to the shared store (its key
    /// was deleted: they must not come back after the row's delete).
    pub fn forget_unwritten(&self, id: &str) {
        if let Some(writer) = &self.shared {
            writer.forget(id);
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<CachedGrains>> {
        self.by_id.read().unwrap().get(id).cloned()
    }

    /// Everything, cheaply (shared entries), for matching a target.
    pub fn snapshot(&self) -> BTreeMap<String, Arc<CachedGrains>> {
        self.by_id.read().unwrap().clone()
    }

    /// Records a minion's grains in memory and on disk, or in the shared
    /// store with `cache: postgres` (ids are validated
    /// by the key store before a session exists).
    pub fn set(&self, id: &str, grains: &Value) {
        // Checked again here, where the id becomes a directory name.
        if let Err(e) = crate::pki::validate_id(id) {
            tracing::warn!(error = %e, "grains for an invalid minion id; not cached");
            return;
        }
        let new = CachedGrains::new(grains);
        if self.get(id).is_some_and(|old| old.json == new.json) {
            return;
        }
        match &self.shared {
            Some(writer) => writer.write(id, new.json.clone()),
            None => self.write_file(id, &new.json),
        }
        self.by_id
            .write()
            .unwrap()
            .insert(id.to_string(), Arc::new(new));
    }

    fn write_file(&self, id: &str, json: &str) {
        let path = self.dir.join(id).join("grains.json");
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().unwrap())?;
            // Atomic but not fsynced: a cache of what each minion sends
            // again when it connects, written for every grains change of a
            // fleet, where a disk flush each would throttle the master.
            durable::Durable::new()
                .mode(0o666)
                .sync(durable::Fsync::Nothing)
                .write(&path, json.as_bytes())
        };
        if let Err(e) = write() {
            tracing::warn!(minion = id, error = %e, "cannot write the grains cache");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grains_survive_a_reload_and_parse_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let g =
            serde_json::json!({"id": "web1", "os": "Debian", "num_cpus": 2, "ipv4": ["10.0.0.1"]});
        GrainsCache::load(dir.path()).set("web1", &g);
        let again = GrainsCache::load(dir.path());
        assert_eq!(again.get("web1").unwrap().value(), g);
        assert!(again.get("web2").is_none());
        assert_eq!(again.snapshot().len(), 1);
    }

    /// `cache: postgres`: grains are in memory at once and reach the shared
    /// store from the writer's thread; a newer set replaces the row.
    #[test]
    fn grains_reach_the_shared_store_from_a_thread_of_their_own() {
        let pg = ::tests::postgres::Postgres::start();
        let store = Arc::new(PgCache::open(&pg.dsn()).unwrap());
        let cache = GrainsCache::shared(store.clone(), &[]);
        for i in 0..200 {
            let id = format!("web{i}");
            cache.set(&id, &serde_json::json!({"id": id, "n": i}));
        }
        assert_eq!(cache.get("web7").unwrap().value()["n"], 7);
        ::tests::daemons::wait_until(std::time::Duration::from_secs(30), "200 rows", || {
            store.load_all().unwrap().len() == 200
        });
        let row = store.row("web7").unwrap().unwrap();
        let stored: Value = serde_json::from_str(row.grains.as_deref().unwrap()).unwrap();
        assert_eq!(stored, serde_json::json!({"id": "web7", "n": 7}));

        cache.set("web7", &serde_json::json!({"id": "web7", "n": 70}));
        ::tests::daemons::wait_until(std::time::Duration::from_secs(30), "web7 changed", || {
            let row = store.row("web7").unwrap().unwrap();
            row.grains.as_deref() == Some(r#"{"id":"web7","n":70}"#)
        });
    }
}
