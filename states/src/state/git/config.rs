//! `git.config_set` / `git.config_unset` (salt/states/git.py) with libgit2's
//! config API instead of `git config`.
//!
//! Which file: `repo`'s own (`.git/config`, or `config` of a bare
//! repository), or with `global: True` the `.gitconfig` in the home of
//! `user` (else of the user Brine runs as) from the root's `/etc/passwd`.
//! Salt's `git config` in a repository also reads the system and global
//! files; Brine reads and writes only the one file, so what a state sees
//! does not depend on files outside the root.
//!
//! `user`: a `.gitconfig` Brine creates is given to that user; the
//! repository's file keeps its owner.
//!
//! Salt 3007.8's `config_unset` raises a KeyError when it removes every
//! value of a key; Brine reports the removed values, as Salt means to.
use std::path::{Path, PathBuf};

use common::data::{Map, Value};
use common::pyfmt::{py_repr, py_str};
use git2::Config;

use super::super::accounts::Accounts;
use super::super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

/// The one file a state reads and writes, and who gets a new one.
struct ConfigFile {
    path: PathBuf,
    global: bool,
    new_owner: Option<(u32, u32)>,
}

fn config_file(args: &Args, host: &HostRead) -> Result<Result<ConfigFile, String>, StateError> {
    let global = args.bool_or("global", false)?;
    let repo = args.str("repo")?;
    let user = args.str("user")?;
    let accounts = Accounts::read(host)?;
    let user_entry = match &user {
        Some(u) => match accounts.user(u) {
            Some(e) => Some(e.clone()),
            None => return Ok(Err(format!("User '{u}' is not available"))),
        },
        None => None,
    };
    if global {
        let entry = match user_entry {
            Some(e) => e,
            None => {
                // SAFETY: geteuid has no preconditions.
                let uid = unsafe { libc::geteuid() };
                match accounts.user_by_uid(uid) {
                    Some(e) => e.clone(),
                    None => {
                        return Ok(Err(format!(
                            "Cannot find the home directory of uid {uid} in /etc/passwd for a global git config"
                        )))
                    }
                }
            }
        };
        let home = entry.home.trim_end_matches('/');
        return Ok(Ok(ConfigFile {
            path: host.path(&format!("{home}/.gitconfig"))?,
            global,
            new_owner: user.is_some().then_some((entry.uid, entry.gid)),
        }));
    }
    let Some(repo) = repo else {
        return Ok(Err(
            "Non-global config options require the 'repo' argument to be set".into(),
        ));
    };
    let dir = host.path(&repo)?;
    let path = if dir.join(".git").is_dir() {
        dir.join(".git/config")
    } else if dir.join("HEAD").is_file() && dir.join("objects").is_dir() {
        dir.join("config")
    } else {
        return Ok(Err(format!("{repo} is not a git repository")));
    };
    Ok(Ok(ConfigFile {
        path,
        global,
        new_owner: None,
    }))
}

fn open(path: &Path) -> Result<Config, String> {
    Config::open(path).map_err(|e| format!("cannot read {}: {}", path.display(), e.message()))
}

/// Every value of `name` in the file (`git config --get-all`); `None`: unset.
fn values(path: &Path, name: &str) -> Result<Option<Vec<String>>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let config = open(path)?
        .snapshot()
        .map_err(|e| e.message().to_string())?;
    let mut out = Vec::new();
    let mut entries = match config.multivar(name, None) {
        Ok(e) => e,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(format!("invalid key '{name}': {}", e.message())),
    };
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(|e| e.message().to_string())?;
        out.push(String::from_utf8_lossy(entry.value_bytes()).into_owned());
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Keys matching `key_regex` with their values matching `value_regex`
/// (`git config --get-regexp`), in file order.
fn matching(
    path: &Path,
    key_regex: &str,
    value_regex: Option<&regex::Regex>,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    if !path.exists() {
        return Ok(out);
    }
    let key_re = regex::Regex::new(key_regex).map_err(|e| format!("invalid key regex: {e}"))?;
    let config = open(path)?
        .snapshot()
        .map_err(|e| e.message().to_string())?;
    let mut entries = config.entries(None).map_err(|e| e.message().to_string())?;
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(|e| e.message().to_string())?;
        let (Ok(name), Ok(value)) = (entry.name(), entry.value()) else {
            continue;
        };
        if !key_re.is_match(name) || value_regex.is_some_and(|re| !re.is_match(value)) {
            continue;
        }
        if let Value::Array(list) = out
            .entry(name.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(value.into());
        }
    }
    Ok(out)
}

fn list_value(v: &Option<Vec<String>>) -> Value {
    match v {
        Some(items) => Value::Array(items.iter().map(|s| s.as_str().into()).collect()),
        None => Value::Null,
    }
}

pub(super) fn config_set(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let value = args.get("value");
    let multivar = args.get("multivar");
    let file = config_file(args, host)?;
    if value.is_some() && multivar.is_some() {
        return Ok(Check::fail(
            "Only one of 'value' and 'multivar' is permitted",
        ));
    }
    let (desired, value_comment) = match (value, multivar) {
        (Some(v), None) => {
            let v = py_str(v);
            (vec![v.clone()], format!("'{v}'"))
        }
        (None, Some(Value::Array(items))) => {
            let items: Vec<String> = items.iter().map(py_str).collect();
            let shown = py_repr(&Value::Array(
                items.iter().map(|s| s.as_str().into()).collect(),
            ));
            (items, shown)
        }
        (None, Some(v)) => {
            let items: Vec<String> = py_str(v).split(',').map(str::to_string).collect();
            let shown = py_repr(&Value::Array(
                items.iter().map(|s| s.as_str().into()).collect(),
            ));
            (items, shown)
        }
        _ => return Ok(Check::fail("Either 'value' or 'multivar' must be set")),
    };
    let file = match file {
        Ok(f) => f,
        Err(msg) => return Ok(Check::fail(msg)),
    };
    let global = if file.global { "Global key " } else { "" };
    let pre = match values(&file.path, &name) {
        Ok(v) => v,
        Err(msg) => return Ok(Check::fail(msg)),
    };
    if pre.as_ref() == Some(&desired) {
        return Ok(Check::clean(format!(
            "{global}'{name}' is already set to {value_comment}"
        )));
    }
    let verb = if pre.is_none() { "added as" } else { "set to" };
    let test_changes = changes([
        ("old", list_value(&pre)),
        ("new", list_value(&Some(desired.clone()))),
    ]);
    let test_comment = format!("{global}'{name}' would be {verb} {value_comment}");
    let done = format!("{global}'{name}' was {verb} {value_comment}");
    let failed = format!(
        "Failed to set {}'{name}' to {value_comment}",
        global.to_lowercase()
    );
    Ok(Check::change(
        test_changes,
        test_comment,
        ApplyFn(move |host: &HostWrite| {
            let created = !file.path.exists();
            if let Err(e) = write_values(host, &file.path, &name, &desired) {
                return Ok(Applied::failed(format!("{failed}: {e}"), Map::new()));
            }
            if created {
                if let Some((uid, gid)) = file.new_owner {
                    host.chown(&file.path, Some(uid), Some(gid))?;
                }
            }
            let post = values(&file.path, &name).map_err(StateError::host)?;
            let mut changed = Map::new();
            if post != pre {
                let diff = changes([("old", list_value(&pre)), ("new", list_value(&post))]);
                changed.insert(name.clone(), Value::Object(diff));
            }
            if post.as_ref() != Some(&desired) {
                return Ok(Applied::failed(failed, changed));
            }
            Ok(Applied::ok_with(done, changed))
        }),
    ))
}

/// `git config --replace-all name first` then `--add name` for the rest.
fn write_values(
    host: &HostWrite,
    path: &Path,
    name: &str,
    desired: &[String],
) -> Result<(), String> {
    host.inside(path).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        host.create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let mut config = open(path)?;
    match config.remove_multivar(name, ".*") {
        Ok(()) => {}
        Err(e) if e.code() == git2::ErrorCode::NotFound => {}
        Err(e) => return Err(e.message().to_string()),
    }
    for v in desired {
        // A pattern no existing value matches appends a value.
        config
            .set_multivar(name, "^brine: no value is this one 7f3c2a$", v)
            .map_err(|e| e.message().to_string())?;
    }
    Ok(())
}

pub(super) fn config_unset(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let all = args.bool_or("all", false)?;
    let value_regex = match args.get("value_regex") {
        None => None,
        Some(v) => Some(
            regex::Regex::new(&py_str(v))
                .map_err(|e| StateError::args(format!("invalid value_regex: {e}")))?,
        ),
    };
    let file = match config_file(args, host)? {
        Ok(f) => f,
        Err(msg) => return Ok(Check::fail(msg)),
    };
    let key = format!("^{}$", name.trim_start_matches('^').trim_end_matches('$'));
    let pre_matches = match matching(&file.path, &key, value_regex.as_ref()) {
        Ok(m) => m,
        Err(msg) => return Ok(Check::fail(msg)),
    };
    if pre_matches.is_empty() {
        return Ok(Check::clean("No matching keys are set"));
    }
    if !all {
        let greedy: Vec<String> = pre_matches
            .iter()
            .filter_map(|(k, v)| {
                let vals = v.as_array()?;
                (vals.len() > 1).then(|| {
                    let vals: Vec<String> = vals.iter().map(py_str).collect();
                    format!("{k} ({})", vals.join(", "))
                })
            })
            .collect();
        if !greedy.is_empty() {
            let why = if value_regex.is_some() {
                "Multiple values are matched by value_regex for the following keys (set 'all' to True to force removal)"
            } else {
                "Multivar(s) matched by the key expression (set 'all' to True to force removal)"
            };
            return Ok(Check::fail(format!("{why}: {}", greedy.join("; "))));
        }
    }
    let test_comment = format!("{} key(s) would have value(s) unset", pre_matches.len());
    let test_changes = pre_matches.clone();
    Ok(Check::change(
        test_changes,
        test_comment,
        ApplyFn(move |host: &HostWrite| {
            let pre_all = matching(&file.path, &key, None).map_err(StateError::host)?;
            let pattern = value_regex.as_ref().map_or(".*", |r| r.as_str());
            let mut failed = Vec::new();
            for key_name in pre_matches.keys() {
                if let Err(e) = unset(host, &file.path, key_name, pattern) {
                    tracing::error!(key = %key_name, error = %e, "git.config_unset");
                    failed.push(key_name.clone());
                }
            }
            if !failed.is_empty() {
                return Ok(Applied::failed(
                    format!(
                        "Error(s) occurred unsetting values for the following keys (see the minion log for details): {}",
                        failed.join(", ")
                    ),
                    Map::new(),
                ));
            }
            let post = matching(&file.path, &key, None).map_err(StateError::host)?;
            let mut changed = Map::new();
            for (key_name, before) in &pre_all {
                let after = post.get(key_name).and_then(Value::as_array);
                let unset: Vec<Value> = before
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| !after.is_some_and(|a| a.contains(v)))
                    .cloned()
                    .collect();
                if !unset.is_empty() {
                    changed.insert(key_name.clone(), Value::Array(unset));
                }
            }
            let left =
                matching(&file.path, &key, value_regex.as_ref()).map_err(StateError::host)?;
            if !left.is_empty() {
                let left: Vec<String> = left
                    .iter()
                    .map(|(k, v)| {
                        let vals: Vec<String> =
                            v.as_array().into_iter().flatten().map(py_str).collect();
                        format!("{k} ({})", vals.join(", "))
                    })
                    .collect();
                return Ok(Applied::failed(
                    format!("Failed to unset value(s): {}", left.join("; ")),
                    changed,
                ));
            }
            Ok(Applied::ok_with("Value(s) successfully unset", changed))
        }),
    ))
}

fn unset(host: &HostWrite, path: &Path, key: &str, value_pattern: &str) -> Result<(), String> {
    host.inside(path).map_err(|e| e.to_string())?;
    let mut config = open(path)?;
    match config.remove_multivar(key, value_pattern) {
        Ok(()) => Ok(()),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(()),
        Err(e) => Err(e.message().to_string()),
    }
}

#[cfg(test)]
mod tests;
