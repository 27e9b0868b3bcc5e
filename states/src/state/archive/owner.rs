//! User and group names to ids (through NSS, as Salt's `pwd`/`grp` lookups
//! do) and ownership changes that never follow symlinks.
//!
//! Shared by `archive` and `git`; small enough to move to a common place
//! when a third module needs it.
use std::ffi::{CStr, CString};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::super::{HostWrite, StateError};

/// A user's uid and primary gid, and home directory.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInfo {
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// Looks a user up by name (or by a numeric uid, as `chown` accepts).
pub fn user(name: &str) -> Option<UserInfo> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: passwd is plain data filled in by the call.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the length given with it.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    let home = if pw.pw_dir.is_null() {
        String::new()
    } else {
        // SAFETY: pw_dir points into buf, NUL-terminated by getpwnam_r.
        unsafe { CStr::from_ptr(pw.pw_dir) }
            .to_string_lossy()
            .into_owned()
    };
    Some(UserInfo {
        uid: pw.pw_uid,
        gid: pw.pw_gid,
        home,
    })
}

/// Looks a group's gid up by name.
pub fn group(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 65536];
    // SAFETY: group is plain data filled in by the call.
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the length given with it.
    let rc = unsafe {
        libc::getgrnam_r(
            cname.as_ptr(),
            &mut gr,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(gr.gr_gid)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_missing_users() {
        let root = user("root").expect("root exists");
        assert_eq!(root.uid, 0);
        assert_eq!(group("root"), Some(0));
        assert!(user("no-such-user-brine").is_none());
        assert!(group("no-such-group-brine").is_none());
        assert!(user("a\0b").is_none());
    }
}
