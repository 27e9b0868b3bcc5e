//! The mine: what each minion's `mine_functions` returned, kept in memory
//! and under `cachedir/minions/<id>/mine.json` beside its grains (or, with
//! `cache: postgres`, in the shared store: `crate::pg_cache`), and read by
//! templates the master renders (`salt['mine.get']`).
//!
//! As Salt's master does (`_mine`, `clear=False`), data a minion sends is
//! merged over what it sent before; a deleted key takes its mine with it.
//! `mine.get` matches its target against the cached grains (Salt's
//! `check_minions` with `greedy=False`: only minions the master has data
//! for), so a target that reads pillar is refused rather than guessed.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use common::data::{Map, Value};
use common::render::mine::{select, MineError, MineSource, Mined};
use common::render::{CmdOptions, CmdOutput, HostProbe, ProbeError};
use common::target::{Facts, Target, TargetKind};

use super::Master;
use crate::pg_cache::{CachedRow, PgCache};

pub type MineData = Arc<Map<String, Value>>;

#[derive(Default)]
pub struct MineStore {
    dir: PathBuf,
    by_id: RwLock<BTreeMap<String, MineData>>,
    /// Bumped on every change, so compiles that read the mine go stale.
    generation: AtomicU64,
    /// `cache: postgres`: merged and written in the shared store instead
    /// of `dir`; other masters' changes arrive through [`MineStore::heard`].
    shared: Option<Arc<PgCache>>,
}

fn parse_mine(text: &str) -> Option<MineData> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => Some(Arc::new(m)),
        _ => None,
    }
}

impl MineStore {
    /// Loads what earlier runs left under `cachedir/minions`.
    pub fn load(cachedir: &Path) -> Self {
        let dir = cachedir.join("minions");
        let mut by_id = BTreeMap::new();
        for (id, v) in super::grains_cache::per_minion_json(&dir, "mine.json") {
            if let Value::Object(m) = v {
                by_id.insert(id, Arc::new(m));
            }
        }
        MineStore {
            dir,
            by_id: RwLock::new(by_id),
            generation: AtomicU64::new(0),
            shared: None,
        }
    }

    /// The mine data in `rows` (the shared store's), merged and written in `pg`.
    pub fn shared(pg: Arc<PgCache>, rows: &[(String, CachedRow)]) -> Self {
        let store = MineStore {
            shared: Some(pg),
            ..MineStore::default()
        };
        store.replace_all(rows);
        store
    }

    /// Replaces what is in memory with `rows` (the shared store reloaded).
    pub fn replace_all(&self, rows: &[(String, CachedRow)]) {
        let by_id = rows
            .iter()
            .filter_map(|(id, r)| Some((id.clone(), parse_mine(r.mine.as_deref()?)?)))
            .collect();
        *self.by_id.write().unwrap() = by_id;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Minion `id`'s mine as the shared store now holds it (`None`: none),
    /// in memory only: another master stored it.
    pub fn heard(&self, id: &str, text: Option<&str>) {
        let mut by_id = self.by_id.write().unwrap();
        let changed = match text.and_then(parse_mine) {
            Some(m) => by_id
                .insert(id.to_string(), m.clone())
                .is_none_or(|old| old != m),
            None => by_id.remove(id).is_some(),
        };
        if changed {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub fn get(&self, id: &str) -> Option<MineData> {
        self.by_id.read().unwrap().get(id).cloned()
    }

    pub fn snapshot(&self) -> BTreeMap<String, MineData> {
        self.by_id.read().unwrap().clone()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Merges `data` over minion `id`'s mine, in memory and on disk.
    pub fn update(&self, id: &str, data: Map<String, Value>) {
        if let Err(e) = crate::pki::validate_id(id) {
            tracing::warn!(error = %e, "mine data for an invalid minion id; not kept");
            return;
        }
        if let Some(pg) = &self.shared {
            match pg.merge_mine(id, data) {
                Ok(merged) => {
                    let text = serde_json::to_string(&merged).unwrap_or_default();
                    self.heard(id, Some(&text));
                }
                Err(e) => {
                    tracing::warn!(minion = id, error = %e, "cannot store the mine in PostgreSQL")
                }
            }
            return;
        }
        let mut by_id = self.by_id.write().unwrap();
        let mut merged = by_id.get(id).map(|m| (**m).clone()).unwrap_or_default();
        let before = merged.clone();
        merged.extend(data);
        if by_id.contains_key(id) && merged == before {
            return;
        }
        let path = self.dir.join(id).join("mine.json");
        let text = serde_json::to_vec(&merged).unwrap_or_default();
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().unwrap())?;
            // Like the grains beside it: a cache each minion sends again on
            // connecting, so atomic but not flushed.
            durable::Durable::new()
                .mode(0o600)
                .sync(durable::Fsync::Nothing)
                .write(&path, &text)
        };
        if let Err(e) = write() {
            tracing::warn!(minion = id, error = %e, "cannot write the mine cache");
        }
        by_id.insert(id.to_string(), Arc::new(merged));
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets minion `id`'s mine (its key was deleted).
    pub fn remove(&self, id: &str) {
        if crate::pki::validate_id(id).is_err() {
            return;
        }
        let mut by_id = self.by_id.write().unwrap();
        let path = self.dir.join(id).join("mine.json");
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(minion = id, error = %e, "cannot remove the mine cache"),
        }
        if by_id.remove(id).is_some() {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The minions `tgt` matches, by their cached grains, among those with mine
/// data, and their entries named in `functions`.
pub fn matching(
    master: &Master,
    tgt: &Value,
    kind: TargetKind,
    functions: &[String],
) -> Result<Mined, MineError> {
    if master.config.raw.contains_key("mine_get") {
        // Salt's master-side mine ACL: ignoring it would hand out data it hides.
        return Err(MineError::Failed(
            "the master config's mine_get (Salt's mine ACL) is not supported by Brine".into(),
        ));
    }
    let target = Target::parse_value(tgt, kind, &master.config.nodegroups)?;
    if target.needs_pillar() {
        return Err(MineError::NeedsPillar { kind });
    }
    let empty = Value::Object(Map::new());
    let mut out = Vec::new();
    for (id, data) in master.mine.snapshot() {
        let picked = select(&data, functions);
        if picked.is_empty() {
            continue;
        }
        let grains = match master.grains.get(&id) {
            Some(g) => g.value(),
            None => serde_json::json!({"id": id}),
        };
        let facts = Facts {
            id: &id,
            grains: &grains,
            pillar: &empty,
        };
        if target.matches(&facts) {
            out.push((id, picked));
        }
    }
    Ok(out)
}

/// A probe that answers `mine.get` from the master's mine and everything
/// else as `inner` does.
pub struct MinedProbe {
    pub inner: Arc<dyn HostProbe>,
    pub master: Arc<Master>,
}

/// `inner` with the master's mine.
pub fn with_mine(master: &Arc<Master>, inner: Arc<dyn HostProbe>) -> Arc<dyn HostProbe> {
    Arc::new(MinedProbe {
        inner,
        master: master.clone(),
    })
}

impl MineSource for MinedProbe {
    fn matching(
        &self,
        tgt: &Value,
        kind: TargetKind,
        functions: &[String],
        // The store holds what each minion ran, its pillar's functions included.
        _: &[common::config::MineFunction],
    ) -> Result<Mined, MineError> {
        matching(&self.master, tgt, kind, functions)
    }

    fn generation(&self) -> u64 {
        self.master.mine.generation()
    }
}

impl HostProbe for MinedProbe {
    fn cmd(&self, command: &str, options: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        self.inner.cmd(command, options)
    }
    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        self.inner.file_exists(path)
    }
    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        self.inner.directory_exists(path)
    }
    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        self.inner.user_info(name)
    }
    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        self.inner.has_exec(name)
    }
    fn mine(&self) -> Option<&dyn MineSource> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn data_merges_survives_a_reload_and_goes_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = MineStore::load(dir.path());
        let g0 = store.generation();
        store.update("web1", map(json!({"network.ip_addrs": ["10.0.0.1"]})));
        let g1 = store.generation();
        assert_ne!(g0, g1);
        store.update("web1", map(json!({"disk": 1})));
        // The same data again is no change.
        store.update("web1", map(json!({"disk": 1})));
        let g2 = store.generation();
        assert_eq!(g2, g1 + 1);
        let again = MineStore::load(dir.path());
        assert_eq!(
            *again.get("web1").unwrap(),
            map(json!({"network.ip_addrs": ["10.0.0.1"], "disk": 1}))
        );
        again.remove("web1");
        assert!(again.get("web1").is_none());
        assert!(MineStore::load(dir.path()).get("web1").is_none());
        // An id that is not one never becomes a path.
        again.update("../x", map(json!({"a": 1})));
        assert!(again.snapshot().is_empty());
    }
}
