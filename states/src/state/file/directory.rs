//! `file.directory`: a directory, its owner and mode, optionally the same
//! for everything under it (`recurse`), and `clean` to remove what no state
//! asked for.
use std::collections::BTreeSet;

use common::data::{Map, Value};

use super::super::{Args, Check, HostRead, StateError};
use super::fsio;
use super::make_dir::MakeDir;
use super::owner::Accounts;
use super::perms::Perms;
use super::{absolute_name, include_exclude, Patterns};

/// Everything `file.directory` was asked.
#[derive(Debug, Clone)]
pub(super) struct DirSpec {
    pub name: String,
    pub perms: Perms,
    pub file_mode: Option<u32>,
    pub recurse: RecurseSet,
    pub max_depth: Option<usize>,
    pub makedirs: bool,
    pub clean: bool,
    /// Absolute paths other states manage under the directory (from
    /// `require: [{file: /path}]`), which `clean` keeps.
    pub keep: Vec<String>,
    pub exclude: Patterns,
    pub follow_symlinks: bool,
    pub children_only: bool,
}

/// Salt's `recurse:` list.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct RecurseSet {
    pub on: bool,
    pub user: bool,
    pub group: bool,
    pub mode: bool,
    pub ignore_files: bool,
    pub ignore_dirs: bool,
    pub silent: bool,
}

impl RecurseSet {
    fn parse(value: Option<&Value>) -> Result<RecurseSet, String> {
        let items = match value {
            None | Some(Value::Null) => return Ok(RecurseSet::default()),
            Some(Value::Array(items)) if items.is_empty() => return Ok(RecurseSet::default()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("\"recurse\" must be formed as a list of strings".into()),
        };
        let mut set = RecurseSet {
            on: true,
            ..RecurseSet::default()
        };
        for item in items {
            match item.as_str() {
                Some("user") => set.user = true,
                Some("group") => set.group = true,
                Some("mode") => set.mode = true,
                Some("ignore_files") => set.ignore_files = true,
                Some("ignore_dirs") => set.ignore_dirs = true,
                Some("silent") => set.silent = true,
                _ => {
                    return Err(
                        "Types for \"recurse\" limited to \"user\", \"group\", \"mode\", \
                                \"ignore_files\", \"ignore_dirs\", \"silent\"."
                            .into(),
                    )
                }
            }
        }
        if set.ignore_files && set.ignore_dirs {
            return Err("Must not specify \"recurse\" options \"ignore_files\" and \"ignore_dirs\" at the same time.".into());
        }
        Ok(set)
    }
}

/// One directory of a walk: its path and the names of its subdirectories
/// (symlinks to directories included, not descended) and other entries.
pub(super) struct WalkDir {
    pub path: String,
    pub dirs: Vec<String>,
    pub files: Vec<String>,
}

/// `os.walk(name)` top down, sorted, stopping `max_depth` levels down.
pub(super) fn walk(host: &HostRead, name: &str, max_depth: Option<usize>) -> Vec<WalkDir> {
    let mut out = Vec::new();
    let mut stack = vec![(name.trim_end_matches('/').to_string(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        if max_depth.is_some_and(|m| depth >= m) {
            continue;
        }
        let Ok(real) = host.path(if dir.is_empty() { "/" } else { &dir }) else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(&real) else {
            continue;
        };
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            if is_dir {
                dirs.push(n);
            } else {
                files.push(n);
            }
        }
        dirs.sort();
        files.sort();
        for d in dirs.iter().rev() {
            let child = format!("{dir}/{d}");
            let is_link = host
                .path(&child)
                .ok()
                .and_then(|p| std::fs::symlink_metadata(p).ok())
                .is_some_and(|m| m.file_type().is_symlink());
            if !is_link {
                stack.push((child, depth + 1));
            }
        }
        out.push(WalkDir {
            path: dir,
            dirs,
            files,
        });
    }
    out
}

fn stat(host: &HostRead, path: &str, follow: bool) -> Option<std::fs::Metadata> {
    let real = host.path(path).ok()?;
    if follow {
        std::fs::metadata(real).ok()
    } else {
        std::fs::symlink_metadata(real).ok()
    }
}

/// `_check_dir_meta`: a missing directory is new, else what differs.
fn dir_meta(host: &HostRead, path: &str, perms: &Perms, follow: bool) -> Map<String, Value> {
    match stat(host, path, follow) {
        None => {
            let mut m = Map::new();
            m.insert("directory".into(), "new".into());
            m
        }
        Some(meta) => perms.diff(&meta),
    }
}

/// The paths `clean` keeps: the directory, what other states manage under
/// it (everything below a kept directory too), and their parents.
fn kept(host: &HostRead, spec: &DirSpec) -> BTreeSet<String> {
    let mut keep = BTreeSet::new();
    keep.insert(spec.name.clone());
    for k in &spec.keep {
        let k = k.trim_end_matches('/').to_string();
        if !k.starts_with(&format!("{}/", spec.name)) {
            continue;
        }
        if stat(host, &k, true).is_some_and(|m| m.is_dir()) {
            for w in walk(host, &k, None) {
                keep.extend(
                    w.dirs
                        .iter()
                        .chain(&w.files)
                        .map(|n| format!("{}/{n}", w.path)),
                );
            }
        }
        let mut p = k.as_str();
        while p.len() > spec.name.len() {
            keep.insert(p.to_string());
            p = p.rsplit_once('/').map_or("", |(d, _)| d);
        }
    }
    keep
}

/// The perms recursion applies, with the parts not in `recurse` dropped.
pub(super) fn recursion_perms(spec: &DirSpec) -> (Perms, Perms) {
    let r = &spec.recurse;
    let base = Perms {
        user: spec.perms.user.clone().filter(|_| r.user),
        group: spec.perms.group.clone().filter(|_| r.group),
        mode: None,
    };
    let files = base.with_mode(spec.file_mode.filter(|_| r.mode));
    let dirs = base.with_mode(spec.perms.mode.filter(|_| r.mode));
    (files, dirs)
}

/// `_check_directory`: changes keyed by path, in Salt's order.
fn planned_changes(host: &HostRead, spec: &DirSpec) -> (Map<String, Value>, Vec<String>) {
    let mut changes = Map::new();
    let walked = if spec.recurse.on || spec.clean {
        walk(host, &spec.name, spec.max_depth)
    } else {
        Vec::new()
    };
    if spec.recurse.on {
        let (fperms, dperms) = recursion_perms(spec);
        for w in &walked {
            if !spec.recurse.ignore_files {
                for f in &w.files {
                    let path = format!("{}/{f}", w.path);
                    if let Some(meta) = stat(host, &path, spec.follow_symlinks) {
                        let c = fperms.diff(&meta);
                        if !c.is_empty() {
                            changes.insert(path, Value::Object(c));
                        }
                    }
                }
            }
            if !spec.recurse.ignore_dirs {
                for d in &w.dirs {
                    let path = format!("{}/{d}", w.path);
                    let c = dir_meta(host, &path, &dperms, spec.follow_symlinks);
                    if !c.is_empty() {
                        changes.insert(path, Value::Object(c));
                    }
                }
            }
        }
    }
    if !spec.children_only {
        let c = dir_meta(host, &spec.name, &spec.perms, spec.follow_symlinks);
        if !c.is_empty() {
            changes.insert(spec.name.clone(), Value::Object(c));
        }
    }
    let mut removals = Vec::new();
    if spec.clean {
        let keep = kept(host, spec);
        for w in &walked {
            for n in w.files.iter().chain(&w.dirs) {
                let path = format!("{}/{n}", w.path);
                let rel = path[spec.name.len()..].trim_start_matches('/');
                if keep.contains(&path)
                    || !include_exclude(rel, &Patterns::default(), &spec.exclude)
                {
                    continue;
                }
                let mut c = Map::new();
                c.insert("removed".into(), "Removed due to clean".into());
                changes.insert(path.clone(), Value::Object(c));
                removals.push(path);
            }
        }
    }
    if !stat(host, &spec.name, true).is_some_and(|m| m.is_dir()) {
        let mut c = Map::new();
        c.insert("directory".into(), "new".into());
        changes.insert(spec.name.clone(), Value::Object(c));
    }
    (changes, removals)
}

/// Salt's test comment listing every planned change.
fn listing(changes: &Map<String, Value>) -> String {
    let mut out = String::from("The following files will be changed:\n");
    for (path, c) in changes {
        if let Value::Object(c) = c {
            for (k, v) in c {
                out.push_str(&format!("{path}: {k} - {}\n", common::pyfmt::py_str(v)));
            }
        }
    }
    out
}

/// What stands where the directory should be and will be moved or removed.
#[derive(Debug, Clone)]
pub(super) enum Obstacle {
    None,
    Backup { to: String, remove_existing: bool },
    Remove { what: &'static str },
}

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) if n.len() > 1 => n.trim_end_matches('/').to_string(),
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let accounts = Accounts::load(host);
    let dir_mode = match args.mode("dir_mode")? {
        Some(m) => Some(m),
        None => args.mode("mode")?,
    };
    let file_mode = args.mode("file_mode")?.or(dir_mode);
    let perms = Perms::from_args(
        &accounts,
        args.get("user").or(args.get("owner")),
        args.get("group"),
        dir_mode,
    )?;
    let max_depth = args
        .int("max_depth")?
        .map(|d| {
            usize::try_from(d).map_err(|_| StateError::args("'max_depth' must not be negative"))
        })
        .transpose()?;
    let clean = args.bool_or("clean", false)?;
    let force = args.bool_or("force", false)?;
    let backupname = args.str("backupname")?;
    let allow_symlink = args.bool_or("allow_symlink", true)?;
    let recurse = match RecurseSet::parse(args.get("recurse")) {
        Ok(r) => r,
        Err(msg) => return Ok(Check::fail(msg)),
    };
    if max_depth.is_some() && clean {
        return Ok(Check::fail("Cannot specify both max_depth and clean"));
    }
    if recurse.user && perms.user.is_none() {
        return Ok(Check::fail(
            "user not specified, but configured as a target for recursive ownership management",
        ));
    }
    if recurse.group && perms.group.is_none() {
        return Ok(Check::fail(
            "group not specified, but configured as a target for recursive ownership management",
        ));
    }
    let spec = DirSpec {
        name: name.clone(),
        perms,
        file_mode,
        recurse,
        max_depth,
        makedirs: args.bool_or("makedirs", false)?,
        clean,
        keep: required_files(args.get("require")),
        exclude: Patterns::from_arg(args.get("exclude_pat"))?,
        follow_symlinks: args.bool_or("follow_symlinks", false)?,
        children_only: args.bool_or("children_only", false)?,
    };

    // Something other than a directory in the way.
    let real = host.path(&name)?;
    let is_file = std::fs::metadata(&real).is_ok_and(|m| m.is_file());
    let is_link = std::fs::symlink_metadata(&real).is_ok_and(|m| m.file_type().is_symlink());
    let mut obstacle = Obstacle::None;
    if is_file || (!allow_symlink && is_link) || (force && is_link) {
        if let Some(to) = backupname {
            let exists = host.path(&to).is_ok_and(|p| fsio::lexists(&p));
            if exists && !force {
                return Ok(Check::fail(format!(
                    "File exists where the backup target {to} should go"
                )));
            }
            obstacle = Obstacle::Backup {
                to,
                remove_existing: exists,
            };
        } else if force {
            obstacle = Obstacle::Remove {
                what: if is_file { "File" } else { "Symlink" },
            };
        } else if is_file {
            return Ok(Check::fail(format!(
                "Specified location {name} exists and is a file"
            )));
        } else {
            return Ok(Check::fail(format!(
                "Specified location {name} exists and is a symlink"
            )));
        }
    }
    plan_directory(host, spec, obstacle)
}

/// Paths of `require: [{file: /path}]` entries: other states' files that
/// `clean` must keep. (Salt also matches state IDs; those need the whole
/// lowstate, which a state function does not see.)
pub(super) fn required_files(require: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(items)) = require else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|r| r.get("file").and_then(Value::as_str))
        .filter(|p| p.starts_with('/'))
        .map(str::to_string)
        .collect()
}

/// Plans the directory itself (used by `file.recurse` for each directory).
pub(super) fn plan_subdir(host: &HostRead, name: &str, perms: Perms) -> Result<Check, StateError> {
    let spec = DirSpec {
        name: name.to_string(),
        perms,
        file_mode: None,
        recurse: RecurseSet::default(),
        max_depth: None,
        makedirs: true,
        clean: false,
        keep: Vec::new(),
        exclude: Patterns::default(),
        follow_symlinks: false,
        children_only: false,
    };
    plan_directory(host, spec, Obstacle::None)
}

fn plan_directory(host: &HostRead, spec: DirSpec, obstacle: Obstacle) -> Result<Check, StateError> {
    let name = spec.name.clone();
    let mut changes = Map::new();
    let (mut planned, removals) = if matches!(obstacle, Obstacle::None) {
        planned_changes(host, &spec)
    } else {
        // Whatever is there goes; the directory is made anew.
        let mut m = Map::new();
        let mut c = Map::new();
        c.insert("directory".into(), "new".into());
        m.insert(name.clone(), Value::Object(c));
        (m, Vec::new())
    };
    let comment = match &obstacle {
        Obstacle::Backup {
            to,
            remove_existing,
        } => {
            if *remove_existing {
                changes.insert(
                    "forced".into(),
                    Value::String(format!(
                        "Existing file at backup path {to} would be removed"
                    )),
                );
            }
            changes.insert(
                "backup".into(),
                Value::String(format!("{name} would be renamed to {to}")),
            );
            format!("{name} would be backed up and replaced with a new directory")
        }
        Obstacle::Remove { what } => {
            changes.insert(
                "forced".into(),
                Value::String(format!("{what} would be forcibly replaced")),
            );
            listing(&planned)
        }
        Obstacle::None => listing(&planned),
    };
    if planned.is_empty() && changes.is_empty() {
        return Ok(Check::clean(format!(
            "The directory {name} is in the correct state"
        )));
    }
    let will_create = planned
        .get(&name)
        .and_then(|c| c.get("directory"))
        .is_some();
    if will_create {
        // A new directory's entry is all Salt reports for it.
        planned.retain(|k, _| k == &name);
    }
    changes.extend(planned.clone());
    Ok(Check::change(
        changes,
        comment,
        MakeDir {
            spec,
            obstacle,
            planned,
            removals,
            will_create,
        },
    ))
}
