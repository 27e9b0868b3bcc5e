//! Writing an archive's entries under a destination directory, never
//! outside it: each parent directory is resolved physically (a symlink
//! already on disk, or one the archive made, must stay inside), existing
//! files and links are replaced rather than written through, and symlinks
//! are created only if where they lead is inside.
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use super::super::HostWrite;

use super::entries::{each_entry, ArchiveError, Entry, Format, Kind};

fn write_err(path: &Path, e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Write(format!("{}: {e}", path.display()))
}

fn outside(entry: &Entry) -> ArchiveError {
    ArchiveError::Unsafe(format!(
        "Archive member '{}' would be written outside the destination (through a symlink)",
        entry.raw
    ))
}

/// Extracts every entry of the archive into `dest` (which must exist).
pub fn extract(
    host: &HostWrite,
    bytes: &[u8],
    format: Format,
    strip: usize,
    dest: &Path,
) -> Result<(), ArchiveError> {
    let root = dest.canonicalize().map_err(|e| write_err(dest, e))?;
    // Directory modes are set last, so a read-only directory does not stop
    // its own contents from being written (as Python's tarfile does).
    let mut dir_modes: Vec<(PathBuf, u32)> = Vec::new();
    each_entry(bytes, format, strip, &mut |entry, data| {
        let (parent, name) = parent_dir(host, &root, entry)?;
        let target = parent.join(name);
        match &entry.kind {
            Kind::Dir => {
                make_dir(host, &root, entry, &target)?;
                let mode = entry
                    .mode
                    .map(|m| m & 0o777)
                    .filter(|m| *m != 0)
                    .unwrap_or(0o755);
                dir_modes.push((target, mode));
            }
            Kind::File => write_file(host, &target, entry, data)?,
            Kind::Symlink(link) => {
                if !stays_inside(&root, &parent, link) {
                    return Err(outside(entry));
                }
                replace_non_dir(host, &target)?;
                host.symlink(Path::new(link), &target)
                    .map_err(|e| write_err(&target, e))?;
            }
            Kind::Hardlink(source) => {
                let source_path = root.join(source);
                if !stays_inside(&root, &root, source) {
                    return Err(outside(entry));
                }
                replace_non_dir(host, &target)?;
                host.hard_link(&source_path, &target)
                    .map_err(|e| write_err(&target, e))?;
            }
        }
        Ok(())
    })?;
    for (dir, mode) in dir_modes.iter().rev() {
        host.set_mode(dir, *mode).map_err(|e| write_err(dir, e))?;
    }
    Ok(())
}

/// The physical directory an entry goes in (made if missing) and its file
/// name. Every existing component must be a directory inside `root`.
fn parent_dir<'e>(
    host: &HostWrite,
    root: &Path,
    entry: &'e Entry,
) -> Result<(PathBuf, &'e str), ArchiveError> {
    let mut parts: Vec<&str> = entry.path.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    let mut cur = root.to_path_buf();
    for part in parts {
        let next = cur.join(part);
        match std::fs::symlink_metadata(&next) {
            Ok(meta) if meta.is_dir() => cur = next,
            Ok(meta) if meta.file_type().is_symlink() => {
                let real = next.canonicalize().map_err(|e| write_err(&next, e))?;
                if !real.starts_with(root) {
                    return Err(outside(entry));
                }
                if !real.is_dir() {
                    return Err(write_err(&next, "not a directory"));
                }
                cur = real;
            }
            Ok(_) => return Err(write_err(&next, "exists and is not a directory")),
            Err(_) => {
                host.create_dir(&next).map_err(|e| write_err(&next, e))?;
                cur = next;
            }
        }
    }
    Ok((cur, name))
}

fn make_dir(
    host: &HostWrite,
    root: &Path,
    entry: &Entry,
    target: &Path,
) -> Result<(), ArchiveError> {
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(meta) if meta.file_type().is_symlink() => {
            let real = target.canonicalize().map_err(|e| write_err(target, e))?;
            if real.starts_with(root) && real.is_dir() {
                Ok(())
            } else {
                Err(outside(entry))
            }
        }
        Ok(_) => Err(write_err(target, "exists and is not a directory")),
        Err(_) => host.create_dir(target).map_err(|e| write_err(target, e)),
    }
}

/// Removes a file or symlink in the way (never a directory), so the new
/// entry replaces it instead of being written through it.
fn replace_non_dir(host: &HostWrite, target: &Path) -> Result<(), ArchiveError> {
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => Err(write_err(target, "exists and is a directory")),
        Ok(_) => host.remove_file(target).map_err(|e| write_err(target, e)),
        Err(_) => Ok(()),
    }
}

fn write_file(
    host: &HostWrite,
    target: &Path,
    entry: &Entry,
    data: &mut dyn Read,
) -> Result<(), ArchiveError> {
    replace_non_dir(host, target)?;
    let mut file = host
        .create_new_file(target, 0o666)
        .map_err(|e| write_err(target, e))?;
    std::io::copy(data, &mut file).map_err(|e| write_err(target, e))?;
    // Permission bits only: setuid/setgid/sticky from an archive are dropped.
    let mode = entry
        .mode
        .map(|m| m & 0o777)
        .filter(|m| *m != 0)
        .unwrap_or(0o644);
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| write_err(target, e))?;
    if let Some(mtime) = entry.mtime {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
        file.set_modified(when).map_err(|e| write_err(target, e))?;
    }
    Ok(())
}

/// Whether `rel`, taken from the physical directory `from`, stays under
/// `root` when followed on disk (symlinks already there included).
fn stays_inside(root: &Path, from: &Path, rel: &str) -> bool {
    let mut cur = from.to_path_buf();
    for comp in Path::new(rel).components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if !cur.pop() || !cur.starts_with(root) {
                    return false;
                }
            }
            Component::Normal(name) => {
                let next = cur.join(name);
                let is_link =
                    std::fs::symlink_metadata(&next).is_ok_and(|m| m.file_type().is_symlink());
                cur = match (is_link, next.canonicalize()) {
                    (true, Ok(real)) => real,
                    _ => next,
                };
                if !cur.starts_with(root) {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    cur.starts_with(root)
}

/// The first listed path whose existing parent directories on disk lead
/// outside `dest` through a symlink (checked before anything is written).
pub fn escapes_on_disk(dest: &Path, listing: &super::entries::Listing) -> Option<String> {
    let root = dest.canonicalize().ok()?;
    for rel in listing
        .dirs
        .iter()
        .chain(&listing.files)
        .chain(&listing.links)
    {
        let rel = rel.trim_end_matches('/');
        let mut parts: Vec<&str> = rel.split('/').collect();
        // A listed directory is entered; a file or link is replaced.
        if !listing.dirs.iter().any(|d| d.trim_end_matches('/') == rel) {
            parts.pop();
        }
        let mut cur = root.clone();
        for part in parts {
            let next = cur.join(part);
            match std::fs::symlink_metadata(&next) {
                Ok(meta) if meta.file_type().is_symlink() => match next.canonicalize() {
                    Ok(real) if real.starts_with(&root) => cur = real,
                    _ => return Some(rel.to_string()),
                },
                Ok(_) => cur = next,
                Err(_) => break,
            }
        }
    }
    None
}
