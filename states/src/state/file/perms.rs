//! Owner and mode: what differs (Salt's `check_file_meta` keys) and setting
//! them (Salt's `check_perms`, with its `user`/`group`/`mode` changes keys).
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::data::{Map, Value};

use super::super::{HostRead, HostWrite, StateError};
use super::owner::{is_root, missing_owners, Accounts, Owner};

/// A mode as Salt shows it: octal, at least four digits (`0644`).
pub(super) fn mode_str(mode: u32) -> String {
    format!("{mode:04o}")
}

/// The permission bits of a file.
pub(super) fn mode_of(meta: &std::fs::Metadata) -> u32 {
    meta.mode() & 0o7777
}

/// The owner and mode a state asks for (`None`: leave as it is).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Perms {
    pub user: Option<Owner>,
    pub group: Option<Owner>,
    pub mode: Option<u32>,
}

impl Perms {
    /// `user`/`group` arguments resolved against the root's accounts.
    pub fn from_args(
        accounts: &Accounts,
        user: Option<&Value>,
        group: Option<&Value>,
        mode: Option<u32>,
    ) -> Result<Perms, StateError> {
        use super::owner::Kind;
        Ok(Perms {
            user: user
                .map(|v| accounts.owner(Kind::User, "user", v))
                .transpose()?,
            group: group
                .map(|v| accounts.owner(Kind::Group, "group", v))
                .transpose()?,
            mode,
        })
    }

    pub fn with_mode(&self, mode: Option<u32>) -> Perms {
        Perms {
            mode,
            ..self.clone()
        }
    }

    /// What differs from `meta`, keyed as Salt's changes are. An owner that
    /// does not exist (yet) always differs: an earlier state may create it,
    /// and applying fails clearly if none did.
    pub fn diff(&self, meta: &std::fs::Metadata) -> Map<String, Value> {
        let mut changes = Map::new();
        if let Some(u) = &self.user {
            if u.id != Some(meta.uid()) {
                changes.insert("user".into(), u.shown.clone());
            }
        }
        if let Some(g) = &self.group {
            if g.id != Some(meta.gid()) {
                changes.insert("group".into(), g.shown.clone());
            }
        }
        if let Some(m) = self.mode {
            // A symlink's own mode cannot be changed (and means nothing).
            if m != mode_of(meta) && !meta.file_type().is_symlink() {
                changes.insert("mode".into(), Value::String(mode_str(m)));
            }
        }
        changes
    }

    /// The same request with owners looked up again: applying runs after the
    /// states before it, which may have created a user or group.
    pub fn resolve(&self, host: &HostRead) -> Result<Perms, String> {
        if self.user.iter().chain(&self.group).all(|o| o.id.is_some()) {
            return Ok(self.clone());
        }
        let accounts = Accounts::load(host);
        let again = |o: &Option<Owner>, kind| -> Option<Owner> {
            o.as_ref().map(|o| {
                accounts
                    .owner(kind, "", &o.shown)
                    .unwrap_or_else(|_| o.clone())
            })
        };
        let resolved = Perms {
            user: again(&self.user, super::owner::Kind::User),
            group: again(&self.group, super::owner::Kind::Group),
            mode: self.mode,
        };
        match missing_owners(resolved.user.as_ref(), resolved.group.as_ref()) {
            Some(err) => Err(err.trim_end().to_string()),
            None => Ok(resolved),
        }
    }

    pub fn uid(&self) -> Option<u32> {
        self.user.as_ref().and_then(|o| o.id)
    }

    pub fn gid(&self) -> Option<u32> {
        self.group.as_ref().and_then(|o| o.id)
    }

    /// Sets owner and mode on `path` where they differ and checks they took,
    /// as Salt's `check_perms` does. Returns the changes made and the
    /// failures ("Failed to change mode to 0644: …"). `follow`: act on a
    /// symlink's target rather than on the link (whose mode cannot change).
    pub fn apply(&self, host: &HostWrite, path: &Path, follow: bool) -> PermsOutcome {
        let mut out = PermsOutcome::default();
        let stat = |p: &Path| {
            if follow {
                std::fs::metadata(p)
            } else {
                std::fs::symlink_metadata(p)
            }
        };
        let before = match stat(path) {
            Ok(m) => m,
            Err(e) => {
                out.errors.push(format!("{}: {e}", path.display()));
                return out;
            }
        };
        let is_link = before.file_type().is_symlink();
        let mut want_uid = self.uid().filter(|u| *u != before.uid());
        if want_uid.is_some() && !is_root() {
            // Only root may give a file away; say so rather than EPERM.
            let who = self.user.as_ref().map(Owner::name).unwrap_or_default();
            out.errors.push(format!(
                "Failed to change user to {who}: only root can change a file's owner"
            ));
            want_uid = None;
        }
        let want_gid = self.gid().filter(|g| *g != before.gid());
        if want_uid.is_some() || want_gid.is_some() {
            let res = if is_link {
                host.lchown(path, want_uid, want_gid)
            } else {
                host.chown(path, want_uid, want_gid)
            };
            if let Err(e) = res {
                let what = match (&self.user, want_uid) {
                    (Some(u), Some(_)) => format!("user to {}", u.name()),
                    _ => format!(
                        "group to {}",
                        self.group.as_ref().map(Owner::name).unwrap_or_default()
                    ),
                };
                out.errors.push(format!("Failed to change {what}: {e}"));
            } else if !is_link {
                // chown clears setuid/setgid bits; put the old mode back
                // before any mode change, as Salt does.
                let _ = host.set_mode(path, mode_of(&before));
            }
        }
        if let Some(m) = self.mode.filter(|m| !is_link && *m != mode_of(&before)) {
            if let Err(e) = host.set_mode(path, m) {
                out.errors
                    .push(format!("Failed to change mode to {}: {e}", mode_str(m)));
            }
        }
        let Ok(after) = stat(path) else {
            return out;
        };
        if let Some(u) = &self.user {
            if Some(after.uid()) == u.id && want_uid.is_some() {
                out.changes.insert("user".into(), u.shown.clone());
            }
        }
        if let Some(g) = &self.group {
            if Some(after.gid()) == g.id && want_gid.is_some() {
                out.changes.insert("group".into(), g.shown.clone());
            }
        }
        if let Some(m) = self.mode {
            if !is_link && m == mode_of(&after) && m != mode_of(&before) {
                out.changes
                    .insert("mode".into(), Value::String(mode_str(m)));
            }
        }
        out
    }
}

#[derive(Debug, Default)]
pub(super) struct PermsOutcome {
    pub changes: Map<String, Value>,
    pub errors: Vec<String>,
}
