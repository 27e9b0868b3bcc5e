//! `pkg.*`: Debian packages through dpkg and apt.
use std::collections::BTreeMap;

use common::data::{Map, Value};
use serde_json::json;

use super::{Access, AnsweredBy, Bound, ExecCall, ExecError, ExecFunction, Param};
use crate::state::pkg::dpkg::Db;
use crate::state::pkg::{apt, compare_dicts, require_real_root};
use crate::state::{HostRead, HostWrite};

pub const VERSION: ExecFunction = ExecFunction {
    name: "pkg.version",
    params: &[Param::required("name")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "the installed version of a package, '' when not installed",
    parse: |a| {
        Ok(ExecCall::PkgVersion {
            name: a.str("name")?,
        })
    },
};

pub const INSTALL: ExecFunction = ExecFunction {
    name: "pkg.install",
    params: &[Param::required("name")],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "installs a package; {name: {old, new}} when that changed it",
    parse: |a| {
        Ok(ExecCall::PkgInstall {
            name: a.str("name")?,
        })
    },
};

pub fn version(host: &HostRead, name: &str) -> Result<String, ExecError> {
    let out = host.query(&[
        "dpkg-query",
        "-W",
        "-f",
        "${db:Status-Abbrev}${Version}",
        name,
    ])?;
    Ok(out
        .stdout
        .strip_prefix("ii ")
        .map(str::to_string)
        .unwrap_or_default())
}

pub fn install(host: &HostWrite, name: &str) -> Result<Value, ExecError> {
    let before = version(host, name)?;
    let out = host.run(
        &["apt-get", "install", "-y", "-q", "--", name],
        &[("DEBIAN_FRONTEND", "noninteractive")],
        None,
    )?;
    if out.retcode != 0 {
        return Err(ExecError::Failed(out.stderr.trim().to_string()));
    }
    let after = version(host, name)?;
    if before == after {
        return Ok(json!({}));
    }
    Ok(json!({ name: {"old": before, "new": after} }))
}

// `pkg.list_pkgs`, `pkg.list_upgrades`, `pkg.upgrade`, `pkg.remove` and
// `pkg.refresh_db`, over the pkg state's dpkg reader and apt argv (aptpkg.py).

/// A `pkg.*` call other than `pkg.version`/`pkg.install`.
#[derive(Debug, Clone, PartialEq)]
pub enum PkgCall {
    ListPkgs {
        versions_as_list: bool,
        removed: bool,
        purge_desired: bool,
    },
    ListUpgrades {
        refresh: bool,
        dist_upgrade: bool,
        fromrepo: Option<String>,
        cache_valid_time: Option<u64>,
    },
    Upgrade(Upgrade),
    /// Names as given (`a,b` split, wildcards kept), matched against what is
    /// installed when run.
    Remove {
        names: Vec<String>,
    },
    RefreshDb {
        cache_valid_time: Option<u64>,
        failhard: bool,
    },
}

/// `pkg.upgrade`'s options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upgrade {
    pub refresh: bool,
    pub dist_upgrade: bool,
    pub cache_valid_time: Option<u64>,
    pub force_conf_new: bool,
    pub force_yes: bool,
    pub skip_verify: bool,
    pub download_only: bool,
    pub allow_downgrades: bool,
}

/// One of Salt's `**kwargs` that Brine reads.
const fn kw(name: &'static str) -> Param {
    Param::keyword(name)
}

pub const LIST_PKGS: ExecFunction = ExecFunction {
    name: "pkg.list_pkgs",
    params: &[
        Param::optional("versions_as_list"),
        Param::optional("removed"),
        Param::optional("purge_desired"),
    ],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "installed packages, {name: version} (from dpkg's status file)",
    parse: |a| {
        Ok(ExecCall::Pkg(PkgCall::ListPkgs {
            versions_as_list: a.bool("versions_as_list").unwrap_or(false),
            removed: a.bool("removed").unwrap_or(false),
            purge_desired: a.bool("purge_desired").unwrap_or(false),
        }))
    },
};

pub const LIST_UPGRADES: ExecFunction = ExecFunction {
    name: "pkg.list_upgrades",
    params: &[
        Param::optional("refresh"),
        Param::optional("dist_upgrade"),
        kw("fromrepo"),
        kw("cache_valid_time"),
    ],
    // `refresh=True`, the default, runs `apt-get update`.
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "available upgrades, {name: version} (apt-get update first unless refresh=False)",
    parse: |a| {
        Ok(ExecCall::Pkg(PkgCall::ListUpgrades {
            refresh: a.bool("refresh").unwrap_or(true),
            dist_upgrade: a.bool("dist_upgrade").unwrap_or(true),
            fromrepo: a.opt_str("fromrepo"),
            cache_valid_time: seconds(a, "cache_valid_time")?,
        }))
    },
};

pub const UPGRADE: ExecFunction = ExecFunction {
    name: "pkg.upgrade",
    params: &[
        Param::optional("refresh"),
        Param::optional("dist_upgrade"),
        kw("cache_valid_time"),
        kw("force_conf_new"),
        kw("force_yes"),
        kw("skip_verify"),
        kw("download_only"),
        kw("downloadonly"),
        kw("allow_downgrades"),
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "apt-get upgrade (or dist-upgrade); {name: {old, new}}",
    parse: |a| {
        let flag = |n: &str| a.bool(n).unwrap_or(false);
        Ok(ExecCall::Pkg(PkgCall::Upgrade(Upgrade {
            refresh: a.bool("refresh").unwrap_or(true),
            dist_upgrade: flag("dist_upgrade"),
            cache_valid_time: seconds(a, "cache_valid_time")?,
            force_conf_new: flag("force_conf_new"),
            force_yes: flag("force_yes"),
            skip_verify: flag("skip_verify"),
            download_only: flag("download_only") || flag("downloadonly"),
            allow_downgrades: flag("allow_downgrades"),
        })))
    },
};

pub const REMOVE: ExecFunction = ExecFunction {
    name: "pkg.remove",
    params: &[Param::optional("name"), Param::optional("pkgs")],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "apt-get remove of name (a,b,c) or pkgs; {name: {old, new: ''}}",
    parse: |a| {
        // Salt's parse_targets: `pkgs` wins over `name`; `name` may be `a,b`.
        let names = if a.get("pkgs").is_some() {
            match a.get("pkgs") {
                Some(Value::Array(_)) => a.names("pkgs")?,
                _ => return Err(a.bad("pkgs", "must be a list of package names")),
            }
        } else {
            a.names("name")?
        };
        for n in &names {
            crate::state::pkg::request::validate_name(n)
                .map_err(|e| a.bad("name", e.to_string()))?;
        }
        Ok(ExecCall::Pkg(PkgCall::Remove { names }))
    },
};

pub const REFRESH_DB: ExecFunction = ExecFunction {
    name: "pkg.refresh_db",
    params: &[
        Param::optional("cache_valid_time"),
        Param::optional("failhard"),
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "apt-get update; {source: True (fetched) | None (unchanged) | False (failed)}",
    parse: |a| {
        Ok(ExecCall::Pkg(PkgCall::RefreshDb {
            cache_valid_time: seconds(a, "cache_valid_time")?,
            failhard: a.bool("failhard").unwrap_or(false),
        }))
    },
};

/// A whole number of seconds; 0 is Salt's "always".
fn seconds(a: &Bound, name: &str) -> Result<Option<u64>, ExecError> {
    match a.get(name) {
        None => Ok(None),
        Some(v) => {
            let n = match v {
                Value::String(s) => s.trim().parse::<u64>().ok(),
                other => other.as_u64(),
            };
            n.map(|n| (n > 0).then_some(n))
                .ok_or_else(|| a.bad(name, format!("expected a number of seconds, got {v}")))
        }
    }
}

impl PkgCall {
    pub(super) fn run(
        &self,
        host: &HostRead,
        write: impl Fn() -> HostWrite,
    ) -> Result<Value, ExecError> {
        match self {
            PkgCall::ListPkgs {
                versions_as_list,
                removed,
                purge_desired,
            } => list_pkgs(host, *versions_as_list, *removed, *purge_desired),
            PkgCall::ListUpgrades {
                refresh,
                dist_upgrade,
                fromrepo,
                cache_valid_time,
            } => {
                if *refresh {
                    refresh_db(&write(), *cache_valid_time, false)?;
                }
                list_upgrades(host, *dist_upgrade, fromrepo.as_deref()).map(|m| {
                    Value::Object(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
                })
            }
            PkgCall::Upgrade(u) => upgrade(&write(), u),
            PkgCall::Remove { names } => remove(&write(), names),
            PkgCall::RefreshDb {
                cache_valid_time,
                failhard,
            } => refresh_db(&write(), *cache_valid_time, *failhard),
        }
    }
}

/// The pkg state's view of dpkg's database (`Db::installed`). Salt keeps a
/// package whose status merely contains "installed"; a package dpkg left
/// `unpacked`, `half-configured` or with triggers pending is listed here too,
/// since its files are on disk, where Salt leaves it out.
fn list_pkgs(
    host: &HostRead,
    versions_as_list: bool,
    removed: bool,
    purge_desired: bool,
) -> Result<Value, ExecError> {
    let db = Db::read(host)?;
    let listed: BTreeMap<String, String> = if removed {
        db.removed()
    } else if purge_desired {
        db.purge_desired()
    } else {
        db.installed()
    };
    Ok(Value::Object(
        listed
            .into_iter()
            .map(|(name, version)| {
                let v = if versions_as_list {
                    json!([version])
                } else {
                    Value::String(version)
                };
                (name, v)
            })
            .collect(),
    ))
}

/// `apt-get --just-print` of an upgrade: nothing is changed, and under a test
/// root apt reads that root's dpkg status.
pub fn upgrades_argv(
    host: &HostRead,
    dist_upgrade: bool,
    fromrepo: Option<&str>,
) -> Result<Vec<String>, ExecError> {
    let mut argv = vec!["apt-get".to_string(), "--just-print".to_string()];
    argv.extend(apt::root_options(host)?);
    if let Some(repo) = fromrepo {
        argv.extend(["-o".into(), format!("APT::Default-Release={repo}")]);
    }
    argv.push(
        if dist_upgrade {
            "dist-upgrade"
        } else {
            "upgrade"
        }
        .into(),
    );
    Ok(argv)
}

/// The `Conf name (version …)` lines of `apt-get --just-print`, in apt's order.
pub fn parse_upgrades(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Conf ")?;
            let (name, rest) = rest.split_once(' ')?;
            let version = rest.strip_prefix('(')?.split([' ', ')']).next()?;
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

fn list_upgrades(
    host: &HostRead,
    dist_upgrade: bool,
    fromrepo: Option<&str>,
) -> Result<Vec<(String, String)>, ExecError> {
    let argv = upgrades_argv(host, dist_upgrade, fromrepo)?;
    let out = host.query(&argv.iter().map(String::as_str).collect::<Vec<_>>())?;
    if out.retcode != 0 {
        let detail = [&out.stderr, &out.stdout]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        return Err(ExecError::Failed(format!("Failed to get upgrades{detail}")));
    }
    Ok(parse_upgrades(&out.stdout))
}

impl Upgrade {
    pub fn argv(&self) -> Vec<String> {
        let mut argv: Vec<String> = ["apt-get", "-q", "-y", "-o", apt::LOCK_TIMEOUT]
            .map(String::from)
            .to_vec();
        let dpkg: &[&str] = if self.force_conf_new {
            &["--force-confnew"]
        } else {
            &["--force-confold", "--force-confdef"]
        };
        for o in dpkg {
            argv.extend(["-o".into(), format!("DPkg::Options::={o}")]);
        }
        for (on, flag) in [
            (self.force_yes, "--force-yes"),
            (self.skip_verify, "--allow-unauthenticated"),
            (self.download_only, "--download-only"),
            (self.allow_downgrades, "--allow-downgrades"),
        ] {
            if on {
                argv.push(flag.into());
            }
        }
        argv.push(
            if self.dist_upgrade {
                "dist-upgrade"
            } else {
                "upgrade"
            }
            .into(),
        );
        argv
    }
}

fn upgrade(host: &HostWrite, u: &Upgrade) -> Result<Value, ExecError> {
    require_real_root(host)?;
    if u.refresh {
        refresh_db(host, u.cache_valid_time, false)?;
    }
    let old = Db::read(host)?.installed();
    let out = apt::run(host, &u.argv())?;
    let changes = compare_dicts(&old, &Db::read(host)?.installed());
    if out.retcode != 0 {
        return Err(ExecError::Failed(format!(
            "Problem encountered upgrading packages: {}",
            out.stderr.trim()
        )));
    }
    Ok(Value::Object(changes))
}

/// Salt's `match_wildcard`: a name with `*` stands for the installed
/// packages it matches.
fn remove_targets(installed: &BTreeMap<String, String>, db: &Db, names: &[String]) -> Vec<String> {
    let mut targets: Vec<String> = Vec::new();
    for name in names {
        if name.contains('*') {
            targets.extend(
                installed
                    .keys()
                    .filter(|k| common::target::fnmatch(k, name))
                    .cloned(),
            );
        } else {
            let name = db.normalize(name);
            if installed.contains_key(&name) {
                targets.push(name);
            }
        }
    }
    targets.sort();
    targets.dedup();
    targets
}

fn remove(host: &HostWrite, names: &[String]) -> Result<Value, ExecError> {
    let db = Db::read(host)?;
    let old = db.installed();
    let targets = remove_targets(&old, &db, names);
    if targets.is_empty() {
        return Ok(json!({}));
    }
    require_real_root(host)?;
    let out = apt::run(host, &apt::remove_argv("remove", &targets))?;
    let changes = compare_dicts(&old, &Db::read(host)?.installed());
    if out.retcode != 0 && !out.stderr.is_empty() {
        return Err(ExecError::Failed(format!(
            "Problem encountered removing package(s): {}",
            out.stderr.trim()
        )));
    }
    Ok(Value::Object(changes))
}

/// Where apt keeps its lists; its mtime is the last refresh.
const APT_LISTS: &str = "/var/lib/apt/lists";

fn refresh_db(
    host: &HostWrite,
    cache_valid_time: Option<u64>,
    failhard: bool,
) -> Result<Value, ExecError> {
    if let Some(valid) = cache_valid_time {
        let fresh = std::fs::metadata(host.path(APT_LISTS)?)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() < valid);
        if fresh {
            return Ok(json!({}));
        }
    }
    require_real_root(host)?;
    let out = host.run(apt::UPDATE_ARGV, apt::ENV, None)?;
    if out.retcode != 0 {
        return Err(ExecError::Failed(out.stderr.trim().to_string()));
    }
    let (ret, errors) = parse_update(&out.stdout);
    if failhard && !errors.is_empty() {
        return Err(ExecError::Failed(format!(
            "Error getting repos: {}",
            errors.join(", ")
        )));
    }
    Ok(Value::Object(ret))
}

/// `apt-get update`'s `Get:`/`Hit:`/`Ign:`/`Err:` lines as Salt reads them:
/// source → True (fetched), None (unchanged) or False (ignored or failed),
/// and the failed ones.
pub fn parse_update(stdout: &str) -> (Map<String, Value>, Vec<String>) {
    let mut ret = Map::new();
    let mut errors = Vec::new();
    for line in stdout.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = cols.first() else { continue };
        let mut ident = cols[1..].join(" ");
        if first.contains("Get") {
            // Salt strips the size: ` [151 kB]`.
            if let Some(start) = ident.rfind(" [") {
                if ident.ends_with("B]") {
                    ident.truncate(start);
                }
            }
            ret.insert(ident, Value::Bool(true));
        } else if first.contains("Ign") {
            ret.insert(ident, Value::Bool(false));
        } else if first.contains("Hit") {
            ret.insert(ident, Value::Null);
        } else if first.contains("Err") {
            ret.insert(ident.clone(), Value::Bool(false));
            errors.push(ident);
        }
    }
    (ret, errors)
}
