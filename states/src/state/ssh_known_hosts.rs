//! `ssh_known_hosts.present` / `.absent` (salt/states/ssh_known_hosts.py
//! over salt/modules/ssh.py), with `ssh-keygen` as Salt uses it: `-F` to
//! find a host's lines (hashed ones too), `-R` to remove them, `-H` to hash
//! the file after adding a key.
//!
//! Host keys from the network: with a `fingerprint` and no `key`, the apply
//! asks the host with `ssh-keyscan` (Salt's way) and saves its keys when one
//! has that fingerprint. With neither `key` nor `fingerprint` Salt trusts
//! whatever `ssh-keyscan` returns; Brine refuses instead, saying so, as a
//! key taken on first use is not one a state tree vouched for.
//!
//! Fingerprints are Salt's: the hex digest of the key's bytes, colon-separated
//! (`sha256` unless `fingerprint_hash_type` says `md5` or `sha1`).
use std::path::{Path, PathBuf};

use common::data::{Map, Value};
use sha2::Digest;

use super::accounts::Accounts;
use super::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct SshKnownHosts;

const DEFAULT_SSH_PORT: i64 = 22;

impl super::StateModule for SshKnownHosts {
    fn name(&self) -> &'static str {
        "ssh_known_hosts"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::SSH_KNOWN_HOSTS
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            "absent" => absent(args, host),
            other => Err(StateError::args(format!(
                "ssh_known_hosts.{other} is not a state function (Brine has: present, absent)"
            ))),
        }
    }
}

/// One known_hosts line as Salt's `_parse_openssh_output` reports it.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    hostname: String,
    enc: String,
    key: String,
    fingerprint: String,
}

impl Entry {
    fn to_value(&self) -> Value {
        serde_json::json!({
            "hostname": self.hostname, "key": self.key, "enc": self.enc,
            "fingerprint": self.fingerprint,
        })
    }
}

fn entries_value(entries: &[Entry]) -> Value {
    if entries.is_empty() {
        Value::Null
    } else {
        Value::Array(entries.iter().map(Entry::to_value).collect())
    }
}

/// Salt's `_fingerprint`; `None` for a key that is not base64.
fn fingerprint(key: &str, hash: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(key).ok()?;
    let digest: Vec<u8> = match hash {
        "md5" => md5::Md5::digest(&raw).to_vec(),
        "sha1" => sha1::Sha1::digest(&raw).to_vec(),
        "sha224" => sha2::Sha224::digest(&raw).to_vec(),
        "sha256" => sha2::Sha256::digest(&raw).to_vec(),
        "sha384" => sha2::Sha384::digest(&raw).to_vec(),
        "sha512" => sha2::Sha512::digest(&raw).to_vec(),
        _ => return None,
    };
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// Salt's `_parse_openssh_output` (of `ssh-keygen -F` or `ssh-keyscan`).
fn parse_output(text: &str, hash: &str) -> Vec<Entry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let [hostname, enc, key] = parts[..] else {
                return None;
            };
            Some(Entry {
                hostname: hostname.into(),
                enc: enc.into(),
                key: key.into(),
                fingerprint: fingerprint(key, hash)?,
            })
        })
        .collect()
}

/// Salt's `_hostname_and_port_to_ssh_hostname`.
fn ssh_hostname(name: &str, port: Option<i64>) -> String {
    match port {
        Some(p) if p != DEFAULT_SSH_PORT => format!("[{name}]:{p}"),
        _ => name.to_string(),
    }
}

/// What both functions read: the file, and who owns it.
struct Target {
    /// As the state names it, for comments.
    config: String,
    full: PathBuf,
    owner: Option<(u32, u32)>,
}

/// Salt's `_get_known_hosts_file`; `Err` is Salt's failure comment.
fn target(args: &Args, host: &HostRead) -> Result<Result<Target, String>, StateError> {
    let user = args.str("user")?;
    let config = match (args.str("config")?, &user) {
        (Some(c), _) => c,
        (None, Some(_)) => ".ssh/known_hosts".to_string(),
        (None, None) => "/etc/ssh/ssh_known_hosts".to_string(),
    };
    let entry = match &user {
        Some(u) => match Accounts::read(host)?.user(u) {
            Some(e) => Some(e.clone()),
            None => return Ok(Err(format!("User {u} does not exist"))),
        },
        None => None,
    };
    let full = if config.starts_with('/') {
        config.clone()
    } else {
        match &entry {
            Some(e) => format!("{}/{config}", e.home.trim_end_matches('/')),
            None => {
                return Ok(Err(
                    "If not specifying a \"user\", specify an absolute \"config\".".into(),
                ))
            }
        }
    };
    // SAFETY: geteuid has no preconditions.
    let is_root = unsafe { libc::geteuid() } == 0;
    Ok(Ok(Target {
        config,
        full: host.path(&full)?,
        owner: entry.filter(|_| is_root).map(|e| (e.uid, e.gid)),
    }))
}

/// `ssh-keygen -F host -f file`: the matching lines and their line numbers.
fn find(host: &HostRead, full: &Path, ssh_host: &str, hash: &str) -> Result<Found, String> {
    if !full.is_file() {
        return Ok(Found::default());
    }
    let file = full.to_string_lossy();
    let out = host
        .query(&["ssh-keygen", "-F", ssh_host, "-f", &file])
        .map_err(|e| format!("ssh-keygen is needed for known_hosts: {e}"))?;
    let mut found = Found {
        entries: parse_output(&out.stdout, hash),
        lines: Vec::new(),
    };
    // Salt's _get_matched_host_line_numbers: "# Host h found: line N" then the line.
    let lines: Vec<&str> = out.stdout.lines().collect();
    for pair in lines.chunks(2) {
        let (Some(header), Some(line)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let no = header
            .split_whitespace()
            .last()
            .and_then(|n| n.parse::<usize>().ok());
        let enc = line.split_whitespace().rev().nth(1).unwrap_or("");
        if let Some(no) = no {
            found.lines.push((no, enc.to_string()));
        }
    }
    Ok(found)
}

#[derive(Default)]
struct Found {
    entries: Vec<Entry>,
    /// (line number, key type) of each match.
    lines: Vec<(usize, String)>,
}

fn hash_type(args: &Args) -> Result<String, StateError> {
    let hash = args
        .str("fingerprint_hash_type")?
        .unwrap_or_else(|| "sha256".into())
        .to_lowercase();
    if fingerprint("", &hash).is_none() {
        return Err(StateError::args(format!(
            "The fingerprint_hash_type {hash} is not supported."
        )));
    }
    Ok(hash)
}

/// Where the new keys come from.
enum Source {
    Key(Entry),
    /// `ssh-keyscan`, keeping the keys only if one has this fingerprint.
    Scan {
        fingerprint: String,
    },
}

struct Add {
    name: String,
    target: Target,
    old: Vec<Entry>,
    /// Line numbers `ssh-keygen -F` found for the replaced key type.
    remove: Vec<usize>,
    source: Source,
    enc: Option<String>,
    port: Option<i64>,
    hash_known_hosts: bool,
    timeout: i64,
    hash: String,
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let key = args.str("key")?;
    let fp = args.str("fingerprint")?;
    let enc = args.str("enc")?;
    let port = args.int("port")?;
    let hash_known_hosts = args.bool_or("hash_known_hosts", true)?;
    let timeout = args.int("timeout")?.unwrap_or(5);
    let hash = hash_type(args)?;
    let target = match target(args, host)? {
        Ok(t) => t,
        Err(msg) => return Ok(Check::fail(msg)),
    };
    if key.is_some() && fp.is_some() {
        return Ok(Check::fail(
            "Specify either \"key\" or \"fingerprint\", not both.",
        ));
    }
    if key.is_some() && enc.is_none() {
        return Ok(Check::fail(
            "Required argument \"enc\" if using \"key\" argument.",
        ));
    }
    if key.is_none() && fp.is_none() {
        return Ok(Check::fail(format!(
            "ssh_known_hosts.present {name}: give the host's \"key\" (with \"enc\") or its \
             \"fingerprint\". Brine does not take whatever key ssh-keyscan returns, as Salt does \
             without them."
        )));
    }
    if port.is_some_and(|p| p != DEFAULT_SSH_PORT) && hash_known_hosts {
        return Ok(Check::fail(
            "argument port can not be used in conjunction with argument hash_known_hosts",
        ));
    }
    let ssh_host = ssh_hostname(&name, port);
    let found = match find(host, &target.full, &ssh_host, &hash) {
        Ok(f) => f,
        Err(msg) => return Ok(Check::fail(format!("ssh.check_known_host error: {msg}"))),
    };
    let stored = &found.entries;
    let exists = match (&key, &fp) {
        (Some(k), _) => stored
            .iter()
            .any(|e| e.key == *k && enc.as_ref().is_none_or(|x| e.enc == *x)),
        (None, Some(f)) => stored.iter().any(|e| e.fingerprint == *f),
        (None, None) => unreachable!("refused above"),
    };
    if exists {
        return Ok(Check::Clean {
            comment: format!("{name} already exists in {}", target.config),
            test_comment: Some(format!("Host {name} is already in {}", target.config)),
        });
    }
    let test_comment = if stored.is_empty() {
        format!("Key for {name} is set to be added to {}", target.config)
    } else {
        format!("Key for {name} is set to be updated in {}", target.config)
    };
    let remove = found
        .lines
        .iter()
        .filter(|(_, e)| enc.as_ref().is_none_or(|x| x == e))
        .map(|(n, _)| *n)
        .collect();
    let source = match (key, fp) {
        (Some(key), _) => Source::Key(Entry {
            hostname: name.clone(),
            enc: enc.clone().unwrap_or_default(),
            fingerprint: fingerprint(&key, &hash).unwrap_or_default(),
            key,
        }),
        (None, Some(fingerprint)) => Source::Scan { fingerprint },
        (None, None) => unreachable!("refused above"),
    };
    let add = Add {
        old: found.entries,
        name,
        target,
        remove,
        source,
        enc,
        port,
        hash_known_hosts,
        timeout,
        hash,
    };
    Ok(Check::change(
        Map::new(),
        test_comment,
        ApplyFn(move |host: &HostWrite| add.run(host)),
    ))
}

impl Add {
    fn run(self, host: &HostWrite) -> Result<Applied, StateError> {
        let fail = |msg: String| Ok(Applied::failed(msg, Map::new()));
        let (new, comment) = match &self.source {
            Source::Key(entry) => (
                vec![entry.clone()],
                format!(
                    "{}'s key saved to {} (key: {})",
                    self.name, self.target.config, entry.key
                ),
            ),
            Source::Scan { fingerprint } => {
                let scanned = match self.scan(host) {
                    Ok(s) => s,
                    Err(msg) => return fail(msg),
                };
                if scanned.is_empty() {
                    return fail("Unable to receive remote host keys".into());
                }
                if !scanned.iter().any(|e| e.fingerprint == *fingerprint) {
                    return fail(
                        "Remote host public keys found but none of their fingerprints match the one you have provided".into(),
                    );
                }
                let comment = format!(
                    "{}'s key saved to {} (fingerprint: {})",
                    self.name, self.target.config, scanned[0].fingerprint
                );
                (scanned, comment)
            }
        };
        if let Err(msg) = self.write(host, &new) {
            return fail(msg);
        }
        let new_value = match &self.source {
            // Salt reports the key it was given as it was given.
            Source::Key(e) => {
                serde_json::json!([{"hostname": e.hostname, "enc": e.enc, "key": e.key}])
            }
            Source::Scan { .. } => entries_value(&new),
        };
        let mut changes = Map::new();
        changes.insert("old".into(), entries_value(&self.old));
        changes.insert("new".into(), new_value);
        Ok(Applied::ok_with(comment, changes))
    }

    /// Salt's `recv_known_host_entries`: up to five tries.
    fn scan(&self, host: &HostWrite) -> Result<Vec<Entry>, String> {
        let mut argv: Vec<String> = vec!["ssh-keyscan".into()];
        if let Some(p) = self.port {
            argv.extend(["-p".into(), p.to_string()]);
        }
        if let Some(e) = &self.enc {
            argv.extend(["-t".into(), e.clone()]);
        }
        if self.hash_known_hosts {
            argv.push("-H".into());
        }
        argv.extend(["-T".into(), self.timeout.to_string(), self.name.clone()]);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        for _ in 0..5 {
            let out = host
                .run(&argv, &[], None)
                .map_err(|e| format!("ssh-keyscan is needed to fetch host keys: {e}"))?;
            if !out.stdout.trim().is_empty() {
                return Ok(parse_output(&out.stdout, &self.hash));
            }
        }
        Ok(Vec::new())
    }

    /// Salt's `set_known_host` write: the old lines of that key type go,
    /// the new ones are appended, the mode kept (0600 for a new file), then
    /// `ssh-keygen -H` when hashing a given key.
    fn write(&self, host: &HostWrite, new: &[Entry]) -> Result<(), String> {
        let full = &self.target.full;
        let err = |e: &dyn std::fmt::Display| format!("Couldn't append to known hosts file: '{e}'");
        let old_text = super::text_file::read_optional(full).map_err(|e| err(&e))?;
        let mut lines: Vec<String> = old_text
            .as_deref()
            .unwrap_or("")
            .split_inclusive('\n')
            .map(str::to_string)
            .collect();
        let mut remove = self.remove.clone();
        remove.sort_unstable();
        for no in remove.into_iter().rev() {
            if no >= 1 && no <= lines.len() {
                lines.remove(no - 1);
            }
        }
        for e in new {
            let line = match self.port {
                Some(p)
                    if !self.hash_known_hosts
                        && p != DEFAULT_SSH_PORT
                        && !e.hostname.contains(':') =>
                {
                    format!("[{}]:{p} {} {}\n", e.hostname, e.enc, e.key)
                }
                _ => format!("{} {} {}\n", e.hostname, e.enc, e.key),
            };
            lines.push(line);
        }
        if let Some(dir) = full.parent() {
            if !dir.exists() {
                host.create_dir_all(dir).map_err(|e| err(&e))?;
                if let Some((uid, gid)) = self.target.owner {
                    host.chown(dir, Some(uid), Some(gid)).map_err(|e| err(&e))?;
                    host.set_mode(dir, 0o700).map_err(|e| err(&e))?;
                }
            }
        }
        super::text_file::replace(host, full, &lines.concat(), 0o600, self.target.owner)
            .map_err(|e| err(&e))?;
        if matches!(self.source, Source::Key(_)) && self.hash_known_hosts {
            let file = full.to_string_lossy();
            let out = host
                .run(&["ssh-keygen", "-H", "-f", &file], &[], None)
                .map_err(|e| e.to_string())?;
            if out.retcode != 0 {
                return Err(format!("ssh-keygen -H failed: {}", out.stderr.trim()));
            }
            if let Some((uid, gid)) = self.target.owner {
                host.chown(full, Some(uid), Some(gid))
                    .map_err(|e| err(&e))?;
            }
        }
        Ok(())
    }
}

fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let target = match target(args, host)? {
        Ok(t) => t,
        Err(msg) => return Ok(Check::fail(msg)),
    };
    let found = match find(host, &target.full, &name, "sha256") {
        Ok(f) => f,
        Err(msg) => return Ok(Check::fail(msg)),
    };
    if found.entries.is_empty() {
        return Ok(Check::clean("Host is already absent"));
    }
    let old = entries_value(&found.entries);
    Ok(Check::change(
        Map::new(),
        format!("Key for {name} is set to be removed from {}", target.config),
        ApplyFn(move |host: &HostWrite| {
            let file = target.full.to_string_lossy().into_owned();
            let out = host.run(&["ssh-keygen", "-R", &name, "-f", &file], &[], None)?;
            if out.retcode != 0 {
                return Ok(Applied::failed(
                    format!("ssh-keygen -R failed: {}", out.stderr.trim()),
                    Map::new(),
                ));
            }
            if let Some((uid, gid)) = target.owner {
                host.chown(&target.full, Some(uid), Some(gid))?;
            }
            // Salt's cmd.run output: stdout, then stderr, trailing space trimmed.
            let comment = format!("{}{}", out.stdout, out.stderr)
                .trim_end()
                .to_string();
            let mut changes = Map::new();
            changes.insert("old".into(), old);
            changes.insert("new".into(), Value::Null);
            Ok(Applied::ok_with(comment, changes))
        }),
    ))
}

#[cfg(test)]
mod tests;
