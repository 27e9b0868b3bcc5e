//! The content plan shared by `file.managed`, `file.serialize` and
//! `file.recurse`: what a file would become, its diff, and the atomic write.
use common::data::{Map, Value};

use super::super::{Applied, Apply, Check, HostRead, HostWrite, StateError};
use super::diff::file_diff;
use super::fsio::{self, dir_mode_for, make_parents, NewMeta};
use super::owner::Accounts;
use super::perms::{mode_of, mode_str, Perms};

/// Salt's test-mode comment for a file that would change.
pub(super) fn set_to_change(name: &str) -> String {
    format!(
        "The file {name} is set to be changed\nNote: No changes made, actual changes may\n\
         be different due to other states."
    )
}

/// What a new file is made from: Salt reports each a little differently.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum NewContent {
    /// From `source` (a template's output too).
    Source(Vec<u8>),
    /// From `contents`/`contents_pillar`, or a serializer.
    Contents(Vec<u8>),
}

impl NewContent {
    fn bytes(&self) -> &[u8] {
        match self {
            NewContent::Source(b) | NewContent::Contents(b) => b,
        }
    }
}

/// The file a state manages and how.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// As the state tree names it (comments and changes use it).
    pub name: String,
    /// Where writes go: `name` with symlinks followed when asked.
    pub real_name: String,
    pub perms: Perms,
    pub makedirs: bool,
    pub dir_mode: Option<u32>,
    /// Salt's `backup: minion`: keep a copy of the old content.
    pub backup: bool,
    pub show_changes: bool,
}

/// Plans `target` to hold `content` (`None`: an empty file if missing).
/// `test_comment` is what a dry run says when something would change.
pub(super) fn plan_file(
    host: &HostRead,
    target: Target,
    content: Option<NewContent>,
    test_comment: String,
) -> Result<Check, StateError> {
    let real = host.path(&target.real_name)?;
    let link = std::fs::symlink_metadata(host.path(&target.name)?).ok();
    let replaces_link = link.as_ref().is_some_and(|m| m.file_type().is_symlink())
        && target.real_name == target.name;
    let existing = if replaces_link {
        None
    } else {
        std::fs::metadata(&real).ok()
    };
    let name = target.name.clone();
    let Some(meta) = existing else {
        if !replaces_link {
            return Ok(plan_new(target, content, test_comment));
        }
        // follow_symlinks: False and the name is a link: it becomes a file.
        let mut changes = Map::new();
        changes.insert(
            "diff".into(),
            "Replace symbolic link with regular file".into(),
        );
        let bytes = content.map(|c| c.bytes().to_vec()).unwrap_or_default();
        let done = changes.clone();
        return Ok(Check::change(
            changes,
            test_comment,
            WriteFile {
                target,
                bytes: Some(bytes),
                creating: false,
                changes: done,
                comment: format!("File {name} updated"),
            },
        ));
    };
    if meta.is_dir() {
        return Ok(Check::fail(format!(
            "Specified target {name} is a directory"
        )));
    }
    let mut changes = Map::new();
    let mut bytes = None;
    if let Some(content) = content {
        let old = std::fs::read(&real)?;
        if old != content.bytes() {
            let diff = if target.show_changes {
                file_diff(&old, content.bytes())
            } else {
                "<show_changes=False>".into()
            };
            changes.insert("diff".into(), Value::String(diff));
            bytes = Some(content.bytes().to_vec());
        }
    }
    changes.extend(target.perms.diff(&meta));
    if changes.is_empty() {
        return Ok(Check::Clean {
            comment: format!("File {name} is in the correct state"),
            test_comment: Some(format!("The file {name} is in the correct state")),
        });
    }
    let done = changes.clone();
    Ok(Check::change(
        changes,
        test_comment,
        WriteFile {
            target,
            bytes,
            creating: false,
            changes: done,
            comment: format!("File {name} updated"),
        },
    ))
}

/// Plans `target` as a new file (it is missing, or is about to be removed).
pub(super) fn plan_new(target: Target, content: Option<NewContent>, test_comment: String) -> Check {
    let (applied, comment) = new_file_changes(&target, content.as_ref());
    let mut changes = Map::new();
    changes.insert("newfile".into(), Value::String(target.name.clone()));
    let bytes = content.map(|c| c.bytes().to_vec()).unwrap_or_default();
    Check::change(
        changes,
        test_comment,
        WriteFile {
            target,
            bytes: Some(bytes),
            creating: true,
            changes: applied,
            comment,
        },
    )
}

/// What Salt reports after creating a file, and its comment. Salt creates
/// the file first and fixes the mode after, so it reports `mode` when the
/// mode differs from the one the file was first created with (0600 for a
/// source, else the umask's, or 0600 when a mode was given).
fn new_file_changes(target: &Target, content: Option<&NewContent>) -> (Map<String, Value>, String) {
    let name = &target.name;
    let default_mode = 0o666 & !fsio::umask();
    let first_mode = match content {
        Some(NewContent::Source(_)) => 0o600,
        _ if target.perms.mode.is_some() => 0o600,
        _ => default_mode,
    };
    let mut changes = Map::new();
    let comment = match content {
        Some(_) => {
            changes.insert("diff".into(), "New file".into());
            format!("File {name} updated")
        }
        None => {
            changes.insert("new".into(), Value::String(format!("file {name} created")));
            "Empty file".to_string()
        }
    };
    let accounts = Accounts::default();
    let (me, my_group) = accounts.current();
    if let Some(u) = &target.perms.user {
        if u.id != me.id {
            changes.insert("user".into(), u.shown.clone());
        }
    }
    if let Some(g) = &target.perms.group {
        if g.id != my_group.id {
            changes.insert("group".into(), g.shown.clone());
        }
    }
    let final_mode = target.perms.mode.unwrap_or(default_mode);
    if final_mode != first_mode {
        changes.insert("mode".into(), Value::String(mode_str(final_mode)));
    }
    (changes, comment)
}

/// Writes a planned file (or only fixes its owner and mode).
struct WriteFile {
    target: Target,
    /// New content; `None`: content stays, only metadata changes.
    bytes: Option<Vec<u8>>,
    creating: bool,
    changes: Map<String, Value>,
    comment: String,
}

impl Apply for WriteFile {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        let t = &self.target;
        let perms = match t.perms.resolve(host) {
            Ok(p) => p,
            Err(msg) => return Ok(Applied::failed(msg, Map::new())),
        };
        let real = host.path(&t.real_name)?;
        let Some(bytes) = &self.bytes else {
            let out = perms.apply(host, &real, true);
            if !out.errors.is_empty() {
                return Ok(Applied::failed(out.errors.join("; "), out.changes));
            }
            return Ok(Applied::ok_with(self.comment, out.changes));
        };
        if self.creating {
            let parent_missing = real.parent().is_some_and(|p| !p.is_dir());
            if parent_missing && !t.makedirs {
                return Ok(Applied::failed("Parent directory not present", Map::new()));
            }
            if parent_missing {
                let dir_mode = t.dir_mode.or(perms.mode.map(dir_mode_for));
                let meta = NewMeta {
                    uid: perms.uid(),
                    gid: perms.gid(),
                    mode: dir_mode,
                };
                if let Err(e) = make_parents(host, &real, meta) {
                    return Ok(Applied::failed(
                        format!("Unable to create parent directories: {e}"),
                        Map::new(),
                    ));
                }
            }
        } else if t.backup && real.is_file() {
            if let Err(e) = fsio::backup_minion(host, &t.real_name, &real) {
                return Ok(Applied::failed(
                    format!("Unable to back up {}: {e}", t.name),
                    Map::new(),
                ));
            }
        }
        let meta = NewMeta {
            uid: perms.uid(),
            gid: perms.gid(),
            mode: perms.mode,
        };
        if let Err(e) = host.replace_file(&real, bytes, meta) {
            return Ok(Applied::failed(
                format!("Failed to commit change: {e}"),
                Map::new(),
            ));
        }
        Ok(Applied::ok_with(self.comment, self.changes))
    }
}

/// `replace: False` (or nothing to write) on an existing file: owner and mode only.
pub(super) fn plan_perms_only(host: &HostRead, target: Target) -> Result<Check, StateError> {
    let name = target.name.clone();
    let meta = std::fs::metadata(host.path(&target.real_name)?)?;
    let changes = target.perms.diff(&meta);
    if changes.is_empty() {
        return Ok(Check::Clean {
            comment: format!("File {name} exists with proper permissions. No changes made."),
            test_comment: Some(format!("File {name} not updated")),
        });
    }
    let test_comment = match target.perms.mode {
        Some(m) if m != mode_of(&meta) => format!(
            "File {name} will be updated with permissions {} from its current state of {}",
            mode_str(m),
            mode_str(mode_of(&meta))
        ),
        _ => format!("File {name} not updated"),
    };
    Ok(Check::change(
        changes,
        test_comment,
        WriteFile {
            target,
            bytes: None,
            creating: false,
            changes: Map::new(),
            comment: format!("File {name} updated"),
        },
    ))
}

/// Python's `str.splitlines()` (no ends kept).
pub(super) fn py_splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        out.push(&s[start..i]);
        let mut end = i + c.len_utf8();
        if c == '\r' {
            if let Some((j, '\n')) = chars.peek().copied() {
                chars.next();
                end = j + 1;
            }
        }
        start = end;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}
