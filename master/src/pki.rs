//! The master's key store: which minion keys are accepted, pending or
//! rejected, who the operators are, and the master's own identity key.
//!
//! The layout is Salt's, one file per minion id holding its public key:
//!
//! ```text
//! <pki_dir>/master.key, master.pub     the master's identity
//! <pki_dir>/minions_pre/<id>           waiting for an operator
//! <pki_dir>/minions/<id>               accepted: the id is bound to this key
//! <pki_dir>/minions_rejected/<id>      refused until deleted
//! <pki_dir>/operators/<name>.pub       who may use the operator port
//! ```
//!
//! Minion ids arrive from the network and become file names, so every
//! operation runs [`validate_id`] first. Files are written to a temp file in
//! the same directory and renamed (or hard-linked, where the name must not
//! exist yet), so a crash never leaves half a key and two claims on a new id
//! cannot both win. Mutations also take an in-process lock, so the daemon's
//! tasks see each other's decisions in order.
//!
//! With `key_store: postgres` the minion and operator keys are kept in the
//! store several masters share instead (`crate::pki_postgres`), with the same
//! decisions; the master's own key pair stays here.
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use common::target::fnmatch;
use serde::Serialize;
use transport::keys::{create_private_dir, KeyError, KeyPair, PublicKey};
use transport::wire::Admission;

use crate::pgstore::PgError;
use crate::pki_postgres::PgKeys;
use crate::refusals::Refusals;
use crate::token_bucket::TokenBucket;

/// Errors of the key store.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("invalid minion id {id:?}: {reason}")]
    InvalidId { id: String, reason: &'static str },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("no {wanted} key for minion id {id}")]
    NotFound { id: String, wanted: &'static str },
    #[error("key store: {0}")]
    Postgres(#[from] PgError),
    #[error("key store: {0}")]
    Stored(String),
    #[error(
        "minion id {id} is already accepted with another key ({fingerprint}); delete it first"
    )]
    Conflict { id: String, fingerprint: String },
}

/// Which directory a minion key is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Accepted,
    Pending,
    Rejected,
}

impl KeyState {
    pub(crate) const ALL: [KeyState; 3] =
        [KeyState::Accepted, KeyState::Pending, KeyState::Rejected];

    fn dir(self) -> &'static str {
        match self {
            KeyState::Accepted => "minions",
            KeyState::Pending => "minions_pre",
            KeyState::Rejected => "minions_rejected",
        }
    }
}

const OPERATORS: &str = "operators";

/// Minion ids by state, each sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyList {
    pub accepted: Vec<String>,
    pub pending: Vec<String>,
    pub rejected: Vec<String>,
}

/// Refuses an id that could not safely be a file name in a key directory:
/// empty, over 255 bytes, `.`/`..` or any leading `.` (also keeps ids apart
/// from the store's own temp files), a `/` or `\`, NUL or any other control
/// character, or `%`.
pub fn validate_id(id: &str) -> Result<(), PkiError> {
    let reason = if id.is_empty() {
        "empty"
    } else if id.len() > 255 {
        "longer than 255 bytes"
    } else if id.starts_with('.') {
        "starts with '.'"
    } else if id.contains(['/', '\\']) {
        "contains a path separator"
    } else if id.chars().any(char::is_control) {
        "contains a control character"
    } else if id.contains('%') {
        "contains '%'"
    } else {
        return Ok(());
    };
    // The id is hostile input: keep what goes into logs short.
    let shown: String = id.chars().take(64).collect();
    Err(PkiError::InvalidId { id: shown, reason })
}

/// The key directories under one `pki_dir`.
#[derive(Debug)]
pub struct KeyStore {
    dir: PathBuf,
    /// Serialises mutations; guards no data, so a poisoned lock is still usable.
    lock: Mutex<()>,
    pending: Option<PendingLimit>,
    /// `key_store: postgres`: the minion and operator keys are there.
    shared: Option<PgKeys>,
}

/// Keys from the network that no operator has seen cost a file each: their
/// number and the rate they are written at are bounded.
#[derive(Debug)]
struct PendingLimit {
    max: usize,
    rate: Mutex<TokenBucket>,
    refusals: Mutex<Refusals>,
}

impl KeyStore {
    /// Opens `pki_dir`, creating it and its subdirectories (0700) if missing.
    pub fn open(pki_dir: &Path) -> Result<KeyStore, PkiError> {
        for sub in KeyState::ALL
            .map(KeyState::dir)
            .into_iter()
            .chain([OPERATORS])
        {
            create_private_dir(&pki_dir.join(sub))?;
        }
        Ok(KeyStore {
            dir: pki_dir.to_path_buf(),
            lock: Mutex::new(()),
            pending: None,
            shared: None,
        })
    }

    /// From now on the minion and operator keys are those in the shared
    /// PostgreSQL store.
    pub fn shared(mut self, keys: PgKeys) -> Self {
        self.shared = Some(keys);
        self
    }

    /// From now on [`KeyStore::admit`] keeps at most `max` keys pending and
    /// writes at most `per_second` of them a second on average (twice that at
    /// once); a key past either limit is refused, and may ask again later.
    pub fn limit_pending(mut self, max: usize, per_second: u32) -> Self {
        let rate = TokenBucket::new(per_second, per_second.saturating_mul(2), Instant::now());
        self.pending = Some(PendingLimit {
            max,
            rate: Mutex::new(rate),
            refusals: Mutex::new(Refusals::new("a new minion key".into())),
        });
        self
    }

    /// Why a pending key may not be written now, if it may not (logged).
    /// Called with the store locked.
    fn pending_refused(&self, new_id: bool) -> Result<Option<String>, PkiError> {
        self.pending_refused_with(new_id, &mut || {
            Ok(self.names(KeyState::Pending.dir())?.len())
        })
    }

    /// As `pending_refused`, with `pending()` the number of pending keys.
    fn pending_refused_with(
        &self,
        new_id: bool,
        pending: &mut dyn FnMut() -> Result<usize, PkiError>,
    ) -> Result<Option<String>, PkiError> {
        let Some(limit) = &self.pending else {
            return Ok(None);
        };
        let now = Instant::now();
        // The directory is counted only for a new id, and after the rate
        // allowed it: a flood costs at most `per_second` reads of it a second.
        let reason = if !limit.rate.lock().unwrap().take(now) {
            "over pending_key_rate"
        } else if new_id && pending()? >= limit.max {
            "max_pending_keys are pending"
        } else {
            return Ok(None);
        };
        limit.refusals.lock().unwrap().note(reason, now);
        Ok(Some(format!(
            "the master takes no more new keys now ({reason}); try again later"
        )))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The master's identity (`master.key`, `master.pub`), made on first use.
    pub fn master_key(&self) -> Result<KeyPair, PkiError> {
        Ok(KeyPair::load_or_create(&self.dir.join("master.key"))?)
    }

    /// The name of the `operators/NAME.pub` file holding `key`. A malformed
    /// file is logged and skipped, so one bad file does not lock out the rest.
    pub fn operator_for(&self, key: &PublicKey) -> Result<Option<String>, PkiError> {
        if let Some(pg) = &self.shared {
            return pg.operator_for(key);
        }
        for name in self.names(OPERATORS)? {
            let Some(stem) = name.strip_suffix(".pub").filter(|s| !s.is_empty()) else {
                continue;
            };
            match read_key(&self.dir.join(OPERATORS).join(&name)) {
                Ok(Some(k)) if k == *key => return Ok(Some(stem.to_string())),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable operator key"),
            }
        }
        Ok(None)
    }

    /// Writes `operators/NAME.pub`; the name is checked like a minion id.
    pub fn add_operator(&self, name: &str, key: &PublicKey) -> Result<(), PkiError> {
        validate_id(name)?;
        if let Some(pg) = &self.shared {
            return pg.add_operator(name, key);
        }
        let _g = self.lock();
        write_key(
            &self.dir.join(OPERATORS).join(format!("{name}.pub")),
            key,
            true,
        )?;
        Ok(())
    }

    /// Decides what a minion presenting `key` for `id` gets. An accepted id is
    /// bound to its key: another key claiming it is refused and logged.
    pub fn admit(
        &self,
        id: &str,
        key: &PublicKey,
        auto_accept: bool,
        autosign: &[String],
    ) -> Result<Admission, PkiError> {
        validate_id(id)?;
        if let Some(pg) = &self.shared {
            let limit = |new_id, n| {
                self.pending_refused_with(new_id, &mut || Ok(n))
                    .ok()
                    .flatten()
            };
            return pg.admit(id, key, auto_accept, autosign, &limit);
        }
        let _g = self.lock();
        let accepted = self.path(KeyState::Accepted, id);
        if let Some(held) = read_key(&accepted)? {
            return Ok(bound(id, &held, key));
        }
        if exists(&self.path(KeyState::Rejected, id))? {
            return Ok(Admission::Refused {
                reason: format!("minion id {id} is rejected"),
            });
        }
        let pending = self.path(KeyState::Pending, id);
        if auto_accept || autosign.iter().any(|g| fnmatch(id, g)) {
            if !write_key(&accepted, key, false)? {
                // Another process accepted this id between our read and write.
                let held = read_key(&accepted)?.unwrap_or(*key);
                return Ok(bound(id, &held, key));
            }
            remove(&pending)?;
            tracing::info!(id, fingerprint = %key.fingerprint(), "accepted a minion key automatically");
            return Ok(Admission::Accepted);
        }
        let held = read_key(&pending)?;
        if held != Some(*key) {
            if let Some(reason) = self.pending_refused(held.is_none())? {
                return Ok(Admission::Refused { reason });
            }
        }
        match held {
            Some(old) if old == *key => {}
            Some(old) => {
                tracing::warn!(
                    id,
                    old = %old.fingerprint(),
                    new = %key.fingerprint(),
                    "a new key re-claims a pending minion id; the pending key is replaced"
                );
                write_key(&pending, key, true)?;
            }
            None => {
                write_key(&pending, key, true)?;
                tracing::info!(id, fingerprint = %key.fingerprint(), "a new minion key is pending");
            }
        }
        Ok(Admission::Pending)
    }

    /// Every id in each directory, sorted. Names that are not valid ids (temp
    /// files, debris) are left out.
    pub fn list(&self) -> Result<KeyList, PkiError> {
        if let Some(pg) = &self.shared {
            return pg.list();
        }
        let ids = |s: KeyState| -> Result<Vec<String>, PkiError> {
            let mut v = self.names(s.dir())?;
            v.retain(|n| validate_id(n).is_ok());
            Ok(v)
        };
        Ok(KeyList {
            accepted: ids(KeyState::Accepted)?,
            pending: ids(KeyState::Pending)?,
            rejected: ids(KeyState::Rejected)?,
        })
    }

    /// Moves a pending key to accepted.
    pub fn accept(&self, id: &str) -> Result<(), PkiError> {
        validate_id(id)?;
        if let Some(pg) = &self.shared {
            if pg.accept(Some(id))?.is_empty() {
                return Err(PkiError::NotFound {
                    id: id.into(),
                    wanted: "pending",
                });
            }
            return Ok(());
        }
        let _g = self.lock();
        self.accept_locked(id)
    }

    /// Accepts every pending key; returns the ids accepted. An id already
    /// accepted with another key is logged and left pending.
    pub fn accept_all(&self) -> Result<Vec<String>, PkiError> {
        if let Some(pg) = &self.shared {
            return pg.accept(None);
        }
        let _g = self.lock();
        let mut done = Vec::new();
        for id in self.names(KeyState::Pending.dir())? {
            if validate_id(&id).is_err() {
                continue;
            }
            match self.accept_locked(&id) {
                Ok(()) => done.push(id),
                Err(e @ PkiError::Conflict { .. }) => tracing::warn!(error = %e, "not accepted"),
                // Gone since the directory was read.
                Err(PkiError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn accept_locked(&self, id: &str) -> Result<(), PkiError> {
        let pending = self.path(KeyState::Pending, id);
        let key = read_key(&pending)?.ok_or_else(|| PkiError::NotFound {
            id: id.into(),
            wanted: "pending",
        })?;
        let accepted = self.path(KeyState::Accepted, id);
        if !write_key(&accepted, &key, false)? {
            let held = read_key(&accepted)?;
            if held != Some(key) {
                return Err(PkiError::Conflict {
                    id: id.into(),
                    fingerprint: held.map_or("unreadable".into(), |k| k.fingerprint()),
                });
            }
        }
        remove(&pending)?;
        tracing::info!(id, fingerprint = %key.fingerprint(), "accepted a minion key");
        Ok(())
    }

    /// Moves an accepted or pending key to rejected (rejecting a rejected id
    /// is a no-op).
    pub fn reject(&self, id: &str) -> Result<(), PkiError> {
        validate_id(id)?;
        if let Some(pg) = &self.shared {
            return match pg.reject(id)? {
                Some(_) => Ok(()),
                None => Err(PkiError::NotFound {
                    id: id.into(),
                    wanted: "pending or accepted",
                }),
            };
        }
        let _g = self.lock();
        let rejected = self.path(KeyState::Rejected, id);
        let pending = self.path(KeyState::Pending, id);
        let moved = if rename(&self.path(KeyState::Accepted, id), &rejected)? {
            remove(&pending)?;
            true
        } else {
            rename(&pending, &rejected)?
        };
        if moved {
            tracing::info!(id, "rejected a minion key");
            Ok(())
        } else if exists(&rejected)? {
            Ok(())
        } else {
            Err(PkiError::NotFound {
                id: id.into(),
                wanted: "pending or accepted",
            })
        }
    }

    /// Removes the id from every directory; it may then ask again.
    pub fn delete(&self, id: &str) -> Result<(), PkiError> {
        validate_id(id)?;
        if let Some(pg) = &self.shared {
            if !pg.delete(id)? {
                return Err(PkiError::NotFound {
                    id: id.into(),
                    wanted: "any",
                });
            }
            tracing::info!(id, "deleted a minion key");
            return Ok(());
        }
        let _g = self.lock();
        let mut any = false;
        for s in KeyState::ALL {
            any |= remove(&self.path(s, id))?;
        }
        if !any {
            return Err(PkiError::NotFound {
                id: id.into(),
                wanted: "any",
            });
        }
        tracing::info!(id, "deleted a minion key");
        Ok(())
    }

    /// Where the id's key is and its fingerprint (accepted first).
    pub fn fingerprint(&self, id: &str) -> Result<Option<(KeyState, String)>, PkiError> {
        validate_id(id)?;
        if let Some(pg) = &self.shared {
            return Ok(pg.get(id)?.map(|(s, k)| (s, k.fingerprint())));
        }
        for s in KeyState::ALL {
            if let Some(k) = read_key(&self.path(s, id))? {
                return Ok(Some((s, k.fingerprint())));
            }
        }
        Ok(None)
    }

    /// The key an accepted id is bound to.
    pub fn accepted_key(&self, id: &str) -> Result<Option<PublicKey>, PkiError> {
        validate_id(id)?;
        if let Some(pg) = &self.shared {
            return Ok(pg
                .get(id)?
                .and_then(|(s, k)| (s == KeyState::Accepted).then_some(k)));
        }
        read_key(&self.path(KeyState::Accepted, id))
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Only called with an id that passed [`validate_id`].
    fn path(&self, state: KeyState, id: &str) -> PathBuf {
        self.dir.join(state.dir()).join(id)
    }

    /// Sorted names of the regular files in `sub`.
    fn names(&self, sub: &str) -> Result<Vec<String>, PkiError> {
        let dir = self.dir.join(sub);
        let io = |source| PkiError::Io {
            path: dir.clone(),
            source,
        };
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            if !entry.file_type().map_err(io)?.is_file() {
                continue;
            }
            if let Ok(name) = entry.file_name().into_string() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The answer for an id already accepted with `held`.
pub(crate) fn bound(id: &str, held: &PublicKey, key: &PublicKey) -> Admission {
    if held == key {
        return Admission::Accepted;
    }
    tracing::warn!(
        id,
        accepted = %held.fingerprint(),
        presented = %key.fingerprint(),
        "refused a key claiming an id bound to another key"
    );
    Admission::Refused {
        reason: format!("another key holds id {id}"),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The key in `path`, or `None` if there is no such file.
fn read_key(path: &Path) -> Result<Option<PublicKey>, PkiError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    PublicKey::from_base64(&text).map(Some).ok_or_else(|| {
        PkiError::Key(KeyError::Format {
            path: path.to_path_buf(),
            message: "expected the base64 of a 32-byte X25519 public key".into(),
        })
    })
}

fn exists(path: &Path) -> Result<bool, PkiError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Removes `path`; false if it was not there.
fn remove(path: &Path) -> Result<bool, PkiError> {
    match fs::remove_file(path) {
        Ok(()) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Renames `from` to `to` (replacing it); false if `from` was not there.
fn rename(from: &Path, to: &Path) -> Result<bool, PkiError> {
    match fs::rename(from, to) {
        Ok(()) => {
            sync_parent(to)?;
            sync_parent(from)?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(from)(e)),
    }
}

fn sync_parent(path: &Path) -> Result<(), PkiError> {
    durable::sync_dir_of(path).map_err(io_err(path.parent().unwrap_or(Path::new("."))))
}

/// Writes `key` to `path` through a temp file in the same directory (whose
/// leading '.' keeps it out of the id space, see validate_id). With
/// `replace` it replaces `path`; without, it fails if `path` exists: then
/// nothing changes and the result is false.
fn write_key(path: &Path, key: &PublicKey, replace: bool) -> Result<bool, PkiError> {
    let text = format!("{}\n", key.to_base64());
    let file = durable::Durable::new().mode(0o644);
    let written = if replace {
        file.write(path, text.as_bytes()).map(|()| true)
    } else {
        file.write_new(path, text.as_bytes())
    };
    written.map_err(io_err(path))
}

#[cfg(test)]
#[path = "pki_tests.rs"]
mod tests;
