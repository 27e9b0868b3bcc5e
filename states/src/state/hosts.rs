//! `host.present` / `host.absent` / `host.only` (salt/states/host.py over
//! salt/modules/hosts.py): entries of `/etc/hosts` under the root.
//!
//! The file is edited the way Salt's `hosts` module edits it, line format
//! included (`ip<TAB><TAB>names`, `<TAB><TAB># comment`): `add_host` and
//! `set_comment` rewrite the whole file from its parsed entries (merging the
//! lines of one address, dropping blank lines), `rm_host` and `set_host`
//! edit lines in place. A check runs those edits on the text in memory; the
//! apply writes the result.
//!
//! Where Salt walks a Python set (the addresses to add, to comment, to
//! remove), Brine walks them sorted, so the comment's order is stable.
//! Salt's `warnings` for a name found at another address (without `clean`)
//! are lines of the comment: Brine's results have no `warnings` key.
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

use common::data::{Map, Value};
use common::pyfmt::py_str;

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct Host;

/// Salt's `hosts.file` default; Brine has no per-minion option for it.
const HOSTS_FILE: &str = "/etc/hosts";

impl super::StateModule for Host {
    fn name(&self) -> &'static str {
        "host"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::HOST
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            "absent" => absent(args, host),
            "only" => only(args, host),
            other => Err(StateError::args(format!(
                "host.{other} is not a state function (Brine has: {})",
                super::signatures::names(super::signatures::tables::HOST).join(", ")
            ))),
        }
    }
}

/// One key of Salt's `_list_hosts` OrderedDict.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// A `#` line, kept as it is.
    Comment(String),
    Addr {
        ip: String,
        aliases: Vec<String>,
        comment: Option<String>,
    },
}

/// Salt's `_list_hosts`: the lines of one address merge into one entry at
/// its first line; a later comment replaces an earlier one.
fn list_hosts(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            out.push(Entry::Comment(line.to_string()));
            continue;
        }
        let (body, comment) = match line.split_once('#') {
            Some((body, c)) => (body.trim(), Some(c.trim_start().to_string())),
            None => (line, None),
        };
        let mut comps = body.split_whitespace();
        let Some(ip) = comps.next() else { continue };
        let names: Vec<String> = comps.map(str::to_string).collect();
        let comment = comment.filter(|c| !c.is_empty());
        let existing = out.iter_mut().find_map(|e| match e {
            Entry::Addr {
                ip: i,
                aliases,
                comment: c,
            } if i == ip => Some((aliases, c)),
            _ => None,
        });
        match existing {
            Some((aliases, c)) => {
                aliases.extend(names);
                if comment.is_some() {
                    *c = comment;
                }
            }
            None => out.push(Entry::Addr {
                ip: ip.to_string(),
                aliases: names,
                comment,
            }),
        }
    }
    out
}

fn find<'a>(entries: &'a [Entry], ip: &str) -> Option<(&'a Vec<String>, &'a Option<String>)> {
    entries.iter().find_map(|e| match e {
        Entry::Addr {
            ip: i,
            aliases,
            comment,
        } if i == ip => Some((aliases, comment)),
        _ => None,
    })
}

fn has_pair(text: &str, ip: &str, name: &str) -> bool {
    find(&list_hosts(text), ip).is_some_and(|(aliases, _)| aliases.iter().any(|a| a == name))
}

/// Salt's `_write_hosts`.
fn write_hosts(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        let line = match e {
            Entry::Comment(c) => c.clone(),
            Entry::Addr {
                ip,
                aliases,
                comment: Some(c),
            } => format!("{ip}\t\t{}\t\t# {c}", aliases.join(" ")),
            Entry::Addr { ip, aliases, .. } => format!("{ip}\t\t{}", aliases.join(" ")),
        };
        if !line.trim().is_empty() {
            out.push_str(line.trim());
            out.push('\n');
        }
    }
    out
}

/// Salt's `add_host`.
fn add_host(text: &str, ip: &str, name: &str) -> String {
    if has_pair(text, ip, name) {
        return text.to_string();
    }
    let mut entries = list_hosts(text);
    match entries.iter_mut().find_map(|e| match e {
        Entry::Addr { ip: i, aliases, .. } if i == ip => Some(aliases),
        _ => None,
    }) {
        Some(aliases) => aliases.push(name.to_string()),
        None => entries.push(Entry::Addr {
            ip: ip.to_string(),
            aliases: vec![name.to_string()],
            comment: None,
        }),
    }
    write_hosts(&entries)
}

/// Salt's `set_comment`; `None` when the address has no entry.
fn set_comment(text: &str, ip: &str, comment: &str) -> Option<String> {
    let mut entries = list_hosts(text);
    let slot = entries.iter_mut().find_map(|e| match e {
        Entry::Addr { ip: i, comment, .. } if i == ip => Some(comment),
        _ => None,
    })?;
    if slot.as_deref() == Some(comment) {
        return Some(text.to_string());
    }
    *slot = Some(comment.to_string());
    Some(write_hosts(&entries))
}

/// Salt's `rm_host`: edits the address's lines in place.
fn rm_host(text: &str, ip: &str, name: &str) -> String {
    if !has_pair(text, ip, name) {
        return text.to_string();
    }
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let tmp = line.trim();
        if tmp.is_empty() || tmp.starts_with('#') {
            out.push_str(line);
            continue;
        }
        let (info, comment) = match tmp.split_once('#') {
            Some((info, c)) => (info, Some(c.trim_start())),
            None => (tmp, None),
        };
        let comps: Vec<&str> = info.split_whitespace().collect();
        if comps.first() != Some(&ip) {
            out.push_str(line);
            continue;
        }
        let mut newline = format!("{ip}\t\t");
        for existing in &comps[1..] {
            if *existing != name {
                newline.push_str(existing);
                newline.push(' ');
            }
        }
        if newline.trim() == ip {
            continue;
        }
        match comment.filter(|c| !c.is_empty()) {
            Some(c) => out.push_str(&format!("{newline}# {c}\n")),
            None => out.push_str(&format!("{newline}\n")),
        }
    }
    out
}

/// Salt's `set_host`: the address's first line becomes `ip<TAB><TAB>names`
/// (its other lines go); no names removes them all.
fn set_host(text: &str, ip: &str, names: &str) -> String {
    let line_to_add = if names.trim().is_empty() {
        String::new()
    } else {
        format!("{ip}\t\t{names}\n")
    };
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut replaced = false;
    for line in lines.iter_mut() {
        let tmp = line.trim();
        if tmp.is_empty() || tmp.starts_with('#') {
            continue;
        }
        if tmp.split_whitespace().next() == Some(ip) {
            *line = if replaced {
                String::new()
            } else {
                line_to_add.clone()
            };
            replaced = true;
        }
    }
    if !replaced {
        if let Some(last) = lines.last_mut() {
            if !last.ends_with('\n') {
                last.push('\n');
            }
        }
        lines.push(line_to_add);
    }
    lines.concat()
}

/// `ip`/`hostnames` as Salt takes them: one string or a list.
fn one_or_list(args: &Args, key: &str) -> Result<Option<Vec<String>>, StateError> {
    match args.get(key) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items.iter().map(py_str).collect())),
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
            Ok(Some(vec![py_str(v)]))
        }
        Some(v) => Err(StateError::args(format!(
            "'{key}' must be a string or a list, got {v}"
        ))),
    }
}

struct HostsFile {
    path: PathBuf,
    text: String,
}

fn hosts_file(host: &HostRead) -> Result<HostsFile, StateError> {
    let path = host.path(HOSTS_FILE)?;
    let text = super::text_file::read_optional(&path)?.unwrap_or_default();
    Ok(HostsFile { path, text })
}

/// Writes `text` when it differs from what was read, then reports `applied`.
fn write_then(file: HostsFile, text: String, applied: Applied) -> impl super::Apply {
    ApplyFn(move |host: &HostWrite| {
        if text != file.text {
            super::text_file::replace(host, &file.path, &text, 0o644, None)?;
        }
        Ok(applied)
    })
}

fn push_to(map: &mut Map<String, Value>, group: &str, key: &str, item: &str) {
    let group = map
        .entry(group.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(g) = group {
        let list = g
            .entry(key.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(l) = list {
            l.push(Value::String(item.to_string()));
        }
    }
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let ips =
        one_or_list(args, "ip")?.ok_or_else(|| StateError::args("host.present needs an 'ip'"))?;
    let comment = args.str_or("comment", "")?;
    let clean = args.bool_or("clean", false)?;
    let file = hosts_file(host)?;
    let entries = list_hosts(&file.text);

    let mut comments = Vec::new();
    let mut failed = false;
    let mut to_add = BTreeSet::new();
    let mut to_remove = BTreeSet::new();
    let mut update_comment = BTreeSet::new();
    for ip in &ips {
        if find(&entries, ip).is_none() {
            to_add.insert(ip.clone());
            if !comment.is_empty() {
                update_comment.insert(ip.clone());
            }
        }
    }
    for e in &entries {
        let Entry::Addr {
            ip: addr,
            aliases,
            comment: current,
        } = e
        else {
            continue;
        };
        let named = aliases.contains(&name);
        if !ips.contains(addr) {
            if named {
                if clean {
                    to_remove.insert(addr.clone());
                } else {
                    comments.push(format!(
                        "Host {name} present for IP address {addr}. To get rid of this warning, \
                         either run this state with 'clean' set to True to remove {name} from \
                         {addr}, or add {addr} to the 'ip' argument."
                    ));
                }
            }
        } else if named {
            if !comment.is_empty() && current.as_deref() != Some(comment.as_str()) {
                update_comment.insert(addr.clone());
            } else {
                comments.push(format!("Host {name} ({addr}) already present"));
            }
        } else if addr.parse::<IpAddr>().is_ok() {
            to_add.insert(addr.clone());
            if !comment.is_empty() {
                update_comment.insert(addr.clone());
            }
        } else {
            failed = true;
            comments.push(format!("Invalid IP Address for {name} ({addr})"));
        }
    }

    let mut changed = Map::new();
    let mut text = file.text.clone();
    let mut test_comments = comments.clone();
    for addr in &to_add {
        text = add_host(&text, addr, &name);
        test_comments.push(format!("Host {name} ({addr}) would be added"));
        comments.push(format!("Added host {name} ({addr})"));
        push_to(&mut changed, "added", addr, &name);
    }
    for addr in &update_comment {
        test_comments.push(format!("Comment for {addr} ({comment}) would be added"));
        match set_comment(&text, addr, &comment) {
            Some(t) => {
                text = t;
                comments.push(format!("Set comment for host {addr} ({comment})"));
                push_to(&mut changed, "comment_added", addr, &comment);
            }
            None => {
                failed = true;
                comments.push(format!("Failed to add comment for host {addr} ({comment})"));
            }
        }
    }
    for addr in &to_remove {
        text = rm_host(&text, addr, &name);
        test_comments.push(format!("Host {name} ({addr}) would be removed"));
        comments.push(format!("Removed host {name} ({addr})"));
        push_to(&mut changed, "removed", addr, &name);
    }
    if changed.is_empty() {
        let comment = comments.join("\n");
        return Ok(if failed {
            Check::fail(comment)
        } else {
            Check::clean(comment)
        });
    }
    let applied = Applied {
        result: !failed,
        comment: comments.join("\n"),
        changes: Some(changed.clone()),
    };
    Ok(Check::change(
        changed,
        test_comments.join("\n"),
        write_then(file, text, applied),
    ))
}

fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let ips =
        one_or_list(args, "ip")?.ok_or_else(|| StateError::args("host.absent needs an 'ip'"))?;
    let file = hosts_file(host)?;
    let mut text = file.text.clone();
    let mut comments = Vec::new();
    let mut test_comments = Vec::new();
    for ip in &ips {
        if has_pair(&text, ip, &name) {
            text = rm_host(&text, ip, &name);
            test_comments.push(format!("Host {name} ({ip}) needs to be removed"));
            comments.push(format!("Removed host {name} ({ip})"));
        } else {
            let line = format!("Host {name} ({ip}) already absent");
            test_comments.push(line.clone());
            comments.push(line);
        }
    }
    if text == file.text {
        return Ok(Check::clean(comments.join("\n")));
    }
    let applied = Applied::ok_with(comments.join("\n"), changes([("host", name.into())]));
    // Salt's dry run shows no changes for host.absent, only the comment.
    Ok(Check::change(
        Map::new(),
        test_comments.join("\n"),
        write_then(file, text, applied),
    ))
}

fn only(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let hostnames = one_or_list(args, "hostnames")?
        .ok_or_else(|| StateError::args("host.only needs 'hostnames'"))?;
    let file = hosts_file(host)?;
    let old = find(&list_hosts(&file.text), &name)
        .map(|(aliases, _)| aliases.join(" "))
        .unwrap_or_default();
    let new = hostnames
        .iter()
        .map(|h| h.trim())
        .collect::<Vec<_>>()
        .join(" ");
    if old == new {
        return Ok(Check::clean(format!(
            "IP address {name} already set to \"{new}\""
        )));
    }
    let text = set_host(&file.text, &name, &new);
    let diff = changes([("old", old.clone().into()), ("new", new.clone().into())]);
    let applied = Applied::ok_with(
        format!("successfully changed {name} from \"{old}\" to \"{new}\""),
        changes([(name.as_str(), Value::Object(diff))]),
    );
    // Salt's dry run shows no changes for host.only, only the comment.
    Ok(Check::change(
        Map::new(),
        format!("Would change {name} from \"{old}\" to \"{new}\""),
        write_then(file, text, applied),
    ))
}

#[cfg(test)]
mod tests;
