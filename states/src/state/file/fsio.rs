//! Writes that leave the host whole: a file's new content goes to a temp
//! file beside it, is synced, given its owner and mode, and renamed over the
//! target, then the directory is synced. A crash leaves the old file or the
//! new one, never part of one, and no temp file is left behind on an error.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::super::HostRead;
use super::perms::set_mode;

/// Owner and mode for something being created (`None`: the process's own /
/// the umask's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct NewMeta {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: Option<u32>,
}

#[cfg(test)]
thread_local! {
    /// Tests set this to fail a write after the temp file is complete and
    /// before the rename, as a crash or a full disk would.
    pub(super) static FAIL_BEFORE_RENAME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn temp_name(target: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{base}.brine-{}-{n}.tmp", std::process::id()))
}

/// Replaces (or creates) `target` with `bytes`, atomically. With `meta`
/// fields unset, an existing file keeps its owner and mode; a new one gets
/// the process's owner and `0666 & !umask`.
pub(super) fn atomic_write(target: &Path, bytes: &[u8], meta: NewMeta) -> io::Result<()> {
    let old = std::fs::metadata(target).ok();
    let uid = meta.uid.or(old.as_ref().map(|m| m.uid()));
    let gid = meta.gid.or(old.as_ref().map(|m| m.gid()));
    let mode = meta
        .mode
        .or(old.as_ref().map(|m| m.mode() & 0o7777))
        .unwrap_or(0o666 & !umask());
    let temp = temp_name(target);
    // 0600 until the real owner and mode are set, so nobody reads it early.
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    let result = fill_and_rename(file, &temp, target, bytes, uid, gid, mode);
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn fill_and_rename(
    mut file: File,
    temp: &Path,
    target: &Path,
    bytes: &[u8],
    uid: Option<u32>,
    gid: Option<u32>,
    mode: u32,
) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()?;
    // Only what differs from the temp file's owner (the process's): an
    // unprivileged run can then still rewrite a file it may write.
    let mine = file.metadata()?;
    let uid = uid.filter(|u| *u != mine.uid());
    let gid = gid.filter(|g| *g != mine.gid());
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::fchown(&file, uid, gid)?;
    }
    // After chown, which clears setuid/setgid bits.
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    drop(file);
    #[cfg(test)]
    if FAIL_BEFORE_RENAME.with(|f| f.get()) {
        return Err(io::Error::other("simulated failure before rename"));
    }
    std::fs::rename(temp, target)?;
    sync_dir(target)
}

/// Makes a rename or a new entry in `path`'s directory durable.
pub(super) fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// The process umask, read without changing it (Linux reports it in
/// /proc/self/status; elsewhere the usual 022 is assumed).
pub(super) fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Creates one directory and gives it its owner and mode.
pub(super) fn mkdir(path: &Path, meta: NewMeta) -> io::Result<()> {
    std::fs::create_dir(path)?;
    if meta.uid.is_some() || meta.gid.is_some() {
        std::os::unix::fs::chown(path, meta.uid, meta.gid)?;
    }
    if let Some(m) = meta.mode {
        set_mode(path, m)?;
    }
    sync_dir(path)
}

/// Creates the missing ancestors of `path` (not `path` itself), top down,
/// each with `meta`, as Salt's `file.makedirs`. Returns the ones created.
pub(super) fn make_parents(root: &Path, path: &Path, meta: NewMeta) -> io::Result<Vec<PathBuf>> {
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
        match mkdir(d, meta) {
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
pub(super) fn remove_any(path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path)?;
    } else {
        std::fs::remove_file(path)?;
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
pub(super) fn backup_minion(host: &HostRead, name: &str, real: &Path) -> io::Result<PathBuf> {
    let meta = std::fs::metadata(real)?;
    let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
    let root = host
        .path(BACKUP_ROOT)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let backup = root
        .join(dir.trim_start_matches('/'))
        .join(format!("{base}_{}", backup_stamp()));
    if let Some(parent) = backup.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let bytes = std::fs::read(real)?;
    atomic_write(
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
