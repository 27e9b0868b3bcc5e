//! Diffs as Salt prints them: Python's `difflib.unified_diff` without file
//! names (`--- \n+++ \n@@ -1,3 +1,4 @@\n…`), over lines that keep their
//! endings, and Salt's notes for binary files (`salt/modules/file.py
//! get_diff`, `salt/utils/stringutils.py get_diff`).
//!
//! The hunks come from `similar`'s Myers diff; difflib's matcher can pick a
//! different (equally minimal) alignment for some inputs, so a diff may
//! differ from Salt's in which of two equal lines it calls moved.
use similar::{capture_diff_slices, group_diff_ops, Algorithm, DiffTag};

/// Lines of text as Python's `readlines()` gives them on a binary file: split
/// after each `\n`, endings kept, decoded as UTF-8 or else Latin-1 (Salt
/// tries the same two encodings).
pub(super) fn lines_keepends(bytes: &[u8]) -> Vec<String> {
    bytes.split_inclusive(|b| *b == b'\n').map(decode).collect()
}

/// UTF-8 if it is, Latin-1 otherwise (every byte is a character).
pub(super) fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

/// `difflib.unified_diff(old, new)` joined with `sep` — Salt joins with ""
/// when the lines keep their endings and with "\n" when they do not.
pub(super) fn unified<S: AsRef<str>>(old: &[S], new: &[S], sep: &str) -> String {
    let old: Vec<&str> = old.iter().map(AsRef::as_ref).collect();
    let new: Vec<&str> = new.iter().map(AsRef::as_ref).collect();
    let groups = group_diff_ops(capture_diff_slices(Algorithm::Myers, &old, &new), 3);
    let mut out: Vec<String> = Vec::new();
    for group in &groups {
        if out.is_empty() {
            out.push("--- \n".into());
            out.push("+++ \n".into());
        }
        let (first, last) = match (group.first(), group.last()) {
            (Some(f), Some(l)) => (f.as_tag_tuple(), l.as_tag_tuple()),
            _ => continue,
        };
        out.push(format!(
            "@@ -{} +{} @@\n",
            hunk_range(first.1.start, last.1.end),
            hunk_range(first.2.start, last.2.end)
        ));
        for op in group {
            let (tag, o, n) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => out.extend(old[o].iter().map(|l| format!(" {l}"))),
                DiffTag::Delete => out.extend(old[o].iter().map(|l| format!("-{l}"))),
                DiffTag::Insert => out.extend(new[n].iter().map(|l| format!("+{l}"))),
                DiffTag::Replace => {
                    out.extend(old[o].iter().map(|l| format!("-{l}")));
                    out.extend(new[n].iter().map(|l| format!("+{l}")));
                }
            }
        }
    }
    out.join(sep)
}

/// difflib's `_format_range_unified`.
fn hunk_range(start: usize, stop: usize) -> String {
    let len = stop - start;
    match len {
        1 => format!("{}", start + 1),
        0 => format!("{start},0"),
        _ => format!("{},{len}", start + 1),
    }
}

/// Salt's `files.is_text`: the first 512 bytes have no NUL and are UTF-8 or
/// at most 30% non-text bytes.
pub(super) fn is_text(bytes: &[u8]) -> bool {
    let block = &bytes[..bytes.len().min(512)];
    if block.contains(&0) {
        return false;
    }
    if block.is_empty() || std::str::from_utf8(block).is_ok() {
        return true;
    }
    let nontext = block
        .iter()
        .filter(|b| !matches!(b, 32..=126 | b'\n' | b'\r' | b'\t' | 0x0c | 0x08))
        .count();
    nontext as f64 / block.len() as f64 <= 0.30
}

/// Salt's `get_diff` of two file contents: "" when equal, a note when
/// either is binary, else the unified diff.
pub(super) fn file_diff(old: &[u8], new: &[u8]) -> String {
    if old == new {
        return String::new();
    }
    match (is_text(old), is_text(new)) {
        (false, false) => "Replace binary file".into(),
        (false, true) => "Replace binary file with text file".into(),
        (true, false) => "Replace text file with binary file".into(),
        (true, true) => unified(&lines_keepends(old), &lines_keepends(new), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings are what Python 3.11's difflib prints for the same input.
    #[test]
    fn one_line_changed() {
        assert_eq!(
            file_diff(b"hello\n", b"bye\n"),
            "--- \n+++ \n@@ -1 +1 @@\n-hello\n+bye\n"
        );
    }

    #[test]
    fn from_empty_and_context_trimmed_to_three_lines() {
        assert_eq!(file_diff(b"", b"a\n"), "--- \n+++ \n@@ -0,0 +1 @@\n+a\n");
        let old = b"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
        let new = b"1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n";
        assert_eq!(
            file_diff(old, new),
            "--- \n+++ \n@@ -3,7 +3,7 @@\n 3\n 4\n 5\n-6\n+six\n 7\n 8\n 9\n"
        );
    }

    #[test]
    fn a_missing_final_newline_runs_into_the_next_line_as_in_difflib() {
        assert_eq!(
            file_diff(b"a\nb", b"a\nc\n"),
            "--- \n+++ \n@@ -1,2 +1,2 @@\n a\n-b+c\n"
        );
    }

    #[test]
    fn far_apart_changes_make_two_hunks() {
        let old: Vec<String> = (1..=20).map(|i| format!("{i}\n")).collect();
        let mut new = old.clone();
        new[1] = "two\n".into();
        new[18] = "nineteen\n".into();
        assert_eq!(
            unified(&old, &new, ""),
            "--- \n+++ \n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n\
             @@ -16,5 +16,5 @@\n 16\n 17\n 18\n-19\n+nineteen\n 20\n"
        );
    }

    #[test]
    fn lines_without_endings_joined_with_newlines_as_file_append_does() {
        let old = ["a", "b"];
        let new = ["a", "b", "c"];
        assert_eq!(
            unified(&old, &new, "\n"),
            "--- \n\n+++ \n\n@@ -1,2 +1,3 @@\n\n a\n b\n+c"
        );
    }

    #[test]
    fn binary_files_get_a_note_not_a_diff() {
        assert_eq!(file_diff(b"\0\x01", b"\0\x02"), "Replace binary file");
        assert_eq!(
            file_diff(b"text\n", b"\0"),
            "Replace text file with binary file"
        );
        assert_eq!(
            file_diff(b"\0", b"text\n"),
            "Replace binary file with text file"
        );
        assert!(is_text("é latin-1 would be fine too\n".as_bytes()));
        assert!(is_text(b"caf\xe9\n"));
        assert!(!is_text(&[0xff; 10]));
    }
}
