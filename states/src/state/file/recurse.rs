//! `file.recurse`: a salt:// directory mirrored onto the minion, built from
//! the `directory` and `managed` plans of each directory and file, so every
//! file's diff is known before anything is written.
use std::collections::BTreeSet;

use common::data::{Map, Value};

use super::super::{Applied, Apply, Args, Check, HostRead, HostWrite, StateError};
use super::directory::{plan_subdir, walk};
use super::file_plan::{plan_file, plan_new, set_to_change, NewContent, Target};
use super::fsio;
use super::owner::Accounts;
use super::perms::Perms;
use super::source;
use super::{absolute_name, fail_unless_dict, include_exclude, read_backup, Patterns};

/// One path's part of the plan.
struct Step {
    path: String,
    /// Removed first (clean: a file where a directory goes, or the reverse).
    remove_first: Option<&'static str>,
    apply: Option<Box<dyn Apply>>,
    /// Checked changes, reported in a dry run.
    changes: Map<String, Value>,
    /// Created silently: the target directory itself, as Salt makes it
    /// before managing anything in it.
    silent: bool,
}

/// Salt's `_is_valid_relpath`: no `..`, and not deeper than `maxdepth`.
fn valid_relpath(rel: &str, maxdepth: Option<usize>) -> bool {
    !format!("/{rel}/").contains("/../")
        && maxdepth.is_none_or(|m| rel.trim_matches('/').matches('/').count() <= m)
}

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) if n.len() > 1 => n.trim_end_matches('/').to_string(),
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    if args.get("mode").is_some() {
        return Ok(Check::fail(
            "'mode' is not allowed in 'file.recurse'. Please use 'file_mode' and 'dir_mode'.",
        ));
    }
    let sources: Vec<String> = args
        .str_list("source")?
        .ok_or_else(|| StateError::args("file.recurse needs 'source'"))?
        .into_iter()
        .map(|s| s.trim_end_matches('/').to_string())
        .collect();
    let clean = args.bool_or("clean", false)?;
    let dir_mode = args.mode("dir_mode")?;
    let file_mode = args.mode("file_mode")?;
    let _ = args.get("sym_mode");
    let template = args.str("template")?.filter(|t| !t.is_empty());
    let context = args.get("context");
    let defaults = args.get("defaults");
    let replace = args.bool_or("replace", true)?;
    let include_empty = args.bool_or("include_empty", false)?;
    let backup = read_backup(args)?;
    let include = Patterns::from_arg(args.get("include_pat"))?;
    let exclude = Patterns::from_arg(args.get("exclude_pat"))?;
    let maxdepth = args
        .int("maxdepth")?
        .map(|d| {
            usize::try_from(d).map_err(|_| StateError::args("'maxdepth' must not be negative"))
        })
        .transpose()?;
    let _ = args.get("keep_source");
    if args.bool_or("keep_symlinks", false)? || args.bool_or("force_symlinks", false)? {
        return Ok(Check::fail(
            "keep_symlinks is not supported by Brine yet: the salt:// file list has no symlinks",
        ));
    }
    let accounts = Accounts::load(host);
    let perms = Perms::from_args(
        &accounts,
        args.get("user").or(args.get("owner")),
        args.get("group"),
        None,
    )?;
    if let Some(f) = fail_unless_dict(context, "Context must be formed as a dict")
        .or_else(|| fail_unless_dict(defaults, "Defaults must be formed as a dict"))
    {
        return Ok(f);
    }
    if let Some(bad) = sources.iter().find(|s| !s.starts_with("salt://")) {
        return Ok(Check::fail(format!(
            "Invalid source '{bad}' (must be a salt:// URI)"
        )));
    }
    // The first source directory that exists.
    let mut chosen = None;
    let mut last_err = None;
    for s in &sources {
        match host.sources().list_dirs(s) {
            Ok(dirs) => {
                chosen = Some((s.clone(), dirs));
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let Some((source, source_dirs)) = chosen else {
        let srcpath = sources
            .first()
            .map_or("", |s| s.trim_start_matches("salt://"));
        return Ok(Check::fail(match (sources.len(), last_err) {
            (1, _) | (_, None) => format!(
                "The directory '{srcpath}' does not exist on the salt fileserver in saltenv 'base'"
            ),
            (_, Some(_)) => "Recurse failed: none of the specified sources were found".into(),
        }));
    };
    let real = host.path(&name)?;
    if fsio::lexists(&real) && !real.is_dir() {
        return Ok(Check::fail(format!(
            "The path {name} exists and is not a directory"
        )));
    }
    let target_missing = !real.is_dir();

    // What the source holds, filtered as Salt filters it.
    let mut files: Vec<(String, String)> = Vec::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for rel in host.sources().list(&source)? {
        if rel.trim().is_empty()
            || !valid_relpath(&rel, maxdepth)
            || !include_exclude(&rel, &include, &exclude)
        {
            continue;
        }
        let dest = format!("{name}/{rel}");
        keep.insert(dest.clone());
        dirs.insert(
            dest.rsplit_once('/')
                .map_or(name.clone(), |(d, _)| d.to_string()),
        );
        files.push((dest, format!("{source}/{rel}")));
    }
    if include_empty {
        for rel in &source_dirs {
            if valid_relpath(rel, maxdepth) && include_exclude(rel, &include, &exclude) {
                let dest = format!("{name}/{rel}");
                keep.insert(dest.clone());
                dirs.insert(dest);
            }
        }
    }
    files.sort();

    let dir_perms = perms.with_mode(dir_mode);
    let file_perms = perms.with_mode(file_mode);
    let mut steps: Vec<Step> = Vec::new();
    let mut comments: Vec<(String, String)> = Vec::new();
    let mut failed = false;
    if target_missing && !dirs.contains(&name) {
        dirs.insert(name.clone());
    }
    let mut take =
        |path: &str, check: Check, remove_first, silent, steps: &mut Vec<Step>| match check {
            // (File plans never report without applying.)
            Check::Clean { .. } | Check::Reported { result: true, .. } => {}
            Check::Fail { comment, .. } | Check::Reported { comment, .. } => {
                failed = true;
                comments.push((path.to_string(), comment));
            }
            Check::Change {
                changes,
                comment,
                apply,
            } => {
                comments.push((path.to_string(), comment));
                steps.push(Step {
                    path: path.to_string(),
                    remove_first,
                    apply: Some(apply),
                    changes,
                    silent,
                });
            }
        };
    for dir in &dirs {
        let dreal = host.path(dir)?;
        let is_file = fsio::lexists(&dreal) && !dreal.is_dir();
        let remove_first = (clean && is_file).then_some("Replaced file with a directory");
        if is_file && !clean {
            take(
                dir,
                Check::fail(format!("Specified location {dir} exists and is a file")),
                None,
                false,
                &mut steps,
            );
            continue;
        }
        // With a file in the way, this plans a new directory (the file goes first).
        let check = plan_subdir(host, dir, dir_perms.clone())?;
        take(
            dir,
            check,
            remove_first,
            target_missing && *dir == name,
            &mut steps,
        );
    }
    for (dest, url) in &files {
        let target = Target {
            name: dest.clone(),
            real_name: dest.clone(),
            perms: file_perms.clone(),
            makedirs: true,
            dir_mode,
            backup,
            show_changes: true,
        };
        let dreal = host.path(dest)?;
        let is_dir = dreal.is_dir();
        if is_dir && !(clean && replace) {
            take(
                dest,
                Check::fail(format!("Specified target {dest} is a directory")),
                None,
                false,
                &mut steps,
            );
            continue;
        }
        if !replace && fsio::lexists(&dreal) {
            let check = super::file_plan::plan_perms_only(host, target)?;
            take(dest, check, None, false, &mut steps);
            continue;
        }
        let content = match file_content(
            host,
            url,
            dest,
            &file_perms,
            template.as_deref(),
            context,
            defaults,
        ) {
            Ok(c) => c,
            Err(msg) => {
                take(dest, Check::fail(msg), None, false, &mut steps);
                continue;
            }
        };
        let check = if is_dir {
            plan_new(target, Some(content), set_to_change(dest))
        } else {
            plan_file(host, target, Some(content), set_to_change(dest))?
        };
        take(
            dest,
            check,
            is_dir.then_some("Replaced directory with a new file"),
            false,
            &mut steps,
        );
    }
    let mut removals = Vec::new();
    if clean {
        keep.extend(super::directory::required_files(args.get("require")));
        let mut kept: BTreeSet<String> = BTreeSet::new();
        kept.insert(name.clone());
        for k in &keep {
            let mut p = k.as_str();
            while p.len() > name.len() {
                kept.insert(p.to_string());
                p = p.rsplit_once('/').map_or("", |(d, _)| d);
            }
        }
        for w in walk(host, &name, None) {
            for n in w.files.iter().chain(&w.dirs) {
                let path = format!("{}/{n}", w.path);
                let rel = path[name.len()..].trim_start_matches('/');
                // Under a directory that a file replaces: goes with it.
                let under_file = files
                    .iter()
                    .any(|(d, _)| path.starts_with(&format!("{d}/")));
                if !kept.contains(&path)
                    && !under_file
                    && include_exclude(rel, &Patterns::default(), &exclude)
                {
                    removals.push(path);
                }
            }
        }
        // A removed directory takes its contents with it.
        removals.sort();
        let mut top: Vec<String> = Vec::new();
        for r in removals {
            if !top.iter().any(|t| r.starts_with(&format!("{t}/"))) {
                top.push(r);
            }
        }
        removals = top;
    }

    let mut test_comment = flatten(&comments, &removals);
    if steps.is_empty() && removals.is_empty() {
        if failed {
            return Ok(Check::fail(test_comment));
        }
        return Ok(Check::clean(format!(
            "The directory {name} is in the correct state"
        )));
    }
    if test_comment.is_empty() {
        test_comment = format!("Recursively updated {name}");
    }
    let mut changes = Map::new();
    for s in &steps {
        changes.insert(s.path.clone(), Value::Object(s.changes.clone()));
    }
    let fail_comments: Vec<(String, String)> = comments
        .iter()
        .filter(|(p, _)| !steps.iter().any(|s| &s.path == p))
        .cloned()
        .collect();
    Ok(Check::change(
        changes,
        test_comment,
        Mirror {
            name,
            steps,
            removals,
            fail_comments,
        },
    ))
}

/// A file's content from its salt:// source (rendered when a template).
fn file_content(
    host: &HostRead,
    url: &str,
    dest: &str,
    perms: &Perms,
    template: Option<&str>,
    context: Option<&Value>,
    defaults: Option<&Value>,
) -> Result<NewContent, String> {
    let bytes = match template {
        None => source::fetch(host, url).map_err(|e| e.0)?,
        Some(t) => {
            let mut vars = Map::new();
            vars.insert("name".into(), Value::String(dest.to_string()));
            vars.insert("source".into(), Value::String(url.to_string()));
            let owner = |o: &Option<super::owner::Owner>| {
                o.as_ref().map_or(Value::Null, |o| o.shown.clone())
            };
            vars.insert("user".into(), owner(&perms.user));
            vars.insert("group".into(), owner(&perms.group));
            for extra in [defaults, context].into_iter().flatten() {
                if let Value::Object(m) = extra {
                    vars.extend(m.clone());
                }
            }
            source::render(host, t, url, vars).map_err(|e| e.0)?
        }
    };
    Ok(NewContent::Source(bytes))
}

/// Salt's flattened comment: `#### path ####` then that path's comments.
fn flatten(comments: &[(String, String)], removals: &[String]) -> String {
    let mut parts: Vec<String> = comments
        .iter()
        .map(|(p, c)| format!("\n#### {p} ####\n{c}"))
        .collect();
    if !removals.is_empty() {
        parts.push(format!("\n#### removed ####\n{}", removals.join("\n")));
    }
    parts.join("\n").trim().to_string()
}

struct Mirror {
    name: String,
    steps: Vec<Step>,
    removals: Vec<String>,
    /// Paths that could not be planned: the run fails with these.
    fail_comments: Vec<(String, String)>,
}

impl Apply for Mirror {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        let mut changes = Map::new();
        let mut comments = self.fail_comments.clone();
        let mut ok = comments.is_empty();
        for step in self.steps {
            let mut these = Map::new();
            if let Some(note) = step.remove_first {
                let real = host.path(&step.path)?;
                if let Err(e) = fsio::remove_any(host, &real) {
                    ok = false;
                    comments.push((
                        step.path.clone(),
                        format!("Unable to remove {}: {e}", step.path),
                    ));
                    continue;
                }
                these.insert("diff".into(), note.into());
            }
            let Some(apply) = step.apply else { continue };
            let applied = apply.apply(host)?;
            if !applied.result {
                ok = false;
                comments.push((step.path.clone(), applied.comment));
            }
            if step.silent {
                continue;
            }
            these.extend(applied.changes.unwrap_or(step.changes));
            if !these.is_empty() {
                changes.insert(step.path, Value::Object(these));
            }
        }
        let mut removed = Vec::new();
        for path in &self.removals {
            let real = host.path(path)?;
            if !fsio::lexists(&real) {
                continue;
            }
            match fsio::remove_any(host, &real) {
                Ok(()) => removed.push(Value::String(path.clone())),
                Err(e) => {
                    ok = false;
                    comments.push((path.clone(), format!("Unable to remove {path}: {e}")));
                }
            }
        }
        if !removed.is_empty() {
            changes.insert("removed".into(), Value::Array(removed));
        }
        let mut comment = flatten(&comments, &[]);
        if comment.is_empty() {
            comment = format!("Recursively updated {}", self.name);
        }
        if changes.is_empty() && ok {
            comment = format!("The directory {} is in the correct state", self.name);
        }
        Ok(Applied {
            result: ok,
            comment,
            changes: Some(changes),
        })
    }
}
