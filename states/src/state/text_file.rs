//! A whole small text file a state edits (`/etc/hosts`, `/etc/aliases`, an
//! ini file, a known_hosts file, `/etc/fstab`, `/etc/timezone`,
//! `/etc/default/locale`, sysctl's config): read it, maybe missing, and
//! replace it atomically keeping its owner and mode.
use std::path::Path;

use super::atomic_file::{self, Meta};
use super::{HostWrite, StateError};

/// The file's text; `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, StateError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::host(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Replaces `path` with `text`: an existing file keeps its owner and mode,
/// a new one gets `new_mode` (and `new_owner`, when given), its directory
/// created if missing.
pub(crate) fn replace(
    host: &HostWrite,
    path: &Path,
    text: &str,
    new_mode: u32,
    new_owner: Option<(u32, u32)>,
) -> Result<(), StateError> {
    let meta = match atomic_file::existing_meta(path) {
        Some(meta) => meta,
        None => {
            if let Some(dir) = path.parent() {
                host.create_dir_all(dir).map_err(|e| {
                    StateError::host(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            Meta {
                mode: new_mode,
                owner: new_owner,
            }
        }
    };
    host.write_file(path, text.as_bytes(), meta)
}

/// [`replace`], a new file getting mode 0644 and the applying user.
pub(crate) fn write(host: &HostWrite, path: &Path, text: &str) -> Result<(), StateError> {
    replace(host, path, text, 0o644, None)
}
