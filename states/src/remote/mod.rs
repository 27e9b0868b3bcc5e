//! `http://` and `https://` sources (`file.managed`, `archive.extracted`,
//! a `source_hash` file): downloaded on the minion, never through the
//! master, kept in the minion's file cache by SHA-256, and downloaded at
//! most once per run.
//!
//! The cache is the minion's own data, not the managed host, so a dry run
//! fills it too: Salt downloads in test mode to compare, and so does Brine.
//!
//! - `<store>/<sha256>`: the bytes (the same store and naming as the
//!   minion's `salt://` blobs; every read re-checks the digest).
//! - `<store>/urls/<sha256 of the URL>`: the SHA-256 of what that URL last
//!   served, so a later run that knows the expected digest (`source_hash`)
//!   reuses the copy instead of downloading, as Salt's `cp.is_cached` does.
//!   Without a digest (`skip_verify`) each run downloads once, as Salt does.
mod http;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use common::digest::sha256_hex;

use crate::state::source_hash::{self, SourceSum};
use crate::state::StateError;

pub use http::{redact, Limits};

/// Whether `url` is fetched by [`RemoteFiles`] (`http://` or `https://`).
pub fn is_remote(url: &str) -> bool {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("http" | "https"))
}

/// The http(s) files of one run: a client, the minion's cache, and what
/// this run already fetched.
pub struct RemoteFiles {
    store: PathBuf,
    client: http::Client,
    /// URL → SHA-256 of its bytes, for this run. Held while downloading,
    /// so two states naming one URL download it once.
    this_run: Mutex<HashMap<String, String>>,
}

impl RemoteFiles {
    /// A cache under `store`; https trusts the system's roots
    /// (`SSL_CERT_FILE`/`SSL_CERT_DIR` when set, as OpenSSL reads them).
    pub fn new(store: PathBuf) -> Self {
        RemoteFiles {
            store,
            client: http::Client::new(http::Roots::System, Limits::default()),
            this_run: Mutex::new(HashMap::new()),
        }
    }

    /// https trusts only the PEM certificates given (a test CA, a private
    /// one), with `limits` on each download.
    pub fn with_roots_pem(store: PathBuf, pem: &[u8], limits: Limits) -> Result<Self, StateError> {
        Ok(RemoteFiles {
            store,
            client: http::Client::new(http::Roots::pem(pem)?, limits),
            this_run: Mutex::new(HashMap::new()),
        })
    }

    /// The bytes of `url`: this run's copy, else a cached copy with the
    /// `expected` digest, else a download (cached by its SHA-256). The
    /// caller compares with `expected`: a download that does not match is
    /// returned like any other, so the state can name both digests.
    pub fn fetch(&self, url: &str, expected: Option<&SourceSum>) -> Result<Vec<u8>, StateError> {
        let mut this_run = self.this_run.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(data) = this_run.get(url).and_then(|sha| self.cached(sha)) {
            return Ok(data);
        }
        if let Some((sha, data)) = expected.and_then(|sum| self.cached_with(url, sum)) {
            this_run.insert(url.to_string(), sha);
            return Ok(data);
        }
        let data = self.client.get(url)?;
        let sha = sha256_hex(&data);
        if let Err(e) = self.store(url, &sha, &data) {
            // The run goes on from memory; only the next run downloads again.
            tracing::warn!(url = %redact(url), error = %e, "cannot cache a download");
        }
        this_run.insert(url.to_string(), sha);
        Ok(data)
    }

    /// A cached copy whose `sum` is the one expected: by name when it is a
    /// SHA-256, else the copy this URL last served.
    fn cached_with(&self, url: &str, sum: &SourceSum) -> Option<(String, Vec<u8>)> {
        let by_name = (sum.hash_type == "sha256")
            .then(|| sum.hsum.clone())
            .and_then(|sha| Some((sha.clone(), self.cached(&sha)?)));
        let by_url = || {
            let sha = std::fs::read_to_string(self.index_path(url)).ok()?;
            let sha = sha.trim().to_string();
            let data = self.cached(&sha)?;
            (source_hash::digest(sum.hash_type, &data) == sum.hsum).then_some((sha, data))
        };
        by_name.or_else(by_url)
    }

    /// The bytes named `sha`, if they still have that digest.
    fn cached(&self, sha: &str) -> Option<Vec<u8>> {
        if !(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())) {
            return None;
        }
        let data = std::fs::read(self.store.join(sha)).ok()?;
        (sha256_hex(&data) == sha).then_some(data)
    }

    fn index_path(&self, url: &str) -> PathBuf {
        self.store.join("urls").join(sha256_hex(url.as_bytes()))
    }

    fn store(&self, url: &str, sha: &str, data: &[u8]) -> std::io::Result<()> {
        // Not fsynced: every read checks the bytes against their name, and
        // the index only points at a name, so a short file is refetched.
        let write = |path: &std::path::Path, bytes: &[u8]| {
            std::fs::create_dir_all(path.parent().unwrap_or(&self.store))?;
            durable::Durable::new()
                .mode(0o600)
                .sync(durable::Fsync::Nothing)
                .write(path, bytes)
        };
        write(&self.store.join(sha), data)?;
        write(&self.index_path(url), sha.as_bytes())
    }
}
