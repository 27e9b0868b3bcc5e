//! Syntax errors as users of Salt know them: libyaml's wording and, where
//! saphyr-parser stops at a different place than libyaml, libyaml's
//! position (the offending character rather than the start of the token).
use saphyr_parser::{ScanError, Span};

use super::source::{alias_name, Source};
use super::YamlError;

/// The 1-based line and column of a byte offset.
pub(crate) fn position_at(text: &str, byte: usize) -> (usize, usize) {
    let before = text.get(..byte).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// libyaml's reader refuses characters outside YAML 1.1's printable set.
pub(crate) fn check_characters(text: &str) -> Result<(), YamlError> {
    let allowed = |c: char| {
        matches!(c as u32,
            0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
    };
    let Some((at, bad)) = text.char_indices().find(|(_, c)| !allowed(*c)) else {
        return Ok(());
    };
    let (line, column) = position_at(text, at);
    Err(YamlError::new(
        line,
        column,
        format!(
            "unacceptable character #x{:04x}: control characters are not allowed",
            bad as u32
        ),
    ))
}

/// The first bad escape in the double-quoted scalar that starts at `byte`,
/// where libyaml reports it: at the backslash for an unknown escape, after
/// the escape letter for bad hex digits.
fn bad_escape(text: &str, byte: usize) -> Option<(usize, String)> {
    let quoted = text.get(byte..)?;
    let mut chars = quoted.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return None,
            '\\' => {
                let (j, e) = chars.next()?;
                let digits = match e {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    '0' | 'a' | 'b' | 't' | '\t' | 'n' | 'v' | 'f' | 'r' | 'e' | ' ' | '"' | '/'
                    | '\\' | 'N' | '_' | 'L' | 'P' | '\n' | '\r' => continue,
                    other => {
                        return Some((
                            byte + i,
                            format!("while parsing a quoted scalar: found unknown escape character {other:?}"),
                        ))
                    }
                };
                let after = byte + j + e.len_utf8();
                let hex: String = quoted[j + e.len_utf8()..].chars().take(digits).collect();
                if hex.len() < digits || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Some((
                        after,
                        format!("while parsing a quoted scalar: did not find expected hexadecimal number after '\\{e}'"),
                    ));
                }
                let code = u32::from_str_radix(&hex, 16).ok()?;
                if char::from_u32(code).is_none() {
                    return Some((
                        after,
                        format!("while parsing a quoted scalar: found invalid Unicode character escape code '\\{e}{hex}'"),
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// Rewords the parser's messages where libyaml (what Salt users see) says it
/// more plainly, moves the position to where libyaml puts it, and makes it
/// 1-based.
pub(crate) fn scan_error(e: &ScanError, src: &Source) -> YamlError {
    let m = e.marker();
    let text = src.text;
    let at = src.byte_offset(m.index());
    let here = (m.line(), m.col() + 1);
    let info = e.info();
    let (pos, message) = if info.starts_with("simple key expect") {
        (
            here,
            "while scanning a simple key: could not find expected ':'".to_string(),
        )
    } else if let Some(c) = info
        .strip_prefix("unexpected character: `")
        .and_then(|s| s.strip_suffix('\''))
    {
        (
            here,
            format!("found character '{c}' that cannot start any token"),
        )
    } else if info == "while parsing node, found unknown anchor" {
        let name = alias_name(src, &Span::empty(*m));
        (here, format!("found undefined alias '{name}'"))
    } else if info == "recursion limit exceeded" {
        (
            here,
            "exceeded maximum nesting depth of flow collections (255 levels of '[' and '{')"
                .to_string(),
        )
    } else if let Some(rest) = info.strip_prefix("while parsing a flow sequence, expected") {
        (
            here,
            format!("while parsing a flow sequence, did not find expected{rest}"),
        )
    } else if info == "misplaced bracket" {
        (
            here,
            "found a closing bracket that does not match an opening one".to_string(),
        )
    } else if info == "while scanning a quoted scalar, found unexpected end of stream" {
        (
            position_at(text, text.len()),
            format!(
                "found unexpected end of stream while scanning a quoted scalar \
                 (it starts at line {}, column {})",
                here.0, here.1
            ),
        )
    } else if info.starts_with("while parsing a quoted scalar") {
        match bad_escape(text, at) {
            Some((byte, message)) => (position_at(text, byte), message),
            None => (here, info.to_string()),
        }
    } else if info.starts_with("while scanning an anchor or alias") {
        let rest = text.get(at..).unwrap_or("");
        let name_len = rest
            .chars()
            .skip(1)
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .count();
        (
            (here.0, here.1 + 1 + name_len),
            "while scanning an anchor or alias: did not find expected alphabetic or numeric character"
                .to_string(),
        )
    } else if info.starts_with("tabs disallowed") || info == "tab cannot be used as indentation" {
        // saphyr stops after the tabs; libyaml points at the first one.
        let before = text.get(..at).unwrap_or("");
        let tabs = before.chars().rev().take_while(|c| *c == '\t').count();
        (
            (here.0, here.1.saturating_sub(tabs).max(1)),
            "found a tab character where indentation is expected (indent with spaces)".to_string(),
        )
    } else if info == "while parsing a block mapping, did not find expected key" {
        // saphyr stops after a stray '-'; libyaml points at it.
        let before = text.get(..at).unwrap_or("").trim_end_matches([' ', '\t']);
        if before.ends_with('-') {
            (
                position_at(text, before.len() - 1),
                "while parsing a block mapping: did not find expected key \
                 (a '-' list item cannot follow mapping keys at the same indentation)"
                    .to_string(),
            )
        } else {
            (
                here,
                "while parsing a block mapping: did not find expected key".to_string(),
            )
        }
    } else if info == "while scanning a plain scalar, found a tab" {
        match text.get(at..).and_then(|r| r.find('\t')) {
            Some(off) => (
                position_at(text, at + off),
                "found a tab character that violates indentation".to_string(),
            ),
            None => (here, info.to_string()),
        }
    } else {
        (here, info.to_string())
    };
    YamlError::new(pos.0, pos.1, message)
}
