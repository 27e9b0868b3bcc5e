//! Small text files a state owns a line of (`/etc/fstab`, `/etc/timezone`,
//! `/etc/default/locale`, sysctl's config): read if there, replaced whole
//! through `durable` keeping the old file's mode and owner (0644 when new).
use std::path::Path;

use super::atomic_file::{self, Meta};
use super::{HostWrite, StateError};

/// The file's text; `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, StateError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::host(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Replaces `path` with `text`, creating its directory.
pub fn write(host: &HostWrite, path: &Path, text: &str) -> Result<(), StateError> {
    if let Some(dir) = path.parent() {
        host.create_dir_all(dir)
            .map_err(|e| StateError::host(format!("cannot create {}: {e}", dir.display())))?;
    }
    let meta = atomic_file::existing_meta(path).unwrap_or(Meta {
        mode: 0o644,
        owner: None,
    });
    host.write_file(path, text.as_bytes(), meta)
}
