//! [`HostWrite`]'s filesystem changes: every directory, removal, rename,
//! link, owner and mode a state makes goes through one of these (file
//! contents through `atomic_file`). Paths are real ones, already put under
//! the run's root by [`HostRead::path`](super::HostRead::path); one that is
//! not under it is refused, so a run under a test or swarm root cannot
//! change anything outside it.
//!
//! This file, `host.rs` and `atomic_file.rs` are the only ones under
//! `state/` allowed the calls clippy.toml disallows: a state that changes
//! the host without a `HostWrite` does not pass clippy.
#![allow(clippy::disallowed_methods)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::HostWrite;

impl HostWrite {
    /// Refuses a path outside the run's root. Lexical, as `HostRead::path`
    /// builds paths (it refuses `..`): symlinks inside the root are the
    /// tree's own business there too.
    pub(crate) fn inside(&self, path: &Path) -> io::Result<()> {
        if path.starts_with(self.root()) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is outside the state root {}",
                path.display(),
                self.root().display()
            ),
        ))
    }

    pub fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.inside(path)?;
        std::fs::create_dir(path)
    }

    pub fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inside(path)?;
        std::fs::create_dir_all(path)
    }

    /// `path` and its missing ancestors, each created with `mode` (before
    /// the umask); existing ones are left as they are.
    pub fn create_dir_all_with_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.inside(path)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(path)
    }

    pub fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inside(path)?;
        std::fs::remove_file(path)
    }

    /// An empty directory.
    pub fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.inside(path)?;
        std::fs::remove_dir(path)
    }

    pub fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inside(path)?;
        std::fs::remove_dir_all(path)
    }

    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inside(from)?;
        self.inside(to)?;
        std::fs::rename(from, to)
    }

    /// A symlink at `link` pointing at `target` (kept as written).
    pub fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.inside(link)?;
        std::os::unix::fs::symlink(target, link)
    }

    pub fn hard_link(&self, existing: &Path, link: &Path) -> io::Result<()> {
        self.inside(link)?;
        std::fs::hard_link(existing, link)
    }

    /// Owner of `path`, following a symlink.
    pub fn chown(&self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        self.inside(path)?;
        std::os::unix::fs::chown(path, uid, gid)
    }

    /// Owner of `path` itself, a symlink's own.
    pub fn lchown(&self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        self.inside(path)?;
        std::os::unix::fs::lchown(path, uid, gid)
    }

    /// Owner of an open file (a temp file a command will read, say).
    pub fn fchown(&self, file: &File, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        std::os::unix::fs::fchown(file, uid, gid)
    }

    /// Permission bits of `path`, following a symlink.
    pub fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.inside(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    /// A new file to fill (failing if anything is at `path`), created with
    /// `mode` before the umask.
    pub fn create_new_file(&self, path: &Path, mode: u32) -> io::Result<File> {
        self.inside(path)?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
    }

    /// A new file in the system's temp directory (outside the run's root:
    /// a script `cmd.script` runs), created with `mode`, removed when the
    /// returned handle or its path is dropped.
    pub fn private_temp_file(
        &self,
        prefix: &str,
        suffix: &str,
        mode: u32,
    ) -> io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(prefix)
            .suffix(suffix)
            .permissions(std::fs::Permissions::from_mode(mode))
            .tempfile()
    }

    /// `path` opened to append, created empty if missing (`file.touch`).
    pub fn open_append(&self, path: &Path) -> io::Result<File> {
        self.inside(path)?;
        OpenOptions::new().append(true).create(true).open(path)
    }

    /// Writes `bytes` over `path` in place, not atomically: for what cannot
    /// be replaced by a rename (a `/proc/sys` knob).
    pub fn write_in_place(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.inside(path)?;
        std::fs::write(path, bytes)
    }

    /// Copies a file's content and permission bits (`std::fs::copy`).
    pub fn copy_file(&self, from: &Path, to: &Path) -> io::Result<u64> {
        self.inside(to)?;
        std::fs::copy(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::TestHost;

    #[test]
    fn nothing_outside_the_root_is_changed() {
        let t = TestHost::new();
        let host = t.writer();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("f");
        std::fs::write(&victim, "keep").unwrap();
        let e = host.remove_file(&victim).unwrap_err();
        assert!(e.to_string().contains("outside the state root"), "{e}");
        assert!(host.set_mode(&victim, 0o777).is_err());
        assert!(host.create_dir(&outside.path().join("d")).is_err());
        assert!(host.rename(&victim, &t.path("/moved")).is_err());
        assert!(host
            .replace_file(&victim, b"new", Default::default())
            .is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
        // Inside it, the same calls work.
        host.create_dir(&t.path("/d")).unwrap();
        host.replace_file(&t.path("/d/f"), b"new", Default::default())
            .unwrap();
        assert_eq!(t.read("/d/f"), "new");
    }
}
