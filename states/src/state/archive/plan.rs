//! `archive.extracted`'s check: Salt's order of checks, deciding what
//! would be extracted without writing.
use std::path::{Path, PathBuf};

use common::data::{Map, Value};
use serde_json::json;

use super::super::accounts::Accounts;
use super::super::{Applied, Check, HostRead, HostWrite, StateError};
use super::args::{parse_options, parse_trim, RawArgs};
use super::entries::{self, ArchiveError, Format};
use super::extraction::Extraction;
use super::owner::Owner;
use super::{extract, hash};

/// Salt's order of checks. `Err` is a Salt-worded failure.
pub(super) fn plan(raw: RawArgs, host: &HostRead) -> Result<Result<Check, String>, StateError> {
    if raw.name.is_empty() {
        return Ok(Err(
            "Name of the directory path needs to be specified".into()
        ));
    }
    if !raw.name.starts_with('/') {
        return Ok(Err(format!("{} is not an absolute path", raw.name)));
    }
    let bare = match raw.name.trim_end_matches('/') {
        "" => "/",
        n => n,
    };
    let dest = host.path(bare)?;
    if dest.is_file() {
        return Ok(Err(format!("{bare} exists and is not a directory")));
    }
    let name = format!("{}/", bare.trim_end_matches('/'));
    if raw
        .if_missing
        .as_deref()
        .is_some_and(|p| !p.starts_with('/'))
    {
        return Ok(Err("Value for 'if_missing' is not an absolute path".into()));
    }
    let ownership_on = match &raw.enforce_ownership_on {
        None => None,
        Some(p) if !p.starts_with('/') => {
            return Ok(Err(
                "Value for 'enforce_ownership_on' is not an absolute path".into(),
            ))
        }
        Some(p) if !p.starts_with(&name) && p.trim_end_matches('/') != bare => {
            return Ok(Err(format!(
                "Value for 'enforce_ownership_on' must be within {name}"
            )))
        }
        Some(p) => Some(host.path(p)?),
    };
    if let Some(if_missing) = &raw.if_missing {
        if host.path(if_missing)?.exists() {
            return Ok(Ok(Check::clean(format!("Path {if_missing} exists"))));
        }
    }
    let mut owner = Owner::default();
    if raw.user.is_some() || raw.group.is_some() {
        // The root's own users and groups, as the file states see them.
        let accounts = Accounts::read(host)?;
        if let Some(user) = &raw.user {
            match accounts.user(user) {
                Some(info) => owner.uid = Some(info.uid),
                None => return Ok(Err(format!("User {user} does not exist"))),
            }
        }
        if let Some(group) = &raw.group {
            match accounts.group(group) {
                Some(g) => owner.gid = Some(g.gid),
                None => return Ok(Err(format!("Group {group} does not exist"))),
            }
        }
    }
    let Some(source) = raw.source.clone() else {
        return Err(StateError::args("archive.extracted needs 'source'"));
    };
    let source_path = source.split('?').next().unwrap_or(&source);
    // A download's digest is known before it is fetched, so the minion's
    // cache can answer; Salt refuses one it could not verify.
    let mut known_sum = None;
    if crate::remote::is_remote(&source) && !raw.skip_verify {
        known_sum = match expected_sum(&raw, source_path, host)? {
            Ok(Some(sum)) => Some(sum),
            Ok(None) => return Ok(Err(format!(
                "Unable to verify upstream hash of source file {}, please set source_hash or set skip_verify or use_etag to True",
                crate::remote::redact(&source)
            ))),
            Err(fail) => return Ok(Err(fail)),
        };
    }
    let bytes = match &known_sum {
        Some(sum) => match host.sources().fetch_remote(&source, Some(sum)) {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Err(failed_to_cache(&source, &e))),
        },
        None => match read_source(&source, host)? {
            Ok(bytes) => bytes,
            Err(fail) => return Ok(Err(fail)),
        },
    };
    let format = match raw.archive_format.as_deref().map(str::to_lowercase) {
        Some(f) => f,
        None => match entries::guess_format(source_path) {
            Some(f) => f.to_string(),
            None => return Ok(Err("Could not guess archive_format from the value of the 'source' argument. Please set this archive_format to one of the following: tar, rar, zip".into())),
        },
    };
    let format = match format.as_str() {
        "tar" => Format::Tar,
        "zip" => Format::Zip,
        "rar" => return Ok(Err("rar archives are not supported by Brine's archive.extracted: repack as tar or zip".into())),
        other => return Ok(Err(format!("Invalid archive_format '{other}'. Either set it to a supported value (tar, rar, zip) or remove this argument and the archive format will be guessed based on file extension."))),
    };
    if raw.password.is_some() {
        return Ok(Err(match format {
            Format::Zip => {
                "Password-protected ZIP archives are not supported by Brine's archive.extracted"
                    .into()
            }
            Format::Tar => "The 'password' argument is only supported for zip archives".into(),
        }));
    }
    let strip = match parse_options(raw.options.as_deref(), format) {
        Ok(strip) => strip,
        Err(fail) => return Ok(Err(fail)),
    };
    let trim_output = match parse_trim(raw.trim_output.as_ref()) {
        Some(t) => t,
        None => {
            return Ok(Err(
                "Invalid value for trim_output, must be True/False or an integer".into(),
            ))
        }
    };
    if let (Some(_), false) = (&raw.source_hash, raw.skip_verify) {
        let sum = match known_sum {
            Some(sum) => sum,
            None => match expected_sum(&raw, source_path, host)? {
                Ok(Some(sum)) => sum,
                Ok(None) => unreachable!("a source_hash was given"),
                Err(fail) => return Ok(Err(fail)),
            },
        };
        let actual = hash::digest(sum.hash_type, &bytes);
        if actual != sum.hsum {
            return Ok(Err(if crate::remote::is_remote(&source) {
                // Salt's file.cached words a download that does not match.
                format!(
                    "File {} is cached, but the hash ({actual}) does not match the specified hash ({})",
                    crate::remote::redact(&source),
                    sum.hsum
                )
            } else {
                format!(
                    "{source} does not match the desired source_hash {}",
                    sum.hsum
                )
            }));
        }
    }
    let listing = match entries::list(&bytes, format, strip) {
        Ok(l) => l,
        Err(ArchiveError::Unsafe(msg)) => {
            return Ok(Err(format!(
                "{msg}. The archive {source} was refused and nothing was extracted."
            )))
        }
        Err(e) => return Ok(Err(format!("Unable to list contents of {source}: {e}"))),
    };
    if raw.enforce_toplevel
        && (listing.top_level_dirs.len() > 1 || !listing.top_level_files.is_empty())
    {
        return Ok(Err(format!(
            "Archive does not have a single top-level directory. To allow this archive to be extracted, set 'enforce_toplevel' to False. To avoid a '{}-bomb' it may also be advisable to set a top-level directory by adding it to the 'name' value (for example, setting 'name' to {name}some_dir instead of {name}).",
            format.as_str()
        )));
    }
    if raw.clean && raw.clean_parent {
        return Ok(Err(
            "Only one of 'clean' and 'clean_parent' can be set to True".into(),
        ));
    }

    // What is there already.
    let mut extraction_needed = raw.overwrite;
    let mut contents_missing = false;
    let mut incorrect = Vec::new();
    let kinds = [
        (&listing.dirs, PathKind::Dir),
        (&listing.files, PathKind::File),
        (&listing.links, PathKind::Link),
    ];
    for (paths, want) in kinds {
        for rel in paths {
            let full = dest.join(rel.trim_end_matches('/'));
            match std::fs::symlink_metadata(&full) {
                Ok(meta) => {
                    if !want.matches(&meta) {
                        incorrect.push(rel.clone());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    extraction_needed = true;
                    contents_missing = true;
                }
                // ENOTDIR: a parent is a file, reported for the parent.
                Err(_) => {}
            }
        }
    }
    if !incorrect.is_empty() {
        let listed: String = incorrect.iter().map(|p| format!("\n- {p}")).collect();
        let intro = format!("The below paths (relative to {name}) exist, but are the incorrect type (file instead of directory, symlink instead of file, etc.).");
        if !(raw.clean || raw.clean_parent || raw.force) {
            return Ok(Err(format!("{intro} To proceed with extraction, set 'force' to True. Note that this will remove these paths before extracting.\n{listed}")));
        }
        extraction_needed = true;
    }
    let mut source_hash_trigger = false;
    if !extraction_needed && raw.source_hash_update && raw.source_hash.is_some() {
        // Salt compares with the hash it cached last time; Brine has no
        // cache, so it compares the archive's files with those on disk.
        if files_differ(&bytes, format, strip, &dest)? {
            extraction_needed = true;
            source_hash_trigger = true;
        }
    }
    // Every listed directory that is a symlink on disk is already of the
    // wrong type (and removed, not followed, with `force`/`clean`); this
    // catches what is left, before anything is written.
    if extraction_needed && incorrect.is_empty() {
        if let Some(bad) = extract::escapes_on_disk(&dest, &listing) {
            return Ok(Err(format!(
                "Archive member '{bad}' would be written outside {name} through a symlink already there. The archive {source} was refused and nothing was extracted."
            )));
        }
    }

    let ownership_targets: Vec<PathBuf> = match &ownership_on {
        Some(p) => vec![p.clone()],
        None => listing
            .top_level_dirs
            .iter()
            .chain(&listing.top_level_files)
            .chain(&listing.top_level_links)
            .map(|p| dest.join(p.trim_end_matches('/')))
            .collect(),
    };
    let explanation = if source_hash_trigger {
        ", due to source_hash update"
    } else if contents_missing {
        ", due to absence of one or more files/dirs"
    } else {
        ""
    };

    if !extraction_needed {
        let differs = ownership_targets.iter().any(|p| owner.differs_recursive(p));
        if !differs {
            return Ok(Ok(Check::clean("All files in archive are already present")));
        }
        let changes: Map<String, Value> = [("updated ownership".to_string(), json!(true))]
            .into_iter()
            .collect();
        let applied_changes = changes.clone();
        return Ok(Ok(Check::change(
            changes,
            "All files in archive are already present. Ownership would be updated on one or more files/directories.",
            super::super::ApplyFn(move |host: &HostWrite| {
                for target in &ownership_targets {
                    owner.apply_recursive(host, target)?;
                }
                Ok(Applied::ok_with("All files in archive are already present", applied_changes))
            }),
        )));
    }

    let mut comment = format!("Archive {source} would be extracted to {name}");
    if raw.clean {
        comment.push_str(", after cleaning destination path(s)");
    }
    comment.push_str(explanation);
    if !incorrect.is_empty() && raw.clean {
        comment.push_str(". Since the 'clean' option is enabled, the destination paths of the wrong type would be cleared");
    }
    let job = Extraction {
        source,
        name,
        dest,
        bytes,
        format,
        strip,
        listing,
        incorrect,
        clean: raw.clean,
        clean_parent: raw.clean_parent,
        owner,
        ownership_targets,
        trim_output,
        explanation: explanation.to_string(),
    };
    let changes = job.preview();
    Ok(Ok(Check::change(changes, comment, job)))
}

#[derive(Clone, Copy)]
enum PathKind {
    Dir,
    File,
    Link,
}

impl PathKind {
    fn matches(self, meta: &std::fs::Metadata) -> bool {
        let ft = meta.file_type();
        match self {
            PathKind::Dir => ft.is_dir(),
            PathKind::File => !ft.is_dir() && !ft.is_symlink(),
            PathKind::Link => ft.is_symlink(),
        }
    }
}

/// The digest `source_hash` gives for the archive (`None` without one),
/// or a Salt-worded failure.
fn expected_sum(
    raw: &RawArgs,
    source_path: &str,
    host: &HostRead,
) -> Result<Result<Option<hash::SourceSum>, String>, StateError> {
    let Some(source_hash) = &raw.source_hash else {
        return Ok(Ok(None));
    };
    let base = source_path.rsplit('/').next().unwrap_or(source_path);
    let sum = match hash::parse_inline(source_hash) {
        Some(sum) => Some(sum),
        None if source_hash.starts_with("salt://")
            || source_hash.starts_with('/')
            || source_hash.starts_with("file://")
            || crate::remote::is_remote(source_hash) =>
        {
            match read_source(source_hash, host)? {
                Ok(text) => hash::find_in_file(
                    &String::from_utf8_lossy(&text),
                    base,
                    raw.source_hash_name.as_deref(),
                ),
                Err(fail) => return Ok(Err(fail)),
            }
        }
        None => None,
    };
    match sum {
        Some(sum) => Ok(Ok(Some(sum))),
        None => Ok(Err(format!(
            "Source hash {source_hash} format is invalid. The supported formats are: 1) a hash, 2) an expression in the format <hash_type>=<hash>, or 3) a salt:// or local path of a file containing hashes (types and lengths: md5 (32), sha1 (40), sha224 (56), sha256 (64), sha384 (96), sha512 (128))"
        ))),
    }
}

/// Salt's words for a download that failed.
fn failed_to_cache(source: &str, e: &StateError) -> String {
    format!("Failed to cache {}: {e}", crate::remote::redact(source))
}

/// The archive's bytes, or a Salt-worded failure.
fn read_source(source: &str, host: &HostRead) -> Result<Result<Vec<u8>, String>, StateError> {
    if source.starts_with("salt://") {
        return Ok(host.sources().fetch(source).map_err(|e| e.to_string()));
    }
    if crate::remote::is_remote(source) {
        return Ok(host
            .sources()
            .fetch_remote(source, None)
            .map_err(|e| failed_to_cache(source, &e)));
    }
    let local = source.strip_prefix("file://").unwrap_or(source);
    if local.starts_with('/') {
        let path = host.path(local)?;
        if !path.is_file() {
            return Ok(Err(format!("Source file '{local}' does not exist")));
        }
        return Ok(
            std::fs::read(&path).map_err(|e| format!("Unable to read source file '{local}': {e}"))
        );
    }
    if let Some((scheme, _)) = source.split_once("://") {
        return Ok(Err(format!(
            "Source '{source}' is not supported: Brine's archive.extracted reads salt://, http(s):// and local files, not {scheme}://. Fetch it first (for example with file.managed) or serve it from the file roots."
        )));
    }
    Ok(Err(format!("Invalid source \"{source}\"")))
}

/// Whether any regular file of the archive differs from the one on disk.
fn files_differ(
    bytes: &[u8],
    format: Format,
    strip: usize,
    dest: &Path,
) -> Result<bool, StateError> {
    let mut differs = false;
    entries::each_entry(bytes, format, strip, &mut |entry, data| {
        if differs || entry.kind != entries::Kind::File {
            return Ok(());
        }
        let mut content = Vec::new();
        data.read_to_end(&mut content)
            .map_err(|e| ArchiveError::Read(e.to_string()))?;
        differs = std::fs::read(dest.join(&entry.path)).map_or(true, |disk| disk != content);
        Ok(())
    })
    .map_err(|e| StateError::host(e.to_string()))?;
    Ok(differs)
}
