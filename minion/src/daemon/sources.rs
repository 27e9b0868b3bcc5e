//! `salt://` files for a job from the master: by SHA-256 from the minion's
//! cache when the manifest names them (fetched once, only when missing),
//! templates rendered by the master with this minion's grains and pillar.
//! http(s) files are downloaded here, never through the master, into the
//! same cache (`states::remote`).
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use common::data::{Map, Value};
use common::digest::sha256_hex;
use common::untrusted::shown;
use states::remote::RemoteFiles;
use states::state::source_hash::SourceSum;
use states::state::{Sources, StateError};
use transport::wire::{Blob, FetchWhat, Jid, MasterMsg, MinionMsg};

use super::uplink::Uplink;

pub struct JobSources {
    pub jid: Jid,
    pub uplink: Arc<Uplink>,
    /// url → SHA-256
    pub manifest: HashMap<String, String>,
    pub cache: PathBuf,
    /// This job's downloads (one per URL), cached in `cache` by SHA-256.
    pub remote: RemoteFiles,
}

fn valid_sha(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl JobSources {
    fn cached(&self, sha: &str) -> Option<Vec<u8>> {
        if !valid_sha(sha) {
            return None;
        }
        let data = std::fs::read(self.cache.join(sha)).ok()?;
        (sha256_hex(&data) == sha).then_some(data)
    }

    fn store(&self, blob: &Blob) -> Result<(), StateError> {
        // The name is the digest of the bytes, computed here: the master's
        // word for it only has to agree.
        if sha256_hex(&blob.data) != blob.sha256 || !valid_sha(&blob.sha256) {
            return Err(StateError::host(format!(
                "the master sent a file whose SHA-256 is not {}",
                shown(&blob.sha256)
            )));
        }
        std::fs::create_dir_all(&self.cache)
            .and_then(|_| {
                // Not fsynced: every read checks the bytes against their
                // name's digest, so a file a crash left short is refetched.
                durable::Durable::new()
                    .mode(0o666)
                    .sync(durable::Fsync::Nothing)
                    .write(&self.cache.join(&blob.sha256), &blob.data)
            })
            .map_err(|e| StateError::host(format!("cannot cache a file: {e}")))
    }

    /// Fetches every manifest file the cache lacks, in one request.
    pub fn prefetch(&self) -> Result<usize, StateError> {
        // A digest is a cache file name: anything but 64 hex digits is
        // refused here, never joined to the cache path nor asked for.
        for (url, sha) in &self.manifest {
            if !valid_sha(sha) {
                tracing::warn!(jid = %self.jid, url = %shown(url), sha256 = %shown(sha), "a manifest entry with a malformed digest; ignored");
            }
        }
        let mut missing: Vec<String> = self
            .manifest
            .values()
            .filter(|sha| valid_sha(sha) && self.cached(sha).is_none())
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(0);
        }
        let n = missing.len();
        for blob in self.fetch_from_master(FetchWhat::Blobs(missing))? {
            self.store(&blob)?;
        }
        Ok(n)
    }

    fn fetch_from_master(&self, what: FetchWhat) -> Result<Vec<Blob>, StateError> {
        let reply = self
            .uplink
            .request(|req| MinionMsg::Fetch {
                req,
                jid: self.jid.clone(),
                what,
            })
            .map_err(StateError::host)?;
        match reply {
            MasterMsg::Fetched { reply, .. } => reply.map_err(StateError::host),
            _ => Err(StateError::host("an unexpected answer from the master")),
        }
    }
}

impl Sources for JobSources {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
        if states::remote::is_remote(url) {
            return self.remote.fetch(url, None);
        }
        if url.starts_with('/') {
            return std::fs::read(url)
                .map_err(|e| StateError::host(format!("cannot read source {url}: {e}")));
        }
        if !url.starts_with("salt://") {
            return Err(StateError::args(format!(
                "unsupported source {url:?}: use salt:// or an absolute path"
            )));
        }
        // Refused here too, not only by the master: a URL that leaves the
        // roots is never asked for.
        common::salt_url::path(url).map_err(|e| StateError::args(e.to_string()))?;
        // The manifest's spelling: the saltenv kept, unless it is base.
        let key = common::salt_url::in_env(url, "base");
        if let Some(data) = self.manifest.get(&key).and_then(|sha| self.cached(sha)) {
            return Ok(data);
        }
        let mut blobs = self.fetch_from_master(FetchWhat::Url(key))?;
        let blob = blobs
            .pop()
            .ok_or_else(|| StateError::host(format!("the master sent nothing for {url}")))?;
        self.store(&blob)?;
        Ok(blob.data)
    }

    fn fetch_remote(&self, url: &str, expected: Option<&SourceSum>) -> Result<Vec<u8>, StateError> {
        self.remote.fetch(url, expected)
    }

    fn render(&self, url: &str, context: &Map<String, Value>) -> Result<String, StateError> {
        let reply = self
            .uplink
            .request(|req| MinionMsg::Render {
                req,
                jid: self.jid.clone(),
                url: url.to_string(),
                context: context.clone(),
            })
            .map_err(StateError::host)?;
        match reply {
            MasterMsg::Rendered { reply, .. } => reply.map_err(StateError::host),
            _ => Err(StateError::host("an unexpected answer from the master")),
        }
    }

    fn list(&self, url: &str) -> Result<Vec<String>, StateError> {
        self.list_remote(url, false)
    }

    fn list_dirs(&self, url: &str) -> Result<Vec<String>, StateError> {
        self.list_remote(url, true)
    }
}

impl JobSources {
    fn list_remote(&self, url: &str, dirs: bool) -> Result<Vec<String>, StateError> {
        let reply = self
            .uplink
            .request(|req| MinionMsg::List {
                req,
                jid: self.jid.clone(),
                url: url.to_string(),
                dirs,
            })
            .map_err(StateError::host)?;
        match reply {
            MasterMsg::Listed { reply, .. } => reply.map_err(StateError::host),
            _ => Err(StateError::host("an unexpected answer from the master")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sources with no link to a master: anything that would ask it fails
    /// with "not connected", so a test sees whether a request was made.
    fn offline(cache: PathBuf, manifest: &[(&str, &str)]) -> JobSources {
        JobSources {
            jid: "20261124101010000001".parse().unwrap(),
            uplink: Arc::new(Uplink::default()),
            manifest: manifest
                .iter()
                .map(|(u, s)| (u.to_string(), s.to_string()))
                .collect(),
            remote: RemoteFiles::new(cache.clone()),
            cache,
        }
    }

    #[test]
    fn manifest_digests_that_are_not_hex_are_never_paths() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("secret");
        std::fs::write(&outside, "not for you").unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let bad = [
            ("salt://a", "../secret"),
            ("salt://b", "/etc/passwd"),
            ("salt://c", "00/../../secret"),
        ];
        let s = offline(cache.clone(), &bad);
        // Nothing valid is missing, so nothing is asked for and nothing read.
        assert_eq!(s.prefetch().unwrap(), 0);
        for (_, sha) in bad {
            assert!(s.cached(sha).is_none());
        }
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
        // A bad digest from the master is refused before it names a file.
        let blob = Blob {
            sha256: "../evil".into(),
            data: b"x".to_vec(),
        };
        assert!(s.store(&blob).is_err());
        assert!(!dir.path().join("evil").exists());
    }

    #[test]
    fn salt_urls_that_leave_the_roots_are_not_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let s = offline(dir.path().to_path_buf(), &[]);
        for url in [
            "salt://../../etc/passwd",
            "salt:///etc/passwd",
            "salt://a\0b",
        ] {
            let e = s.fetch(url).unwrap_err().to_string();
            assert!(e.contains("refused"), "{url:?}: {e}");
        }
        // A fine URL is asked for (and fails only because there is no master).
        let e = s.fetch("salt://ok.txt").unwrap_err().to_string();
        assert!(e.contains("not connected"), "{e}");
    }
}
