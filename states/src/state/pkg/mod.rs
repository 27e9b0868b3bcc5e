//! `pkg` on Debian/Ubuntu (`salt/states/pkg.py` over `salt/modules/aptpkg.py`):
//! `installed`, `latest`, `removed`, `purged`, with Salt's comments and
//! `changes` (`{name: {old, new}}`).
//!
//! Faster than Salt by construction: the installed set is read from dpkg's
//! status file (no process), candidates come from one `apt-cache policy` for
//! all names (only when something is not already as asked), and a whole
//! `pkgs` list is one `apt-get install` transaction.
//!
//! Version specs: exact (`1.22.1-9`), globs (`1.22*`), comparisons
//! (`>=1.2`, `<2`, `!=1.3`) and lists of them (`>=1.2, <2`), plus `latest`.
//! apt only takes `name=version`, so a glob or comparison is resolved here to
//! the newest matching version apt knows. Not supported: `sources` (.deb
//! files), `reinstall`, `pkg_verify`, wildcard names in removed/purged.
mod apt;
mod dpkg;
mod version;

use std::collections::BTreeMap;

use common::data::{Map, Value};
use serde_json::json;

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use dpkg::Db;
use version::Spec;

pub struct Pkg;

impl super::StateModule for Pkg {
    fn name(&self) -> &'static str {
        "pkg"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::PKG
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "installed" => installed(args, host),
            "latest" => latest(args, host),
            "removed" => uninstall(Action::Remove, args, host),
            "purged" => uninstall(Action::Purge, args, host),
            other => Err(StateError::args(format!(
                "pkg.{other} is not a state function"
            ))),
        }
    }
}

/// One requested package: its name and Salt's version string, if any.
type Wanted = (String, Option<String>);

/// Salt's tri-state booleans (`None` = not given).
fn opt_bool(args: &Args, key: &str) -> Result<Option<bool>, StateError> {
    match args.get(key) {
        None => Ok(None),
        Some(_) => args.bool_or(key, false).map(Some),
    }
}

/// A package name goes to apt as one argv element; refuse what apt would
/// read as an option, and what no Debian package name contains.
fn validate_name(name: &str) -> Result<(), StateError> {
    if name.is_empty() {
        return Err(StateError::args("package name is empty"));
    }
    if name.starts_with('-') {
        return Err(StateError::args(format!(
            "refusing package name {name:?}: it starts with '-'"
        )));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '=')
    {
        return Err(StateError::args(format!("invalid package name {name:?}")));
    }
    Ok(())
}

/// `pkgs` as Salt's `_repack_pkgs` reads it: names, or `{name: version}`
/// maps; duplicate names are an error.
fn read_pkgs(args: &Args) -> Result<Option<Vec<Wanted>>, StateError> {
    let Some(value) = args.get("pkgs") else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(StateError::args(format!(
            "Invalidly formatted 'pkgs' parameter: must be a list, got {value}"
        )));
    };
    let mut out: Vec<Wanted> = Vec::new();
    for item in items {
        match item {
            Value::String(_) | Value::Number(_) => out.push((common::pyfmt::py_str(item), None)),
            Value::Object(map) if !map.is_empty() => {
                for (name, ver) in map {
                    let ver = match ver {
                        Value::Null => None,
                        Value::String(_) | Value::Number(_) => Some(common::pyfmt::py_str(ver)),
                        other => {
                            return Err(StateError::args(format!(
                                "Invalidly formatted 'pkgs' parameter: version of {name} must be a string, got {other}"
                            )))
                        }
                    };
                    out.push((name.clone(), ver));
                }
            }
            other => {
                return Err(StateError::args(format!(
                    "Invalidly formatted 'pkgs' parameter: {other}"
                )))
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    if out.iter().any(|(n, _)| !seen.insert(n.clone())) {
        return Err(StateError::args(format!(
            "You are passing a list of packages that contains duplicated packages names: {value}. This cannot be processed. In case you are targeting different versions of the same package, please target them individually"
        )));
    }
    Ok(Some(out))
}

/// The requested packages: `pkgs`, else `name` (with `version`); names
/// validated and normalized (`nginx:amd64` → `nginx`).
fn wanted(
    args: &Args,
    db: &Db,
    pkgs: Option<Vec<Wanted>>,
    version: Option<String>,
) -> Result<Vec<Wanted>, StateError> {
    let normalize = args.bool_or("normalize", true)?;
    let list = match pkgs {
        Some(list) => list,
        None => vec![(args.name(), version.filter(|v| !v.is_empty()))],
    };
    list.into_iter()
        .map(|(name, ver)| {
            validate_name(&name)?;
            if let Some(v) = &ver {
                if v.starts_with('-') || v.chars().any(char::is_control) {
                    return Err(StateError::args(format!(
                        "invalid version {v:?} for {name}"
                    )));
                }
            }
            let name = if normalize { db.normalize(&name) } else { name };
            Ok((name, ver.filter(|v| !v.is_empty())))
        })
        .collect()
}

/// Salt's `_get_desired_pkg`: `nginx`, `nginx=1.2`, `nginx>=1.2`.
fn display(name: &str, ver: Option<&str>) -> String {
    match ver {
        None => name.to_string(),
        Some(v) if v.starts_with(['<', '>', '=']) => format!("{name}{v}"),
        Some(v) => format!("{name}={v}"),
    }
}

/// Salt's `salt.utils.data.compare_dicts`, keys sorted.
fn compare_dicts(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Map<String, Value> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let o = old.get(k).cloned().unwrap_or_default();
            let n = new.get(k).cloned().unwrap_or_default();
            (k.clone(), json!({"old": o, "new": n}))
        })
        .collect()
}

/// Salt's `CommandExecutionError(msg, info={"errors": [...]})` as a state
/// comment (the nested outputter's form).
fn problem(msg: &str, stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let body = text.trim_end().lines().collect::<Vec<_>>().join("\n      ");
    format!("{msg}. Additional info follows:\n\nerrors:\n    - {body}")
}

/// apt acts on this host's dpkg, not on a context root: applying under
/// another root would change the wrong system.
fn require_real_root(host: &HostRead) -> Result<(), StateError> {
    if host.root() != std::path::Path::new("/") {
        return Err(StateError::host(format!(
            "pkg states install with apt-get on this host; they cannot be applied under the root {}",
            host.root().display()
        )));
    }
    Ok(())
}

/// What `hold:` asks for one package.
struct HoldPlan {
    name: String,
    /// apt-mark action to run, if any.
    action: Option<&'static str>,
    /// Selection before (Salt reports it as `old`).
    old: Option<String>,
    comment_test: String,
    comment_done: String,
    /// Salt's failed holds (unhold of a package dpkg does not know).
    failed: bool,
}

fn plan_holds(hold: Option<bool>, wanted: &[Wanted], db: &Db, targets: &[String]) -> Vec<HoldPlan> {
    let Some(hold) = hold else {
        return Vec::new();
    };
    wanted
        .iter()
        .map(|(name, _)| {
            let will_install = targets.contains(name);
            let selection = db
                .selection(name)
                .map(str::to_string)
                .or_else(|| will_install.then(|| "install".to_string()));
            let held = db.is_held(name);
            let plan = |action, test: String, done: String, failed| HoldPlan {
                name: name.clone(),
                action,
                old: selection.clone(),
                comment_test: test,
                comment_done: done,
                failed,
            };
            match (hold, held) {
                (true, true) => {
                    let c = format!("Package {name} is already set to be held.");
                    plan(None, c.clone(), c, false)
                }
                (true, false) => plan(
                    Some("hold"),
                    format!("Package {name} is set to be held."),
                    format!("Package {name} is now being held."),
                    false,
                ),
                (false, true) => plan(
                    Some("unhold"),
                    format!("Package {name} is set not to be held."),
                    format!("Package {name} is no longer being held."),
                    false,
                ),
                (false, false) if selection.is_none() => {
                    let c = format!("Package {name} does not have a state.");
                    plan(None, c.clone(), c, true)
                }
                (false, false) => {
                    let c = format!("Package {name} is already set not to be held.");
                    plan(None, c.clone(), c, false)
                }
            }
        })
        .collect()
}

/// Runs the planned apt-mark calls (one per action, all names at once).
fn apply_holds(host: &HostWrite, plans: &[HoldPlan]) -> Result<(), StateError> {
    for action in ["hold", "unhold"] {
        let names: Vec<String> = plans
            .iter()
            .filter(|p| p.action == Some(action))
            .map(|p| p.name.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        let out = apt::run(host, &apt::mark_argv(action, &names))?;
        if out.retcode != 0 {
            return Err(StateError::host(format!(
                "An error was encountered while holding/unholding package(s): {}",
                out.stderr.trim()
            )));
        }
    }
    Ok(())
}

/// A package to install and the argument apt gets for it.
struct Target {
    name: String,
    /// `nginx` or `nginx=1.22.1-9`.
    apt_arg: String,
    /// What Salt's test mode reports as `new`.
    new: String,
}

fn installed(args: &Args, host: &HostRead) -> Result<Check, StateError> {
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

fn up_to_date_comment(names: &[String]) -> String {
    let mut sorted = names.to_vec();
    sorted.sort();
    match sorted.len() {
        n if n > 10 => format!("All {n} packages are up-to-date."),
        n if n > 1 => format!("All packages are up-to-date ({}).", sorted.join(", ")),
        _ => format!("Package {} is already up-to-date", sorted.join("")),
    }
}

/// Packages with a newer candidate than what is installed (or not installed
/// at all), and the ones apt knows nothing about.
fn latest_targets(
    db: &Db,
    names: &[String],
    policies: &BTreeMap<String, apt::Policy>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut targets = BTreeMap::new();
    let mut unknown = Vec::new();
    let listed = db.installed();
    for name in names {
        let candidate = policies.get(name).and_then(|p| p.candidate.clone());
        let have = db.satisfied_version(name);
        match (candidate, have) {
            (Some(c), Some(h)) if version::compare(&c, h).is_le() => {}
            (Some(c), _) => {
                targets.insert(name.clone(), c);
            }
            (None, Some(_)) => {}
            (None, None) if listed.contains_key(name) => {}
            (None, None) => unknown.push(name.clone()),
        }
    }
    (targets, unknown)
}

fn latest(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let pkgs = read_pkgs(args)?;
    let refresh = args.bool_or("refresh", false)?;
    let fromrepo = args.str("fromrepo")?;
    let skip_verify = args.bool_or("skip_verify", false)?;
    let install_recommends = opt_bool(args, "install_recommends")?;
    if pkgs.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Check::clean("No packages to install provided"));
    }
    let from_pkgs = pkgs.is_some();
    let db = Db::read(host)?;
    let names: Vec<String> = wanted(args, &db, pkgs, None)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let policies = apt::policy(host, &names, fromrepo.as_deref())?;
    let (targets, unknown) = latest_targets(&db, &names, &policies);
    if !unknown.is_empty() && !refresh {
        return Ok(Check::fail(
            unknown
                .iter()
                .map(|n| format!("No information found for '{n}'."))
                .collect::<Vec<_>>()
                .join(" "),
        ));
    }
    let cur: BTreeMap<String, String> = db.installed();
    let install = apt::Install {
        targets: Vec::new(),
        fromrepo: fromrepo.clone(),
        skip_verify,
        install_recommends,
        allow_downgrades: false,
    };
    let job = LatestJob {
        names: names.clone(),
        from_pkgs,
        refresh,
        fromrepo,
        install,
    };
    if targets.is_empty() {
        let comment = up_to_date_comment(&names);
        if !refresh {
            return Ok(Check::clean(comment));
        }
        // Only `apt-get update` can tell, and a dry run may not run it.
        return Ok(Check::change(
            Map::new(),
            format!("{comment} (before refreshing the package lists, which a dry run does not do)"),
            ApplyFn(move |w: &HostWrite| job.run(w)),
        ));
    }
    let up_to_date: Vec<String> = if from_pkgs {
        let mut u: Vec<String> = names
            .iter()
            .filter(|n| !targets.contains_key(*n))
            .cloned()
            .collect();
        u.sort();
        u
    } else {
        Vec::new()
    };
    let mut comments = vec![format!(
        "The following packages would be installed/upgraded: {}",
        targets.keys().cloned().collect::<Vec<_>>().join(", ")
    )];
    if !up_to_date.is_empty() {
        comments.push(if up_to_date.len() <= 10 {
            format!(
                "The following packages are already up-to-date: {}",
                up_to_date
                    .iter()
                    .map(|x| format!("{x} ({})", cur.get(x).cloned().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!("{} packages are already up-to-date", up_to_date.len())
        });
    }
    let changes: Map<String, Value> = targets
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                json!({"new": v, "old": cur.get(n).cloned().unwrap_or_default()}),
            )
        })
        .collect();
    Ok(Check::change(
        changes,
        comments.join("\n"),
        ApplyFn(move |w: &HostWrite| job.run(w)),
    ))
}

/// The apply half of `pkg.latest`: targets are worked out again after the
/// refresh, so `refresh: True` sees what the update brought.
struct LatestJob {
    names: Vec<String>,
    from_pkgs: bool,
    refresh: bool,
    fromrepo: Option<String>,
    install: apt::Install,
}

impl LatestJob {
    fn run(mut self, host: &HostWrite) -> Result<Applied, StateError> {
        require_real_root(host)?;
        if self.refresh {
            if let Err(e) = apt::refresh(host) {
                return Ok(Applied::failed(
                    format!(
                        "An error was encountered while checking the newest available version of package(s): {e}"
                    ),
                    Map::new(),
                ));
            }
        }
        let before = Db::read(host)?;
        let policies = apt::policy(host, &self.names, self.fromrepo.as_deref())?;
        let (targets, unknown) = latest_targets(&before, &self.names, &policies);
        if !unknown.is_empty() {
            return Ok(Applied::failed(
                unknown
                    .iter()
                    .map(|n| format!("No information found for '{n}'."))
                    .collect::<Vec<_>>()
                    .join(" "),
                Map::new(),
            ));
        }
        if targets.is_empty() {
            return Ok(Applied::ok(up_to_date_comment(&self.names)));
        }
        let up_to_date: Vec<String> = if self.from_pkgs {
            let mut u: Vec<String> = self
                .names
                .iter()
                .filter(|n| !targets.contains_key(*n))
                .cloned()
                .collect();
            u.sort();
            u
        } else {
            Vec::new()
        };
        self.install.targets = targets.keys().cloned().collect();
        let out = apt::run(host, &self.install.argv())?;
        if out.retcode != 0 {
            return Ok(Applied::failed(
                format!(
                    "An error was encountered while installing package(s): {}",
                    problem(
                        "Problem encountered installing package(s)",
                        &out.stderr,
                        &out.stdout
                    )
                ),
                Map::new(),
            ));
        }
        let changes = compare_dicts(&before.installed(), &Db::read(host)?.installed());
        if changes.is_empty() {
            let names: Vec<String> = targets.keys().cloned().collect();
            let mut comment = match names.len() {
                n if n > 10 => format!("{n} targeted packages failed to update. See debug log for details."),
                n if n > 1 => format!(
                    "The following targeted packages failed to update. See debug log for details: ({}).",
                    names.join(", ")
                ),
                _ => format!("Package {} failed to update.", names.join("")),
            };
            if !up_to_date.is_empty() {
                if up_to_date.len() <= 10 {
                    comment.push_str(&format!(
                        " The following packages were already up-to-date: {}",
                        up_to_date.join(", ")
                    ));
                } else {
                    comment.push_str(&format!(
                        "{} packages were already up-to-date",
                        up_to_date.len()
                    ));
                }
            }
            return Ok(Applied::failed(comment, changes));
        }
        let failed: Vec<String> = targets
            .iter()
            .filter(|(name, want)| {
                changes
                    .get(*name)
                    .and_then(|c| c.get("new"))
                    .and_then(Value::as_str)
                    .is_none_or(|new| !new.split(',').any(|v| v == want.as_str()))
            })
            .map(|(n, _)| n.clone())
            .collect();
        let successful: Vec<String> = targets
            .keys()
            .filter(|n| !failed.contains(n))
            .cloned()
            .collect();
        let mut comments = Vec::new();
        if !failed.is_empty() {
            comments.push(format!(
                "The following packages failed to update: {}",
                failed.join(", ")
            ));
        }
        if !successful.is_empty() {
            comments.push(format!(
                "The following packages were successfully installed/upgraded: {}",
                successful.join(", ")
            ));
        }
        if !up_to_date.is_empty() {
            comments.push(if up_to_date.len() <= 10 {
                format!(
                    "The following packages were already up-to-date: {}",
                    up_to_date.join(", ")
                )
            } else {
                format!("{} packages were already up-to-date ", up_to_date.len())
            });
        }
        Ok(Applied {
            result: failed.is_empty(),
            comment: comments.join(" "),
            changes: Some(changes),
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Remove,
    Purge,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Remove => "remove",
            Action::Purge => "purge",
        }
    }
}

fn uninstall(action: Action, args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let pkgs = read_pkgs(args)?;
    let version = args.str("version")?;
    let ignore_epoch = opt_bool(args, "ignore_epoch")?;
    let db = Db::read(host)?;
    let wanted = wanted(args, &db, pkgs, version)?;
    let cur = db.installed();
    let mut version_spec = false;
    let mut targets: Vec<String> = Vec::new();
    for (name, ver) in &wanted {
        let Some(have) = cur.get(name) else { continue };
        match ver {
            None => targets.push(name.clone()),
            Some(raw) => {
                version_spec = true;
                let spec = Spec::parse(raw).map_err(StateError::args)?;
                if spec.satisfied_by(have, ignore_epoch) {
                    targets.push(name.clone());
                }
            }
        }
    }
    if action == Action::Purge {
        let removed = db.removed();
        targets.extend(
            wanted
                .iter()
                .map(|(n, _)| n)
                .filter(|n| removed.contains_key(*n))
                .cloned(),
        );
    }
    targets.sort();
    targets.dedup();
    if targets.is_empty() {
        return Ok(Check::clean(match action {
            Action::Remove => format!(
                "All specified packages{} are already absent",
                if version_spec {
                    " (matching specified versions)"
                } else {
                    ""
                }
            ),
            Action::Purge => {
                "None of the targeted packages are installed or partially installed".into()
            }
        }));
    }
    let verb = action.verb();
    let test_changes: Map<String, Value> = targets
        .iter()
        .map(|t| (t.clone(), json!({"new": format!("{verb}d"), "old": ""})))
        .collect();
    let comment = format!(
        "The following packages will be {verb}d: {}.",
        targets.join(", ")
    );
    let requested: Vec<String> = wanted.into_iter().map(|(n, _)| n).collect();
    Ok(Check::change(
        test_changes,
        comment,
        ApplyFn(move |w: &HostWrite| run_uninstall(w, action, &targets, &requested)),
    ))
}

fn run_uninstall(
    host: &HostWrite,
    action: Action,
    targets: &[String],
    requested: &[String],
) -> Result<Applied, StateError> {
    require_real_root(host)?;
    let verb = action.verb();
    let before = Db::read(host)?;
    let out = apt::run(host, &apt::remove_argv(verb, targets))?;
    let after = Db::read(host)?;
    let installed = compare_dicts(&before.installed(), &after.installed());
    let changes = match action {
        Action::Remove => installed,
        Action::Purge => changes([
            (
                "removed",
                Value::Object(compare_dicts(&before.removed(), &after.removed())),
            ),
            ("installed", Value::Object(installed)),
        ]),
    };
    if out.retcode != 0 {
        return Ok(Applied::failed(
            problem(
                "Problem encountered removing package(s)",
                &out.stderr,
                &out.stdout,
            ),
            changes,
        ));
    }
    let (now, now_removed) = (after.installed(), after.removed());
    let mut failed: Vec<String> = targets
        .iter()
        .filter(|t| {
            now.contains_key(*t) || (action == Action::Purge && now_removed.contains_key(*t))
        })
        .cloned()
        .collect();
    failed.sort();
    if !failed.is_empty() {
        return Ok(Applied::failed(
            format!(
                "The following packages failed to {verb}: {}.",
                failed.join(", ")
            ),
            changes,
        ));
    }
    let mut not_installed: Vec<String> = requested
        .iter()
        .filter(|n| !targets.contains(n))
        .cloned()
        .collect();
    not_installed.sort();
    let comment = if not_installed.is_empty() {
        format!("All targeted packages were {verb}d.")
    } else {
        format!(
            "The following packages were not installed: {} The following packages were {verb}d: {}.",
            not_installed.join(", "),
            targets.join(", ")
        )
    };
    Ok(Applied::ok_with(comment, changes))
}

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::state::{Sources, StateError};
    use common::data::{Map, Value};

    /// No salt:// sources: pkg never fetches any.
    pub struct NoSources;

    impl Sources for NoSources {
        fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
            Err(StateError::host(format!("no sources in this test: {url}")))
        }
        fn render(&self, url: &str, _: &Map<String, Value>) -> Result<String, StateError> {
            Err(StateError::host(format!("no sources in this test: {url}")))
        }
        fn list(&self, url: &str) -> Result<Vec<String>, StateError> {
            Err(StateError::host(format!("no sources in this test: {url}")))
        }
    }
}

#[cfg(test)]
mod tests;
