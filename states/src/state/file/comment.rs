//! `file.comment` and `file.uncomment`: lines matching a regex commented
//! out, or back in.
use common::data::{Map, Value};

use super::super::{Args, Check, HostRead, StateError};
use super::absolute_name;
use super::diff::{is_text, unified};
use super::edit::{binary, not_found, split_keepends, Backup, EditFile, TextFile};
use super::pyregex::{self, Flags};

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
