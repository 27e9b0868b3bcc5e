//! The one way Brine replaces a file: a temp file beside the target, written,
//! fsynced, given its owner and mode (by the caller's hook), renamed over the
//! target, then the directory fsynced. A crash leaves the old file or the new
//! one, never part of one, and an error leaves no temp file behind.
//!
//! A crate of its own, with no workspace dependencies, because `common`
//! never changes the host and both daemons and the state engine write files.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What to fsync. Skipping is for data that is cheap to lose and expensive
/// to sync (a cache rebuilt or re-checked on read); the rename stays atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// The file before the rename, the directory after it.
    Full,
    /// The file only: the caller makes the rename durable itself (the state
    /// engine syncs each directory once at the end of a run).
    FileOnly,
    /// Neither.
    Nothing,
}

/// Runs on the complete, synced temp file before the rename, to give it its
/// owner and mode (or to fail the write: the target is then untouched).
pub type Prepare<'a> = &'a dyn Fn(&File) -> io::Result<()>;

/// How to write; [`Durable::new`] is a full sync and a 0600 temp file.
#[derive(Clone, Copy)]
pub struct Durable<'a> {
    mode: u32,
    sync: Fsync,
    prepare: Option<Prepare<'a>>,
}

impl Default for Durable<'_> {
    fn default() -> Self {
        Durable::new()
    }
}

impl<'a> Durable<'a> {
    pub fn new() -> Self {
        Durable {
            mode: 0o600,
            sync: Fsync::Full,
            prepare: None,
        }
    }

    /// The mode the temp file is created with (before the umask), and so
    /// the target's unless `prepare` changes it. 0600 by default, so nobody
    /// reads the file before its real mode is set.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    pub fn sync(mut self, sync: Fsync) -> Self {
        self.sync = sync;
        self
    }

    pub fn prepare(mut self, prepare: Prepare<'a>) -> Self {
        self.prepare = Some(prepare);
        self
    }

    /// Replaces (or creates) `target` with `bytes`. Its directory must exist.
    pub fn write(&self, target: &Path, bytes: &[u8]) -> io::Result<()> {
        self.place(target, bytes, true).map(|_| ())
    }

    /// Creates `target` with `bytes` only if nothing is there: false (and
    /// nothing changed) if something is. Two writers racing for one name
    /// cannot both win, and neither sees the other's file half-written.
    pub fn write_new(&self, target: &Path, bytes: &[u8]) -> io::Result<bool> {
        self.place(target, bytes, false)
    }

    fn place(&self, target: &Path, bytes: &[u8], replace: bool) -> io::Result<bool> {
        let temp = temp_path(target);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(self.mode)
            .open(&temp)?;
        let placed = self.fill(file, bytes).and_then(|()| {
            if replace {
                std::fs::rename(&temp, target).map(|()| true)
            } else {
                // A link fails if the name exists, where a rename would clobber it.
                match std::fs::hard_link(&temp, target) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(e),
                }
            }
        });
        // After a rename the temp name is gone; after a link or an error it is debris.
        if !replace || placed.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        let placed = placed?;
        if placed && self.sync == Fsync::Full {
            sync_dir_of(target)?;
        }
        Ok(placed)
    }

    fn fill(&self, mut file: File, bytes: &[u8]) -> io::Result<()> {
        file.write_all(bytes)?;
        if self.sync != Fsync::Nothing {
            file.sync_all()?;
        }
        if let Some(prepare) = self.prepare {
            prepare(&file)?;
        }
        Ok(())
    }
}

/// A fresh temp name beside `target`: hidden (a leading dot keeps it out of
/// id-named directories' id space) and unique in this process and across
/// processes.
pub fn temp_path(target: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{base}.brine-{}-{n}.tmp", std::process::id()))
}

/// Makes a rename or a new entry in `path`'s directory survive a crash.
pub fn sync_dir_of(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_target_is_replaced_whole_and_no_temp_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "a much longer old content").unwrap();
        for sync in [Fsync::Full, Fsync::FileOnly, Fsync::Nothing] {
            Durable::new().sync(sync).write(&path, b"new").unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"new");
            assert_eq!(names(dir.path()), ["f"]);
        }
    }

    #[test]
    fn mode_and_owner_are_set_before_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        let me = std::fs::metadata(&path).unwrap();
        let seen = std::cell::Cell::new(false);
        let prepare = |f: &File| {
            // The target still has its old content while the hook runs.
            assert_eq!(std::fs::read(&path)?, b"old");
            std::os::unix::fs::fchown(f, Some(me.uid()), Some(me.gid()))?;
            f.set_permissions(std::fs::Permissions::from_mode(0o640))?;
            seen.set(true);
            Ok(())
        };
        Durable::new()
            .prepare(&prepare)
            .write(&path, b"new")
            .unwrap();
        assert!(seen.get());
        let md = std::fs::metadata(&path).unwrap();
        assert_eq!(md.mode() & 0o7777, 0o640);
        assert_eq!((md.uid(), md.gid()), (me.uid(), me.gid()));
        // Without a hook the temp file's own mode is the target's.
        Durable::new().mode(0o600).write(&path, b"x").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn an_error_leaves_the_target_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        let fail = |_: &File| Err(io::Error::other("disk full"));
        let e = Durable::new()
            .prepare(&fail)
            .write(&path, b"new")
            .unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["f"]);
        // A missing directory is an error, not a created one.
        assert!(Durable::new()
            .write(&dir.path().join("missing/f"), b"x")
            .is_err());
        assert_eq!(names(dir.path()), ["f"]);
    }

    #[test]
    fn write_new_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(Durable::new().write_new(&path, b"first").unwrap());
        assert!(!Durable::new().write_new(&path, b"second").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(names(dir.path()), ["f"]);
    }
}
