//! `pkg.latest`: packages with a newer candidate than what is installed,
//! worked out again after the refresh when applying.
use std::collections::BTreeMap;

use common::data::{Map, Value};
use serde_json::json;

use super::dpkg::Db;
use super::request::{opt_bool, read_pkgs, wanted};
use super::version;
use super::{apt, compare_dicts, problem, require_real_root};
use crate::state::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

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

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
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
