//! Reading tar (plain, gzip, bzip2, xz) and zip archives entry by entry,
//! with every path checked before anything is written: an archive is
//! untrusted input, and a name like `../x`, `/etc/x` or a symlink leading out
//! of the destination must not place a file outside it.
use std::collections::BTreeSet;
use std::io::{Cursor, Read};

/// What reading an archive can fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArchiveError {
    /// Not a readable archive of the expected format.
    #[error("{0}")]
    Read(String),
    /// An entry that would reach outside the destination, or one that is
    /// not a file, directory or link.
    #[error("{0}")]
    Unsafe(String),
    /// Writing the extracted files failed.
    #[error("{0}")]
    Write(String),
}

/// tar or zip (Salt's `archive_format`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    Tar,
    Zip,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::Zip => "zip",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Dir,
    File,
    /// A symbolic link and its target, as stored.
    Symlink(String),
    /// A hard link to another entry (path relative to the destination).
    Hardlink(String),
}

/// One archive member, its path already checked and normalised (relative,
/// no `.`/`..`, no trailing slash, leading components stripped).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The name as stored (what Salt lists in `extracted_files`).
    pub raw: String,
    pub path: String,
    pub kind: Kind,
    /// Permission bits, if the archive records them.
    pub mode: Option<u32>,
    /// Modification time (seconds since the epoch), if recorded.
    pub mtime: Option<u64>,
}

/// Salt's `archive.list(verbose=True)`: relative paths, directories with a
/// trailing slash, each list sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub dirs: Vec<String>,
    pub files: Vec<String>,
    pub links: Vec<String>,
    pub top_level_dirs: Vec<String>,
    pub top_level_files: Vec<String>,
    pub top_level_links: Vec<String>,
    /// Stored names, in archive order (Salt's `extracted_files`).
    pub names: Vec<String>,
}

/// Guesses the format from a file name, as Salt's `guess_archive_type`.
pub fn guess_format(name: &str) -> Option<&'static str> {
    let name = name.to_lowercase();
    let tar = [
        "tar", "tar.gz", "tgz", "tar.bz2", "tbz2", "tbz", "tar.xz", "txz", "tar.lzma", "tlz",
    ];
    if tar.iter().any(|ext| name.ends_with(&format!(".{ext}"))) {
        return Some("tar");
    }
    ["zip", "rar"]
        .into_iter()
        .find(|ext| name.ends_with(&format!(".{ext}")))
}

/// Calls `visit` with every entry and a reader of its content, in archive
/// order. Entries stripped away entirely (`--strip-components`) are skipped.
pub fn each_entry(
    bytes: &[u8],
    format: Format,
    strip: usize,
    visit: &mut dyn FnMut(&Entry, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    match format {
        Format::Tar => each_tar_entry(bytes, strip, visit),
        Format::Zip => each_zip_entry(bytes, strip, visit),
    }
}

fn unreadable(e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Read(format!("Unable to read the archive: {e}"))
}

/// The tar stream, decompressed by what its first bytes say it is.
fn tar_stream(bytes: &[u8]) -> Box<dyn Read + '_> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(bytes))
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(lzma_rust2::XzReader::new(bytes, true))
    } else if bytes.starts_with(b"BZh") {
        Box::new(bzip2::read::MultiBzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    }
}

fn each_tar_entry(
    bytes: &[u8],
    strip: usize,
    visit: &mut dyn FnMut(&Entry, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(tar_stream(bytes));
    for item in archive.entries().map_err(unreadable)? {
        let mut item = item.map_err(unreadable)?;
        let raw = String::from_utf8_lossy(&item.path_bytes()).into_owned();
        let header = item.header();
        let link = || {
            item.link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default()
        };
        use tar::EntryType as T;
        let kind = match header.entry_type() {
            T::Regular | T::Continuous | T::GNUSparse => Kind::File,
            T::Directory => Kind::Dir,
            T::Symlink => Kind::Symlink(link()),
            T::Link => Kind::Hardlink(link()),
            // pax and GNU long-name records are folded into entries by the
            // tar crate; what is left is a device node or a FIFO.
            other => {
                return Err(ArchiveError::Unsafe(format!(
                    "Archive member '{raw}' is a {other:?}, which Brine does not extract"
                )))
            }
        };
        let mode = header.mode().ok();
        let mtime = header.mtime().ok();
        let Some(entry) = checked(raw, kind, mode, mtime, strip, '/')? else {
            continue;
        };
        visit(&entry, &mut item)?;
    }
    Ok(())
}

fn each_zip_entry(
    bytes: &[u8],
    strip: usize,
    visit: &mut dyn FnMut(&Entry, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ArchiveError::Read(format!("The archive is not a ZIP file: {e}")))?;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(unreadable)?;
        let raw = String::from_utf8_lossy(file.name_raw()).into_owned();
        if file.encrypted() {
            return Err(ArchiveError::Read(format!(
                "Archive member '{raw}' is password-protected, which Brine does not extract"
            )));
        }
        let mode = file.unix_mode();
        let kind = if file.is_symlink() {
            let mut target = String::new();
            file.read_to_string(&mut target).map_err(unreadable)?;
            Kind::Symlink(target)
        } else if file.is_dir() {
            Kind::Dir
        } else {
            Kind::File
        };
        let mtime = file.last_modified().and_then(|t| {
            let date = (
                (t.year() as i64, t.month(), t.day()),
                (t.hour(), t.minute(), t.second()),
            );
            epoch_seconds(date)
        });
        // Zip names use '/', but some writers store '\'; either way a `..`
        // component is refused.
        let Some(entry) = checked(raw, kind, mode, mtime, strip, '\\')? else {
            continue;
        };
        visit(&entry, &mut file)?;
    }
    Ok(())
}

/// Seconds since the epoch of a (UTC) calendar date and time.
fn epoch_seconds(((y, m, d), (hh, mm, ss)): ((i64, u8, u8), (u8, u8, u8))) -> Option<u64> {
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, d) = (if m <= 2 { y - 1 } else { y }, i64::from(m), i64::from(d));
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss);
    u64::try_from(secs).ok()
}

/// Splits a stored path into its components, refusing anything that could
/// leave the destination. `alt_sep` is also taken as a separator for the
/// `..` test. None: nothing left (the `./` entry, or stripped away).
fn components(raw: &str, alt_sep: char) -> Result<Vec<&str>, String> {
    if raw.contains('\0') {
        return Err(format!("Archive member '{raw}' has a NUL byte in its name"));
    }
    if raw.starts_with('/') || raw.starts_with(alt_sep) {
        return Err(format!("Archive member '{raw}' has an absolute path"));
    }
    if raw.split(['/', alt_sep]).any(|c| c == "..") {
        return Err(format!("Archive member '{raw}' has a '..' path component"));
    }
    Ok(raw
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect())
}

fn checked(
    raw: String,
    kind: Kind,
    mode: Option<u32>,
    mtime: Option<u64>,
    strip: usize,
    alt_sep: char,
) -> Result<Option<Entry>, ArchiveError> {
    let parts = components(&raw, alt_sep).map_err(ArchiveError::Unsafe)?;
    if parts.len() <= strip {
        return Ok(None);
    }
    let path = parts[strip..].join("/");
    let kind = match kind {
        Kind::Hardlink(target) => {
            let parts = components(&target, alt_sep).map_err(|_| {
                ArchiveError::Unsafe(format!(
                    "Archive member '{raw}' is a hard link to '{target}', outside the destination"
                ))
            })?;
            if parts.len() <= strip {
                return Err(ArchiveError::Unsafe(format!(
                    "Archive member '{raw}' is a hard link to '{target}', outside the destination"
                )));
            }
            Kind::Hardlink(parts[strip..].join("/"))
        }
        Kind::Symlink(target) => {
            if target.is_empty() || target.starts_with('/') || target.contains('\0') {
                return Err(ArchiveError::Unsafe(format!(
                    "Archive member '{raw}' is a symlink to '{target}', outside the destination"
                )));
            }
            Kind::Symlink(target)
        }
        other => other,
    };
    Ok(Some(Entry {
        raw,
        path,
        kind,
        mode,
        mtime,
    }))
}

/// Where a symlink at `link` (relative) pointing to `target` leads,
/// lexically; None if it climbs above the destination. Following another
/// symlink of the archive on the way is refused too, since `..` after it
/// would be taken from the other link's target, not from where it sits.
fn resolve_link(link: &str, target: &str, links: &BTreeSet<String>) -> Option<String> {
    let mut stack: Vec<&str> = link.split('/').collect();
    stack.pop();
    let parts: Vec<&str> = target.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        match *part {
            "" | "." => {}
            ".." => {
                stack.pop()?;
            }
            name => {
                stack.push(name);
                let more = parts[i + 1..].iter().any(|p| !p.is_empty() && *p != ".");
                if more && links.contains(&stack.join("/")) {
                    return None;
                }
            }
        }
    }
    Some(stack.join("/"))
}

/// Lists an archive the way Salt's `archive.list(verbose=True)` does, and
/// refuses it whole if any member is unsafe, so a hostile archive is
/// rejected before anything is written.
pub fn list(bytes: &[u8], format: Format, strip: usize) -> Result<Listing, ArchiveError> {
    let mut entries = Vec::new();
    each_entry(bytes, format, strip, &mut |entry, _| {
        entries.push(entry.clone());
        Ok(())
    })?;
    let links: BTreeSet<String> = entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::Symlink(_)))
        .map(|e| e.path.clone())
        .collect();
    let mut dirs = BTreeSet::new();
    let mut files = BTreeSet::new();
    let mut out = Listing::default();
    for entry in &entries {
        if let Kind::Symlink(target) = &entry.kind {
            if resolve_link(&entry.path, target, &links).is_none() {
                return Err(ArchiveError::Unsafe(format!(
                    "Archive member '{}' is a symlink to '{target}', outside the destination",
                    entry.raw
                )));
            }
        }
        // Every parent is a directory of the archive, listed or not (Salt
        // misses unlisted ones in tar archives, and with them tar-bombs).
        let parts: Vec<&str> = entry.path.split('/').collect();
        for depth in 1..parts.len() {
            dirs.insert(format!("{}/", parts[..depth].join("/")));
        }
        match entry.kind {
            Kind::Dir => {
                dirs.insert(format!("{}/", entry.path));
            }
            Kind::Symlink(_) => out.links.push(entry.path.clone()),
            Kind::File | Kind::Hardlink(_) => {
                files.insert(entry.path.clone());
            }
        }
        out.names.push(entry.raw.clone());
    }
    out.dirs = dirs.into_iter().collect();
    out.files = files.into_iter().collect();
    out.links.sort();
    out.links.dedup();
    out.top_level_dirs = out
        .dirs
        .iter()
        .filter(|d| d.matches('/').count() == 1)
        .cloned()
        .collect();
    out.top_level_files = out
        .files
        .iter()
        .filter(|f| !f.contains('/'))
        .cloned()
        .collect();
    out.top_level_links = out
        .links
        .iter()
        .filter(|l| !l.contains('/'))
        .cloned()
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_leaving_the_destination_are_refused() {
        for raw in ["../evil", "a/../../evil", "/etc/passwd", "a\0b", "..\\evil"] {
            assert!(components(raw, '\\').is_err(), "{raw:?}");
        }
        assert_eq!(components("./a//b/", '/').unwrap(), ["a", "b"]);
        assert!(components("./", '/').unwrap().is_empty());
    }

    #[test]
    fn symlinks_resolve_lexically_inside() {
        let none = BTreeSet::new();
        assert_eq!(resolve_link("a/l", "../b", &none).as_deref(), Some("b"));
        assert_eq!(resolve_link("a/l", ".", &none).as_deref(), Some("a"));
        assert_eq!(resolve_link("l", "..", &none), None);
        assert_eq!(resolve_link("a/b/l", "../../../x", &none), None);
        // "m -> l/.." where "l -> ." would be dest/.. once followed.
        let links: BTreeSet<String> = ["l".to_string()].into();
        assert_eq!(resolve_link("m", "l/..", &links), None);
        assert_eq!(resolve_link("m", "l", &links).as_deref(), Some("l"));
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(guess_format("salt://a/app-1.0.TAR.GZ"), Some("tar"));
        assert_eq!(guess_format("/x/app.tgz"), Some("tar"));
        assert_eq!(guess_format("/x/app.txz"), Some("tar"));
        assert_eq!(guess_format("/x/app.zip"), Some("zip"));
        assert_eq!(guess_format("/x/app.rar"), Some("rar"));
        assert_eq!(guess_format("/x/app.gz"), None);
    }

    #[test]
    fn epoch_of_dates() {
        assert_eq!(epoch_seconds(((1970, 1, 1), (0, 0, 0))), Some(0));
        assert_eq!(epoch_seconds(((2000, 3, 1), (12, 0, 0))), Some(951_912_000));
    }
}
