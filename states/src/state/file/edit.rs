//! The states that edit a text file in place: `append`, `replace`,
//! `comment`, `uncomment` (and, in `line.rs`, `line` and `blockreplace`).
//! Each computes the new text in `check`; applying writes it atomically,
//! keeping the file's owner and mode, after the backup Salt makes.
use common::data::{Map, Value};

use super::super::{Applied, Apply, Args, Check, HostRead, HostWrite, StateError};
use super::diff::{decode, is_text, unified};
use super::fsio::{self, make_parents, NewMeta};
use super::managed::py_splitlines;
use super::perms::Perms;
use super::pyregex::{self, Flags, Replacement};
use super::source;
use super::{absolute_name, fail_unless_dict};

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

/// Salt's `_validate_str_list`: a string, or each item of a list, as text.
fn str_list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(common::pyfmt::py_str).collect(),
        other => vec![common::pyfmt::py_str(other)],
    }
}

/// `shlex.shlex(line)` with `whitespace_split` (non-POSIX: quotes stay in
/// the words), choosing quote characters as Salt's
/// `build_whitespace_split_regex` does. Not `common::shlex`: that is POSIX
/// mode, which removes quotes and escapes, and these words must keep them to
/// match the file's text.
fn shlex_words(line: &str) -> Vec<String> {
    let quotes: &[char] = if line.contains("'\\\"") {
        &[]
    } else if line.contains('\'') {
        &['"']
    } else if line.contains('"') {
        &['\'']
    } else {
        &['\'', '"']
    };
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) => {
                word.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if " \t\r\n".contains(c) => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None => {
                if quotes.contains(&c) {
                    quote = Some(c);
                }
                word.push(c);
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Salt's `build_whitespace_split_regex`: the text's words in order, any
/// whitespace (or none) between them, as whole lines.
fn whitespace_split_regex(text: &str) -> Result<regex::Regex, String> {
    let mut body = String::new();
    for line in py_splitlines(text) {
        let words: Vec<String> = shlex_words(line).iter().map(|w| regex::escape(w)).collect();
        body.push_str(&format!(r"\s*{}\s*", words.join(r"\s*")));
    }
    regex::RegexBuilder::new(&format!("(?m)^{body}$"))
        .size_limit(4 << 20)
        .build()
        .map_err(|e| e.to_string())
}

pub(super) fn append(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let text = args.get("text");
    let makedirs = args.bool_or("makedirs", false)?;
    let ignore_whitespace = args.bool_or("ignore_whitespace", true)?;
    let texts = match template_texts(args, host)? {
        Ok(t) => t,
        Err(fail) => return Ok(fail),
    };
    let chunks = if !texts.is_empty() {
        texts
    } else {
        match text {
            Some(t) => str_list(t),
            None => return Ok(Check::fail("No text found to append. Nothing appended")),
        }
    };
    let (file, create) = match TextFile::open(host, &name)? {
        Some(f) => (f, None),
        None => {
            if host.path(&name)?.is_dir() {
                return Ok(Check::fail(format!("{name}: file not found")));
            }
            let create = Create {
                perms: Perms::default(),
                makedirs,
                no_dir: format!("Directory not present to touch file {name}"),
            };
            (TextFile::from_bytes(&name, &name, Vec::new()), Some(create))
        }
    };
    let mut lines_added: Vec<String> = Vec::new();
    for chunk in &chunks {
        let present = if ignore_whitespace {
            whitespace_split_regex(chunk)
        } else {
            pyregex::compile(chunk, Flags::MULTILINE)
        };
        match present {
            Ok(re) if re.is_match(&file.text) => continue,
            Ok(_) => {}
            Err(e) => {
                return Ok(Check::fail(format!(
                    "Unable to search {name} for {chunk:?}: {e}"
                )))
            }
        }
        lines_added.extend(py_splitlines(chunk).into_iter().map(str::to_string));
    }
    if lines_added.is_empty() {
        return Ok(Check::clean(format!("File {name} is in correct state")));
    }
    // Salt's file.append: end the file with a newline, then one line each.
    let mut new_text = file.text.clone();
    if !new_text.is_empty() && !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    for l in &lines_added {
        new_text.push_str(l);
        new_text.push('\n');
    }
    let new = match file.encode(&new_text) {
        Ok(b) => b,
        Err(e) => return Ok(Check::fail(e)),
    };
    let old_lines = py_splitlines(&file.text);
    let new_lines = py_splitlines(&new_text);
    let diff = if is_text(&new) {
        unified(&old_lines, &new_lines, "\n")
    } else {
        "Replace binary file".into()
    };
    let mut applied = Map::new();
    applied.insert("diff".into(), Value::String(diff));
    let (changes, test_comment) = if create.is_some() {
        let mut c = Map::new();
        c.insert("new".into(), Value::String(name.clone()));
        (c, format!("File {name} is set to be created"))
    } else {
        (applied.clone(), format!("File {name} is set to be updated"))
    };
    Ok(Check::change(
        changes,
        test_comment,
        EditFile {
            name,
            real_name: file.real_name,
            new,
            backup: Backup::None,
            create,
            perms: None,
            result: true,
            comment: format!("Appended {} lines", lines_added.len()),
            changes: applied,
        },
    ))
}

/// Salt's file states answer a missing file this way.
fn not_found(name: &str) -> Check {
    Check::fail(format!("{name}: file not found"))
}

fn binary(name: &str) -> Check {
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

pub(super) fn replace(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let pattern = args
        .str("pattern")?
        .ok_or_else(|| StateError::args("file.replace needs 'pattern'"))?;
    let repl = args
        .str("repl")?
        .ok_or_else(|| StateError::args("file.replace needs 'repl'"))?;
    let count = args
        .int("count")?
        .map(|c| usize::try_from(c).map_err(|_| StateError::args("'count' must not be negative")))
        .transpose()?
        .unwrap_or(0);
    let _ = args.get("bufsize"); // the whole file is always read
    let append_if = args.bool_or("append_if_not_found", false)?;
    let prepend_if = args.bool_or("prepend_if_not_found", false)?;
    let not_found_content = args.str("not_found_content")?.filter(|s| !s.is_empty());
    let backup = Backup::read(args, ".bak")?;
    let show_changes = args.bool_or("show_changes", true)?;
    let ignore_if_missing = args.bool_or("ignore_if_missing", false)?;
    let backslash_literal = args.bool_or("backslash_literal", false)?;
    let flags = match Flags::parse(args.get("flags")) {
        Ok(f) => f,
        Err(e) => return Ok(Check::fail(e)),
    };
    let Some(file) = TextFile::open(host, &name)? else {
        if ignore_if_missing && !host.path(&name)?.exists() {
            return Ok(Check::clean("No changes needed to be made"));
        }
        return Ok(not_found(&name));
    };
    if !is_text(&file.bytes) {
        return Ok(binary(&name));
    }
    if append_if && prepend_if {
        return Ok(Check::fail(
            "Only one of append and prepend_if_not_found is permitted",
        ));
    }
    let re = match pyregex::compile(&pattern, flags) {
        Ok(r) => r,
        Err(e) => return Ok(Check::fail(e)),
    };
    let replacement = match Replacement::parse(&repl, backslash_literal, &re) {
        Ok(r) => r,
        Err(e) => return Ok(Check::fail(e)),
    };
    let (mut new_text, n) = pyregex::subn(&re, &replacement, &file.text, count);
    let mut found = n > 0;
    if (append_if || prepend_if) && !found {
        // Already added by an earlier run? Look for the line itself.
        let content = not_found_content.clone().unwrap_or_else(|| repl.clone());
        let line = format!("^{}(?:$|\\r\\n)", pyregex::escape(&content));
        match pyregex::compile(&line, flags) {
            Ok(r) => found = r.is_match(&file.text),
            Err(e) => return Ok(Check::fail(e)),
        }
        if !found {
            let mut lines: Vec<String> = split_keepends(&new_text)
                .iter()
                .map(|s| s.to_string())
                .collect();
            let added = format!("{content}\n");
            if prepend_if {
                lines.insert(0, added);
            } else {
                if let Some(last) = lines.last_mut() {
                    if !last.ends_with('\n') {
                        last.push('\n');
                    }
                }
                lines.push(added);
            }
            new_text = lines.concat();
        }
    }
    Ok(edit_check(
        file,
        &new_text,
        show_changes,
        backup,
        "Changes would have been made",
        "Changes were made",
        "No changes needed to be made",
    ))
}

/// `(?i)`-style flags, `^` and `$` taken off a pattern, as Salt's
/// `file.comment` does before building its own.
fn unanchor(regex: &str) -> String {
    let mut r = regex;
    if let Some(rest) = r.strip_prefix("(?") {
        if let Some(end) = rest.find(')') {
            if end == 1 && "iLmsux".contains(&rest[..1]) {
                r = &rest[2..];
            }
        }
    }
    let r = r.strip_prefix('^').unwrap_or(r);
    r.strip_suffix('$').unwrap_or(r).to_string()
}

/// Salt's `comment_line`: the regex it matches lines with (`re.match`).
fn comment_line_regex(regex: &str, char: &str, comment: bool) -> String {
    let body = regex.trim_start_matches('^').trim_end_matches('$');
    let end = if regex.ends_with('$') { "$" } else { "" };
    if comment {
        let start = if regex.starts_with('^') { "^" } else { "" };
        format!("\\A(?:{start}({body}){end})")
    } else {
        format!("\\A(?:^{}\\s*({body}){end})", pyregex::escape(char))
    }
}

/// Lines (ends kept) of `text` rewritten where `re` matches at the start.
fn rewrite_lines(text: &str, re: &regex::Regex, f: impl Fn(&str) -> String) -> String {
    text.split_inclusive('\n')
        .map(|l| if re.is_match(l) { f(l) } else { l.to_string() })
        .collect()
}

pub(super) fn comment(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let regex = args
        .str("regex")?
        .ok_or_else(|| StateError::args("file.comment needs 'regex'"))?;
    let char = args.str_or("char", "#")?;
    let backup = Backup::read(args, ".bak")?;
    let ignore_missing = args.bool_or("ignore_missing", false)?;
    let Some(file) = TextFile::open(host, &name)? else {
        return Ok(not_found(&name));
    };
    let un = unanchor(&regex);
    let uncommented = match pyregex::compile(&format!("^\\s*(?:{un})"), Flags::default()) {
        Ok(r) => r,
        Err(e) => return Ok(Check::fail(e)),
    };
    let commented =
        match pyregex::compile(&format!("{}{un}", pyregex::escape(&char)), Flags::MULTILINE) {
            Ok(r) => r,
            Err(e) => return Ok(Check::fail(e)),
        };
    let any_uncommented = file
        .text
        .lines()
        .any(|l| !l.trim_start().starts_with(char.as_str()) && uncommented.is_match(l));
    if !any_uncommented {
        if commented.is_match(&file.text) {
            return Ok(Check::clean("Pattern already commented"));
        }
        if ignore_missing {
            return Ok(Check::clean(
                "Pattern not found and ignore_missing set to True",
            ));
        }
        return Ok(Check::fail(format!("{un}: Pattern not found")));
    }
    if !is_text(&file.bytes) {
        return Ok(binary(&name));
    }
    let line_re = match pyregex::compile(&comment_line_regex(&regex, &char, true), Flags::default())
    {
        Ok(r) => r,
        Err(e) => return Ok(Check::fail(e)),
    };
    let new_text = rewrite_lines(&file.text, &line_re, |l| format!("{char}{l}"));
    let ok = commented.is_match(&new_text);
    Ok(comment_check(
        file,
        &new_text,
        backup,
        ok,
        "Commented lines successfully",
        "Expected commented lines not found",
    ))
}

/// The change of `comment`/`uncomment`: Salt reports `{name: "updated"}` in
/// a dry run and the diff when done; `ok` is whether the expected lines are
/// there afterwards.
fn comment_check(
    file: TextFile,
    new_text: &str,
    backup: Backup,
    ok: bool,
    done: &str,
    failed: &str,
) -> Check {
    let name = file.name.clone();
    let diff = unified(&split_keepends(&file.text), &split_keepends(new_text), "");
    if diff.is_empty() {
        // Matching lines Salt's line regex does not touch (indented ones):
        // nothing to do, and the result is whether the expected lines exist.
        return if ok {
            Check::clean(done)
        } else {
            Check::fail(failed)
        };
    }
    let new = match file.encode(new_text) {
        Ok(b) => b,
        Err(e) => return Check::fail(e),
    };
    let mut test_changes = Map::new();
    test_changes.insert(name.clone(), "updated".into());
    let mut changes = Map::new();
    changes.insert("diff".into(), Value::String(diff));
    Check::change(
        test_changes,
        format!("File {name} is set to be updated"),
        EditFile {
            name,
            real_name: file.real_name,
            new,
            backup,
            create: None,
            perms: None,
            result: ok,
            comment: if ok { done } else { failed }.to_string(),
            changes,
        },
    )
}

pub(super) fn uncomment(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let regex = args
        .str("regex")?
        .ok_or_else(|| StateError::args("file.uncomment needs 'regex'"))?;
    let char = args.str_or("char", "#")?;
    let backup = Backup::read(args, ".bak")?;
    let Some(file) = TextFile::open(host, &name)? else {
        return Ok(not_found(&name));
    };
    let bare = regex.trim_start_matches('^');
    let compile = |p: &str| pyregex::compile(p, Flags::MULTILINE);
    let (commented, plain) = match (
        compile(&format!("{}[ \\t]*{bare}", pyregex::escape(&char))),
        compile(&format!("^[ \\t]*{bare}")),
    ) {
        (Ok(c), Ok(p)) => (c, p),
        (Err(e), _) | (_, Err(e)) => return Ok(Check::fail(e)),
    };
    if !commented.is_match(&file.text) {
        if plain.is_match(&file.text) {
            return Ok(Check::clean("Pattern already uncommented"));
        }
        return Ok(Check::fail(format!("{regex}: Pattern not found")));
    }
    if !is_text(&file.bytes) {
        return Ok(binary(&name));
    }
    let line_re =
        match pyregex::compile(&comment_line_regex(&regex, &char, false), Flags::default()) {
            Ok(r) => r,
            Err(e) => return Ok(Check::fail(e)),
        };
    let chars: Vec<char> = char.chars().collect();
    let new_text = rewrite_lines(&file.text, &line_re, |l| {
        l.trim_start_matches(|c| chars.contains(&c)).to_string()
    });
    let ok = plain.is_match(&new_text);
    Ok(comment_check(
        file,
        &new_text,
        backup,
        ok,
        "Uncommented lines successfully",
        "Expected uncommented lines not found",
    ))
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
