//! `file.replace`: a regex substitution over the whole file.
use super::super::{Args, Check, HostRead, StateError};
use super::absolute_name;
use super::diff::is_text;
use super::edit::{binary, edit_check, not_found, split_keepends, Backup, TextFile};
use super::pyregex::{self, Flags, Replacement};

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
