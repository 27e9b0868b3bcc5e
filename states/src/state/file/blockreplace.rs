//! `file.blockreplace`, ported from Salt's execution module function
//! (`salt/modules/file.py` `blockreplace`) so the block lands exactly where
//! Salt puts it.
use super::super::{Args, Check, HostRead, StateError};
use super::absolute_name;
use super::diff::is_text;
use super::edit::{binary_check, edit_check, not_found_check, Backup, TextFile};
use super::pyregex::{self, Flags};

/// What `file.blockreplace` was asked.
struct Block<'a> {
    marker_start: &'a str,
    marker_end: &'a str,
    content: &'a str,
    append: bool,
    prepend: bool,
    before_match: Option<&'a regex::Regex>,
    after_match: Option<&'a regex::Regex>,
    append_newline: Option<bool>,
}

/// Salt's `blockreplace` on a file's text: the new text.
fn block_text(text: &str, b: &Block) -> Result<String, String> {
    let append_newline = b.append_newline.unwrap_or(!b.content.ends_with('\n'));
    let split: Vec<&str> = b
        .content
        .split("\r\n")
        .flat_map(|l| l.split('\n'))
        .collect();
    let add_content = |linesep: &str, lines: &mut Vec<String>, with_start: bool, end_line: &str| {
        let end_line = format!("{}{linesep}", end_line.trim_end_matches(['\r', '\n']));
        if with_start {
            lines.push(format!("{}{linesep}", b.marker_start));
        }
        let count = split.len();
        for (i, l) in split.iter().enumerate() {
            if i + 1 != count {
                lines.push(format!("{l}{linesep}"));
            } else if append_newline {
                lines.push(format!("{l}{linesep}"));
                lines.push(end_line.clone());
            } else {
                lines.push(format!("{l}{end_line}"));
            }
        }
    };
    let mut orig: Vec<String> = Vec::new();
    let mut new: Vec<String> = Vec::new();
    let mut in_block = false;
    let mut found = false;
    let mut linesep: Option<&str> = None;
    for line in super::edit::split_keepends(text) {
        if linesep.is_none() {
            linesep = Some(if line.ends_with("\r\n") { "\r\n" } else { "\n" });
        }
        let mut keep = true;
        if line.contains(b.marker_start) {
            in_block = true;
        } else if in_block {
            keep = false;
            if let Some(pos) = line.find(b.marker_end) {
                in_block = false;
                found = true;
                add_content(linesep.unwrap_or("\n"), &mut new, false, &line[pos..]);
            }
        }
        orig.push(line.to_string());
        if keep {
            new.push(line.to_string());
        }
    }
    let linesep = linesep.unwrap_or("\n");
    if in_block {
        return Err("Unterminated marked block. End of file reached before marker_end.".into());
    }
    if !found {
        if b.prepend {
            let mut block = Vec::new();
            add_content(linesep, &mut block, true, b.marker_end);
            block.extend(new);
            new = block;
        } else if b.append {
            if let Some(last) = new.last_mut() {
                if !last.ends_with(linesep) {
                    last.push_str(linesep);
                }
            }
            add_content(linesep, &mut new, true, b.marker_end);
        } else if let Some(re) = b.before_match.or(b.after_match) {
            let Some(mut idx) = orig.iter().position(|l| re.is_match(l)) else {
                return Err("Cannot edit marked block. Markers were not found in file.".into());
            };
            let mut block = Vec::new();
            add_content(linesep, &mut block, true, b.marker_end);
            for l in block {
                if b.after_match.is_some() {
                    idx += 1;
                }
                new.insert(idx, l);
                if b.before_match.is_some() {
                    idx += 1;
                }
            }
        } else {
            return Err("Cannot edit marked block. Markers were not found in file.".into());
        }
    }
    Ok(new.concat())
}

pub(super) fn blockreplace(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let marker_start = args.str_or("marker_start", "#-- start managed zone --")?;
    let marker_end = args.str_or("marker_end", "#-- end managed zone --")?;
    let mut content = args.str_or("content", "")?;
    let append = args.bool_or("append_if_not_found", false)?;
    let prepend = args.bool_or("prepend_if_not_found", false)?;
    let backup = Backup::read(args, ".bak")?;
    let show_changes = args.bool_or("show_changes", true)?;
    let append_newline = match args.get("append_newline") {
        None => None,
        Some(_) => Some(args.bool_or("append_newline", false)?),
    };
    let before_match = args.str("insert_before_match")?.filter(|s| !s.is_empty());
    let after_match = args.str("insert_after_match")?.filter(|s| !s.is_empty());
    let id = args.get("__id__").and_then(|v| v.as_str()).unwrap_or("");
    super::accumulated::extend_block(host, &name, id, &mut content);
    match super::edit::template_texts(args, host)? {
        Ok(texts) => texts.iter().for_each(|t| content.push_str(t)),
        Err(fail) => return Ok(fail),
    }
    let exclusive = [
        append,
        prepend,
        before_match.is_some(),
        after_match.is_some(),
    ];
    if exclusive.iter().filter(|x| **x).count() > 1 {
        return Ok(Check::fail(
            "Encountered error managing block: Only one of append_if_not_found, prepend_if_not_found, \
             insert_before_match, and insert_after_match is permitted. See the log for details.",
        ));
    }
    let Some(file) = TextFile::open(host, &name)? else {
        return Ok(not_found_check(&name));
    };
    if !is_text(&file.bytes) {
        return Ok(binary_check(&name));
    }
    let compile = |p: &Option<String>| {
        p.as_deref()
            .map(|p| pyregex::compile(p, Flags::default()))
            .transpose()
    };
    let (before_re, after_re) = match (compile(&before_match), compile(&after_match)) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), _) | (_, Err(e)) => return Ok(Check::fail(e)),
    };
    let spec = Block {
        marker_start: &marker_start,
        marker_end: &marker_end,
        content: &content,
        append,
        prepend,
        before_match: before_re.as_ref(),
        after_match: after_re.as_ref(),
        append_newline,
    };
    let new_text = match block_text(&file.text, &spec) {
        Ok(t) => t,
        Err(e) => {
            return Ok(Check::fail(format!(
                "Encountered error managing block: {e}. See the log for details."
            )))
        }
    };
    Ok(edit_check(
        file,
        &new_text,
        show_changes,
        backup,
        "Changes would be made",
        "Changes were made",
        "No changes needed to be made",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_replaced_between_markers_and_appended_when_missing() {
        let b = Block {
            marker_start: "# start",
            marker_end: "# end",
            content: "new",
            append: true,
            prepend: false,
            before_match: None,
            after_match: None,
            append_newline: None,
        };
        assert_eq!(
            block_text("a\n# start\nold\n# end\nz\n", &b).unwrap(),
            "a\n# start\nnew\n# end\nz\n"
        );
        assert_eq!(block_text("a", &b).unwrap(), "a\n# start\nnew\n# end\n");
        assert!(block_text("# start\nold\n", &b)
            .unwrap_err()
            .starts_with("Unterminated"));
    }
}
