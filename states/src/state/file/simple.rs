//! `file.absent`, `exists`, `missing`, `touch` and `copy`.
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::data::{Map, Value};

use super::super::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use super::absolute_name;
use super::fsio::{self, dir_mode_for, make_parents, NewMeta};
use super::owner::{Accounts, Kind, Owner};
use super::perms::{mode_of, mode_str, Perms};

fn one(key: &str, value: impl Into<Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.into(), value.into());
    m
}

pub(super) fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    if name.trim_end_matches('/').is_empty() {
        return Ok(Check::fail("Refusing to make \"/\" absent"));
    }
    let real = host.path(&name)?;
    let Ok(meta) = std::fs::symlink_metadata(&real) else {
        return Ok(Check::clean(format!("File {name} is not present")));
    };
    let what = if meta.is_dir() { "Directory" } else { "File" };
    let changes = one("removed", name.clone());
    let done = changes.clone();
    Ok(Check::change(
        changes,
        format!("{what} {name} is set for removal"),
        ApplyFn(move |host: &HostWrite| {
            let real = host.path(&name)?;
            Ok(match fsio::remove_any(host, &real) {
                Ok(()) => Applied::ok_with(format!("Removed {} {name}", what.to_lowercase()), done),
                Err(e) if what == "Directory" => Applied::failed(
                    format!("Failed to remove directory {name}: {e}"),
                    Map::new(),
                ),
                Err(e) => Applied::failed(format!("Could not remove '{name}': {e}"), Map::new()),
            })
        }),
    ))
}

pub(super) fn exists(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    Ok(if host.path(&name)?.exists() {
        Check::clean(format!("Path {name} exists"))
    } else {
        Check::fail(format!("Specified path {name} does not exist"))
    })
}

pub(super) fn missing(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    Ok(if host.path(&name)?.exists() {
        Check::fail(format!("Specified path {name} exists"))
    } else {
        Check::clean(format!("Path {name} is missing"))
    })
}

/// An `atime`/`mtime` argument: seconds since the epoch.
fn epoch(args: &Args, key: &str) -> Result<Option<i64>, StateError> {
    args.int(key)
        .map_err(|_| StateError::args("atime and mtime must be integers"))
}

pub(super) fn touch(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let atime = epoch(args, "atime")?;
    let mtime = epoch(args, "mtime")?;
    let makedirs = args.bool_or("makedirs", false)?;
    let real = host.path(&name)?;
    let existing = std::fs::metadata(&real).ok();
    let (changes, comment) = match &existing {
        None => (
            one("new", name.clone()),
            format!("File {name} is set to be created"),
        ),
        Some(m) => {
            let same = |want: Option<i64>, have: i64| want.is_none_or(|w| w == have);
            if (atime.is_some() || mtime.is_some())
                && same(atime, m.atime())
                && same(mtime, m.mtime())
            {
                return Ok(Check::clean(format!(
                    "File {name} exists and has the correct times"
                )));
            }
            // Without times, touching sets them to now: a change every run,
            // as in Salt.
            (
                one("touched", name.clone()),
                format!("Times set to be updated on file {name}"),
            )
        }
    };
    Ok(Check::change(
        changes,
        comment,
        ApplyFn(move |host: &HostWrite| {
            let real = host.path(&name)?;
            if makedirs {
                if let Err(e) = make_parents(host, &real, NewMeta::default()) {
                    return Ok(Applied::failed(e.to_string(), Map::new()));
                }
            }
            if real.parent().is_some_and(|p| !p.is_dir()) {
                return Ok(Applied::failed(
                    format!("Directory not present to touch file {name}"),
                    Map::new(),
                ));
            }
            let extant = real.exists();
            let file = host.open_append(&real).or_else(|e| {
                if real.is_dir() {
                    std::fs::File::open(&real)
                } else {
                    Err(e)
                }
            });
            let now = std::time::SystemTime::now();
            let at = |t: Option<i64>| {
                t.map_or(now, |s| {
                    let d = std::time::Duration::from_secs(s.unsigned_abs());
                    if s >= 0 {
                        std::time::UNIX_EPOCH + d
                    } else {
                        std::time::UNIX_EPOCH - d
                    }
                })
            };
            let times = std::fs::FileTimes::new()
                .set_accessed(at(atime))
                .set_modified(at(mtime));
            if let Err(e) = file.and_then(|f| f.set_times(times)) {
                return Ok(Applied::failed(e.to_string(), Map::new()));
            }
            Ok(if extant {
                let kind = if real.is_dir() { "directory" } else { "file" };
                Applied::ok_with(
                    format!("Updated times on {kind} {name}"),
                    one("touched", name.clone()),
                )
            } else {
                Applied::ok_with(
                    format!("Created empty file {name}"),
                    one("new", name.clone()),
                )
            })
        }),
    ))
}

/// Copies a directory tree (symlinks as symlinks) to a new path.
fn copy_tree(
    host: &HostWrite,
    from: &Path,
    to: &Path,
    uid: Option<u32>,
    gid: Option<u32>,
) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        host.symlink(&std::fs::read_link(from)?, to)?;
        return host.lchown(to, uid, gid);
    }
    if meta.is_dir() {
        host.create_dir(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(host, &entry.path(), &to.join(entry.file_name()), uid, gid)?;
        }
    } else {
        host.copy_file(from, to)?;
    }
    host.lchown(to, uid, gid)?;
    host.set_mode(to, meta.mode() & 0o7777)
}

pub(super) fn copy(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let source = args
        .str("source")?
        .ok_or_else(|| StateError::args("file.copy needs 'source'"))?;
    let force = args.bool_or("force", false)?;
    let makedirs = args.bool_or("makedirs", false)?;
    let preserve = args.bool_or("preserve", false)?;
    let subdir = args.bool_or("subdir", false)?;
    let dir_mode = args.mode("dir_mode")?;
    let mode = args.mode("mode")?;
    let accounts = Accounts::load(host);
    let user_arg = args.get("user").or(args.get("owner"));
    let group_arg = args.get("group");
    if !source.starts_with('/') {
        return Ok(Check::fail(format!(
            "Source file \"{source}\" is not present"
        )));
    }
    let src_real = host.path(&source)?;
    let Ok(src_meta) = std::fs::metadata(&src_real) else {
        return Ok(Check::fail(format!(
            "Source file \"{source}\" is not present"
        )));
    };
    let perms = if preserve {
        let shown = |kind, id| Owner {
            shown: Value::String(accounts.name_of(kind, id)),
            id: Some(id),
        };
        Perms {
            user: Some(shown(Kind::User, src_meta.uid())),
            group: Some(shown(Kind::Group, src_meta.gid())),
            mode: Some(mode_of(&src_meta)),
        }
    } else {
        let mut p = Perms::from_args(
            &accounts,
            user_arg,
            group_arg,
            mode.or(Some(mode_of(&src_meta))),
        )?;
        let (me, my_group) = accounts.current();
        if p.user.is_none() {
            p.user = Some(me);
        }
        if p.group.is_none() {
            // The user's primary group, as Salt defaults it.
            let gid = p
                .uid()
                .and_then(|u| accounts.primary_gid(u))
                .or(my_group.id);
            p.group = gid.map(|g| Owner {
                shown: Value::String(accounts.name_of(Kind::Group, g)),
                id: Some(g),
            });
        }
        p
    };
    let mut name = name;
    if subdir && host.path(&name)?.is_dir() {
        let base = source
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        name = format!("{}/{base}", name.trim_end_matches('/'));
    }
    let dest = host.path(&name)?;
    let mut comment = format!("Copied \"{source}\" to \"{name}\"");
    if fsio::lexists(&dest) {
        if !force {
            return Ok(Check::clean(format!(
                "The target file \"{name}\" exists and will not be overwritten"
            )));
        }
        if dest.is_file()
            && src_meta.is_file()
            && std::fs::read(&dest)? == std::fs::read(&src_real)?
        {
            let meta = std::fs::metadata(&dest)?;
            if perms.diff(&meta).is_empty() {
                // Salt copies again and reports it; nothing would change.
                return Ok(Check::clean(format!(
                    "The target file \"{name}\" is identical to \"{source}\""
                )));
            }
            comment.push_str(" - files are identical but force flag is set");
        }
    }
    let test_comment = format!("File \"{source}\" is set to be copied to \"{name}\"");
    let mut changes = one(&name, source.clone());
    let (me, my_group) = Accounts::default().current();
    if perms.user.as_ref().is_some_and(|u| u.id != me.id) {
        changes.insert(
            "user".into(),
            perms
                .user
                .as_ref()
                .map(|u| u.shown.clone())
                .unwrap_or_default(),
        );
    }
    if perms.group.as_ref().is_some_and(|g| g.id != my_group.id) {
        changes.insert(
            "group".into(),
            perms
                .group
                .as_ref()
                .map(|g| g.shown.clone())
                .unwrap_or_default(),
        );
    }
    if let Some(m) = perms.mode.filter(|m| *m != mode_of(&src_meta)) {
        changes.insert("mode".into(), Value::String(mode_str(m)));
    }
    let done = changes.clone();
    Ok(Check::change(
        // Salt's dry run names no changes for a copy.
        Map::new(),
        test_comment,
        ApplyFn(move |host: &HostWrite| {
            let perms = match perms.resolve(host) {
                Ok(p) => p,
                Err(msg) => return Ok(Applied::failed(msg, Map::new())),
            };
            let dest = host.path(&name)?;
            let src = host.path(&source)?;
            if dest.parent().is_some_and(|p| !p.is_dir()) {
                if !makedirs {
                    let dname = name.rsplit_once('/').map_or("/", |(d, _)| d);
                    return Ok(Applied::failed(
                        format!("The target directory {dname} is not present"),
                        Map::new(),
                    ));
                }
                let meta = NewMeta {
                    uid: perms.uid(),
                    gid: perms.gid(),
                    mode: dir_mode.or(perms.mode.map(dir_mode_for)),
                };
                if let Err(e) = make_parents(host, &dest, meta) {
                    return Ok(Applied::failed(e.to_string(), Map::new()));
                }
            }
            let failed = |e: std::io::Error| {
                Applied::failed(
                    format!("Failed to copy \"{source}\" to \"{name}\": {e}"),
                    Map::new(),
                )
            };
            if src.is_dir() {
                // Copy beside the target, then swap it in whole.
                let temp = dest.with_file_name(format!(
                    ".{}.brine-copy-{}",
                    dest.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    std::process::id()
                ));
                let result = copy_tree(host, &src, &temp, perms.uid(), perms.gid())
                    .and_then(|()| {
                        if fsio::lexists(&dest) {
                            fsio::remove_any(host, &dest)
                        } else {
                            Ok(())
                        }
                    })
                    .and_then(|()| host.rename(&temp, &dest))
                    .and_then(|()| fsio::sync_dir(&dest));
                if let Err(e) = result {
                    let _ = fsio::remove_any(host, &temp);
                    return Ok(failed(e));
                }
            } else {
                let bytes = match std::fs::read(&src) {
                    Ok(b) => b,
                    Err(e) => return Ok(failed(e)),
                };
                if dest.is_dir() {
                    if let Err(e) = fsio::remove_any(host, &dest) {
                        return Ok(failed(e));
                    }
                }
                let meta = NewMeta {
                    uid: perms.uid(),
                    gid: perms.gid(),
                    mode: perms.mode,
                };
                if let Err(e) = host.replace_file(&dest, &bytes, meta) {
                    return Ok(failed(e));
                }
            }
            Ok(Applied::ok_with(comment, done))
        }),
    ))
}
