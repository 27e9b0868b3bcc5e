//! Writes of apt source and key files, through `state::atomic_file`.
use std::fs;
use std::path::Path;

use crate::state::atomic_file::NewMeta;
use crate::state::{HostWrite, StateError};

fn host_err(path: &Path, what: &str, e: std::io::Error) -> StateError {
    StateError::host(format!("cannot {what} {}: {e}", path.display()))
}

/// Writes `data` to `path` atomically (`state::atomic_file`). An existing
/// file keeps its mode; a new one gets `mode`, and missing parent directories
/// get 0755.
pub fn atomic(host: &HostWrite, path: &Path, data: &[u8], mode: u32) -> Result<(), StateError> {
    let dir = path
        .parent()
        .ok_or_else(|| StateError::args(format!("no directory in {}", path.display())))?;
    host.create_dir_all_with_mode(dir, 0o755)
        .map_err(|e| host_err(dir, "create", e))?;
    let keep = fs::metadata(path).is_ok();
    let meta = NewMeta {
        uid: None,
        gid: None,
        mode: (!keep).then_some(mode),
    };
    host.replace_file(path, data, meta)
        .map_err(|e| host_err(path, "replace", e))
}

/// Removes `path` (absent is fine) and syncs its directory.
pub fn remove(host: &HostWrite, path: &Path) -> Result<(), StateError> {
    match host.remove_file(path) {
        Ok(()) => durable::sync_dir_of(path)
            .map_err(|e| host_err(path.parent().unwrap_or(path), "fsync", e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(host_err(path, "remove", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    use crate::state::testutil::TestHost;

    #[test]
    fn writes_new_files_and_keeps_modes_of_old_ones() {
        let t = TestHost::new();
        let host = t.writer();
        let path = t.path("/a/b/x.list");
        atomic(&host, &path, b"one\n", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o644
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        atomic(&host, &path, b"two\n", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        // No temp file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
        remove(&host, &path).unwrap();
        remove(&host, &path).unwrap();
        assert!(!path.exists());
    }
}
