//! `ssh_auth.present` / `ssh_auth.absent`: keys in a user's authorized_keys
//! (salt/states/ssh_auth.py over salt/modules/ssh.py), with Salt's comments.
//!
//! Better than Salt: the file is replaced atomically (temp file, fsync,
//! rename) instead of rewritten in place, lines Brine does not touch are kept
//! as they are (Salt drops blank and unparsable lines whenever it rewrites),
//! and a key from a `source` file keeps its whole comment.
mod keys;

use std::path::{Path, PathBuf};

use common::data::Value;

use super::accounts::Accounts;
use super::atomic_file::{self, Meta};
use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use keys::AuthKey;

pub struct SshAuth;

impl super::StateModule for SshAuth {
    fn name(&self) -> &'static str {
        "ssh_auth"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::SSH_AUTH
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            "absent" => absent(args, host),
            other => Err(StateError::args(format!(
                "ssh_auth.{other} is not a state function"
            ))),
        }
    }
}

const INVALID_KEY: &str = "Invalid public ssh key, most likely has spaces or invalid syntax";
const NO_HOME: &str =
    "Failed to add the ssh key. Is the home directory available, and/or does the key file exist?";

/// The keys a state names: its `name` (one key) or a `source` file.
struct Wanted {
    user: String,
    config: String,
    /// `Some(url)` when the keys came from a file.
    source: Option<String>,
    keys: Vec<AuthKey>,
    /// What changes and comments call the state: the key itself for a
    /// single key (as Salt rewrites `name`), else the state's name.
    label: String,
}

/// Reads the arguments; `Ok(Err(comment))` is Salt's own failure.
fn wanted(args: &Args, host: &HostRead) -> Result<Result<Wanted, String>, StateError> {
    let name = args.name();
    let user = args
        .str("user")?
        .filter(|u| !u.is_empty())
        .ok_or_else(|| StateError::args("ssh_auth needs a 'user'"))?;
    let mut enc = args.str_or("enc", "ssh-rsa")?;
    let mut comment = args.str_or("comment", "")?;
    let source = args.str("source")?.filter(|s| !s.is_empty());
    let mut options = args.str_list("options")?.unwrap_or_default();
    let config = args.str_or("config", ".ssh/authorized_keys")?;
    if let Some(hash) = args.str("fingerprint_hash_type")? {
        keys::check_hash_type(&hash)?;
    }
    let Some(url) = source else {
        let key = keys::split_name(&name, &mut enc, &mut comment, &mut options);
        if key.is_empty() || key.contains(char::is_whitespace) || !keys::is_base64(&key) {
            return Ok(Err(INVALID_KEY.into()));
        }
        return Ok(Ok(Wanted {
            user,
            config,
            source: None,
            keys: vec![AuthKey {
                enc: keys::refine_enc(&enc)?,
                key: key.clone(),
                comment,
                options,
            }],
            label: key,
        }));
    };
    let text = match host.sources().fetch(&url) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => {
            return Ok(Err(format!(
                "Failed to add the ssh key. Source file {url} is missing"
            )))
        }
    };
    let mut found = keys::validate_keys(&text);
    if found.is_empty() {
        return Ok(Err(format!(
            "No keys detected in {url}. Is file properly formatted?"
        )));
    }
    for k in &mut found {
        k.enc = keys::refine_enc(&k.enc)?;
        // Salt gives a plain line in a source file the state's options.
        if k.options.is_empty() {
            k.options = options.clone();
        }
    }
    Ok(Ok(Wanted {
        user,
        config,
        source: Some(url),
        keys: found,
        label: name,
    }))
}

/// The user's key file under the root, with who should own it.
struct KeyFile {
    path: PathBuf,
    home: PathBuf,
    owner: Option<(u32, u32)>,
    text: String,
}

/// `None` when the user does not exist (yet).
fn key_file(host: &HostRead, user: &str, config: &str) -> Result<Option<KeyFile>, StateError> {
    let accounts = Accounts::read(host)?;
    let Some(entry) = accounts.user(user) else {
        return Ok(None);
    };
    let path = host.path(&keys::config_path(config, user, &entry.home)?)?;
    let text = match std::fs::read(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(StateError::host(format!(
                "Problem reading ssh key file {}: {e}",
                path.display()
            )))
        }
    };
    // SAFETY: geteuid has no preconditions.
    let is_root = unsafe { libc::geteuid() } == 0;
    Ok(Some(KeyFile {
        path,
        home: host.path(&entry.home)?,
        owner: is_root.then_some((entry.uid, entry.gid)),
        text,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Add,
    Update,
    Exists,
}

/// Salt's `check_key`: the same key with another line is an update.
fn status(current: &[AuthKey], want: &AuthKey) -> Status {
    match current.iter().find(|c| c.key == want.key) {
        None => Status::Add,
        Some(c) if c.line() != want.line() => Status::Update,
        Some(_) => Status::Exists,
    }
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let w = match wanted(args, host)? {
        Ok(w) => w,
        Err(comment) => return Ok(Check::fail(comment)),
    };
    let file = key_file(host, &w.user, &w.config)?;
    let current = file
        .as_ref()
        .map(|f| keys::validate_keys(&f.text))
        .unwrap_or_default();
    let statuses: Vec<Status> = w.keys.iter().map(|k| status(&current, k)).collect();
    if statuses.iter().all(|s| *s == Status::Exists) {
        let comment = format!(
            "The authorized host key {} is already present for user {}",
            w.label, w.user
        );
        return Ok(Check::Clean {
            comment,
            test_comment: w
                .source
                .as_ref()
                .map(|url| format!("All host keys in file {url} are already present")),
        });
    }
    let test_comment = match &w.source {
        None => format!(
            "Key {} for user {} is set to be {}",
            w.label,
            w.user,
            if statuses[0] == Status::Update {
                "updated"
            } else {
                "added"
            }
        ),
        Some(_) => w
            .keys
            .iter()
            .zip(&statuses)
            .filter(|(_, s)| **s != Status::Exists)
            .map(|(k, s)| {
                let word = if *s == Status::Update {
                    "update"
                } else {
                    "add"
                };
                format!("Set to {word}: {}\n", k.key)
            })
            .collect(),
    };
    let updated = statuses.contains(&Status::Update);
    let (word, change) = if updated {
        ("updated", "Updated")
    } else {
        ("added", "New")
    };
    let done = format!(
        "The authorized host key {} for user {} was {word}",
        w.label, w.user
    );
    let changes = changes([(w.label.as_str(), Value::from(change))]);
    let Some(file) = file else {
        // The user is not there: a dry run says what would happen (as Salt's
        // does); a real run fails as Salt's does.
        return Ok(Check::change(
            Default::default(),
            test_comment,
            ApplyFn(|_: &HostWrite| Ok(Applied::failed(NO_HOME, Default::default()))),
        ));
    };
    let new_text = with_keys(&file.text, &w.keys);
    let adds = statuses.contains(&Status::Add);
    Ok(Check::change(
        Default::default(),
        test_comment,
        ApplyFn(move |host: &HostWrite| {
            if adds && file.path.starts_with(&file.home) && !file.home.is_dir() {
                return Ok(Applied::failed(NO_HOME, Default::default()));
            }
            Ok(match write_keys(host, &file, &new_text) {
                Ok(()) => Applied::ok_with(done, changes),
                Err(e) => Applied::failed(
                    format!("Problem reading or writing to key file: {e}"),
                    Default::default(),
                ),
            })
        }),
    ))
}

/// The file with each wanted key's line in place of the old one (every
/// line of that key) or appended.
fn with_keys(text: &str, wanted: &[AuthKey]) -> String {
    let mut out = String::new();
    let mut placed: Vec<&str> = Vec::new();
    for line in text.split_inclusive('\n') {
        let replacement =
            keys::parse_line(line).and_then(|k| wanted.iter().find(|w| w.key == k.key));
        match replacement {
            Some(w) if !placed.contains(&w.key.as_str()) => {
                out.push_str(&w.line());
                placed.push(&w.key);
            }
            Some(_) => {}
            None => out.push_str(line),
        }
    }
    for w in wanted.iter().filter(|w| !placed.contains(&w.key.as_str())) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&w.line());
    }
    out
}

/// The file without any line of these keys.
fn without_keys(text: &str, gone: &[String]) -> String {
    text.split_inclusive('\n')
        .filter(|line| keys::parse_line(line).is_none_or(|k| !gone.contains(&k.key)))
        .collect()
}

/// Writes the key file atomically: `~/.ssh` 0700 and the file 0600, owned
/// by the user, when they are new; an existing file keeps its mode and owner.
fn write_keys(host: &HostWrite, file: &KeyFile, text: &str) -> Result<(), StateError> {
    let dir = file
        .path
        .parent()
        .ok_or_else(|| StateError::args("the key file has no directory"))?;
    if !dir.is_dir() {
        create_private_dir(host, dir, file.owner)?;
    }
    let meta = atomic_file::existing_meta(&file.path).unwrap_or(Meta {
        mode: 0o600,
        owner: file.owner,
    });
    host.write_file(&file.path, text.as_bytes(), meta)
}

fn create_private_dir(
    host: &HostWrite,
    dir: &Path,
    owner: Option<(u32, u32)>,
) -> Result<(), StateError> {
    let err = |e: std::io::Error| StateError::host(format!("cannot create {}: {e}", dir.display()));
    host.create_dir_all(dir).map_err(err)?;
    host.set_mode(dir, 0o700).map_err(err)?;
    if let Some((uid, gid)) = owner {
        host.chown(dir, Some(uid), Some(gid)).map_err(err)?;
    }
    Ok(())
}

fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let w = match wanted(args, host)? {
        Ok(w) => w,
        Err(comment) => return Ok(Check::fail(comment)),
    };
    let file = key_file(host, &w.user, &w.config)?;
    let current = file
        .as_ref()
        .map(|f| keys::validate_keys(&f.text))
        .unwrap_or_default();
    let gone: Vec<String> = w
        .keys
        .iter()
        .filter(|k| current.iter().any(|c| c.key == k.key))
        .map(|k| k.key.clone())
        .collect();
    let (Some(file), false) = (file, gone.is_empty()) else {
        return Ok(Check::Clean {
            comment: "Key not present".into(),
            test_comment: Some(match &w.source {
                None => "Key is already absent".into(),
                Some(url) => format!("All host keys in file {url} are already absent"),
            }),
        });
    };
    let test_comment = match &w.source {
        None => format!("Key {} for user {} is set for removal", w.label, w.user),
        Some(_) => gone
            .iter()
            .map(|k| format!("Set to remove: {k}\n"))
            .collect(),
    };
    let new_text = without_keys(&file.text, &gone);
    let changes = changes([(w.label.as_str(), Value::from("Removed"))]);
    Ok(Check::change(
        Default::default(),
        test_comment,
        ApplyFn(move |host: &HostWrite| {
            Ok(match write_keys(host, &file, &new_text) {
                Ok(()) => Applied::ok_with("Key removed", changes),
                Err(e) => Applied::failed(format!("Key not removed: {e}"), Default::default()),
            })
        }),
    ))
}

#[cfg(test)]
mod tests;
