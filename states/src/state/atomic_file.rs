//! How a state replaces a file: `durable`'s temp file beside the target,
//! written, fsynced, given its owner and mode, renamed over the target, then
//! the directory fsynced (once per directory per run, see [`DeferDirSyncs`]).
//! A crash leaves the old file or the new one, never part of one, and no temp
//! file is left behind on an error. The writers are private to this module:
//! a state reaches them only through [`HostWrite`].
// One of the files that implement HostWrite, so allowed what clippy.toml
// forbids the rest of `state/`.
#![allow(clippy::disallowed_methods)]
use std::fs::File;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{HostWrite, StateError};

/// Owner and mode for something being created (`None`: the process's own /
/// the umask's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct NewMeta {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: Option<u32>,
}

#[cfg(test)]
thread_local! {
    /// Tests set this to fail a write after the temp file is complete and
    /// before the rename, as a crash or a full disk would.
    pub(crate) static FAIL_BEFORE_RENAME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl HostWrite {
    /// Replaces (or creates) `path` (already under the root) with `bytes`,
    /// atomically. With `meta` fields unset, an existing file keeps its
    /// owner and mode; a new one gets the process's owner and `0666 & !umask`.
    pub(crate) fn replace_file(&self, path: &Path, bytes: &[u8], meta: NewMeta) -> io::Result<()> {
        self.inside(path)?;
        atomic_write(path, bytes, meta)
    }

    /// Writes `bytes` to `path` atomically with `meta`. The directory must exist.
    pub fn write_file(&self, path: &Path, bytes: &[u8], meta: Meta) -> Result<(), StateError> {
        let new = NewMeta {
            uid: meta.owner.map(|o| o.0),
            gid: meta.owner.map(|o| o.1),
            mode: Some(meta.mode),
        };
        self.inside(path)
            .and_then(|()| atomic_write(path, bytes, new))
            .map_err(|e| StateError::host(format!("cannot replace {}: {e}", path.display())))
    }
}

fn atomic_write(target: &Path, bytes: &[u8], meta: NewMeta) -> io::Result<()> {
    let old = std::fs::metadata(target).ok();
    let uid = meta.uid.or(old.as_ref().map(|m| m.uid()));
    let gid = meta.gid.or(old.as_ref().map(|m| m.gid()));
    let mode = meta
        .mode
        .or(old.as_ref().map(|m| m.mode() & 0o7777))
        .unwrap_or(0o666 & !umask());
    let owner_and_mode = |file: &File| -> io::Result<()> {
        // Only what differs from the temp file's owner (the process's): an
        // unprivileged run can then still rewrite a file it may write.
        let mine = file.metadata()?;
        let uid = uid.filter(|u| *u != mine.uid());
        let gid = gid.filter(|g| *g != mine.gid());
        if uid.is_some() || gid.is_some() {
            std::os::unix::fs::fchown(file, uid, gid)?;
        }
        // After chown, which clears setuid/setgid bits.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        #[cfg(test)]
        if FAIL_BEFORE_RENAME.with(|f| f.get()) {
            return Err(io::Error::other("simulated failure before rename"));
        }
        Ok(())
    };
    // The directory fsync is ours, so a run can defer it.
    durable::Durable::new()
        .sync(durable::Fsync::FileOnly)
        .prepare(&owner_and_mode)
        .write(target, bytes)?;
    sync_dir(target)
}

/// Makes a rename or a new entry in `path`'s directory durable; during a
/// run (see [`DeferDirSyncs`]) once per directory at the end of the run.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    {
        let mut pending = DEFERRED.lock().unwrap_or_else(|e| e.into_inner());
        if pending.0 > 0 {
            pending.1.insert(dir.to_path_buf());
            return Ok(());
        }
    }
    durable::sync_dir_of(path)
}

/// Runs in progress, and the directories whose entries they changed.
static DEFERRED: std::sync::Mutex<(usize, std::collections::BTreeSet<PathBuf>)> =
    std::sync::Mutex::new((0, std::collections::BTreeSet::new()));

/// While one lives, directory fsyncs are collected and done when it drops.
///
/// Why this keeps the promise: the file's data is fsynced *before* its
/// rename, so whatever a crash keeps of the directory, the name points at the
/// old file or the complete new one. The directory fsync only makes the
/// rename itself survive a crash; doing it once per directory at the end of
/// the run, not once per file, is what a run of a thousand files into one
/// directory can afford (each fsync is a disk flush).
pub struct DeferDirSyncs(());

impl DeferDirSyncs {
    pub fn start() -> DeferDirSyncs {
        DEFERRED.lock().unwrap_or_else(|e| e.into_inner()).0 += 1;
        DeferDirSyncs(())
    }
}

impl Drop for DeferDirSyncs {
    fn drop(&mut self) {
        let dirs = {
            let mut pending = DEFERRED.lock().unwrap_or_else(|e| e.into_inner());
            pending.0 -= 1;
            std::mem::take(&mut pending.1)
        };
        for dir in dirs {
            if let Err(e) = File::open(&dir).and_then(|d| d.sync_all()) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot fsync a directory");
            }
        }
    }
}

/// The process umask, read without changing it (Linux reports it in
/// /proc/self/status; elsewhere the usual 022 is assumed).
/// Read once: nothing in Brine changes its umask, and a run writing a
/// thousand files asked for it a thousand times.
pub(crate) fn umask() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    })
}

/// Mode and owner for a file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meta {
    pub mode: u32,
    /// `(uid, gid)`; `None` leaves the owner as created (the running user).
    pub owner: Option<(u32, u32)>,
}

/// The mode and owner of an existing file, to keep them across a replace.
pub fn existing_meta(path: &Path) -> Option<Meta> {
    let md = std::fs::metadata(path).ok()?;
    Some(Meta {
        mode: md.mode() & 0o7777,
        owner: Some((md.uid(), md.gid())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_syncs_each_directory_once_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let guard = DeferDirSyncs::start();
        for i in 0..3 {
            atomic_write(&dir.path().join(format!("f{i}")), b"x", NewMeta::default()).unwrap();
        }
        let pending = |d: &Path| DEFERRED.lock().unwrap().1.contains(d);
        assert!(pending(dir.path()));
        // Written and visible already; only the directory fsync waits.
        assert_eq!(std::fs::read(dir.path().join("f2")).unwrap(), b"x");
        drop(guard);
        assert!(!pending(dir.path()));
    }

    #[test]
    fn replaces_content_and_sets_mode() {
        let t = super::super::testutil::TestHost::new();
        let write = |path: &Path, bytes: &[u8], meta| t.writer().write_file(path, bytes, meta);
        let dir = &t.root;
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        write(
            &path,
            b"new",
            Meta {
                mode: 0o600,
                owner: None,
            },
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(existing_meta(&path).unwrap().mode, 0o600);
        // No temp file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write(
            &dir.path().join("missing/f"),
            b"x",
            Meta {
                mode: 0o600,
                owner: None
            }
        )
        .is_err());
    }
}
