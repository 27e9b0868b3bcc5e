//! `file.append`: lines added at the end of a file unless already present
//! (by default ignoring whitespace, as Salt's `build_whitespace_split_regex`).
use common::data::{Map, Value};

use super::super::{Args, Check, HostRead, StateError};
use super::absolute_name;
use super::diff::{is_text, unified};
use super::edit::{template_texts, Backup, Create, EditFile, TextFile};
use super::file_plan::py_splitlines;
use super::perms::Perms;
use super::pyregex::{self, Flags};

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
