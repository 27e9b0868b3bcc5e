//! `pkg.installed`: which requested packages are missing or at another
//! version (one `apt-cache policy` for all of them), what `hold:` changes, and
//! one `apt-get install` transaction to apply it.
use common::data::{Map, Value};
use serde_json::json;

use super::dpkg::Db;
use super::hold::{apply_holds, plan_holds, HoldPlan};
use super::request::{display, opt_bool, read_pkgs, wanted, Wanted};
use super::version::{self, Spec};
use super::{apt, compare_dicts, problem, require_real_root};
use crate::state::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

/// A package to install and the argument apt gets for it.
struct Target {
    name: String,
    /// `nginx` or `nginx=1.22.1-9`.
    apt_arg: String,
    /// What Salt's test mode reports as `new`.
    new: String,
}

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let pkgs = read_pkgs(args)?;
    let version = args.str("version")?;
    let refresh = args.bool_or("refresh", false)?;
    let hold = opt_bool(args, "hold")?;
    let fromrepo = args.str("fromrepo")?;
    let skip_verify = args.bool_or("skip_verify", false)?;
    let install_recommends = opt_bool(args, "install_recommends")?;
    let ignore_epoch = opt_bool(args, "ignore_epoch")?;
    if args.get("sources").is_some() {
        return Ok(Check::fail(
            "pkg.installed: 'sources' (installing .deb files) is not supported; publish the package in an apt repository (pkgrepo.managed) and name it",
        ));
    }
    if pkgs.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Check::clean("No packages to install provided"));
    }
    let db = Db::read(host)?;
    let mut wanted = wanted(args, &db, pkgs, version)?;

    // Which packages are not as asked; "latest" needs the candidate.
    let mut version_spec = false;
    let mut unsatisfied: Vec<usize> = Vec::new();
    for (i, (name, ver)) in wanted.iter().enumerate() {
        let have = db.satisfied_version(name);
        let ok = match ver.as_deref() {
            None => have.is_some(),
            Some("latest") => false, // decided with the candidate below
            Some(spec) => {
                version_spec = true;
                let spec = Spec::parse(spec).map_err(StateError::args)?;
                have.is_some_and(|v| spec.satisfied_by(v, ignore_epoch))
            }
        };
        if !ok {
            unsatisfied.push(i);
        }
    }
    let names: Vec<String> = unsatisfied.iter().map(|&i| wanted[i].0.clone()).collect();
    let policies = apt::policy(host, &names, fromrepo.as_deref())?;

    let mut targets: Vec<Target> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut allow_downgrades = false;
    for &i in &unsatisfied {
        let (name, ver) = wanted[i].clone();
        let policy = policies.get(&name);
        let candidate = policy.and_then(|p| p.candidate.clone());
        let have = db.satisfied_version(&name).map(str::to_string);
        let known = policy.is_some_and(|p| p.candidate.is_some() || !p.versions.is_empty());
        if !known && !refresh {
            unknown.push(name);
            continue;
        }
        let (apt_arg, new) = match ver.as_deref() {
            None => (
                name.clone(),
                candidate.unwrap_or_else(|| "installed".into()),
            ),
            Some("latest") => match (&candidate, &have) {
                (Some(c), Some(h)) if version::compare(c, h).is_le() => {
                    // Up to date: Salt pins "latest" to the installed version.
                    wanted[i].1 = Some(h.clone());
                    continue;
                }
                (Some(c), _) => {
                    wanted[i].1 = Some(c.clone());
                    (format!("{name}={c}"), c.clone())
                }
                (None, _) => (name.clone(), "installed".into()),
            },
            Some(raw) => {
                let spec = Spec::parse(raw).map_err(StateError::args)?;
                let available = policy.map(|p| p.versions.clone()).unwrap_or_default();
                match spec.pick(&available, ignore_epoch) {
                    Some(v) => (format!("{name}={v}"), v.to_string()),
                    // After `apt-get update` the version may exist: apt decides.
                    None if refresh && !spec.has_comparison() && !raw.contains(['*', '?', '[']) => {
                        (
                            format!("{name}={}", raw.trim_start_matches('=')),
                            raw.to_string(),
                        )
                    }
                    None => {
                        let list = if available.is_empty() {
                            "None".to_string()
                        } else {
                            available.join(", ")
                        };
                        return Ok(Check::fail(format!(
                            "No version matching '{}' could be found (available: {list})",
                            display(&name, Some(raw))
                        )));
                    }
                }
            }
        };
        if let (Some(v), Some(h)) = (apt_arg.split_once('=').map(|(_, v)| v), db.get(&name)) {
            if h.is_present() && version::compare(v, &h.version).is_lt() {
                allow_downgrades = true;
            }
        }
        targets.push(Target { name, apt_arg, new });
    }
    if !unknown.is_empty() {
        unknown.sort();
        return Ok(Check::fail(format!(
            "The following package(s) were not found, and no possible matches were found in the package db: {}",
            unknown.join(", ")
        )));
    }

    let target_names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let holds = plan_holds(hold, &wanted, &db, &target_names);
    let hold_changes = holds.iter().any(|h| h.action.is_some());

    if targets.is_empty() {
        let base = format!(
            "All specified packages are already installed{}",
            if version_spec {
                " and are at the desired version"
            } else {
                ""
            }
        );
        if !hold_changes {
            let comment = std::iter::once(base)
                .chain(holds.iter().map(|h| h.comment_done.clone()))
                .collect::<Vec<_>>()
                .join(".\n");
            return Ok(if holds.iter().any(|h| h.failed) {
                Check::fail(comment)
            } else {
                Check::clean(comment)
            });
        }
        // Salt's order: unchanged holds, then the ones that would change.
        let test_comment = std::iter::once(base.clone())
            .chain(
                holds
                    .iter()
                    .filter(|h| h.action.is_none())
                    .map(|h| h.comment_test.clone()),
            )
            .chain(
                holds
                    .iter()
                    .filter(|h| h.action.is_some())
                    .map(|h| h.comment_test.clone()),
            )
            .collect::<Vec<_>>()
            .join(".\n");
        return Ok(Check::change(
            Map::new(),
            test_comment,
            ApplyFn(move |w: &HostWrite| {
                require_real_root(w)?;
                apply_holds(w, &holds)?;
                let mut changes = Map::new();
                let mut comments = vec![base];
                for h in holds.iter().filter(|h| h.action.is_some()) {
                    comments.push(h.comment_done.clone());
                    changes.insert(
                        h.name.clone(),
                        json!({"old": h.old, "new": if h.action == Some("hold") { "hold" } else { "install" }}),
                    );
                }
                comments.extend(
                    holds
                        .iter()
                        .filter(|h| h.action.is_none())
                        .map(|h| h.comment_done.clone()),
                );
                Ok(Applied::ok_with(comments.join(".\n"), changes))
            }),
        ));
    }

    let test_changes: Map<String, Value> = targets
        .iter()
        .map(|t| (t.name.clone(), json!({"old": "", "new": t.new})))
        .collect();
    let test_comment = format!(
        "The following packages would be installed/updated: {}",
        target_names.join(", ")
    );
    let install = apt::Install {
        targets: targets.iter().map(|t| t.apt_arg.clone()).collect(),
        fromrepo,
        skip_verify,
        install_recommends,
        allow_downgrades,
    };
    let job = InstallJob {
        wanted,
        target_names,
        install,
        refresh,
        holds,
        ignore_epoch,
    };
    Ok(Check::change(
        test_changes,
        test_comment,
        ApplyFn(move |w: &HostWrite| job.run(w)),
    ))
}

/// The apply half of `pkg.installed` with something to install.
struct InstallJob {
    wanted: Vec<Wanted>,
    target_names: Vec<String>,
    install: apt::Install,
    refresh: bool,
    holds: Vec<HoldPlan>,
    ignore_epoch: Option<bool>,
}

impl InstallJob {
    fn run(self, host: &HostWrite) -> Result<Applied, StateError> {
        require_real_root(host)?;
        if self.refresh {
            if let Err(e) = apt::refresh(host) {
                return Ok(Applied::failed(
                    format!("An error was encountered while installing package(s): {e}"),
                    Map::new(),
                ));
            }
        }
        let before = Db::read(host)?;
        let old = before.installed();
        // Salt unholds held targets for the upgrade and holds them again.
        let held: Vec<String> = self
            .target_names
            .iter()
            .filter(|n| before.is_held(n))
            .cloned()
            .collect();
        if !held.is_empty() {
            apt::run(host, &apt::mark_argv("unhold", &held))?;
        }
        let out = apt::run(host, &self.install.argv())?;
        if !held.is_empty() {
            apt::run(host, &apt::mark_argv("hold", &held))?;
        }
        let after = Db::read(host)?;
        let mut changes = compare_dicts(&old, &after.installed());
        if out.retcode != 0 {
            return Ok(Applied::failed(
                problem(
                    "Problem encountered installing package(s)",
                    &out.stderr,
                    &out.stdout,
                ),
                changes,
            ));
        }
        let hold_error = apply_holds(host, &self.holds).err();

        let ok = |name: &str, ver: Option<&str>| match (after.satisfied_version(name), ver) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(have), Some(spec)) => {
                Spec::parse(spec).is_ok_and(|s| s.satisfied_by(have, self.ignore_epoch))
            }
        };
        let desired = |n: &String| {
            let ver = self
                .wanted
                .iter()
                .find(|(w, _)| w == n)
                .and_then(|(_, v)| v.clone());
            display(n, ver.as_deref())
        };
        let mut modified = Vec::new();
        let mut not_modified = Vec::new();
        let mut failed = Vec::new();
        for (name, ver) in &self.wanted {
            let fine = ok(name, ver.as_deref());
            match (fine, self.target_names.contains(name)) {
                (true, true) => modified.push(name.clone()),
                (true, false) => not_modified.push(name.clone()),
                (false, true) => failed.push(name.clone()),
                (false, false) => {}
            }
        }

        let mut comment: Vec<String> = Vec::new();
        if !modified.is_empty() {
            let summary = modified.iter().map(desired).collect::<Vec<_>>().join(", ");
            comment.push(if summary.len() < 20 {
                format!("The following packages were installed/updated: {summary}")
            } else {
                let n = modified.len();
                format!(
                    "{n} targeted package{} {} installed/updated.",
                    if n > 1 { "s" } else { "" },
                    if n > 1 { "were" } else { "was" }
                )
            });
        }
        for h in self.holds.iter().filter(|h| h.action.is_some()) {
            comment.push(h.comment_done.clone());
            let new_sel = if h.action == Some("hold") {
                "hold"
            } else {
                "install"
            };
            let old_sel = h.old.clone().unwrap_or_default();
            match changes.get_mut(&h.name).and_then(Value::as_object_mut) {
                Some(entry) => {
                    // Salt appends the selection change to the version change.
                    for (key, add) in [("new", new_sel.to_string()), ("old", old_sel)] {
                        let cur = entry
                            .get(key)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        let joined = if cur.is_empty() {
                            add
                        } else {
                            format!("{cur}\n{add}")
                        };
                        entry.insert(key.into(), Value::String(joined));
                    }
                }
                None => {
                    changes.insert(h.name.clone(), json!({"new": new_sel}));
                }
            }
        }
        if !not_modified.is_empty() {
            let n = not_modified.len();
            comment.push(if n <= 20 {
                format!(
                    "The following packages were already installed: {}",
                    not_modified
                        .iter()
                        .map(desired)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("{n} targeted packages were already installed")
            });
        }
        for h in self
            .holds
            .iter()
            .filter(|h| h.action.is_none() && !h.failed)
        {
            comment.push(h.comment_done.clone());
        }
        let mut result = true;
        if !failed.is_empty() {
            comment.insert(
                0,
                format!(
                    "The following packages failed to install/update: {}",
                    failed.iter().map(desired).collect::<Vec<_>>().join(", ")
                ),
            );
            result = false;
        }
        for h in self.holds.iter().filter(|h| h.failed) {
            comment.push(h.comment_done.clone());
            result = false;
        }
        if let Some(e) = hold_error {
            comment.push(e.to_string());
            result = false;
        }
        Ok(Applied {
            result,
            comment: comment.join("\n"),
            changes: Some(changes),
        })
    }
}
