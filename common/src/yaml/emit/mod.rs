//! A port of libyaml's emitter (src/emitter.c), the writer behind PyYAML's
//! `CSafeDumper` and so behind every YAML text Salt prints. Only what PyYAML's
//! safe dumper asks of it is kept (one implicit document, no anchors, no
//! canonical mode, indent 2, width 80, `\n` breaks); within that the state,
//! the style choices and the line-wrapping rules are libyaml's, function for
//! function, because the output has to be byte-identical.
mod analysis;

use analysis::{analyze, is_break, is_printable};

/// A scalar as PyYAML's serializer hands it to libyaml.
#[derive(Debug, Clone)]
pub(crate) struct ScalarEvent {
    pub value: String,
    pub tag: String,
    pub plain_implicit: bool,
    pub quoted_implicit: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Event {
    Scalar(ScalarEvent),
    SeqStart { flow: bool },
    SeqEnd,
    MapStart { flow: bool },
    MapEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
}

const BEST_INDENT: i32 = 2;
const BEST_WIDTH: i32 = 80;

/// A tag as libyaml writes it with the default `!`/`!!` handles.
fn tag_parts(tag: &str) -> (Option<&'static str>, &str) {
    if let Some(suffix) = tag.strip_prefix("tag:yaml.org,2002:") {
        (Some("!!"), suffix)
    } else if let Some(suffix) = tag.strip_prefix('!') {
        (Some("!"), suffix)
    } else {
        (None, tag)
    }
}

struct Emitter<'e> {
    events: &'e [Event],
    pos: usize,
    out: String,
    unicode: bool,
    indent: i32,
    indents: Vec<i32>,
    flow_level: i32,
    column: i32,
    whitespace: bool,
    indention: bool,
    mapping_context: bool,
    simple_key_context: bool,
}

impl<'e> Emitter<'e> {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        s: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in s.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn current(&self) -> Option<&'e Event> {
        self.events.get(self.pos)
    }

    fn is_end(&self) -> bool {
        matches!(
            self.current(),
            None | Some(Event::SeqEnd) | Some(Event::MapEnd)
        )
    }

    fn emit_node(&mut self, mapping: bool, simple_key: bool) {
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match self.current() {
            Some(Event::Scalar(s)) => {
                self.pos += 1;
                self.emit_scalar(s);
            }
            Some(Event::SeqStart { flow }) => {
                let flow = *flow;
                self.pos += 1;
                let empty = matches!(self.current(), Some(Event::SeqEnd));
                if self.flow_level > 0 || flow || empty {
                    self.emit_flow_sequence();
                } else {
                    self.emit_block_sequence();
                }
            }
            Some(Event::MapStart { flow }) => {
                let flow = *flow;
                self.pos += 1;
                let empty = matches!(self.current(), Some(Event::MapEnd));
                if self.flow_level > 0 || flow || empty {
                    self.emit_flow_mapping();
                } else {
                    self.emit_block_mapping();
                }
            }
            // Unbalanced events cannot come from the representer; skip them.
            Some(Event::SeqEnd) | Some(Event::MapEnd) => self.pos += 1,
            None => {}
        }
    }

    /// libyaml's `check_simple_key` for the key event about to be emitted.
    fn check_simple_key(&self) -> bool {
        let length = match self.current() {
            Some(Event::Scalar(s)) => {
                if analyze(&s.value, self.unicode).multiline {
                    return false;
                }
                let tag_len = if s.plain_implicit || s.quoted_implicit {
                    0
                } else {
                    let (handle, suffix) = tag_parts(&s.tag);
                    handle.map_or(0, str::len) + suffix.len()
                };
                tag_len + s.value.len()
            }
            Some(Event::SeqStart { .. }) => {
                return matches!(self.events.get(self.pos + 1), Some(Event::SeqEnd))
            }
            Some(Event::MapStart { .. }) => {
                return matches!(self.events.get(self.pos + 1), Some(Event::MapEnd))
            }
            _ => return false,
        };
        length <= 128
    }

    fn emit_flow_sequence(&mut self) {
        self.write_indicator("[", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        let mut first = true;
        while !self.is_end() {
            if !first {
                self.write_indicator(",", false, false, false);
            }
            if self.column > BEST_WIDTH {
                self.write_indent();
            }
            self.emit_node(false, false);
            first = false;
        }
        self.pos += 1;
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator("]", false, false, false);
    }

    fn emit_flow_mapping(&mut self) {
        self.write_indicator("{", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        let mut first = true;
        while !self.is_end() {
            if !first {
                self.write_indicator(",", false, false, false);
            }
            if self.column > BEST_WIDTH {
                self.write_indent();
            }
            if self.check_simple_key() {
                self.emit_node(true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, false);
                self.emit_node(true, false);
                if self.column > BEST_WIDTH {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
            }
            self.emit_node(true, false);
            first = false;
        }
        self.pos += 1;
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator("}", false, false, false);
    }

    fn emit_block_sequence(&mut self) {
        // A sequence that is a mapping's value starts on the key's column.
        let indentless = self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        while !self.is_end() {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.emit_node(false, false);
        }
        self.pos += 1;
        self.pop_indent();
    }

    fn emit_block_mapping(&mut self) {
        self.increase_indent(false, false);
        while !self.is_end() {
            self.write_indent();
            if self.check_simple_key() {
                self.emit_node(true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.emit_node(true, false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.emit_node(true, false);
        }
        self.pos += 1;
        self.pop_indent();
    }

    fn emit_scalar(&mut self, s: &ScalarEvent) {
        let analysis = analyze(&s.value, self.unicode);
        // libyaml only looks at the tag when neither implicit flag is set.
        let mut tag = if s.plain_implicit || s.quoted_implicit {
            (None, None)
        } else {
            let (handle, suffix) = tag_parts(&s.tag);
            (handle, Some(suffix))
        };
        let no_tag = tag.0.is_none() && tag.1.is_none();

        let mut style = Style::Plain;
        if self.simple_key_context && analysis.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !analysis.flow_plain_allowed)
                || (self.flow_level == 0 && !analysis.block_plain_allowed)
            {
                style = Style::SingleQuoted;
            }
            if s.value.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::SingleQuoted;
            }
            if no_tag && !s.plain_implicit {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if no_tag && !s.quoted_implicit && style != Style::Plain {
            tag = (Some("!"), None);
        }

        self.process_tag(tag);
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(&s.value, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(&s.value, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(&s.value, allow_breaks),
        }
        self.pop_indent();
    }

    fn process_tag(&mut self, tag: (Option<&str>, Option<&str>)) {
        match tag {
            (None, None) => {}
            (Some(handle), suffix) => {
                if !self.whitespace {
                    self.put(' ');
                }
                for c in handle.chars() {
                    self.put(c);
                }
                self.whitespace = false;
                self.indention = false;
                if let Some(suffix) = suffix {
                    self.write_tag_content(suffix);
                }
            }
            (None, Some(suffix)) => {
                self.write_indicator("!<", true, false, false);
                self.write_tag_content(suffix);
                self.write_indicator(">", false, false, false);
            }
        }
    }

    fn write_tag_content(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_ascii_alphanumeric() || "-_;/?:@&=+$,.~*'()[]".contains(c) {
                self.put(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    for ch in format!("%{b:02X}").chars() {
                        self.put(ch);
                    }
                }
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace && (!value.is_empty() || self.flow_level > 0) {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let last = chars.len().saturating_sub(1);
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != last
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let last = chars.len().saturating_sub(1);
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c)
                || (!self.unicode && !c.is_ascii())
                || c == '\u{FEFF}'
                || is_break(c)
                || c == '"'
                || c == '\\'
            {
                self.put('\\');
                for e in escape(c).chars() {
                    self.put(e);
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i != last {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }
}

/// The text after the backslash for an escaped character, as libyaml (and
/// PyYAML's Python emitter) writes it.
pub(crate) fn escape(c: char) -> String {
    let short = match c {
        '\0' => "0",
        '\u{7}' => "a",
        '\u{8}' => "b",
        '\t' => "t",
        '\n' => "n",
        '\u{b}' => "v",
        '\u{c}' => "f",
        '\r' => "r",
        '\u{1b}' => "e",
        '"' => "\"",
        '\\' => "\\",
        '\u{85}' => "N",
        '\u{a0}' => "_",
        '\u{2028}' => "L",
        '\u{2029}' => "P",
        _ => "",
    };
    if !short.is_empty() {
        return short.to_string();
    }
    let n = c as u32;
    if n <= 0xFF {
        format!("x{n:02X}")
    } else if n <= 0xFFFF {
        format!("u{n:04X}")
    } else {
        format!("U{n:08X}")
    }
}

/// Writes one implicit document holding `events`' node, as libyaml does for
/// `yaml.dump` with PyYAML's defaults.
pub(crate) fn emit(events: &[Event], unicode: bool) -> String {
    let mut e = Emitter {
        events,
        pos: 0,
        out: String::new(),
        unicode,
        indent: -1,
        indents: Vec::new(),
        flow_level: 0,
        column: 0,
        whitespace: true,
        indention: true,
        mapping_context: false,
        simple_key_context: false,
    };
    e.emit_node(false, false);
    // DOCUMENT-END: libyaml ends the last line; an implicit end writes no `...`.
    e.write_indent();
    e.out
}
