//! `file.symlink`: a symlink to `target`, owned by `user`:`group`.
//! Replacing a link (or, with `force`, a file) is atomic: the new link is
//! made beside it and renamed over it.
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::data::{Map, Value};

use super::super::{Applied, Apply, Args, Check, HostRead, HostWrite, StateError};
use super::absolute_name;
use super::fsio::{self, make_parents, NewMeta};
use super::owner::{Accounts, Kind, Owner};

/// Python's `os.path.normpath` (lexical).
fn normpath(p: &str) -> String {
    let absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            c => parts.push(c),
        }
    }
    let body = parts.join("/");
    match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// What is at the link's path now.
enum Present {
    Nothing,
    Link { target: String, uid: u32, gid: u32 },
    Other { is_dir: bool },
}

fn present(path: &Path) -> Present {
    match std::fs::symlink_metadata(path) {
        Err(_) => Present::Nothing,
        Ok(m) if m.file_type().is_symlink() => Present::Link {
            target: std::fs::read_link(path)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default(),
            uid: m.uid(),
            gid: m.gid(),
        },
        Ok(m) => Present::Other { is_dir: m.is_dir() },
    }
}

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n.trim_end_matches('/').to_string(),
        Err(fail) => return Ok(fail),
    };
    let target = args
        .str("target")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| StateError::args("file.symlink needs 'target'"))?;
    let force = args.bool_or("force", false)?;
    let backupname = args.str("backupname")?;
    let makedirs = args.bool_or("makedirs", false)?;
    let dir_mode = args.mode("mode")?;
    let _ = args.bool_or("atomic", false)?; // always atomic here
    let accounts = Accounts::load(host);
    let (me, _) = accounts.current();
    let user = match args.get("user").or(args.get("owner")) {
        Some(v) => accounts.owner(Kind::User, "user", v)?,
        None => me,
    };
    let group = match args.get("group") {
        Some(v) => accounts.owner(Kind::Group, "group", v)?,
        None => {
            // The user's primary group, as Salt defaults it.
            let gid = user
                .id
                .and_then(|u| accounts.primary_gid(u))
                .or_else(|| accounts.current().1.id);
            Owner {
                shown: Value::String(
                    gid.map_or_else(String::new, |g| accounts.name_of(Kind::Group, g)),
                ),
                id: gid,
            }
        }
    };
    let mut errors = Vec::new();
    if user.id.is_none() {
        errors.push(format!("User {} does not exist", user.name()));
    }
    if group.id.is_none() {
        errors.push(format!("Group {} does not exist", group.name()));
    }
    if !errors.is_empty() {
        let mut msg = errors.join(". ");
        if errors.len() > 1 {
            msg.push('.');
        }
        return Ok(Check::fail(msg));
    }
    let (uid, gid) = (user.id.unwrap_or(0), group.id.unwrap_or(0));
    let owner = format!("{}:{}", user.name(), group.name());

    let real = host.path(&name)?;
    let parent_missing = real.parent().is_some_and(|p| !p.is_dir());
    let dirname = name
        .rsplit_once('/')
        .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d })
        .to_string();
    let mut changes = Map::new();
    let (mut comment, action) = match present(&real) {
        Present::Nothing => {
            changes.insert("new".into(), Value::String(name.clone()));
            (
                format!("Symlink {name} to {target} is set for creation"),
                Action::Create,
            )
        }
        Present::Link { target: cur, .. } if normpath(&cur) != normpath(&target) => {
            changes.insert("change".into(), Value::String(name.clone()));
            (
                format!("Link {name} target is set to be changed to {target}"),
                Action::Replace,
            )
        }
        Present::Link {
            uid: cu, gid: cg, ..
        } => {
            if cu == uid && cg == gid {
                return Ok(Check::Clean {
                    comment: format!("Symlink {name} is present and owned by {owner}"),
                    test_comment: Some(format!("The symlink {name} is present")),
                });
            }
            let current = format!(
                "{}:{}",
                accounts.name_of(Kind::User, cu),
                accounts.name_of(Kind::Group, cg)
            );
            changes.insert("ownership".into(), Value::String(current.clone()));
            (
                format!(
                    "The symlink {name} is present, but the ownership of the symlink would be changed from {current} to {owner}"
                ),
                Action::Chown,
            )
        }
        Present::Other { is_dir } => {
            if let Some(b) = &backupname {
                let backup = if b.starts_with('/') {
                    b.clone()
                } else if !b.contains('/') {
                    format!("{dirname}/{b}")
                } else {
                    return Ok(Check::fail(format!(
                        "Backupname must be an absolute path or a file name: {b}"
                    )));
                };
                if host.path(&backup).is_ok_and(|p| fsio::lexists(&p)) && !force {
                    return Ok(Check::fail(format!(
                        "Symlink & backup dest exists and Force not set. {name} -> {target} - backup: {backup}"
                    )));
                }
                (
                    format!(
                        "The file or directory {name} is set for removal to make way for a new symlink targeting {target}"
                    ),
                    Action::Backup(backup),
                )
            } else if force {
                (
                    format!(
                        "The file or directory {name} is set for removal to make way for a new symlink targeting {target}"
                    ),
                    Action::Replace,
                )
            } else {
                let kind = if is_dir { "Directory" } else { "File" };
                return Ok(Check::Fail {
                    comment: format!("{kind} exists where the symlink {name} should be"),
                    test_comment: Some(format!(
                        "File or directory exists where the symlink {name} should be. Did you mean to use force?"
                    )),
                });
            }
        }
    };
    if parent_missing {
        if makedirs {
            comment.push_str(&format!("\n{dirname} will be created"));
        } else {
            comment.push_str(&format!("\nDirectory {dirname} for symlink is not present"));
        }
    }
    Ok(Check::change(
        changes,
        comment,
        MakeLink {
            name,
            target,
            action,
            uid,
            gid,
            owner,
            makedirs,
            dir_mode,
            dirname,
        },
    ))
}

#[derive(Debug, Clone, PartialEq)]
enum Action {
    Create,
    /// Swap whatever is there (a link, or with `force` anything) for the link.
    Replace,
    /// Move what is there to this path first.
    Backup(String),
    Chown,
}

struct MakeLink {
    name: String,
    target: String,
    action: Action,
    uid: u32,
    gid: u32,
    owner: String,
    makedirs: bool,
    dir_mode: Option<u32>,
    dirname: String,
}

impl MakeLink {
    fn chown(&self, host: &HostWrite, path: &Path) -> std::io::Result<()> {
        host.lchown(path, Some(self.uid), Some(self.gid))
    }
}

impl Apply for MakeLink {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        let name = &self.name;
        let real = host.path(name)?;
        if self.action == Action::Chown {
            let mut changes = Map::new();
            return Ok(match self.chown(host, &real) {
                Ok(()) => {
                    changes.insert("ownership".into(), Value::String(self.owner.clone()));
                    Applied::ok_with(
                        format!("Set ownership of symlink {name} to {}", self.owner),
                        changes,
                    )
                }
                Err(e) => Applied::failed(
                    format!(
                        "Failed to set ownership of symlink {name} to {}: {e}",
                        self.owner
                    ),
                    changes,
                ),
            });
        }
        if real.parent().is_some_and(|p| !p.is_dir()) {
            if !self.makedirs {
                return Ok(Applied::failed(
                    format!("Directory {} for symlink is not present", self.dirname),
                    Map::new(),
                ));
            }
            let meta = NewMeta {
                uid: Some(self.uid),
                gid: Some(self.gid),
                mode: self.dir_mode,
            };
            if let Err(e) = make_parents(host, &real, meta) {
                return Ok(Applied::failed(e.to_string(), Map::new()));
            }
        }
        if let Action::Backup(backup) = &self.action {
            let to = host.path(backup)?;
            let moved = (if fsio::lexists(&to) {
                fsio::remove_any(host, &to)
            } else {
                Ok(())
            })
            .and_then(|()| host.rename(&real, &to));
            if let Err(e) = moved {
                return Ok(Applied::failed(
                    format!("Unable to rename {name} to backup {backup} -> : {e}"),
                    Map::new(),
                ));
            }
        }
        // A directory cannot be renamed over; anything else can, atomically.
        if real.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            if let Err(e) = fsio::remove_any(host, &real) {
                return Ok(Applied::failed(
                    format!("Could not remove '{name}': {e}"),
                    Map::new(),
                ));
            }
        }
        let temp = real.with_file_name(format!(
            ".{}.brine-link-{}",
            real.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let _ = host.remove_file(&temp);
        let made = host
            .symlink(Path::new(&self.target), &temp)
            .and_then(|()| host.rename(&temp, &real))
            .and_then(|()| fsio::sync_dir(&real));
        if let Err(e) = made {
            let _ = host.remove_file(&temp);
            return Ok(Applied::failed(
                format!(
                    "Unable to create new symlink {name} -> {}: {e}",
                    self.target
                ),
                Map::new(),
            ));
        }
        let mut changes = Map::new();
        changes.insert("new".into(), Value::String(name.clone()));
        let mut comment = format!("Created new symlink {name} -> {}", self.target);
        let meta = std::fs::symlink_metadata(&real)?;
        if (meta.uid(), meta.gid()) != (self.uid, self.gid) && self.chown(host, &real).is_err() {
            comment.push_str(&format!(
                ", but was unable to set ownership to {}",
                self.owner
            ));
            return Ok(Applied::failed(comment, changes));
        }
        Ok(Applied::ok_with(comment, changes))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn normpath_as_python() {
        use super::normpath;
        assert_eq!(normpath("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(normpath("../x/./y"), "../x/y");
        assert_eq!(normpath("a/.."), ".");
        assert_eq!(normpath("/.."), "/");
    }
}
