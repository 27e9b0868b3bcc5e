//! Compiled jobs kept for reuse: a minion applied again with the same trees,
//! grains and SLS names gets the chunks, pillar and manifest compiled last
//! time instead of a new compile.
//!
//! The key is a digest of everything a compile reads that the master knows
//! of: the state and pillar trees (every file's path, size, mtime and inode),
//! the nodegroups, the minion's id and grains, the SLS names, and the job's
//! environment (saltenv, pillarenv, command-line pillar). Pillar is derived
//! from those. A compile that asked the minion something
//! (`salt['cmd.run']`, `file.file_exists`, ...) read the host and is never
//! kept. A compile that read the mine (`salt['mine.get']`) is kept with
//! the mine's generation and not reused once the mine has changed since.
//! Entries are stored encoded (a fraction of their parsed size) under
//! a byte budget, oldest dropped first.
use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

use common::data::{Map, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use states::compile::{Chunk, JobEnv};

/// What a compile produced that does not depend on the job.
#[derive(Serialize, Deserialize)]
pub struct Reusable {
    pub chunks: Vec<Chunk>,
    pub pillar: Value,
    pub manifest: Vec<(String, String)>,
    /// The mine's generation when the compile read it; `None` if it did not.
    #[serde(default)]
    pub mine_generation: Option<u64>,
}

impl Reusable {
    /// Whether this compile still holds with the mine at `generation`.
    pub fn fresh(&self, generation: Option<u64>) -> bool {
        self.mine_generation.is_none() || self.mine_generation == generation
    }
}

pub type Key = [u8; 32];

/// A digest of the trees' files as they are now (paths, sizes, mtimes,
/// inodes) and the nodegroups.
pub fn tree_fingerprint(roots: &[&Path], nodegroups: &Map<String, Value>) -> Key {
    let mut h = Sha256::new();
    for root in roots {
        h.update(root.as_os_str().as_encoded_bytes());
        h.update([0]);
        walk(root, &mut h);
    }
    h.update(serde_json::to_vec(nodegroups).unwrap_or_default());
    h.finalize().into()
}

fn walk(dir: &Path, h: &mut Sha256) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        h.update(path.as_os_str().as_encoded_bytes());
        h.update([0]);
        for n in [
            meta.len(),
            meta.mtime_nsec() as u64,
            meta.mtime() as u64,
            meta.ino(),
        ] {
            h.update(n.to_le_bytes());
        }
        if meta.is_dir() {
            walk(&path, h);
        }
    }
}

/// The key of one minion's compile for one job's environment: a job with
/// `pillar=` neither reuses nor leaves a compile for jobs without it.
pub fn key(tree: &Key, id: &str, grains: &Value, sls: &[String], job: &JobEnv) -> Key {
    let mut h = Sha256::new();
    h.update(tree);
    h.update(id.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(grains).unwrap_or_default());
    h.update([0]);
    for s in sls {
        h.update(s.as_bytes());
        h.update([0]);
    }
    // After the SLS names' terminators, so no name can run into it.
    h.update([1]);
    h.update(serde_json::to_vec(job).unwrap_or_default());
    h.finalize().into()
}

pub struct CompileCache {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Vec<u8>>,
    order: VecDeque<Key>,
    bytes: usize,
}

impl CompileCache {
    pub fn new(budget_bytes: usize) -> Self {
        CompileCache {
            budget: budget_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn get(&self, key: &Key) -> Option<Reusable> {
        let bytes = self.inner.lock().unwrap().entries.get(key)?.clone();
        rmp_serde::from_slice(&bytes).ok()
    }

    pub fn put(&self, key: Key, value: &Reusable) {
        let Ok(bytes) = rmp_serde::to_vec_named(value) else {
            return;
        };
        if bytes.len() > self.budget {
            return;
        }
        let mut inner = self.inner.lock().unwrap();
        inner.bytes += bytes.len();
        if let Some(old) = inner.entries.insert(key, bytes) {
            inner.bytes -= old.len();
        } else {
            inner.order.push_back(key);
        }
        while inner.bytes > self.budget {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.bytes -= gone.len();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reusable(n: usize) -> Reusable {
        let chunk: Chunk =
            serde_json::from_value(serde_json::json!({"state": "file", "n": n})).unwrap();
        Reusable {
            chunks: vec![chunk],
            pillar: serde_json::json!({"k": n}),
            manifest: vec![("salt://a".into(), "00".into())],
            mine_generation: None,
        }
    }

    #[test]
    fn a_compile_that_read_the_mine_is_stale_once_the_mine_changes() {
        let plain = reusable(0);
        assert!(plain.fresh(Some(3)) && plain.fresh(None));
        let mined = Reusable {
            mine_generation: Some(3),
            ..reusable(0)
        };
        let cache = CompileCache::new(1 << 20);
        cache.put([1; 32], &mined);
        let back = cache.get(&[1; 32]).unwrap();
        assert!(back.fresh(Some(3)));
        assert!(!back.fresh(Some(4)));
    }

    #[test]
    fn a_changed_file_changes_the_tree_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let roots = [dir.path()];
        let none = Map::new();
        std::fs::write(dir.path().join("a.sls"), "x: 1\n").unwrap();
        let before = tree_fingerprint(&roots, &none);
        assert_eq!(before, tree_fingerprint(&roots, &none));
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.sls"), "y: 2\n").unwrap();
        let added = tree_fingerprint(&roots, &none);
        assert_ne!(before, added);
        std::fs::write(dir.path().join("sub/b.sls"), "y: 22\n").unwrap();
        assert_ne!(added, tree_fingerprint(&roots, &none));
        let mut groups = Map::new();
        groups.insert("web".into(), "G@role:web".into());
        assert_ne!(
            tree_fingerprint(&roots, &none),
            tree_fingerprint(&roots, &groups)
        );
    }

    #[test]
    fn keys_differ_by_id_grains_and_sls() {
        let t = [0u8; 32];
        let g = serde_json::json!({"os": "Debian"});
        let none = JobEnv::default();
        let k = key(&t, "a", &g, &[], &none);
        assert_ne!(k, key(&t, "b", &g, &[], &none));
        assert_ne!(
            k,
            key(&t, "a", &serde_json::json!({"os": "Ubuntu"}), &[], &none)
        );
        assert_ne!(k, key(&t, "a", &g, &["web".into()], &none));
        assert_ne!(k, key(&[1u8; 32], "a", &g, &[], &none));
    }

    #[test]
    fn job_env_keys_differ_by_saltenv_pillarenv_and_pillar() {
        let t = [0u8; 32];
        let g = serde_json::json!({"os": "Debian"});
        let none = JobEnv::default();
        let k = key(&t, "a", &g, &[], &none);
        assert_eq!(k, key(&t, "a", &g, &[], &none));
        let with = |saltenv: Option<&str>, pillarenv: Option<&str>, pillar| JobEnv {
            saltenv: saltenv.map(str::to_string),
            pillarenv: pillarenv.map(str::to_string),
            pillar,
        };
        let keys = [
            k,
            key(&t, "a", &g, &[], &with(Some("base"), None, None)),
            key(&t, "a", &g, &[], &with(None, Some("base"), None)),
            key(
                &t,
                "a",
                &g,
                &[],
                &with(None, None, Some(serde_json::json!({}))),
            ),
            key(
                &t,
                "a",
                &g,
                &[],
                &with(None, None, Some(serde_json::json!({"k": 1}))),
            ),
            key(
                &t,
                "a",
                &g,
                &[],
                &with(None, None, Some(serde_json::json!({"k": 2}))),
            ),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn entries_round_trip_and_the_oldest_go_over_budget() {
        let one = rmp_serde::to_vec_named(&reusable(0)).unwrap().len();
        let cache = CompileCache::new(one * 2 + one / 2);
        cache.put([1; 32], &reusable(1));
        cache.put([2; 32], &reusable(2));
        assert_eq!(cache.get(&[1; 32]).unwrap().pillar["k"], 1);
        cache.put([3; 32], &reusable(3));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&[1; 32]).is_none());
        assert_eq!(cache.get(&[3; 32]).unwrap().chunks[0]["n"], 3);
    }
}
