//! `file.line`, ported from Salt's execution module functions
//! (`salt/modules/file.py` `_set_line`, `line`) so lines land exactly where
//! Salt puts them.
use common::data::Map;

use super::super::{Args, Check, HostRead, StateError};
use super::absolute_name;
use super::diff::{is_text, unified};
use super::edit::{
    binary_check, diff_change, missing_as_empty, not_found_check, Backup, EditFile, TextFile,
};
use super::owner::Accounts;
use super::perms::Perms;
use super::pyregex::{self, Flags};

/// `_get_eol`: the line ending a line has (`""` for none).
fn eol(line: &str) -> &str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else if line.ends_with('\r') {
        "\r"
    } else {
        ""
    }
}

/// `_set_line_eol`: `line` with `src`'s ending (or `\n`).
fn with_eol(src: &str, line: &str) -> String {
    let e = match eol(src) {
        "" => "\n",
        e => e,
    };
    format!("{}{e}", line.trim_end())
}

/// Whether a line already is `content`. Salt compares with only the line
/// ending stripped, so an indented line never equals its content and
/// `mode: ensure` added it again on every run; blanks are ignored here.
fn same_line(line: &str, content: &str) -> bool {
    line.trim() == content.trim()
}

/// `_set_line_indent`: `line` with `src`'s leading blanks.
fn with_indent(src: &str, line: &str, indent: bool) -> String {
    if !indent {
        return line.to_string();
    }
    let lead: String = src
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    format!("{lead}{}", line.trim_start())
}

/// `_regex_to_static`: the lines matching `regex` (searched with DOTALL) or
/// containing it literally.
fn matching(lines: &[String], regex: Option<&str>) -> Result<Option<Vec<String>>, String> {
    let Some(regex) = regex.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if lines.is_empty() {
        return Ok(None);
    }
    let flags = Flags {
        dotall: true,
        ..Flags::default()
    };
    let re = pyregex::compile(regex, flags).map_err(|e| format!("{e}: '{regex}'"))?;
    Ok(Some(
        lines
            .iter()
            .filter(|l| re.is_match(l) || l.contains(regex))
            .cloned()
            .collect(),
    ))
}

/// `_assert_occurrence`: exactly one matching line.
fn one(found: &[String], what: &str) -> Result<(), String> {
    let msg = match found.len() {
        0 => "less than",
        1 => return Ok(()),
        _ => "more than",
    };
    Err(format!(
        "Found {msg} expected occurrences in \"{what}\" expression"
    ))
}

fn index_of(lines: &[String], line: &str) -> usize {
    lines.iter().position(|l| l == line).unwrap_or(0)
}

/// What `file.line` was asked.
struct LineSpec<'a> {
    content: Option<&'a str>,
    matcher: Option<&'a str>,
    mode: &'a str,
    location: Option<&'a str>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    indent: bool,
}

/// Salt's `_set_line` on the file's lines (ends kept, plus a trailing ""
/// when the last line has an ending).
fn set_line(mut lines: Vec<String>, spec: &LineSpec) -> Result<Vec<String>, String> {
    let content = spec.content.unwrap_or("");
    let matcher = match spec.matcher {
        Some(m) if !m.is_empty() => Some(m),
        _ if spec.before.is_none() && spec.after.is_none() => spec.content,
        _ => spec.matcher,
    };
    let after = matching(&lines, spec.after)?;
    let before = matching(&lines, spec.before)?;
    let found = matching(&lines, matcher)?;
    let first_found = found.as_ref().and_then(|f| f.first().cloned());
    let indent = spec.indent;
    match spec.mode {
        "delete" | "replace" if lines.is_empty() => {}
        "delete" => {
            if let Some(m) = first_found {
                lines.retain(|l| *l != m);
            }
        }
        "replace" => {
            if let Some(m) = first_found {
                let idx = index_of(&lines, &m);
                let original = lines.remove(idx);
                lines.insert(idx, with_indent(&original, content, indent));
            }
        }
        "insert" => {
            if spec.before.is_none() && spec.after.is_none() && spec.location.is_none() {
                return Err(
                    "On insert either \"location\" or \"before/after\" conditions are required."
                        .into(),
                );
            }
            if let Some(location) = spec.location.filter(|l| !l.is_empty()) {
                match location {
                    "end" => {
                        let line = match lines.last() {
                            Some(last) => with_indent(last, content, indent),
                            None => content.to_string(),
                        };
                        lines.push(line);
                    }
                    "start" => match lines.first() {
                        Some(first) => {
                            let line = with_eol(first, content);
                            lines.insert(0, line);
                        }
                        None => lines = vec![format!("{content}\n")],
                    },
                    _ => {}
                }
            } else {
                let nonempty = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
                match (&before, &after) {
                    (Some(b), Some(a)) if nonempty(&before) && nonempty(&after) => {
                        one(b, "before")?;
                        one(a, "after")?;
                        let last = index_of(&lines, &b[0]);
                        let line = with_indent(&lines[last], content, indent);
                        lines.insert(last, line);
                    }
                    (_, Some(a)) if nonempty(&after) => {
                        one(a, "after")?;
                        let idx = index_of(&lines, &a[0]);
                        let next = lines.get(idx + 1);
                        if next.is_none_or(|n| !same_line(n, content)) {
                            let line = with_indent(&lines[idx], content, indent);
                            lines.insert(idx + 1, line);
                        }
                    }
                    (Some(b), _) if nonempty(&before) => {
                        one(b, "before")?;
                        let idx = index_of(&lines, &b[0]);
                        // Python's lines[-1] when the match is the first line.
                        let prev = if idx == 0 {
                            lines.last()
                        } else {
                            lines.get(idx - 1)
                        };
                        if prev.is_none_or(|p| !same_line(p, content)) {
                            let line = with_indent(&lines[idx], content, indent);
                            lines.insert(idx, line);
                        }
                    }
                    _ => return Err("Neither before or after was found in file".into()),
                }
            }
        }
        "ensure" => {
            let nonempty = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
            match (&before, &after) {
                (Some(b), Some(a)) if nonempty(&before) && nonempty(&after) => {
                    one(a, "after")?;
                    one(b, "before")?;
                    let ai = index_of(&lines, &a[0]);
                    let bi = index_of(&lines, &b[0]);
                    let already = lines.iter().any(|l| same_line(l, content));
                    if !already {
                        if ai + 1 == bi {
                            let line = with_indent(&lines[ai], content, indent);
                            lines.insert(ai + 1, line);
                        } else if ai + 2 == bi {
                            lines[ai + 1] = with_indent(&lines[ai], content, indent);
                        } else {
                            return Err("Found more than one line between boundaries \"before\" and \"after\".".into());
                        }
                    }
                }
                (Some(b), _) if nonempty(&before) => {
                    one(b, "before")?;
                    let bi = index_of(&lines, &b[0]);
                    let prev_differs = bi == 0
                        || !same_line(&lines[bi - 1], content);
                    if prev_differs {
                        // Python's lines[before_index - 1] is the last line when 0.
                        let src = if bi == 0 { lines.last().cloned().unwrap_or_default() } else { lines[bi - 1].clone() };
                        lines.insert(bi, with_indent(&src, content, indent));
                    }
                }
                (_, Some(a)) if nonempty(&after) => {
                    one(a, "after")?;
                    let ai = index_of(&lines, &a[0]);
                    let is_last = ai + 1 >= lines.len();
                    if is_last || !same_line(&lines[ai + 1], content) {
                        let line = with_indent(&lines[ai], content, indent);
                        lines.insert(ai + 1, line);
                    }
                }
                _ => {
                    return Err("Wrong conditions? Unable to ensure line without knowing where to put it before and/or after.".into())
                }
            }
        }
        _ => {}
    }
    Ok(lines)
}

/// Salt's `file.line` on a file's text: the new text.
fn line_text(text: &str, spec: &LineSpec) -> Result<String, String> {
    let mut body: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if body.last().is_some_and(|l| !eol(l).is_empty()) {
        body.push(String::new());
    }
    if text.is_empty() && matches!(spec.mode, "delete" | "replace") {
        body.clear();
    }
    let mut body = set_line(body, spec)?;
    let n = body.len();
    for idx in 0..n {
        if eol(&body[idx]).is_empty() && idx + 1 < n {
            let prev = if idx == 0 { 1 } else { idx - 1 };
            let src = body.get(prev).cloned().unwrap_or_default();
            body[idx] = with_eol(&src, &body[idx]);
        }
    }
    if body.last().is_some_and(String::is_empty) {
        body.pop();
    }
    Ok(body.concat())
}

pub(super) fn line(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let content = args.str("content")?;
    let matcher = args.str("match")?;
    let mode = args.str("mode")?.map(|m| m.to_lowercase());
    let location = args.str("location")?;
    let before = args.str("before")?;
    let after = args.str("after")?;
    let show_changes = args.bool_or("show_changes", true)?;
    let backup = args.bool_or("backup", false)?;
    let quiet = args.bool_or("quiet", false)?;
    let indent = args.bool_or("indent", true)?;
    let create = args.bool_or("create", false)?;
    let accounts = Accounts::load(host);
    let perms = Perms::from_args(
        &accounts,
        args.get("user"),
        args.get("group"),
        args.mode("file_mode")?,
    )?;
    let Some(mode) = mode else {
        return Ok(Check::fail(
            "Mode was not defined. How to process the file?",
        ));
    };
    if !matches!(mode.as_str(), "insert" | "ensure" | "delete" | "replace") {
        return Ok(Check::fail(format!("Unknown mode: \"{mode}\"")));
    }
    if mode != "delete" && content.is_none() {
        return Ok(Check::fail(
            "Content can only be empty if mode is ['delete']",
        ));
    }
    let (file, creating) = match TextFile::open(host, &name)? {
        Some(f) => (f, None),
        None if create && !host.path(&name)?.is_dir() => {
            let (f, c) = missing_as_empty(&name, perms.clone(), false);
            (f, Some(c))
        }
        None if quiet => return Ok(Check::clean("No changes needed to be made")),
        None => return Ok(not_found_check(&name)),
    };
    if !is_text(&file.bytes) {
        return Ok(binary_check(&name));
    }
    let spec = LineSpec {
        content: content.as_deref(),
        matcher: matcher.as_deref(),
        mode: &mode,
        location: location.as_deref(),
        before: before.as_deref(),
        after: after.as_deref(),
        indent,
    };
    let new_text = match line_text(&file.text, &spec) {
        Ok(t) => t,
        Err(e) => return Ok(Check::fail(e)),
    };
    let perm_changes = if creating.is_none() {
        let meta = std::fs::metadata(host.path(&file.real_name)?)?;
        perms.diff(&meta)
    } else {
        Map::new()
    };
    if new_text == file.text && creating.is_none() && perm_changes.is_empty() {
        return Ok(Check::clean("No changes needed to be made"));
    }
    let diff = unified(
        &super::edit::split_keepends(&file.text),
        &super::edit::split_keepends(&new_text),
        "",
    );
    let mut changes = if new_text != file.text {
        diff_change(show_changes && !diff.is_empty(), diff)
    } else {
        Map::new()
    };
    changes.extend(perm_changes);
    let new = match file.encode(&new_text) {
        Ok(b) => b,
        Err(e) => return Ok(Check::fail(e)),
    };
    let backup = if backup {
        Backup::Suffix(format!(".{}", timestamp()))
    } else {
        Backup::None
    };
    Ok(Check::change(
        changes.clone(),
        "Changes would be made",
        EditFile {
            name,
            real_name: file.real_name,
            new,
            backup,
            create: creating,
            perms: Some(perms),
            result: true,
            comment: "Changes were made".into(),
            changes,
        },
    ))
}

/// `%Y-%m-%d-%H-%M-%S` (UTC) for `file.line`'s backup names.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Days → civil date (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}-{:02}-{:02}-{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(mode: &'a str, content: &'a str) -> LineSpec<'a> {
        LineSpec {
            content: Some(content),
            matcher: None,
            mode,
            location: None,
            before: None,
            after: None,
            indent: true,
        }
    }

    #[test]
    fn ensure_after_inserts_once_with_the_anchor_indent() {
        let s = LineSpec {
            after: Some("^\\s*server"),
            ..spec("ensure", "listen 80;")
        };
        let once = line_text("http {\n  server {\n  }\n}\n", &s).unwrap();
        assert_eq!(once, "http {\n  server {\n  listen 80;\n  }\n}\n");
        assert_eq!(line_text(&once, &s).unwrap(), once);
    }

    #[test]
    fn replace_and_delete_use_the_first_matching_line() {
        let s = LineSpec {
            matcher: Some("^port"),
            ..spec("replace", "port = 8080")
        };
        assert_eq!(
            line_text("a\nport = 1\nb\n", &s).unwrap(),
            "a\nport = 8080\nb\n"
        );
        let d = LineSpec {
            matcher: Some("^port"),
            ..spec("delete", "")
        };
        assert_eq!(line_text("a\nport = 1\nb\n", &d).unwrap(), "a\nb\n");
    }

    #[test]
    fn insert_at_start_and_ambiguous_anchor_errors() {
        let s = LineSpec {
            location: Some("start"),
            ..spec("insert", "first")
        };
        assert_eq!(line_text("a\r\nb\r\n", &s).unwrap(), "first\r\na\r\nb\r\n");
        let amb = LineSpec {
            after: Some("x"),
            ..spec("insert", "y")
        };
        assert_eq!(
            line_text("x\nx\n", &amb).unwrap_err(),
            "Found more than expected occurrences in \"after\" expression"
        );
    }
}
