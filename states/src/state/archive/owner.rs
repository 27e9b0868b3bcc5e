//! Ownership changes that never follow symlinks, shared by `archive` and
//! `git` (who the names are is `state::accounts`' business).
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::super::{HostWrite, StateError};

/// Wanted owner; `None` leaves that id as it is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Owner {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Owner {
    pub fn is_none(&self) -> bool {
        self.uid.is_none() && self.gid.is_none()
    }

    /// Whether `path` (not followed if a symlink) is owned otherwise.
    pub fn differs(&self, path: &Path) -> bool {
        match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                self.uid.is_some_and(|u| u != meta.uid())
                    || self.gid.is_some_and(|g| g != meta.gid())
            }
            Err(_) => false,
        }
    }

    /// Whether anything under `path` (included) is owned otherwise.
    pub fn differs_recursive(&self, path: &Path) -> bool {
        if self.is_none() {
            return false;
        }
        let mut found = false;
        walk(path, &mut |p| {
            found = found || self.differs(p);
            !found
        });
        found
    }

    /// `lchown` of one path.
    pub fn apply(&self, host: &HostWrite, path: &Path) -> Result<(), StateError> {
        if self.is_none() || !self.differs(path) {
            return Ok(());
        }
        host.lchown(path, self.uid, self.gid).map_err(|e| {
            StateError::host(format!("cannot change owner of {}: {e}", path.display()))
        })
    }

    /// `chown -hR`: symlinks themselves, never what they point to.
    pub fn apply_recursive(&self, host: &HostWrite, path: &Path) -> Result<(), StateError> {
        if self.is_none() {
            return Ok(());
        }
        let mut error = None;
        walk(path, &mut |p| match self.apply(host, p) {
            Ok(()) => true,
            Err(e) => {
                error = Some(e);
                false
            }
        });
        error.map_or(Ok(()), Err)
    }
}

/// Visits `path` and, if it is a real directory (not a symlink to one),
/// everything under it. The visitor returns false to stop.
fn walk(path: &Path, visit: &mut dyn FnMut(&Path) -> bool) -> bool {
    if !visit(path) {
        return false;
    }
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if is_dir {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                if !walk(&entry.path(), visit) {
                    return false;
                }
            }
        }
    }
    true
}
