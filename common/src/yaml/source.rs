//! Positions in the source text: the parser counts characters, Rust
//! slices bytes, and the event stream gives anchors only as numbers, so
//! their names are read back from the text here.
use saphyr_parser::Span;

use super::node::Mark;
use super::YamlError;

/// Maps the parser's character positions back to text, to read the anchor
/// and alias names the event stream only gives as numbers.
pub(crate) struct Source<'a> {
    pub(crate) text: &'a str,
    /// Byte offset of each character, when the text is not plain ASCII.
    offsets: Option<Vec<usize>>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let offsets = (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        Source { text, offsets }
    }

    /// The character index of a byte offset.
    pub(crate) fn char_index(&self, byte: usize) -> usize {
        match &self.offsets {
            None => byte,
            Some(o) => o.partition_point(|b| *b < byte),
        }
    }

    pub(crate) fn byte_offset(&self, char_index: usize) -> usize {
        match &self.offsets {
            None => char_index.min(self.text.len()),
            Some(o) => o.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    pub(crate) fn rest_at(&self, char_index: usize) -> &'a str {
        self.text.get(self.byte_offset(char_index)..).unwrap_or("")
    }
}

pub(crate) fn mark_of(span: &Span) -> Mark {
    Mark {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn is_flow_indicator(c: char) -> bool {
    matches!(c, ',' | '[' | ']' | '{' | '}')
}

/// Reads the `&name` among the node properties that start at `mark`; also
/// returns the name's position for messages.
///
/// A YAML 1.2 parser reads `&name: x` as the anchor `name:`; libyaml ends the
/// name at the `:` (and at any of `?,]}%@` and a backquote), so the error
/// then also gives that character's index, where a blank makes the two agree.
pub(crate) fn anchor_name<'a>(
    src: &Source<'a>,
    span: &Span,
) -> Result<(&'a str, Mark), (YamlError, Option<usize>)> {
    let rest = src.rest_at(span.start.index());
    let mut line = span.start.line();
    let mut column = span.start.col() + 1;
    let mut chars = rest.char_indices().peekable();
    // At most a tag and an anchor, separated by blanks, breaks or comments.
    while let Some((i, c)) = chars.next() {
        match c {
            '&' => {
                let name_start = i + 1;
                let name_len = rest[name_start..]
                    .find(|c: char| c.is_whitespace() || is_flow_indicator(c))
                    .unwrap_or(rest.len() - name_start);
                let name = &rest[name_start..name_start + name_len];
                // libyaml accepts only these in anchor names; a YAML 1.2 parser more.
                if let Some((k, bad)) = name
                    .char_indices()
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
                {
                    let col = column + 1 + name[..k].chars().count();
                    let ends_name = k > 0 && "?:,]}%@`".contains(bad);
                    let at = span.start.index()
                        + rest[..name_start].chars().count()
                        + name[..k].chars().count();
                    return Err((
                        YamlError::new(
                            line,
                            col,
                            format!(
                                "while scanning an anchor: found character {bad:?} in anchor name \
                             '{name}' (anchor names may only contain letters, digits, '_' and '-')"
                            ),
                        ),
                        ends_name.then_some(at),
                    ));
                }
                return Ok((name, Mark { line, column }));
            }
            '!' => {
                while let Some((_, c)) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    column += 1;
                    chars.next();
                }
                column += 1;
            }
            '#' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        column = 1;
                        break;
                    }
                }
            }
            '\n' => {
                line += 1;
                column = 1;
            }
            c if c.is_whitespace() => column += 1,
            _ => break,
        }
    }
    Ok(("", Mark { line, column }))
}

pub(crate) fn alias_name<'a>(src: &Source<'a>, span: &Span) -> &'a str {
    let rest = src.rest_at(span.start.index());
    let name = rest.strip_prefix('*').unwrap_or(rest);
    let end = name
        .find(|c: char| c.is_whitespace() || is_flow_indicator(c))
        .unwrap_or(name.len());
    &name[..end]
}
