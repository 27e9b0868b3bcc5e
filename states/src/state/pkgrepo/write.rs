//! Crash-safe file writes: a temp file in the target's directory, fsync,
//! rename, fsync of the directory. A crash leaves the old file or the new one.
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::state::StateError;

fn host_err(path: &Path, what: &str, e: std::io::Error) -> StateError {
    StateError::host(format!("cannot {what} {}: {e}", path.display()))
}

/// Writes `data` to `path` atomically. An existing file keeps its mode; a
/// new one gets `mode`, and missing parent directories get 0755.
pub fn atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), StateError> {
    let dir = path
        .parent()
        .ok_or_else(|| StateError::args(format!("no directory in {}", path.display())))?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| host_err(dir, "create", e))?;
    let mode = fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(mode);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.brine-{}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| host_err(&tmp, "create", e))?;
        f.write_all(data).map_err(|e| host_err(&tmp, "write", e))?;
        // The umask may have narrowed the mode given to open().
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| host_err(&tmp, "chmod", e))?;
        f.sync_all().map_err(|e| host_err(&tmp, "fsync", e))?;
        fs::rename(&tmp, path).map_err(|e| host_err(path, "rename onto", e))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes `path` (absent is fine) and syncs its directory.
pub fn remove(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => path.parent().map_or(Ok(()), sync_dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(host_err(path, "remove", e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), StateError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| host_err(dir, "fsync", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_new_files_and_keeps_modes_of_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/x.list");
        atomic(&path, b"one\n", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o644
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        atomic(&path, b"two\n", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        // No temp file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert!(!path.exists());
    }
}
