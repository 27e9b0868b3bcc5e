//! Users and groups: names resolved through the context root's `/etc/passwd`
//! and `/etc/group` (so a test root or a swarm minion has its own), numeric
//! ids taken as they are.
use common::data::Value;

use super::super::{HostRead, StateError};

/// A `user:` or `group:` argument: what the state tree said (shown back in
/// `changes` and comments as Salt does) and the id it names, if it exists.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Owner {
    pub shown: Value,
    pub id: Option<u32>,
}

impl Owner {
    /// The name as comments print it.
    pub fn name(&self) -> String {
        common::pyfmt::py_str(&self.shown)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    User,
    Group,
}

impl Kind {
    fn file(self) -> &'static str {
        match self {
            Kind::User => "/etc/passwd",
            Kind::Group => "/etc/group",
        }
    }
}

/// The account files of one root (`state::accounts`), as the file states
/// ask them.
#[derive(Debug, Default, Clone)]
pub(super) struct Accounts {
    db: std::sync::Arc<crate::state::accounts::Accounts>,
}

/// What identifies one version of the passwd and group files of a root.
type AccountsKey = (
    std::path::PathBuf,
    Option<std::time::SystemTime>,
    Option<std::time::SystemTime>,
    u64,
    u64,
);

impl Accounts {
    /// The tables of the host's root, parsed once per version of the files:
    /// every file state asks, and a run of a thousand of them re-read the
    /// files a thousand times. A state that adds a user changes the mtime, so
    /// the next lookup sees it.
    pub fn load(host: &HostRead) -> Accounts {
        use std::sync::Mutex;
        static CACHE: Mutex<Option<(AccountsKey, Accounts)>> = Mutex::new(None);
        let stamp = |kind: Kind| {
            host.path(kind.file())
                .ok()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| (m.modified().ok(), m.len()))
                .unwrap_or((None, 0))
        };
        let ((pm, pl), (gm, gl)) = (stamp(Kind::User), stamp(Kind::Group));
        let key: AccountsKey = (host.root().to_path_buf(), pm, gm, pl, gl);
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, accounts)) = cache.as_ref() {
            if *k == key {
                return accounts.clone();
            }
        }
        let accounts = Self::read(host);
        *cache = Some((key, accounts.clone()));
        accounts
    }

    /// An unreadable file counts as empty, as before.
    fn read(host: &HostRead) -> Accounts {
        let db = crate::state::accounts::Accounts::read(host).unwrap_or_default();
        Accounts {
            db: std::sync::Arc::new(db),
        }
    }

    fn lookup(&self, kind: Kind, name: &str) -> Option<u32> {
        match kind {
            Kind::User => self.db.user(name).map(|u| u.uid),
            Kind::Group => self.db.group(name).map(|g| g.gid),
        }
    }

    /// The name of an id, or the id itself when the root has no entry.
    pub fn name_of(&self, kind: Kind, id: u32) -> String {
        let found = match kind {
            Kind::User => self.db.user_by_uid(id).map(|u| u.name.clone()),
            Kind::Group => self.db.group_by_gid(id).map(|g| g.name.clone()),
        };
        found.unwrap_or_else(|| id.to_string())
    }

    /// A user's primary group id.
    pub fn primary_gid(&self, uid: u32) -> Option<u32> {
        self.db.user_by_uid(uid).map(|u| u.gid)
    }

    /// Resolves an argument value: a name, or a numeric id (as a number or a
    /// string of digits, which Salt only takes as a number).
    pub fn owner(&self, kind: Kind, key: &str, value: &Value) -> Result<Owner, StateError> {
        let id = match value {
            Value::Number(n) => Some(
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| StateError::args(format!("'{key}' is not a valid id: {n}")))?,
            ),
            Value::String(s) if s.is_empty() => {
                return Err(StateError::args(format!("'{key}' must not be empty")))
            }
            Value::String(s) if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
            Value::String(s) => self.lookup(kind, s),
            other => {
                return Err(StateError::args(format!(
                    "'{key}' must be a name or a numeric id, got {other}"
                )))
            }
        };
        Ok(Owner {
            shown: value.clone(),
            id,
        })
    }

    /// This process's user and group, as the owner of what it creates.
    pub fn current(&self) -> (Owner, Owner) {
        // SAFETY: geteuid/getegid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        (
            Owner {
                shown: Value::String(self.name_of(Kind::User, uid)),
                id: Some(uid),
            },
            Owner {
                shown: Value::String(self.name_of(Kind::Group, gid)),
                id: Some(gid),
            },
        )
    }
}

/// Salt's `_check_user` message for owners that do not exist.
pub(super) fn missing_owners(user: Option<&Owner>, group: Option<&Owner>) -> Option<String> {
    let mut err = String::new();
    if let Some(u) = user.filter(|u| u.id.is_none()) {
        err.push_str(&format!("User {} is not available ", u.name()));
    }
    if let Some(g) = group.filter(|g| g.id.is_none()) {
        err.push_str(&format!("Group {} is not available", g.name()));
    }
    (!err.is_empty()).then_some(err)
}

/// Whether this process may change owners at all.
pub(super) fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}
