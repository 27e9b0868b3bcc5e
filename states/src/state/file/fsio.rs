//! Filesystem helpers of the file states: directories made with owner and
//! mode, removal, existence checks. The ones that change the host take a
//! `HostWrite` and go through it; file content is replaced only through
//! `HostWrite::replace_file` (`state::atomic_file`).
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::super::{HostRead, HostWrite};

#[cfg(test)]
pub(crate) use crate::state::atomic_file::FAIL_BEFORE_RENAME;
pub(crate) use crate::state::atomic_file::{sync_dir, umask, NewMeta};

/// Creates one directory and gives it its owner and mode.
pub(super) fn mkdir(host: &HostWrite, path: &Path, meta: NewMeta) -> io::Result<()> {
    host.create_dir(path)?;
    if meta.uid.is_some() || meta.gid.is_some() {
        host.chown(path, meta.uid, meta.gid)?;
    }
    if let Some(m) = meta.mode {
        host.set_mode(path, m)?;
    }
    sync_dir(path)
}

/// Creates the missing ancestors of `path` (not `path` itself), top down,
/// each with `meta`, as Salt's `file.makedirs`. Returns the ones created.
pub(super) fn make_parents(
    host: &HostWrite,
    path: &Path,
    meta: NewMeta,
) -> io::Result<Vec<PathBuf>> {
    let root = host.root();
    let mut missing = Vec::new();
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d.is_dir() {
            break;
        }
        if d.symlink_metadata().is_ok() {
            // Named as the state tree names it, not by where the root is.
            let shown = d
                .strip_prefix(root)
                .map_or(d.to_path_buf(), |rel| Path::new("/").join(rel));
            return Err(io::Error::other(format!(
                "The path '{}' already exists and is not a directory",
                shown.display()
            )));
        }
        missing.push(d.to_path_buf());
        dir = d.parent();
    }
    for d in missing.iter().rev() {
        match mkdir(host, d, meta) {
            Ok(()) => {}
            // Someone else made it meanwhile: fine.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(missing)
}

/// Salt's default `dir_mode` for directories a file state creates: the
/// file's mode with the execute bit added to each non-zero digit.
pub(super) fn dir_mode_for(mode: u32) -> u32 {
    (0..3).fold(0, |acc, i| {
        let digit = (mode >> (3 * i)) & 7;
        acc | if digit != 0 {
            (digit | 1) << (3 * i)
        } else {
            0
        }
    })
}

/// Removes a file, a symlink (not its target) or a whole directory tree.
pub(super) fn remove_any(host: &HostWrite, path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        host.remove_dir_all(path)?;
    } else {
        host.remove_file(path)?;
    }
    sync_dir(path)
}

/// Whether anything (even a dangling symlink) is at `path`.
pub(super) fn lexists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Where Salt's `backup: minion` keeps copies, under the context root.
pub(super) const BACKUP_ROOT: &str = "/var/cache/brine/minion/file_backup";

/// Salt's `backup_minion`: a copy of `name`'s current content at
/// `file_backup/<dir>/<base>_<Day_Mon_DD_HH:MM:SS_micros_YYYY>`, with the
/// original's owner and mode.
pub(super) fn backup_minion(host: &HostWrite, name: &str, real: &Path) -> io::Result<PathBuf> {
    let meta = std::fs::metadata(real)?;
    let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
    let root = host
        .path(BACKUP_ROOT)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let backup = root
        .join(dir.trim_start_matches('/'))
        .join(format!("{base}_{}", backup_stamp()));
    if let Some(parent) = backup.parent() {
        host.create_dir_all(parent)?;
    }
    let bytes = std::fs::read(real)?;
    host.replace_file(
        &backup,
        &bytes,
        NewMeta {
            uid: Some(meta.uid()),
            gid: Some(meta.gid()),
            mode: Some(meta.mode() & 0o7777),
        },
    )?;
    Ok(backup)
}

/// `time.strftime("%a_%b_%d_%H:%M:%S_%Y")` with microseconds before the
/// year, as Salt names backups (in UTC here).
fn backup_stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}_{}_{:02}_{:02}:{:02}:{:02}_{:06}_{y}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    )
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `name` with symlinks resolved inside the context root: an absolute link
/// target means that path under the root, not on the machine running the
/// tests. Returns the resolved absolute name (as the state tree would say
/// it); a missing tail is kept as it is.
pub(super) fn resolve_links(host: &HostRead, name: &str) -> io::Result<String> {
    let mut pending: Vec<String> = name
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(String::from)
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(comp) = pending.pop() {
        match comp.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        done.push(comp);
        let logical = format!("/{}", done.join("/"));
        let real = host
            .path(&logical)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let Ok(meta) = std::fs::symlink_metadata(&real) else {
            continue;
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        hops += 1;
        if hops > 40 {
            return Err(io::Error::other(format!(
                "too many levels of symbolic links in {name}"
            )));
        }
        let target = std::fs::read_link(&real)?;
        let target = target.to_string_lossy().into_owned();
        done.pop();
        if target.starts_with('/') {
            done.clear();
        }
        pending.extend(
            target
                .split('/')
                .filter(|c| !c.is_empty())
                .rev()
                .map(String::from),
        );
    }
    Ok(format!("/{}", done.join("/")))
}
