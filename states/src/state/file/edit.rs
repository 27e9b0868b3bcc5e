//! What the states that edit a text file in place share: the file read as
//! text, the backup Salt makes, the atomic write keeping the file's owner
//! and mode, and the diff check. The states themselves are `append`,
//! `replace`, `comment` (with `uncomment`) and `line` (with `blockreplace`);
//! each computes the new text in `check`.
use common::data::{Map, Value};

use super::super::{Applied, Apply, Args, Check, HostRead, HostWrite, StateError};
use super::diff::{decode, unified};
use super::fail_unless_dict;
use super::fsio::{self, make_parents, NewMeta};
use super::perms::Perms;
use super::source;

/// A text file read for editing.
pub(super) struct TextFile {
    pub name: String,
    /// Where the content really is (symlinks followed, as Salt's realpath).
    pub real_name: String,
    pub bytes: Vec<u8>,
    pub text: String,
    /// Not UTF-8: read as Latin-1, so writing it back is byte-exact.
    latin1: bool,
}

impl TextFile {
    /// Reads `name`; `None` when it does not exist (or is not a file).
    pub fn open(host: &HostRead, name: &str) -> Result<Option<TextFile>, StateError> {
        let real_name = fsio::resolve_links(host, name)?;
        let real = host.path(&real_name)?;
        if !real.is_file() {
            return Ok(None);
        }
        let bytes = std::fs::read(&real)?;
        Ok(Some(TextFile::from_bytes(name, &real_name, bytes)))
    }

    pub fn from_bytes(name: &str, real_name: &str, bytes: Vec<u8>) -> TextFile {
        let (text, latin1) = match String::from_utf8(bytes.clone()) {
            Ok(t) => (t, false),
            Err(_) => (decode(&bytes), true),
        };
        TextFile {
            name: name.to_string(),
            real_name: real_name.to_string(),
            bytes,
            text,
            latin1,
        }
    }

    /// Text back to bytes in the file's own encoding.
    pub fn encode(&self, text: &str) -> Result<Vec<u8>, String> {
        if !self.latin1 {
            return Ok(text.as_bytes().to_vec());
        }
        text.chars()
            .map(|c| u8::try_from(c as u32).ok())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                format!(
                    "{} is not UTF-8, and the new text has characters Latin-1 cannot hold",
                    self.name
                )
            })
    }
}

/// Python's `bytes.splitlines(keepends=True)`: breaks at `\n`, `\r\n`, `\r`.
pub(super) fn split_keepends(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let end = match b[i] {
            b'\n' => i + 1,
            b'\r' if b.get(i + 1) == Some(&b'\n') => i + 2,
            b'\r' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push(&text[start..end]);
        start = end;
        i = end;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// How the old content is kept before an edit.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Backup {
    None,
    /// A copy at the file's path plus this suffix (`.bak`).
    Suffix(String),
}

impl Backup {
    /// `backup:` of the editing states: a suffix, or False/"" for none.
    pub fn read(args: &Args, default: &str) -> Result<Backup, StateError> {
        Ok(match args.get("backup") {
            None => Backup::from_suffix(default),
            Some(Value::Bool(false)) => Backup::None,
            Some(Value::Bool(true)) => Backup::from_suffix(default),
            Some(_) => Backup::from_suffix(&args.str("backup")?.unwrap_or_default()),
        })
    }

    fn from_suffix(s: &str) -> Backup {
        if s.is_empty() {
            Backup::None
        } else {
            Backup::Suffix(s.to_string())
        }
    }
}

/// A file being created by an editing state (`append` on a missing file,
/// `line` with `create`).
#[derive(Debug, Clone)]
pub(super) struct Create {
    pub perms: Perms,
    pub makedirs: bool,
    /// Failure when the directory is missing and `makedirs` is off.
    pub no_dir: String,
}

/// Writes an edited file.
pub(super) struct EditFile {
    pub name: String,
    pub real_name: String,
    pub new: Vec<u8>,
    pub backup: Backup,
    /// `None`: the file exists and keeps its owner and mode.
    pub create: Option<Create>,
    /// Owner and mode to set on an existing file as well.
    pub perms: Option<Perms>,
    pub result: bool,
    pub comment: String,
    pub changes: Map<String, Value>,
}

impl Apply for EditFile {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        let real = host.path(&self.real_name)?;
        let perms = match self
            .create
            .as_ref()
            .map(|c| &c.perms)
            .or(self.perms.as_ref())
            .map(|p| p.resolve(host))
            .transpose()
        {
            Ok(p) => p.unwrap_or_default(),
            Err(msg) => return Ok(Applied::failed(msg, Map::new())),
        };
        let meta = NewMeta {
            uid: perms.uid(),
            gid: perms.gid(),
            mode: perms.mode,
        };
        match &self.create {
            Some(c) if !real.is_file() => {
                if real.parent().is_some_and(|p| !p.is_dir()) {
                    if !c.makedirs {
                        return Ok(Applied::failed(c.no_dir.clone(), Map::new()));
                    }
                    if let Err(e) = make_parents(host, &real, NewMeta::default()) {
                        return Ok(Applied::failed(
                            format!("Unable to create parent directories: {e}"),
                            Map::new(),
                        ));
                    }
                }
            }
            _ => {
                if !real.is_file() {
                    return Ok(Applied::failed(
                        format!("{}: file not found", self.name),
                        Map::new(),
                    ));
                }
                if let Backup::Suffix(suffix) = &self.backup {
                    let copy = host.path(&format!("{}{suffix}", self.real_name))?;
                    let keep = std::fs::metadata(&real).map(|m| {
                        use std::os::unix::fs::MetadataExt;
                        NewMeta {
                            uid: Some(m.uid()),
                            gid: Some(m.gid()),
                            mode: Some(m.mode() & 0o7777),
                        }
                    })?;
                    let old = std::fs::read(&real)?;
                    if let Err(e) = host.replace_file(&copy, &old, keep) {
                        return Ok(Applied::failed(
                            format!("Unable to write the backup {}: {e}", copy.display()),
                            Map::new(),
                        ));
                    }
                }
            }
        }
        if let Err(e) = host.replace_file(&real, &self.new, meta) {
            return Ok(Applied::failed(
                format!("Unable to write file '{}': {e}", self.name),
                Map::new(),
            ));
        }
        Ok(Applied {
            result: self.result,
            comment: self.comment,
            changes: Some(self.changes),
        })
    }
}

/// The texts of `source`/`sources` (rendered when `template` is set, Jinja
/// by default as Salt's `append` and `blockreplace` do), or a failure.
pub(super) fn template_texts(
    args: &Args,
    host: &HostRead,
) -> Result<Result<Vec<String>, Check>, StateError> {
    let source = args.str("source")?.filter(|s| !s.is_empty());
    let sources = args.str_list("sources")?.unwrap_or_default();
    let source_hash = args.str("source_hash")?.filter(|s| !s.is_empty());
    let source_hashes = args.str_list("source_hashes")?.unwrap_or_default();
    let template = args.str_or("template", "jinja")?;
    let defaults = args.get("defaults");
    let context = args.get("context");
    if source.is_some() && !sources.is_empty() {
        return Ok(Err(Check::fail(
            "source and sources are mutually exclusive",
        )));
    }
    if source_hash.is_some() && !source_hashes.is_empty() {
        return Ok(Err(Check::fail(
            "source_hash and source_hashes are mutually exclusive",
        )));
    }
    if let Some(f) = fail_unless_dict(context, "Context must be formed as a dict")
        .or_else(|| fail_unless_dict(defaults, "Defaults must be formed as a dict"))
    {
        return Ok(Err(f));
    }
    let list: Vec<(String, Option<String>)> = match source {
        Some(s) => vec![(s, source_hash)],
        None => sources
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, source_hashes.get(i).cloned()))
            .collect(),
    };
    let mut vars = Map::new();
    for extra in [defaults, context].into_iter().flatten() {
        if let Value::Object(m) = extra {
            vars.extend(m.clone());
        }
    }
    let mut texts = Vec::new();
    for (url, hash) in list {
        let bytes = if template.is_empty() {
            source::fetch(host, &url)
        } else {
            source::render(host, &template, &url, vars.clone())
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                return Ok(Err(Check::fail(format!(
                    "Failed to load template file {url}: {}",
                    e.0
                ))))
            }
        };
        if let Some(spec) = hash {
            match source::checksum(host, &spec, &url, None) {
                Ok(sum) if sum.matches(&bytes) => {}
                Ok(sum) => {
                    return Ok(Err(Check::fail(format!(
                        "Specified {} checksum for {url} ({}) does not match actual checksum ({})",
                        sum.kind.name(),
                        sum.hex,
                        sum.kind.digest(&bytes)
                    ))))
                }
                Err(e) => return Ok(Err(Check::fail(e.0))),
            }
        }
        texts.push(decode(&bytes));
    }
    Ok(Ok(texts))
}

/// Salt's file states answer a missing file this way.
pub(super) fn not_found(name: &str) -> Check {
    Check::fail(format!("{name}: file not found"))
}

pub(super) fn binary(name: &str) -> Check {
    Check::fail(format!(
        "Cannot perform string replacements on a binary file: {name}"
    ))
}

/// The `diff` change of the editing states: the diff, or `True` when
/// `show_changes` is off.
pub(super) fn diff_change(show_changes: bool, diff: String) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert(
        "diff".into(),
        if show_changes {
            Value::String(diff)
        } else {
            Value::Bool(true)
        },
    );
    c
}

/// A finished edit as a check: `Change` with Salt's comments, or `Clean`.
#[allow(clippy::too_many_arguments)]
pub(super) fn edit_check(
    file: TextFile,
    new_text: &str,
    show_changes: bool,
    backup: Backup,
    test_comment: &str,
    done_comment: &str,
    clean_comment: &str,
) -> Check {
    let old_lines = split_keepends(&file.text);
    let new_lines = split_keepends(new_text);
    let diff = unified(&old_lines, &new_lines, "");
    if diff.is_empty() {
        return Check::clean(clean_comment);
    }
    let new = match file.encode(new_text) {
        Ok(b) => b,
        Err(e) => return Check::fail(e),
    };
    let changes = diff_change(show_changes, diff);
    Check::change(
        changes.clone(),
        test_comment,
        EditFile {
            name: file.name,
            real_name: file.real_name,
            new,
            backup,
            create: None,
            perms: None,
            result: true,
            comment: done_comment.to_string(),
            changes,
        },
    )
}

/// For `line` with `create`: a missing file starts empty.
pub(super) fn missing_as_empty(name: &str, perms: Perms, makedirs: bool) -> (TextFile, Create) {
    (
        TextFile::from_bytes(name, name, Vec::new()),
        Create {
            perms,
            makedirs,
            no_dir: format!("Directory not present to create file {name}"),
        },
    )
}

pub(super) fn not_found_check(name: &str) -> Check {
    not_found(name)
}

pub(super) fn binary_check(name: &str) -> Check {
    binary(name)
}
