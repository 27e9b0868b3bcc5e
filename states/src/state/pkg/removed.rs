//! `pkg.removed` and `pkg.purged`: one function, the apt action differs.
use common::data::{Map, Value};
use serde_json::json;

use super::dpkg::Db;
use super::request::{opt_bool, read_pkgs, wanted};
use super::version::Spec;
use super::{apt, compare_dicts, problem, require_real_root};
use crate::state::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
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

pub(super) fn check(action: Action, args: &Args, host: &HostRead) -> Result<Check, StateError> {
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
