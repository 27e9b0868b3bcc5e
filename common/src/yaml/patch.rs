//! Text that libyaml (and so Salt) accepts but saphyr-parser, following the
//! stricter YAML 1.2 spec, refuses. Each refusal has a rewrite of the text
//! that means the same to libyaml and is accepted by saphyr-parser; the
//! composer applies it and parses again. Rewrites only add blanks within a
//! line or swap a character one for one, so line numbers in later messages
//! stay right and columns are off only on rewritten lines.
//!
//! Where a rewrite rests on an assumption ("this line is inside a flow
//! collection", "this tab is not inside a quoted or block scalar"), it says
//! so in [`Rewrite`] and the composer checks it on the next parse.
use super::source::Source;

/// saphyr-parser will not start a flow plain scalar with `-` before `,]}`;
/// the `-` is swapped for this private-use character and back again.
pub(crate) const DASH_STAND_IN: char = '\u{E000}';

/// A refusal we know how to rewrite around, at a character index.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    /// `key:<TAB>value`: libyaml takes the tab as the separating blank.
    TabAfterColon(usize),
    /// `[-, x]` / `{k: -}`: libyaml reads a lone `-` as text.
    DashInFlow(usize),
    /// A token in a flow collection starting a line left of the block
    /// indentation: libyaml does not check flow indentation. The second
    /// value is where the outermost open flow collection starts, when the
    /// parser has already reported it.
    FlowIndent(usize, Option<usize>),
    /// A quoted scalar's continuation line left of the block indentation.
    QuotedIndent(usize),
    /// `[a]#c`: libyaml takes `#` right after a flow collection as a comment.
    CommentNoSpace(usize),
    /// Tabs in the leading blanks of a line inside a flow collection or a
    /// quoted scalar, where libyaml takes them as separating blanks.
    LeadingTab(usize),
    /// `&name: x`: libyaml ends the anchor name at the `:` (or another of
    /// `?,]}%@` and a backquote); a blank before it makes saphyr-parser end it there too.
    AnchorNameEnd(usize),
}

impl Refusal {
    /// Recognises a saphyr-parser message we can work around.
    pub(crate) fn from_message(info: &str, at: usize, flow_opener: Option<usize>) -> Option<Self> {
        Some(match info {
            "':' must be followed by a valid YAML whitespace" => Refusal::TabAfterColon(at),
            "plain scalar cannot start with '-' followed by ,[]{}" => Refusal::DashInFlow(at),
            // Any token left of the block indentation; inside a flow
            // collection libyaml does not mind (outside one the rewrite does
            // not apply or its check fails).
            "invalid indentation in flow construct" | "invalid indentation" => {
                Refusal::FlowIndent(at, flow_opener)
            }
            "invalid indentation in quoted scalar" => Refusal::QuotedIndent(at),
            "comments must be separated from other tokens by whitespace" => {
                Refusal::CommentNoSpace(at)
            }
            "tabs disallowed within this context (block indentation)"
            | "tab cannot be used as indentation" => Refusal::LeadingTab(at),
            _ => return None,
        })
    }
}

/// A rewritten text and the assumptions it rests on.
#[derive(Debug, Default)]
pub(crate) struct Rewrite {
    pub text: String,
    /// Lines (1-based) that must turn out to be inside a flow collection.
    pub flow_lines: Vec<usize>,
    /// Byte offsets (in `text`) of tabs after a `:` that became spaces on the
    /// assumption that the `:` is a mapping indicator; they must turn out not
    /// to be inside a quoted or block scalar.
    pub tab_bytes: Vec<usize>,
    /// Bytes inserted, as (offset in the old text, length), so offsets
    /// recorded for earlier rewrites can be moved along.
    pub insertions: Vec<(usize, usize)>,
}

fn line_start(text: &str, byte: usize) -> usize {
    text[..byte].rfind('\n').map_or(0, |i| i + 1)
}

fn line_number(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

/// The rewritten text, or `None` when no rewrite applies (then the
/// original error stands).
pub(crate) fn apply(text: &str, refusal: Refusal) -> Option<Rewrite> {
    let src = Source::new(text);
    match refusal {
        Refusal::TabAfterColon(at) => tabs_after_colons(text, src.byte_offset(at)),
        Refusal::DashInFlow(at) => {
            let byte = src.byte_offset(at);
            if !text[byte..].starts_with('-') {
                return None;
            }
            let mut out = text.to_string();
            out.replace_range(byte..=byte, &DASH_STAND_IN.to_string());
            Some(Rewrite {
                text: out,
                insertions: vec![(byte + 1, DASH_STAND_IN.len_utf8() - 1)],
                ..Rewrite::default()
            })
        }
        Refusal::FlowIndent(at, opener) => {
            let byte = src.byte_offset(at);
            let opener = match opener {
                Some(o) => src.byte_offset(o),
                None => outermost_open_bracket(&text[..byte])?,
            };
            indent_flow(text, opener, byte)
        }
        Refusal::QuotedIndent(at) => pad_quoted(text, src.byte_offset(at)),
        Refusal::CommentNoSpace(at) => {
            let byte = src.byte_offset(at);
            if !text[byte..].starts_with('#') {
                return None;
            }
            let mut out = text.to_string();
            out.insert(byte, ' ');
            Some(Rewrite {
                text: out,
                insertions: vec![(byte, 1)],
                ..Rewrite::default()
            })
        }
        Refusal::AnchorNameEnd(at) => {
            let byte = src.byte_offset(at);
            let mut out = text.to_string();
            out.insert(byte, ' ');
            Some(Rewrite {
                text: out,
                insertions: vec![(byte, 1)],
                ..Rewrite::default()
            })
        }
        Refusal::LeadingTab(at) => {
            let byte = src.byte_offset(at);
            let start = line_start(text, byte);
            let end = text[start..]
                .find(|c| c != ' ' && c != '\t')
                .map_or(text.len(), |i| start + i);
            if !text[start..end].contains('\t') {
                return None;
            }
            let mut out = text.to_string();
            out.replace_range(start..end, &" ".repeat(end - start));
            Some(Rewrite {
                text: out,
                flow_lines: vec![line_number(text, byte)],
                ..Rewrite::default()
            })
        }
    }
}

/// Turns the tabs after every `:` from `from` on into spaces, in one go:
/// a file that has one such `key:<TAB>value` usually has many.
fn tabs_after_colons(text: &str, from: usize) -> Option<Rewrite> {
    let start = line_start(text, from);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    let mut tab_bytes = Vec::new();
    let mut after_colon = false;
    let mut prev = ' ';
    for c in text[start..].chars() {
        if c == '\t' && after_colon {
            tab_bytes.push(out.len());
            out.push(' ');
            continue;
        }
        after_colon = c == ':' && !prev.is_whitespace();
        prev = c;
        out.push(c);
    }
    if tab_bytes.is_empty() {
        return None;
    }
    Some(Rewrite {
        text: out,
        tab_bytes,
        ..Rewrite::default()
    })
}

/// Where the flow collection opened at `opener` closes (the byte after its
/// closing bracket), or the end of the text. Flow collections hold no block
/// scalars, so tracking quotes and comments is enough to read them.
fn flow_end(text: &str, opener: usize) -> usize {
    let mut depth = 0usize;
    let mut prev = ' ';
    let mut chars = text[opener..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return opener + i + 1;
                }
            }
            // A quote starts a quoted scalar only where a token can start.
            '\'' | '"' if prev.is_whitespace() || "[{,:".contains(prev) => {
                while let Some((_, q)) = chars.next() {
                    if q == '\\' && c == '"' {
                        chars.next();
                    } else if q == c {
                        if c == '\'' && chars.peek().map(|(_, n)| *n) == Some('\'') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '#' if prev.is_whitespace() => {
                while chars.peek().is_some_and(|(_, n)| *n != '\n') {
                    chars.next();
                }
            }
            _ => {}
        }
        prev = c;
    }
    text.len()
}

/// Indents every line of the flow collection opened at `opener` that starts
/// left of it to the opener's column (leading blanks in a flow collection
/// only separate tokens), provided the refused position is among them.
fn indent_flow(text: &str, opener: usize, refused: usize) -> Option<Rewrite> {
    let column = text[line_start(text, opener)..opener].chars().count();
    let end = flow_end(text, opener);
    if refused >= end {
        return None;
    }
    let first_line = text[opener..].find('\n').map(|i| opener + i + 1)?;
    let mut pads = Vec::new();
    let mut line = first_line;
    while line < end {
        let blanks = text[line..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .count();
        let has_token = text[line + blanks..]
            .chars()
            .next()
            .is_some_and(|c| c != '\n' && c != '\r' && c != '#');
        if has_token && blanks < column {
            pads.push((line, column - blanks));
        }
        match text[line..].find('\n') {
            Some(i) => line += i + 1,
            None => break,
        }
    }
    let refused_line = line_start(text, refused);
    if !pads.iter().any(|(l, _)| *l == refused_line) {
        return None;
    }
    let mut out = text.to_string();
    for (at, n) in pads.iter().rev() {
        out.insert_str(*at, &" ".repeat(*n));
    }
    Some(Rewrite {
        text: out,
        flow_lines: pads.iter().map(|(at, _)| line_number(text, *at)).collect(),
        insertions: pads,
        ..Rewrite::default()
    })
}

/// The outermost `[` or `{` still open at the end of `text`, for when the
/// parser stopped before reporting it (it was still looking ahead for a
/// key). Quotes and block scalars are not tracked, so this can be wrong;
/// the parse that follows checks that the indented lines really are inside
/// a flow collection.
fn outermost_open_bracket(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut outermost = None;
    for (i, c) in text.char_indices().rev() {
        match c {
            ']' | '}' => depth += 1,
            '[' | '{' if depth == 0 => outermost = Some(i),
            '[' | '{' => depth -= 1,
            _ => {}
        }
    }
    outermost
}

/// Indents every continuation line of the quoted scalar starting at `start`
/// to the quote's column. Leading blanks of those lines are folded away, so
/// the value is unchanged; lines starting with a document marker are left
/// alone because libyaml refuses them too.
fn pad_quoted(text: &str, start: usize) -> Option<Rewrite> {
    let quote = text[start..].chars().next()?;
    if quote != '\'' && quote != '"' {
        return None;
    }
    let quote_column = text[line_start(text, start)..start].chars().count();
    let mut pads = Vec::new();
    let mut chars = text[start..].char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            // An escaped line break still starts a continuation line.
            '\\' if quote == '"' && chars.peek().map(|(_, c)| *c) != Some('\n') => {
                chars.next();
            }
            '\'' if quote == '\'' => {
                if chars.peek().map(|(_, c)| *c) == Some('\'') {
                    chars.next();
                } else {
                    break;
                }
            }
            '"' if quote == '"' => break,
            '\n' => {
                let line = start + i + 1;
                let rest = &text[line..];
                let blanks = rest.chars().take_while(|c| *c == ' ' || *c == '\t').count();
                let content = rest[blanks..].chars().next();
                let marker = rest.starts_with("---") || rest.starts_with("...");
                if blanks < quote_column && !matches!(content, None | Some('\n' | '\r')) && !marker
                {
                    pads.push((line, quote_column - blanks));
                }
            }
            _ => {}
        }
    }
    if pads.is_empty() {
        return None;
    }
    let mut out = text.to_string();
    for (at, n) in pads.iter().rev() {
        out.insert_str(*at, &" ".repeat(*n));
    }
    Some(Rewrite {
        text: out,
        insertions: pads,
        ..Rewrite::default()
    })
}
