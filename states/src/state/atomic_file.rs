//! Replacing a file so a crash leaves the old content or the new, never half:
//! a temp file in the same directory, fsync, rename, fsync the directory.
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::StateError;

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

/// Writes `bytes` to `path` atomically with `meta`. The directory must exist.
pub fn write(path: &Path, bytes: &[u8], meta: Meta) -> Result<(), StateError> {
    let dir = path
        .parent()
        .ok_or_else(|| StateError::args(format!("{} has no directory", path.display())))?;
    let err = |what: &str, e: std::io::Error| {
        StateError::host(format!("cannot {what} {}: {e}", path.display()))
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".brine-")
        .tempfile_in(dir)
        .map_err(|e| err("create a temp file beside", e))?;
    let file = tmp.as_file_mut();
    file.write_all(bytes).map_err(|e| err("write", e))?;
    file.set_permissions(std::fs::Permissions::from_mode(meta.mode))
        .map_err(|e| err("set the mode of", e))?;
    if let Some((uid, gid)) = meta.owner {
        std::os::unix::fs::fchown(&*file, Some(uid), Some(gid))
            .map_err(|e| err("set the owner of", e))?;
    }
    file.sync_all().map_err(|e| err("sync", e))?;
    tmp.persist(path).map_err(|e| err("replace", e.error))?;
    // The rename itself is durable only once the directory is synced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
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
