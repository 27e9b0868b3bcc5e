//! The local account databases (`/etc/passwd`, `/etc/group`, `/etc/shadow`)
//! read under the context root, as Salt's `user.info`/`group.info`/
//! `shadow.info` see them with `root=` (files only: no NSS, so LDAP users are
//! not seen), and the shadow tools' `--prefix` for changing them.
//!
//! The one user and group lookup of the state modules (`user`, `group`,
//! `ssh_auth`, `cron`, the file states, `archive`, `git`): by name or id,
//! with uid, gid, home, shell and groups. A test or swarm root has its own
//! users. `cmd`'s `runas` is the exception: its command runs on the real host.
use std::path::Path;

use super::{HostRead, StateError};

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Passwd {
    pub name: String,
    pub passwd: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub passwd: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// One `/etc/shadow` entry; empty numeric fields are -1, as Salt's
/// `_getspnam` makes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Shadow {
    pub name: String,
    pub passwd: String,
    pub lstchg: i64,
    pub min: i64,
    pub max: i64,
    pub warn: i64,
    pub inact: i64,
    pub expire: i64,
}

/// The users and groups of one root.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub users: Vec<Passwd>,
    pub groups: Vec<Group>,
}

impl Accounts {
    /// Reads `/etc/passwd` and `/etc/group` under the host's root. A missing
    /// file is an empty database (a fresh test root); an unreadable one is an error.
    pub fn read(host: &HostRead) -> Result<Self, StateError> {
        Self::read_files(&host.path("/etc/passwd")?, &host.path("/etc/group")?)
    }

    fn read_files(passwd: &Path, group: &Path) -> Result<Self, StateError> {
        Ok(Accounts {
            users: read_optional(passwd)?
                .lines()
                .filter_map(parse_passwd)
                .collect(),
            groups: read_optional(group)?
                .lines()
                .filter_map(parse_group)
                .collect(),
        })
    }

    pub fn user(&self, name: &str) -> Option<&Passwd> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&Passwd> {
        self.users.iter().find(|u| u.uid == uid)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    pub fn group_by_gid(&self, gid: u32) -> Option<&Group> {
        self.groups.iter().find(|g| g.gid == gid)
    }

    /// A group name or number as a gid (Salt's `file.group_to_gid`).
    pub fn gid_of(&self, group: &str) -> Option<u32> {
        match group.parse::<u32>() {
            Ok(gid) => Some(gid),
            Err(_) => self.group(group).map(|g| g.gid),
        }
    }

    /// Every group the user is in, primary included, sorted by name: Salt's
    /// `salt.utils.user.get_group_list` (via `os.getgrouplist`), which names
    /// every local group whose gid is among the user's gids.
    pub fn user_groups(&self, name: &str) -> Vec<String> {
        let Some(user) = self.user(name) else {
            return Vec::new();
        };
        let mut gids = vec![user.gid];
        gids.extend(
            self.groups
                .iter()
                .filter(|g| g.members.iter().any(|m| m == name))
                .map(|g| g.gid),
        );
        let mut names: Vec<String> = self
            .groups
            .iter()
            .filter(|g| gids.contains(&g.gid))
            .map(|g| g.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The shadow entry of `name` under the host's root, if any.
pub fn shadow(host: &HostRead, name: &str) -> Result<Option<Shadow>, StateError> {
    let text = read_optional(&host.path("/etc/shadow")?)?;
    Ok(text
        .lines()
        .filter_map(parse_shadow)
        .find(|s| s.name == name))
}

/// The shadow tools' arguments that point them at the context root:
/// nothing on a real host, `--prefix ROOT` under a test or swarm root (they
/// then edit `ROOT/etc/*` and never touch this host's accounts).
pub fn prefix_args(host: &HostRead) -> Vec<String> {
    if host.root() == Path::new("/") {
        Vec::new()
    } else {
        vec![
            "--prefix".to_string(),
            host.root().to_string_lossy().into_owned(),
        ]
    }
}

fn read_optional(path: &Path) -> Result<String, StateError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(StateError::host(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// NIS compat lines (`+`/`-`) and malformed lines are skipped rather than
/// failing the whole database.
fn fields(line: &str) -> Option<Vec<&str>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with('+') || line.starts_with('-') {
        return None;
    }
    Some(line.split(':').collect())
}

fn parse_passwd(line: &str) -> Option<Passwd> {
    let f = fields(line)?;
    if f.len() < 7 {
        return None;
    }
    Some(Passwd {
        name: f[0].to_string(),
        passwd: f[1].to_string(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        gecos: f[4].to_string(),
        home: f[5].to_string(),
        shell: f[6].to_string(),
    })
}

fn parse_group(line: &str) -> Option<Group> {
    let f = fields(line)?;
    if f.len() < 4 {
        return None;
    }
    Some(Group {
        name: f[0].to_string(),
        passwd: f[1].to_string(),
        gid: f[2].parse().ok()?,
        members: f[3]
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

fn parse_shadow(line: &str) -> Option<Shadow> {
    let f = fields(line)?;
    if f.len() < 2 {
        return None;
    }
    let num = |i: usize| {
        f.get(i)
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1)
    };
    Some(Shadow {
        name: f[0].to_string(),
        passwd: f[1].to_string(),
        lstchg: num(2),
        min: num(3),
        max: num(4),
        warn: num(5),
        inact: num(6),
        expire: num(7),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_list_includes_the_primary_group_and_shared_gids() {
        let acc = Accounts {
            users: vec![parse_passwd("fred:x:1000:100:Fred,,,:/home/fred:/bin/sh").unwrap()],
            groups: [
                "users:x:100:",
                "web:x:200:fred",
                "alias:x:100:",
                "other:x:300:bob",
            ]
            .iter()
            .filter_map(|l| parse_group(l))
            .collect(),
        };
        assert_eq!(acc.user_groups("fred"), ["alias", "users", "web"]);
        assert!(acc.user_groups("nobody").is_empty());
        assert_eq!(acc.gid_of("web"), Some(200));
        assert_eq!(acc.gid_of("42"), Some(42));
        assert_eq!(acc.gid_of("missing"), None);
    }

    #[test]
    fn shadow_empty_fields_are_minus_one() {
        let s = parse_shadow("fred:!:20000::::::").unwrap();
        assert_eq!(
            (s.passwd.as_str(), s.lstchg, s.min, s.expire),
            ("!", 20000, -1, -1)
        );
        assert!(parse_passwd("broken:x:notanumber:1::/:/bin/sh").is_none());
        assert!(parse_passwd("+nis").is_none());
    }
}
