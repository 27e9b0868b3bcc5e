//! What `user.present` would change on an existing user: a port of Salt's
//! `_changes` and `_group_changes` (salt/states/user.py), keeping its order
//! and its rules about primary groups and groups that share a gid.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::data::Value;
use common::pyfmt::py_repr;

use super::super::accounts::{Accounts, Passwd, Shadow};

/// What the state asks for (the arguments `_changes` compares).
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub name: String,
    pub uid: Option<u32>,
    pub gid: Option<String>,
    pub groups: Option<Vec<String>>,
    /// Only the optional groups that exist (Salt's `present_optgroups`).
    pub optional_groups: Option<Vec<String>>,
    pub remove_groups: bool,
    pub home: Option<String>,
    pub createhome: bool,
    pub password: Option<String>,
    pub enforce_password: bool,
    pub empty_password: bool,
    pub shell: Option<String>,
    pub gecos: Gecos,
    pub password_lock: Option<bool>,
}

/// The five GECOS fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gecos {
    pub fullname: Option<String>,
    pub roomnumber: Option<String>,
    pub workphone: Option<String>,
    pub homephone: Option<String>,
    pub other: Option<String>,
}

pub const GECOS_KEYS: [&str; 5] = ["fullname", "roomnumber", "workphone", "homephone", "other"];

impl Gecos {
    pub fn fields(&self) -> [&Option<String>; 5] {
        [
            &self.fullname,
            &self.roomnumber,
            &self.workphone,
            &self.homephone,
            &self.other,
        ]
    }
}

/// A GECOS string split into Salt's five fields.
pub fn gecos_fields(gecos: &str) -> [String; 5] {
    let mut parts = gecos.splitn(5, ',').map(str::to_string);
    std::array::from_fn(|_| parts.next().unwrap_or_default())
}

/// One needed change, under Salt's key.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Uid(u32),
    Gid(String),
    Groups(Vec<String>),
    Home(String),
    HomeDoesNotExist(String),
    Shell(String),
    Passwd(String),
    EmptyPassword,
    PasswordLock(bool),
    /// Index into [`GECOS_KEYS`] and the new value.
    Gecos(usize, String),
}

impl Change {
    pub fn key(&self) -> &'static str {
        match self {
            Change::Uid(_) => "uid",
            Change::Gid(_) => "gid",
            Change::Groups(_) => "groups",
            Change::Home(_) => "home",
            Change::HomeDoesNotExist(_) => "homeDoesNotExist",
            Change::Shell(_) => "shell",
            Change::Passwd(_) => "passwd",
            Change::EmptyPassword => "empty_password",
            Change::PasswordLock(_) => "password_lock",
            Change::Gecos(i, _) => GECOS_KEYS[*i],
        }
    }

    /// The value as Salt's comment prints it (`str()`), passwords redacted.
    pub fn shown(&self) -> String {
        match self {
            Change::Uid(u) => u.to_string(),
            Change::Groups(g) => py_repr(&Value::from(g.clone())),
            Change::Passwd(_) => "XXX-REDACTED-XXX".into(),
            Change::EmptyPassword => "True".into(),
            Change::PasswordLock(b) => if *b { "True" } else { "False" }.into(),
            Change::Gid(s)
            | Change::Home(s)
            | Change::HomeDoesNotExist(s)
            | Change::Shell(s)
            | Change::Gecos(_, s) => s.clone(),
        }
    }

    /// The value for a `{key: value}` map, as Python's repr of Salt's dict shows it.
    pub fn repr(&self) -> String {
        match self {
            Change::Uid(_)
            | Change::Groups(_)
            | Change::EmptyPassword
            | Change::PasswordLock(_) => self.shown(),
            other => py_repr(&Value::from(other.shown())),
        }
    }
}

/// Uid or gid changes the state did not allow (Salt's error lines).
pub fn forbidden(
    changes: &[Change],
    user: &Passwd,
    w: &Wanted,
    allow_uid: bool,
    allow_gid: bool,
) -> Vec<String> {
    let mut errors = Vec::new();
    for c in changes {
        match c {
            Change::Uid(uid) if !allow_uid => errors.push(format!(
                "Changing uid ({} -> {uid}) not permitted, set allow_uid_change to True to force this change. Note that this will not change file ownership.",
                user.uid
            )),
            Change::Gid(_) if !allow_gid => errors.push(format!(
                "Changing gid ({} -> {}) not permitted, set allow_gid_change to True to force this change. Note that this will not change file ownership.",
                user.gid,
                w.gid.clone().unwrap_or_default()
            )),
            _ => {}
        }
    }
    errors
}

/// Salt's `file.gid_to_group`: a gid or group name to a group name ("" when
/// a name is unknown, the number when a gid has no group).
fn gid_to_group(acc: &Accounts, group: &str) -> String {
    let gid = match group.parse::<u32>() {
        Ok(g) => g,
        Err(_) => match acc.group(group) {
            Some(g) => g.gid,
            None => return String::new(),
        },
    };
    acc.group_by_gid(gid)
        .map_or_else(|| gid.to_string(), |g| g.name.clone())
}

/// Salt's `_changes`: everything that differs, in Salt's order.
pub fn changes(
    acc: &Accounts,
    user: &Passwd,
    shadow: Option<&Shadow>,
    w: &Wanted,
    root: &Path,
) -> Vec<Change> {
    let mut out = Vec::new();
    let mut wanted_groups: BTreeSet<String> = w
        .groups
        .iter()
        .chain(&w.optional_groups)
        .flatten()
        .cloned()
        .collect();
    let mut have: Vec<String> = acc.user_groups(&w.name);
    let gid_of = |g: &str| acc.gid_of(g);
    let mut dupes: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for g in &have {
        if let Some(gid) = gid_of(g) {
            if have.iter().filter(|h| gid_of(h) == Some(gid)).count() > 1 {
                dupes.entry(gid).or_default().push(g.clone());
            }
        }
    }
    let in_dupes = |g: &str| dupes.values().flatten().any(|d| d == g);
    let no_optional = w.optional_groups.as_ref().is_none_or(|o| o.is_empty());
    if !w.remove_groups || (w.groups.is_none() && no_optional) {
        wanted_groups.extend(have.iter().cloned());
    }
    let mut wanted_groups: Vec<String> = wanted_groups.into_iter().collect();

    if let Some(uid) = w.uid.filter(|u| *u != 0 && *u != user.uid) {
        out.push(Change::Uid(uid));
    }
    if let Some(gid) = &w.gid {
        if gid_of(gid) != Some(user.gid) {
            out.push(Change::Gid(gid.clone()));
        }
    }
    let default_grp = gid_to_group(acc, w.gid.as_deref().unwrap_or(&user.gid.to_string()));
    let old_default_grp = gid_to_group(acc, &user.gid.to_string());
    let drop_all = |list: &mut Vec<String>, names: &[String]| list.retain(|g| !names.contains(g));
    if have.contains(&default_grp) || wanted_groups.contains(&default_grp) {
        let names = match gid_of(&default_grp).and_then(|g| dupes.get(&g)) {
            Some(names) if in_dupes(&default_grp) => names.clone(),
            _ => vec![default_grp.clone()],
        };
        drop_all(&mut have, &names);
        drop_all(&mut wanted_groups, &names);
    }
    if old_default_grp != default_grp && have.contains(&old_default_grp) {
        let names = match gid_of(&old_default_grp).and_then(|g| dupes.get(&g)) {
            Some(names) if in_dupes(&old_default_grp) => names.clone(),
            _ => vec![old_default_grp.clone()],
        };
        drop_all(&mut have, &names);
    }
    if have.contains(&w.name) && !wanted_groups.contains(&w.name) {
        let names = match gid_of(&w.name).and_then(|g| dupes.get(&g)) {
            Some(names) if in_dupes(&w.name) => names.clone(),
            _ => vec![w.name.clone()],
        };
        drop_all(&mut have, &names);
    }
    if group_changes(acc, &have, &wanted_groups, w.remove_groups)
        && (!wanted_groups.is_empty() || w.remove_groups)
    {
        out.push(Change::Groups(wanted_groups));
    }
    if let Some(home) = w
        .home
        .as_ref()
        .filter(|h| !h.is_empty() && **h != user.home)
    {
        out.push(Change::Home(home.clone()));
    }
    if w.createhome {
        let newhome = w
            .home
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| user.home.clone());
        if !under_root(root, &newhome).is_dir() {
            out.push(Change::HomeDoesNotExist(newhome));
        }
    }
    if let Some(shell) = w
        .shell
        .as_ref()
        .filter(|s| !s.is_empty() && **s != user.shell)
    {
        out.push(Change::Shell(shell.clone()));
    }
    let current_hash = shadow.map_or("", |s| s.passwd.as_str());
    if let Some(password) = w
        .password
        .as_ref()
        .filter(|p| !p.is_empty() && !w.empty_password)
    {
        // A locked password is the hash behind a "!": compare the hash, or
        // password + password_lock would set the password on every run.
        let unlocked = match w.password_lock {
            Some(true) => current_hash.trim_start_matches('!'),
            _ => current_hash,
        };
        if (current_hash == "!" || w.enforce_password) && unlocked != password {
            out.push(Change::Passwd(password.clone()));
        }
    }
    if w.empty_password && !current_hash.is_empty() {
        out.push(Change::EmptyPassword);
    }
    match w.password_lock {
        Some(true) if !current_hash.starts_with('!') => out.push(Change::PasswordLock(true)),
        Some(false) if current_hash.starts_with('!') => out.push(Change::PasswordLock(false)),
        _ => {}
    }
    let current = gecos_fields(&user.gecos);
    for (i, field) in w.gecos.fields().into_iter().enumerate() {
        if let Some(v) = field.as_ref().filter(|v| **v != current[i]) {
            out.push(Change::Gecos(i, v.clone()));
        }
    }
    out
}

/// Salt's `_group_changes`: a difference only counts when it is not just
/// another name for a gid the user already has.
fn group_changes(acc: &Accounts, cur: &[String], wanted: &[String], remove: bool) -> bool {
    let cur: BTreeSet<&String> = cur.iter().collect();
    let wanted: BTreeSet<&String> = wanted.iter().collect();
    if cur == wanted || (!remove && wanted.is_subset(&cur)) {
        return false;
    }
    let all: Vec<&String> = cur.union(&wanted).copied().collect();
    let diff: Vec<&String> = if remove {
        wanted.symmetric_difference(&cur).copied().collect()
    } else {
        wanted.difference(&cur).copied().collect()
    };
    diff.iter().any(|d| {
        let gid = acc.gid_of(d);
        !all.iter()
            .any(|other| other != d && gid.is_some() && acc.gid_of(other) == gid)
    })
}

pub fn under_root(root: &Path, path: &str) -> std::path::PathBuf {
    if root == Path::new("/") {
        Path::new(path).to_path_buf()
    } else {
        root.join(path.trim_start_matches('/'))
    }
}
