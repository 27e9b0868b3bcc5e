//! Character sets: Python and the regex crate disagree on what is syntax
//! inside `[...]` (`[`, `&&`, `--`, `~~`, `[:name:]` are literals in Python),
//! so every member is re-emitted escaped.
use super::{invalid, push_literal, PyReError, Translator};

impl Translator {
    /// A `[...]` set, re-emitted member by member.
    pub(super) fn class(&mut self) -> Result<(), PyReError> {
        self.out.push('[');
        if self.eat('^') {
            self.out.push('^');
        }
        let mut empty = true;
        loop {
            let Some(c) = self.peek() else {
                return invalid("unterminated character set");
            };
            self.i += 1;
            if c == ']' && !empty {
                break;
            }
            empty = false;
            let first = self.class_item(c)?;
            if self.peek() == Some('-') {
                self.i += 1;
                let Some(that) = self.peek() else {
                    return invalid("unterminated character set");
                };
                self.i += 1;
                if that == ']' {
                    self.emit_item(&first);
                    push_literal(&mut self.out, '-');
                    break;
                }
                let second = self.class_item(that)?;
                match (first, second) {
                    (Item::Char(lo), Item::Char(hi)) if lo <= hi => {
                        push_literal(&mut self.out, lo);
                        self.out.push('-');
                        push_literal(&mut self.out, hi);
                    }
                    _ => return invalid("bad character range"),
                }
            } else {
                self.emit_item(&first);
            }
        }
        self.out.push(']');
        Ok(())
    }

    fn emit_item(&mut self, item: &Item) {
        match item {
            Item::Char(c) => push_literal(&mut self.out, *c),
            Item::Class(e) => {
                self.out.push('\\');
                self.out.push(*e);
            }
        }
    }

    /// One set member starting with the already-consumed `c`.
    fn class_item(&mut self, c: char) -> Result<Item, PyReError> {
        if c != '\\' {
            return Ok(Item::Char(c));
        }
        let Some(e) = self.peek() else {
            return invalid("bad escape (end of pattern)");
        };
        self.i += 1;
        if let Some(ch) = self.char_escape(e)? {
            return Ok(Item::Char(ch));
        }
        match e {
            'b' => Ok(Item::Char('\u{8}')),
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => Ok(Item::Class(e)),
            '0'..='7' => {
                // Up to three octal digits in total.
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.octal_digit() {
                        Some(d) => {
                            v = v * 8 + d;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                if v > 0o377 {
                    return invalid("octal escape value outside of range 0-0o377");
                }
                Ok(Item::Char(Self::char_of(v)?))
            }
            c if c.is_ascii_alphanumeric() => invalid(format!("bad escape \\{c}")),
            c => Ok(Item::Char(c)),
        }
    }
}

enum Item {
    Char(char),
    /// `\d`, `\s`, `\w` and their negations.
    Class(char),
}
