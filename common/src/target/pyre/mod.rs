//! Python `re` patterns evaluated with the `regex` crate.
//!
//! Salt matches with `re.match(pattern, text)`: anchored at the start only.
//! The two syntaxes mostly agree; this module rewrites the places where they
//! do not, following CPython 3.11's `re._parser`:
//!
//! - `$` (without `m`) also matches before a final newline → `(?:\z|\n\z)`;
//!   `\Z` → `\z`; `\b` inside a set is a backspace.
//! - `{` that does not start `{m}`, `{m,}`, `{,n}` or `{m,n}` is a literal;
//!   `{,n}` means `{0,n}`.
//! - Inside sets, `[`, `&&`, `--`, `~~` and POSIX `[:name:]` are literals in
//!   Python but syntax in Rust, so every set is re-emitted with escaped
//!   members.
//! - Escaped punctuation is always literal in Python (`\<` is not a word
//!   boundary), and unknown letter escapes (`\z`, `\p`, `\e`) are errors.
//! - `\uXXXX`, `\UXXXXXXXX`, octal escapes → `\x{...}`; `(?#...)` comments
//!   are dropped; verbose mode (`x`) is applied here and not passed on.
//!
//! Constructs the `regex` crate cannot evaluate (look-around, backreferences,
//! atomic groups, possessive quantifiers, conditionals, `\N{...}`, the `a`
//! flag) are reported as [`PyReError::Unsupported`] rather than silently
//! changing meaning. Remaining known differences: `\w`, `\s`, `\d` use Rust's
//! Unicode definitions, which differ from Python's for a few characters.
mod set;

use regex::{Regex, RegexBuilder};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PyReError {
    /// Python would reject the pattern too (`re.error`).
    Invalid(String),
    /// Valid Python, but not expressible with the `regex` crate.
    Unsupported(&'static str),
}

/// Cap on the compiled program: far above any real target, and it keeps a
/// hostile pattern such as `(a{1000}){1000}` from exhausting memory.
const SIZE_LIMIT: usize = 4 << 20;

/// Compiles `pattern` for `re.match` semantics.
pub(crate) fn compile_match(pattern: &str) -> Result<Regex, PyReError> {
    let body = translate(pattern)?;
    RegexBuilder::new(&format!("\\A(?:{body})"))
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| PyReError::Invalid(e.to_string()))
}

#[derive(Clone, Copy)]
struct Flags {
    multiline: bool,
    verbose: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Last {
    /// Start of pattern, group or branch: a quantifier here has nothing to repeat.
    Nothing,
    /// An anchor (`^`, `$`, `\b`...): Python refuses to repeat it.
    Anchor,
    Atom,
    /// Just quantified: another quantifier is "multiple repeat".
    Quantified,
}

struct Translator {
    p: Vec<char>,
    i: usize,
    out: String,
    flags: Flags,
    /// Open groups: the flags to restore, and the capture number if any.
    stack: Vec<(Flags, Option<usize>)>,
    /// Capture groups opened so far, and which of them are closed (a
    /// backreference to an open or missing group is a Python error).
    groups: usize,
    closed: Vec<bool>,
    last: Last,
    /// Still at the very start of the top level, where Python 3.11 allows
    /// global flags such as `(?i)`.
    at_start: bool,
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, PyReError> {
    Err(PyReError::Invalid(msg.into()))
}

/// Rewrites a Python pattern into equivalent `regex`-crate syntax.
pub(crate) fn translate(pattern: &str) -> Result<String, PyReError> {
    let mut t = Translator {
        p: pattern.chars().collect(),
        i: 0,
        out: String::with_capacity(pattern.len() + 8),
        flags: Flags {
            multiline: false,
            verbose: false,
        },
        stack: Vec::new(),
        groups: 0,
        closed: Vec::new(),
        last: Last::Nothing,
        at_start: true,
    };
    t.run()?;
    Ok(t.out)
}

fn push_literal(out: &mut String, c: char) {
    if c.is_alphanumeric() || c == '_' || c == ' ' {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:x}}}", c as u32);
    }
}

impl Translator {
    fn peek(&self) -> Option<char> {
        self.p.get(self.i).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn atom(&mut self) {
        self.last = Last::Atom;
        self.at_start = false;
    }

    fn run(&mut self) -> Result<(), PyReError> {
        while let Some(c) = self.peek() {
            self.i += 1;
            if self.flags.verbose {
                if matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}') {
                    continue;
                }
                if c == '#' {
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        if c == '\n' {
                            break;
                        }
                    }
                    continue;
                }
            }
            match c {
                '\\' => self.escape()?,
                '[' => {
                    self.class()?;
                    self.atom();
                }
                '(' => self.group()?,
                ')' => {
                    let Some((flags, capture)) = self.stack.pop() else {
                        return invalid("unbalanced parenthesis");
                    };
                    self.flags = flags;
                    if let Some(slot) = capture.and_then(|n| self.closed.get_mut(n - 1)) {
                        *slot = true;
                    }
                    self.out.push(')');
                    self.atom();
                }
                '|' => {
                    self.out.push('|');
                    self.last = Last::Nothing;
                    self.at_start = false;
                }
                '*' | '+' | '?' => {
                    self.repeat()?;
                    self.out.push(c);
                    self.repeat_suffix()?;
                }
                '{' => self.brace()?,
                '^' => {
                    self.out.push('^');
                    self.last = Last::Anchor;
                    self.at_start = false;
                }
                '$' => {
                    self.out.push_str(if self.flags.multiline {
                        "$"
                    } else {
                        "(?:\\z|\\n\\z)"
                    });
                    self.last = Last::Anchor;
                    self.at_start = false;
                }
                '.' => {
                    self.out.push('.');
                    self.atom();
                }
                c => {
                    push_literal(&mut self.out, c);
                    self.atom();
                }
            }
        }
        if !self.stack.is_empty() {
            return invalid("missing ), unterminated subpattern");
        }
        Ok(())
    }

    /// Checks that a quantifier has something to repeat.
    fn repeat(&mut self) -> Result<(), PyReError> {
        match self.last {
            Last::Nothing | Last::Anchor => invalid("nothing to repeat"),
            Last::Quantified => invalid("multiple repeat"),
            Last::Atom => Ok(()),
        }
    }

    /// After a quantifier: `?` makes it lazy, `+` possessive.
    fn repeat_suffix(&mut self) -> Result<(), PyReError> {
        if self.eat('?') {
            self.out.push('?');
        } else if self.peek() == Some('+') {
            return Err(PyReError::Unsupported("possessive quantifiers"));
        }
        self.last = Last::Quantified;
        self.at_start = false;
        Ok(())
    }

    fn digits(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            s.push(c);
            self.i += 1;
        }
        s
    }

    /// `{m,n}` and friends, or a literal `{`.
    fn brace(&mut self) -> Result<(), PyReError> {
        let here = self.i;
        if self.peek() != Some('}') {
            let lo = self.digits();
            let (comma, hi) = if self.eat(',') {
                (true, self.digits())
            } else {
                (false, String::new())
            };
            if self.eat('}') {
                self.repeat()?;
                let parse = |s: &str| -> Result<u64, PyReError> {
                    match s.parse::<u64>() {
                        Ok(v) if v < u64::from(u32::MAX) => Ok(v),
                        _ => invalid("the repetition number is too large"),
                    }
                };
                let min = if lo.is_empty() { 0 } else { parse(&lo)? };
                if !comma {
                    let _ = write!(self.out, "{{{min}}}");
                } else if hi.is_empty() {
                    let _ = write!(self.out, "{{{min},}}");
                } else {
                    let max = parse(&hi)?;
                    if max < min {
                        return invalid("min repeat greater than max repeat");
                    }
                    let _ = write!(self.out, "{{{min},{max}}}");
                }
                return self.repeat_suffix();
            }
        }
        self.i = here;
        self.out.push_str("\\{");
        self.atom();
        Ok(())
    }

    fn hex(&mut self, count: usize) -> Result<u32, PyReError> {
        let mut v: u32 = 0;
        for _ in 0..count {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.i += 1;
                }
                None => return invalid("incomplete escape"),
            }
        }
        Ok(v)
    }

    fn octal_digit(&self) -> Option<u32> {
        self.peek().and_then(|c| c.to_digit(8))
    }

    fn char_of(v: u32) -> Result<char, PyReError> {
        match char::from_u32(v) {
            Some(c) => Ok(c),
            None if v <= 0x10ffff => Err(PyReError::Unsupported("surrogate code points")),
            None => invalid("bad escape: code point out of range"),
        }
    }

    /// Escapes shared by sets and the top level that denote one character.
    /// Returns None for letters that need context (handled by the caller).
    fn char_escape(&mut self, e: char) -> Result<Option<char>, PyReError> {
        Ok(Some(match e {
            'a' => '\u{7}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            'x' => Self::char_of(self.hex(2)?)?,
            'u' => Self::char_of(self.hex(4)?)?,
            'U' => Self::char_of(self.hex(8)?)?,
            'N' => return Err(PyReError::Unsupported("\\N{...} named characters")),
            _ => return Ok(None),
        }))
    }

    fn escape(&mut self) -> Result<(), PyReError> {
        let Some(e) = self.peek() else {
            return invalid("bad escape (end of pattern)");
        };
        self.i += 1;
        if let Some(c) = self.char_escape(e)? {
            push_literal(&mut self.out, c);
            self.atom();
            return Ok(());
        }
        match e {
            'A' | 'b' | 'B' | 'Z' => {
                self.out.push_str(match e {
                    'A' => "\\A",
                    'b' => "\\b",
                    'B' => "\\B",
                    _ => "\\z",
                });
                self.last = Last::Anchor;
                self.at_start = false;
            }
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                self.out.push('\\');
                self.out.push(e);
                self.atom();
            }
            '0' => {
                // `\0` plus up to two more octal digits.
                let mut v = 0;
                for _ in 0..2 {
                    match self.octal_digit() {
                        Some(d) => {
                            v = v * 8 + d;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                push_literal(&mut self.out, Self::char_of(v)?);
                self.atom();
            }
            '1'..='9' => {
                // Three octal digits make a character; otherwise one or two
                // decimal digits are a group reference.
                let d1 = e.to_digit(8);
                let d2 = self.octal_digit();
                let d3 = self.p.get(self.i + 1).and_then(|c| c.to_digit(8));
                if let (Some(a), Some(b), Some(c)) = (d1, d2, d3) {
                    self.i += 2;
                    let v = a * 64 + b * 8 + c;
                    if v > 0o377 {
                        return invalid("octal escape value outside of range 0-0o377");
                    }
                    push_literal(&mut self.out, Self::char_of(v)?);
                    self.atom();
                    return Ok(());
                }
                let mut group = e.to_digit(10).unwrap_or(0) as usize;
                if let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
                    self.i += 1;
                    group = group * 10 + d as usize;
                }
                return match self.closed.get(group.wrapping_sub(1)) {
                    Some(true) => Err(PyReError::Unsupported("backreferences")),
                    Some(false) => invalid("cannot refer to an open group"),
                    None => invalid(format!("invalid group reference {group}")),
                };
            }
            c if c.is_ascii_alphabetic() => return invalid(format!("bad escape \\{c}")),
            c => {
                push_literal(&mut self.out, c);
                self.atom();
            }
        }
        Ok(())
    }

    fn group(&mut self) -> Result<(), PyReError> {
        if !self.eat('?') {
            self.open("(", true);
            return Ok(());
        }
        let Some(c) = self.peek() else {
            return invalid("unexpected end of pattern");
        };
        self.i += 1;
        match c {
            ':' => self.open("(?:", false),
            'P' => {
                if self.eat('<') {
                    let mut name = String::new();
                    loop {
                        match self.peek() {
                            Some('>') => {
                                self.i += 1;
                                break;
                            }
                            Some(c) => {
                                name.push(c);
                                self.i += 1;
                            }
                            None => return invalid("missing >, unterminated name"),
                        }
                    }
                    if !is_identifier(&name) {
                        return invalid(format!("bad character in group name {name:?}"));
                    }
                    self.open(&format!("(?P<{name}>"), true);
                } else if self.peek() == Some('=') {
                    return Err(PyReError::Unsupported("backreferences"));
                } else {
                    return invalid("unknown extension ?P");
                }
            }
            '=' | '!' => return Err(PyReError::Unsupported("look-ahead assertions")),
            '<' => {
                return match self.peek() {
                    Some('=' | '!') => Err(PyReError::Unsupported("look-behind assertions")),
                    _ => invalid("unknown extension ?<"),
                }
            }
            '>' => return Err(PyReError::Unsupported("atomic groups")),
            '(' => return Err(PyReError::Unsupported("conditional groups")),
            '#' => {
                // A comment: skipped, and it leaves `last` untouched.
                loop {
                    match self.peek() {
                        Some(')') => {
                            self.i += 1;
                            return Ok(());
                        }
                        Some(_) => self.i += 1,
                        None => return invalid("missing ), unterminated comment"),
                    }
                }
            }
            c if "aiLmsxtu-".contains(c) => self.flags_group(c)?,
            c => return invalid(format!("unknown extension ?{c}")),
        }
        Ok(())
    }

    fn open(&mut self, text: &str, capture: bool) {
        let number = capture.then(|| {
            self.groups += 1;
            self.closed.push(false);
            self.groups
        });
        self.stack.push((self.flags, number));
        self.out.push_str(text);
        self.last = Last::Nothing;
        self.at_start = false;
    }

    /// `(?imsx)` (global, only at the start) or `(?imsx-imsx:...)` (scoped).
    fn flags_group(&mut self, first: char) -> Result<(), PyReError> {
        let mut on = String::new();
        let mut off = String::new();
        let mut c = first;
        if c != '-' {
            loop {
                match c {
                    'L' => {
                        return invalid("bad inline flags: cannot use 'L' flag with a str pattern")
                    }
                    'a' => return Err(PyReError::Unsupported("the ASCII flag (?a)")),
                    't' => return Err(PyReError::Unsupported("the template flag (?t)")),
                    _ => on.push(c),
                }
                match self.peek() {
                    None => return invalid("missing -, : or )"),
                    Some(n) => {
                        self.i += 1;
                        c = n;
                    }
                }
                if ")-:".contains(c) {
                    break;
                }
                if !"aiLmsxtu".contains(c) {
                    return invalid("unknown flag");
                }
            }
        }
        let mut new = self.flags;
        let mut rust_on: String = on.chars().filter(|f| "ims".contains(*f)).collect();
        if on.contains('m') {
            new.multiline = true;
        }
        if on.contains('x') {
            new.verbose = true;
        }
        if c == ')' {
            if !self.at_start || !self.stack.is_empty() {
                return invalid("global flags not at the start of the expression");
            }
            self.flags = new;
            if !rust_on.is_empty() {
                let _ = write!(self.out, "(?{rust_on})");
            }
            return Ok(());
        }
        if c == '-' {
            loop {
                let Some(n) = self.peek() else {
                    return invalid("missing :");
                };
                self.i += 1;
                match n {
                    ':' => break,
                    'a' | 'L' | 'u' => {
                        return invalid("bad inline flags: cannot turn off flags 'a', 'u' and 'L'")
                    }
                    'i' | 'm' | 's' | 'x' => off.push(n),
                    _ => return invalid("unknown flag"),
                }
            }
            if off.is_empty() {
                return invalid("missing flag");
            }
            if off.chars().any(|f| on.contains(f)) {
                return invalid("bad inline flags: flag turned on and off");
            }
            if off.contains('m') {
                new.multiline = false;
            }
            if off.contains('x') {
                new.verbose = false;
            }
            let rust_off: String = off.chars().filter(|f| "ims".contains(*f)).collect();
            if !rust_off.is_empty() {
                rust_on.push('-');
                rust_on.push_str(&rust_off);
            }
        }
        self.open(&format!("(?{rust_on}:"), false);
        self.flags = new;
        Ok(())
    }
}

/// Python's `str.isidentifier()`, approximated with Unicode alphanumerics.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
