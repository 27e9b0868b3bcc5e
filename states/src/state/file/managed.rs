//! `file.managed`, and the content plan shared by `file.serialize` and
//! `file.recurse`: what a file would become, its diff, and the atomic write.
use common::data::{Map, Value};

use super::super::{Applied, Apply, Args, Check, HostRead, HostWrite, StateError};
use super::diff::file_diff;
use super::fsio::{self, dir_mode_for, make_parents, NewMeta};
use super::owner::Accounts;
use super::perms::{mode_of, mode_str, Perms};
use super::source::{self, SourceRef};
use super::{absolute_name, fail_unless_dict, read_backup};

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

/// Salt's handling of `contents`: every line ends with a newline (the last
/// one too, unless `contents_newline: False`).
fn normalize_contents(value: &Value, newline: bool) -> String {
    let parts: Vec<String> = match value {
        Value::Array(items) => items.iter().map(common::pyfmt::py_str).collect(),
        other => vec![common::pyfmt::py_str(other)],
    };
    let mut out = String::new();
    for part in &parts {
        for line in py_splitlines(part) {
            out.push_str(line.trim_end_matches('\n').trim_end_matches('\r'));
            out.push('\n');
        }
    }
    if !newline {
        let trimmed = out.trim_end_matches('\n').trim_end_matches('\r').len();
        out.truncate(trimmed);
    }
    out
}

/// The `contents`/`contents_pillar` value, or a failure comment.
fn contents_value(
    args: &Args,
    host: &HostRead,
    contents: Option<&Value>,
    pillar_key: Option<&Value>,
) -> Result<Result<Option<Value>, String>, StateError> {
    if let Some(key) = pillar_key {
        let delimiter = args.str_or("contents_delimiter", ":")?;
        let keys: Vec<String> = match key {
            Value::Array(items) => items.iter().map(common::pyfmt::py_str).collect(),
            other => vec![common::pyfmt::py_str(other)],
        };
        let mut found = Vec::new();
        for k in &keys {
            match common::data::traverse(host.pillar(), k, &delimiter) {
                Some(v) => found.push(v.clone()),
                None => return Ok(Err(format!("Pillar {k} does not exist"))),
            }
        }
        return Ok(Ok(Some(match (key, found.as_slice()) {
            (Value::Array(_), _) => Value::String(
                found
                    .iter()
                    .map(common::pyfmt::py_str)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            (_, [one]) => one.clone(),
            _ => Value::Null,
        })));
    }
    Ok(Ok(contents.cloned()))
}

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let source = args.get("source");
    let source_hash = args.str("source_hash")?.filter(|s| !s.is_empty());
    let source_hash_name = args.str("source_hash_name")?;
    let skip_verify = args.bool_or("skip_verify", false)?;
    let _ = args.get("keep_source"); // no source cache to keep or drop
    let template = args.str("template")?.filter(|s| !s.is_empty());
    let makedirs = args.bool_or("makedirs", false)?;
    let dir_mode = args.mode("dir_mode")?;
    let context = args.get("context");
    let defaults = args.get("defaults");
    let mut replace = args.bool_or("replace", true)?;
    let backup = read_backup(args)?;
    let show_changes = args.bool_or("show_changes", true)?;
    let create = args.bool_or("create", true)?;
    let contents = args.get("contents");
    let contents_pillar = args.get("contents_pillar");
    let contents_newline = args.bool_or("contents_newline", true)?;
    let allow_empty = args.bool_or("allow_empty", true)?;
    let follow_symlinks = args.bool_or("follow_symlinks", true)?;
    let mode = args.mode("mode")?;
    let accounts = Accounts::load(host);
    let perms = Perms::from_args(
        &accounts,
        args.get("user").or(args.get("owner")),
        args.get("group"),
        mode,
    )?;

    if args.get("contents_grains").is_some() {
        return Ok(Check::fail(
            "'contents_grains' is not supported by Brine yet: use contents with a Jinja grains lookup",
        ));
    }
    let contents_count = [contents, contents_pillar].iter().flatten().count();
    if source.is_some() && contents_count > 0 {
        return Ok(Check::fail(
            "'source' cannot be used in combination with 'contents', 'contents_pillar', or 'contents_grains'",
        ));
    }
    if contents_count > 1 {
        return Ok(Check::fail(
            "Only one of 'contents', 'contents_pillar', and 'contents_grains' is permitted",
        ));
    }
    if source.is_none() && contents_count == 0 {
        replace = false;
    }
    let contents = match contents_value(args, host, contents, contents_pillar)? {
        Ok(v) => v,
        Err(fail) => return Ok(Check::fail(fail)),
    };
    if let Some(c) = &contents {
        if !allow_empty && !common::data::is_truthy(c) {
            let id = match contents_pillar {
                Some(k) => format!("contents_pillar {}", common::pyfmt::py_str(k)),
                None => "'contents'".into(),
            };
            return Ok(Check::fail(format!(
                "{id} value would result in empty contents. Set allow_empty to True to allow the managed file to be empty."
            )));
        }
        if template.is_some() {
            return Ok(Check::fail(
                "'template' with 'contents' is not supported by Brine yet: put the template in a salt:// source",
            ));
        }
    }
    if let Some(f) = fail_unless_dict(context, "Context must be formed as a dict")
        .or_else(|| fail_unless_dict(defaults, "Defaults must be formed as a dict"))
    {
        return Ok(f);
    }

    let real_name = if follow_symlinks {
        fsio::resolve_links(host, &name)?
    } else {
        name.clone()
    };
    let real = host.path(&real_name)?;
    if !create && !real.is_file() {
        return Ok(Check::clean(format!(
            "File {name} is not present and is not set for creation"
        )));
    }
    if real.is_dir() {
        return Ok(Check::fail(format!(
            "Specified target {name} is a directory"
        )));
    }
    let target = Target {
        name: name.clone(),
        real_name,
        perms,
        makedirs,
        dir_mode,
        backup,
        show_changes,
    };
    let sources = source.map(source::source_list).transpose()?;

    // A source with a known checksum that the file already has: no fetch.
    if let (Some([only]), None, true, Some(spec)) = (
        sources.as_deref(),
        template.as_ref(),
        real.is_file() && replace && !skip_verify,
        source_hash.as_deref(),
    ) {
        if let Ok(sum) = source::checksum(host, spec, &only.url, source_hash_name.as_deref()) {
            if std::fs::read(&real).is_ok_and(|b| sum.matches(&b)) {
                replace = false;
            }
        }
    }
    if !replace && fsio::lexists(&real) {
        return plan_perms_only(host, target);
    }

    let content = match (&sources, &contents) {
        (Some(list), _) => {
            match source_content(
                host,
                &target,
                list,
                source_hash,
                source_hash_name,
                skip_verify,
                template,
                context,
                defaults,
            )? {
                Ok(c) => Some(c),
                Err(fail) => return Ok(fail),
            }
        }
        (None, Some(c)) => Some(NewContent::Contents(
            normalize_contents(c, contents_newline).into_bytes(),
        )),
        (None, None) => None,
    };
    plan_file(host, target, content, set_to_change(&name))
}

/// Fetches (or renders) the source and checks it against `source_hash`.
#[allow(clippy::too_many_arguments)]
fn source_content(
    host: &HostRead,
    target: &Target,
    list: &[SourceRef],
    source_hash: Option<String>,
    source_hash_name: Option<String>,
    skip_verify: bool,
    template: Option<String>,
    context: Option<&Value>,
    defaults: Option<&Value>,
) -> Result<Result<NewContent, Check>, StateError> {
    let (chosen, bytes) = match source::first_existing(host, list) {
        Ok(found) => found,
        Err(e) => return Ok(Err(Check::fail(e.0))),
    };
    let bytes = match &template {
        None => bytes,
        Some(t) => {
            let mut vars = Map::new();
            vars.insert("name".into(), Value::String(target.name.clone()));
            vars.insert("source".into(), Value::String(chosen.url.clone()));
            let owner = |o: &Option<super::owner::Owner>| {
                o.as_ref().map_or(Value::Null, |o| o.shown.clone())
            };
            vars.insert("user".into(), owner(&target.perms.user));
            vars.insert("group".into(), owner(&target.perms.group));
            vars.insert(
                "mode".into(),
                target
                    .perms
                    .mode
                    .map_or(Value::Null, |m| Value::String(mode_str(m))),
            );
            vars.insert("attrs".into(), Value::Null);
            for extra in [defaults, context].into_iter().flatten() {
                if let Value::Object(m) = extra {
                    vars.extend(m.clone());
                }
            }
            match source::render(host, t, &chosen.url, vars) {
                Ok(b) => b,
                Err(e) => return Ok(Err(Check::fail(e.0))),
            }
        }
    };
    let hash_spec = chosen.hash.clone().or(source_hash);
    if let (Some(spec), false) = (hash_spec, skip_verify) {
        let sum = match source::checksum(host, &spec, &chosen.url, source_hash_name.as_deref()) {
            Ok(s) => s,
            Err(e) => return Ok(Err(Check::fail(e.0))),
        };
        let actual = sum.kind.digest(&bytes);
        if actual != sum.hex {
            return Ok(Err(Check::fail(format!(
                "Specified {} checksum for {} ({}) does not match actual checksum ({actual}). \
                 If the 'source_hash' value refers to a remote file with multiple possible matches, \
                 then it may be necessary to set 'source_hash_name'.",
                sum.kind.name(),
                chosen.url,
                sum.hex
            ))));
        }
    }
    Ok(Ok(NewContent::Source(bytes)))
}
