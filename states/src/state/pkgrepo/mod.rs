//! `pkgrepo` for apt (`salt/states/pkgrepo.py` over `aptpkg.mod_repo` /
//! `del_repo`): `managed` and `absent` of one-line `deb` entries, with Salt's
//! comments and `changes`.
//!
//! Unlike Salt, other lines of a sources file are kept byte for byte (Salt
//! re-renders every file), writes are atomic, and `disabled`/`enabled` work
//! on Debian too (Salt applies them only on Ubuntu).
//!
//! Keys: `key_url` (`salt://…`, `file://…` or a local path) and `key_text`
//! are written to the line's `signed-by` file, de-armored unless it ends in
//! `.asc`; without `signed-by` the key goes to `/etc/apt/keyrings/<name>.gpg`
//! and `signed-by` is added to the line (apt-key, which Salt falls back to, is
//! gone from current Debian/Ubuntu). Not supported, with a clear error:
//! `keyid`/`keyserver` and http(s) key URLs (no network fetches), `ppa`,
//! `consolidate`, deb822 `*.sources` files (which Salt does not read either).
mod keyring;
mod sources;
mod write;

use common::data::{Map, Value};
use serde_json::json;

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use sources::{Entry, ListFile, LIST_DIR, MAIN_LIST};

pub struct PkgRepo;

const KEYRING_DIR: &str = "/etc/apt/keyrings";

impl super::StateModule for PkgRepo {
    fn name(&self) -> &'static str {
        "pkgrepo"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::PKGREPO
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "managed" => managed(args, host),
            "absent" => absent(args, host),
            other => Err(StateError::args(format!(
                "pkgrepo.{other} is not a state function"
            ))),
        }
    }
}

fn opt_bool(args: &Args, key: &str) -> Result<Option<bool>, StateError> {
    match args.get(key) {
        None => Ok(None),
        Some(_) => args.bool_or(key, false).map(Some),
    }
}

/// `comps`/`architectures`: a comma-separated string or a list.
fn list_arg(args: &Args, key: &str) -> Result<Option<Vec<String>>, StateError> {
    Ok(args.str_list(key)?.map(|items| {
        items
            .iter()
            .flat_map(|i| i.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }))
}

/// `refresh` (default True), or the deprecated `refresh_db`, which Salt's
/// `mod_repo` lets win.
fn refresh_arg(args: &Args) -> Result<bool, StateError> {
    let refresh = args.bool_or("refresh", true)?;
    match args.get("refresh_db") {
        Some(_) => args.bool_or("refresh_db", true),
        None => Ok(refresh),
    }
}

const WOULD_CHANGE: &str = "This may cause pkg states to behave differently than stated if this action is repeated without test=True, due to the differences in the configured repositories.";

/// Runs `apt-get update` after sources changed. Only on a real root: apt
/// reads this host's sources, not a context root's.
fn refresh(host: &HostWrite) -> Result<(), String> {
    if host.root() != std::path::Path::new("/") {
        return Err(format!(
            "apt-get update reads this host's sources, not those under {}; set refresh: False",
            host.root().display()
        ));
    }
    let argv = ["apt-get", "-q", "update"];
    let out = host
        .run(&argv, &[("DEBIAN_FRONTEND", "noninteractive")], None)
        .map_err(|e| e.to_string())?;
    if out.retcode != 0 {
        return Err(out.stderr.trim().to_string());
    }
    Ok(())
}

/// New contents for sources files: `None` removes the file.
type Writes = Vec<(String, Option<String>)>;

fn write_all(host: &HostWrite, writes: &Writes) -> Result<(), StateError> {
    for (path, content) in writes {
        let real = host.path(path)?;
        match content {
            Some(text) => write::atomic(host, &real, text.as_bytes(), 0o644)?,
            None => write::remove(host, &real)?,
        }
    }
    Ok(())
}

/// Salt's sanitized view of an entry, in Salt's key order (`file` is left
/// out, as Salt pops it before comparing).
fn sanitized(e: &Entry, line: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("comps", json!(e.comps)),
        ("disabled", json!(e.disabled)),
        ("dist", json!(e.dist)),
        ("type", json!(e.kind)),
        ("uri", json!(e.uri)),
        ("line", json!(line.trim())),
        ("architectures", json!(e.architectures())),
        ("signedby", json!(e.signed_by())),
    ]
}

/// Whether the existing entry already is what is asked.
fn equivalent(want: &Entry, have: &Entry, compare_comment: bool) -> bool {
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    let other_opts = |e: &Entry| {
        let mut o: Vec<(String, String)> = e
            .options
            .iter()
            .filter(|(k, _)| k != "arch" && k != "signed-by")
            .cloned()
            .collect();
        o.sort();
        o
    };
    want.kind == have.kind
        && want.uri == have.uri
        && want.dist == have.dist
        && want.disabled == have.disabled
        && sorted(&want.comps) == sorted(&have.comps)
        && sorted(&want.architectures()) == sorted(&have.architectures())
        && want.signed_by() == have.signed_by()
        && other_opts(want) == other_opts(have)
        && (!compare_comment || want.comment.trim() == have.comment.trim())
}

/// The key to install, read now so a dry run shows whether it would change.
struct Key {
    path: String,
    bytes: Vec<u8>,
}

/// Reads `key_url`/`key_text` and points the entry's `signed-by` at the
/// keyring file. `Err(comment)` is a failed state.
fn desired_key(
    host: &HostRead,
    name: &str,
    want: &mut Entry,
    file: &str,
    key_url: Option<String>,
    key_text: Option<String>,
) -> Result<Option<Key>, String> {
    let (data, stem) = match (key_url, key_text) {
        (None, None) => return Ok(None),
        (Some(url), _) => {
            if url.starts_with("http://")
                || url.starts_with("https://")
                || url.starts_with("ftp://")
            {
                return Err(format!(
                    "key_url {url}: Brine does not download keys from the network; put the key in the state tree and use key_url: salt://..."
                ));
            }
            let local = url.strip_prefix("file://").unwrap_or(&url);
            let data = host.sources().fetch(local).map_err(|e| {
                format!("Failed to configure repo '{name}': Error: file not found: {url} ({e})")
            })?;
            (data, keyring::stem(&url))
        }
        (None, Some(text)) => {
            let stem = if file == MAIN_LIST {
                keyring::stem(&want.uri.replace("://", "-").replace('/', "-"))
            } else {
                keyring::stem(file.trim_end_matches(".list"))
            };
            (text.into_bytes(), stem)
        }
    };
    let path = match want.signed_by() {
        s if s.is_empty() => {
            let path = format!("{KEYRING_DIR}/{stem}.gpg");
            want.set_option("signed-by", &path);
            path
        }
        s if s.starts_with('/') => s,
        s => {
            return Err(format!(
                "signed-by={s} is not a file path: with key_url/key_text, signed-by names the keyring file to write"
            ))
        }
    };
    let bytes = keyring::for_path(&path, &data)
        .map_err(|e| format!("Failed to configure repo '{name}': Error: failed to add key: {e}"))?;
    Ok(Some(Key { path, bytes }))
}

fn managed(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let file = args.str("file")?;
    let comps = list_arg(args, "comps")?;
    let architectures = list_arg(args, "architectures")?;
    let enabled = opt_bool(args, "enabled")?;
    let disabled = opt_bool(args, "disabled")?;
    let comments = args
        .str_list("comments")?
        .map(|c| c.join(" ").trim().to_string());
    let refresh = refresh_arg(args)?;
    let clean_file = args.bool_or("clean_file", false)?;
    let key_url = args.str("key_url")?;
    let key_text = args.str("key_text")?;
    let keyid = args.get("keyid").is_some();
    let keyserver = args.get("keyserver").is_some();
    let consolidate = args.bool_or("consolidate", false)?;
    let ppa = args.get("ppa").is_some() || args.get("ppa_auth").is_some();
    // Accepted for Salt compatibility; apt-key is never used and keys are
    // never fetched over http.
    let _ = args.get("aptkey");
    let _ = args.get("allow_insecure_key");
    let repo_arg = args.get("repo").is_some();

    let refusal = if repo_arg {
        Some("'repo' is not a supported argument for this state. The 'name' argument is probably what was intended.".to_string())
    } else if key_url.is_some() && (keyid || keyserver) {
        Some("You may not use both \"keyid\"/\"keyserver\" and \"key_url\" argument.".into())
    } else if key_text.is_some() && (keyid || keyserver) {
        Some("You may not use both \"keyid\"/\"keyserver\" and \"key_text\" argument.".into())
    } else if key_text.is_some() && key_url.is_some() {
        Some("You may not use both \"key_url\" and \"key_text\" argument.".into())
    } else if keyid || keyserver {
        Some("keyid/keyserver (fetching keys from a keyserver) is not supported: put the key in the state tree and use key_url: salt://...".into())
    } else if ppa {
        Some("ppa is not supported: write the PPA's deb line as name, with its key in key_url: salt://...".into())
    } else if consolidate {
        Some("consolidate is not supported".into())
    } else if enabled.is_some() && disabled.is_some() {
        Some("Only one of enabled/disabled is allowed".into())
    } else {
        None
    };
    if let Some(comment) = refusal {
        return Ok(Check::fail(comment));
    }

    let Some(found_by) = Entry::parse(&name) else {
        return Ok(Check::fail(format!(
            "Failed to configure repo '{name}': Name {name} is not valid. This must be the complete repo entry as seen in the sources file"
        )));
    };
    let file = file.unwrap_or_else(|| MAIN_LIST.to_string());
    if !file.starts_with('/') || !file.ends_with(".list") {
        return Err(StateError::args(format!(
            "file must be an absolute path ending in .list (apt reads no other files), got {file:?}"
        )));
    }
    let mut want = found_by.clone();
    if let Some(c) = comps {
        want.comps = c;
    }
    match architectures {
        Some(a) if a.is_empty() => want.remove_option("arch"),
        Some(a) => want.set_option("arch", &a.join(",")),
        None => {}
    }
    if let Some(e) = enabled {
        want.disabled = !e;
    } else if let Some(d) = disabled {
        want.disabled = d;
    }
    if let Some(c) = &comments {
        want.comment = c.clone();
    }
    let key = match desired_key(host, &name, &mut want, &file, key_url, key_text) {
        Ok(key) => key,
        Err(comment) => return Ok(Check::fail(comment)),
    };
    let key_change = match &key {
        Some(k) => std::fs::read(host.path(&k.path)?).ok().as_deref() != Some(k.bytes.as_slice()),
        None => false,
    };

    let mut files = sources::read_all(host)?;
    if !files.iter().any(|f| f.path == file) {
        let existing = sources::read_one(host, &file)?;
        files.push(existing.unwrap_or(ListFile {
            path: file.clone(),
            lines: Vec::new(),
        }));
    }
    let pre = files.iter().enumerate().find_map(|(fi, f)| {
        f.entries()
            .find(|(_, e)| found_by.finds(e))
            .map(|(li, e)| (fi, li, e))
    });
    let repo_same = pre
        .as_ref()
        .is_some_and(|(_, _, have)| equivalent(&want, have, comments.is_some()));
    if repo_same && !key_change {
        return Ok(Check::clean(format!(
            "Package repo '{name}' already configured"
        )));
    }

    // Like Salt, an entry's own comment stays unless `comments` is given.
    if let (None, Some((_, _, have))) = (&comments, &pre) {
        want.comment = have.comment.clone();
    }
    let line = want.render();
    let mut changes = Map::new();
    let mut writes: Writes = Vec::new();
    match &pre {
        Some((fi, li, have)) => {
            if !repo_same {
                let old_line = &files[*fi].lines[*li];
                for ((key, new), (_, old)) in sanitized(&want, &line)
                    .into_iter()
                    .zip(sanitized(have, old_line))
                {
                    if new != old {
                        changes.insert(key.into(), json!({"new": new, "old": old}));
                    }
                }
                let mut edited = files[*fi].clone();
                if clean_file && edited.path == file {
                    edited.lines = vec![line.clone()];
                } else if clean_file {
                    edited.lines.remove(*li);
                    writes.push((file.clone(), Some(format!("{line}\n"))));
                } else {
                    edited.lines[*li] = line.clone();
                }
                writes.push((edited.path.clone(), Some(edited.text())));
            }
        }
        None => {
            changes.insert("repo".into(), json!(name));
            let target = files.iter().find(|f| f.path == file).cloned();
            let mut lines = match (target, clean_file) {
                (Some(t), false) => t.lines,
                _ => Vec::new(),
            };
            lines.push(line.clone());
            writes.push((
                file.clone(),
                Some(
                    ListFile {
                        path: file.clone(),
                        lines,
                    }
                    .text(),
                ),
            ));
        }
    }
    if key_change {
        if let Some(k) = &key {
            changes.insert("keyring".into(), json!(k.path));
        }
    }

    let test_comment = format!("Package repo '{name}' would be configured. {WOULD_CHANGE}");
    let key = key.filter(|_| key_change);
    Ok(Check::change(
        changes.clone(),
        test_comment,
        ApplyFn(move |w: &HostWrite| {
            if let Some(k) = &key {
                let real = w.path(&k.path)?;
                if let Err(e) = write::atomic(w, &real, &k.bytes, 0o644) {
                    return Ok(Applied::failed(
                        format!("Failed to configure repo '{name}': Error: failed to add key: {e}"),
                        Map::new(),
                    ));
                }
            }
            write_all(w, &writes)?;
            if refresh {
                if let Err(e) = self::refresh(w) {
                    return Ok(Applied::failed(
                        format!("Failed to configure repo '{name}': {e}"),
                        changes,
                    ));
                }
            }
            Ok(Applied::ok_with(
                format!("Configured package repo '{name}'"),
                changes,
            ))
        }),
    ))
}

fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let refresh = refresh_arg(args)?;
    let keyid = args.get("keyid").is_some() || args.bool_or("keyid_ppa", false)?;
    let ppa = args.get("ppa").is_some() || args.get("ppa_auth").is_some();
    if ppa {
        return Ok(Check::fail(
            "ppa is not supported: name the PPA's deb line instead",
        ));
    }
    if keyid {
        return Ok(Check::fail(
            "keyid (removing keys from apt-key's keyring) is not supported: remove the keyring file with file.absent",
        ));
    }
    let stripped = sources::strip_uri(&name);
    let Some(want) = Entry::parse(&stripped) else {
        return Ok(Check::fail(format!(
            "Failed to configure repo '{name}': Error: repo '{stripped}' is not a well formatted definition"
        )));
    };
    let set = |v: Vec<String>| v.into_iter().collect::<std::collections::BTreeSet<_>>();
    let files = sources::read_all(host)?;
    let present = files.iter().any(|f| {
        f.entries()
            .any(|(_, e)| want.finds(&e) && set(e.architectures()) == set(want.architectures()))
    });
    if !present {
        return Ok(Check::clean(format!("Package repo {name} is absent")));
    }

    // Salt's del_repo: drop the named components from every matching entry,
    // and the entry when none are left.
    let mut writes: Writes = Vec::new();
    for f in &files {
        let mut edited = f.clone();
        let mut touched = false;
        for (li, e) in f.entries() {
            let matches = e.same_repo(&want)
                && set(e.architectures()) == set(want.architectures())
                && (e.comps.iter().any(|c| want.comps.contains(c))
                    || (e.comps.is_empty() && want.comps.is_empty()));
            if !matches {
                continue;
            }
            touched = true;
            let mut rest = e.clone();
            rest.comps.retain(|c| !want.comps.contains(c));
            edited.lines[li] = if rest.comps.is_empty() {
                String::new()
            } else {
                rest.render()
            };
        }
        if touched {
            // Keep the file's other lines; drop only the emptied line itself.
            let emptied: Vec<usize> = f
                .entries()
                .map(|(li, _)| li)
                .filter(|&li| edited.lines[li].is_empty())
                .collect();
            edited.lines = edited
                .lines
                .iter()
                .enumerate()
                .filter(|(i, _)| !emptied.contains(i))
                .map(|(_, l)| l.clone())
                .collect();
            let in_list_dir = edited.path.starts_with(&format!("{LIST_DIR}/"));
            let content = if in_list_dir && edited.is_empty() {
                None
            } else {
                Some(edited.text())
            };
            writes.push((edited.path.clone(), content));
        }
    }
    let comment = format!("Package repo '{name}' will be removed. {WOULD_CHANGE}");
    Ok(Check::change(
        Map::new(),
        comment,
        ApplyFn(move |w: &HostWrite| {
            write_all(w, &writes)?;
            let done = changes([("repo", json!(name))]);
            if refresh {
                if let Err(e) = self::refresh(w) {
                    return Ok(Applied::failed(e, done));
                }
            }
            Ok(Applied::ok_with(format!("Removed repo {name}"), done))
        }),
    ))
}

#[cfg(test)]
mod tests;
