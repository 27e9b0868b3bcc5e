//! Python `re` for the editing states: flags given the way Salt takes them
//! (`flags: 8`, `flags: [IGNORECASE, MULTILINE]`), patterns rewritten by
//! `common::target::python_regex` (constructs the `regex` crate cannot
//! evaluate, such as look-around and backreferences, are refused rather than
//! approximated), and `re.sub` replacement strings (`\1`, `\g<name>`).
use common::data::Value;
use regex::{Captures, Regex, RegexBuilder};

/// Python's `re` flags that matter here.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Flags {
    pub ignorecase: bool,
    pub multiline: bool,
    pub dotall: bool,
    pub verbose: bool,
}

impl Flags {
    pub const MULTILINE: Flags = Flags {
        ignorecase: false,
        multiline: true,
        dotall: false,
        verbose: false,
    };

    /// Salt's `_get_flags`: an integer (`re.I` = 2, `re.M` = 8, …), a flag
    /// name, or a list of names.
    pub fn parse(value: Option<&Value>) -> Result<Flags, String> {
        let mut f = Flags::default();
        match value {
            None => Ok(Flags::MULTILINE),
            Some(Value::Number(n)) => {
                let bits = n
                    .as_u64()
                    .ok_or_else(|| format!("Invalid re flags: \"{n}\""))?;
                if bits & 4 != 0 {
                    return Err("re.LOCALE cannot be used with str patterns".into());
                }
                if bits & 256 != 0 {
                    return Err("re.ASCII is not supported by Brine".into());
                }
                f.ignorecase = bits & 2 != 0;
                f.multiline = bits & 8 != 0;
                f.dotall = bits & 16 != 0;
                f.verbose = bits & 64 != 0;
                Ok(f)
            }
            Some(Value::String(s)) => f.add(s).map(|()| f),
            Some(Value::Array(items)) => {
                for item in items {
                    f.add(&common::pyfmt::py_str(item))?;
                }
                Ok(f)
            }
            Some(other) => Err(format!(
                "Invalid re flags: \"{other}\", must be given either as a single flag string, \
                 a list of strings, as an integer, or as an re flag"
            )),
        }
    }

    fn add(&mut self, name: &str) -> Result<(), String> {
        match name.to_ascii_uppercase().as_str() {
            "I" | "IGNORECASE" => self.ignorecase = true,
            "M" | "MULTILINE" => self.multiline = true,
            "S" | "DOTALL" => self.dotall = true,
            "X" | "VERBOSE" => self.verbose = true,
            "U" | "UNICODE" | "NOFLAG" => {}
            "A" | "ASCII" => return Err("re.ASCII is not supported by Brine".into()),
            "L" | "LOCALE" => return Err("re.LOCALE cannot be used with str patterns".into()),
            _ => return Err(format!("Invalid re flag given: {name}")),
        }
        Ok(())
    }

    fn inline(&self) -> String {
        let mut s = String::new();
        for (on, c) in [
            (self.ignorecase, 'i'),
            (self.multiline, 'm'),
            (self.dotall, 's'),
            (self.verbose, 'x'),
        ] {
            if on {
                s.push(c);
            }
        }
        if s.is_empty() {
            s
        } else {
            format!("(?{s})")
        }
    }
}

/// Compiles a Python pattern for `re.search`-style use.
pub(super) fn compile(pattern: &str, flags: Flags) -> Result<Regex, String> {
    let python = format!("{}{pattern}", flags.inline());
    let rust = common::target::python_regex(&python).map_err(|e| e.to_string())?;
    RegexBuilder::new(&rust)
        .size_limit(4 << 20)
        .build()
        .map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

/// `re.escape` for building Python patterns from literal text (whitespace
/// as `\xhh`, so verbose mode cannot eat it).
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let v = c as u32;
        if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else if c.is_whitespace() || c.is_control() {
            out.push_str(&match v {
                0..=0xff => format!("\\x{v:02x}"),
                0x100..=0xffff => format!("\\u{v:04x}"),
                _ => format!("\\U{v:08x}"),
            });
        } else if c.is_ascii() {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// One part of a replacement string.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

/// A parsed `re.sub` replacement.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Replacement(Vec<Piece>);

impl Replacement {
    /// Parses `repl` as Python does; with `literal` every backslash is text
    /// (Salt's `backslash_literal`).
    pub fn parse(repl: &str, literal: bool, re: &Regex) -> Result<Replacement, String> {
        if literal {
            return Ok(Replacement(vec![Piece::Text(repl.to_string())]));
        }
        let chars: Vec<char> = repl.chars().collect();
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        let groups = re.captures_len() - 1;
        let flush = |text: &mut String, pieces: &mut Vec<Piece>| {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(text)));
            }
        };
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            if c != '\\' {
                text.push(c);
                continue;
            }
            let Some(&e) = chars.get(i) else {
                return Err("bad escape (end of pattern) in replacement".into());
            };
            i += 1;
            match e {
                'g' => {
                    if chars.get(i) != Some(&'<') {
                        return Err("missing < in \\g of replacement".into());
                    }
                    let end = chars[i..]
                        .iter()
                        .position(|c| *c == '>')
                        .ok_or("missing >, unterminated name in replacement")?;
                    let name: String = chars[i + 1..i + end].iter().collect();
                    i += end + 1;
                    flush(&mut text, &mut pieces);
                    if let Ok(n) = name.parse::<usize>() {
                        if n > groups {
                            return Err(format!("invalid group reference {n} in replacement"));
                        }
                        pieces.push(Piece::Group(n));
                    } else if re.capture_names().flatten().any(|g| g == name) {
                        pieces.push(Piece::Named(name));
                    } else {
                        return Err(format!("unknown group name '{name}' in replacement"));
                    }
                }
                '0'..='9' => {
                    let oct = |c: Option<&char>| c.is_some_and(|c| ('0'..='7').contains(c));
                    if e == '0' || (oct(Some(&e)) && oct(chars.get(i)) && oct(chars.get(i + 1))) {
                        // An octal escape: `\0`, `\01`, `\012`, or three digits.
                        let mut digits = e.to_string();
                        for _ in 0..2 {
                            if oct(chars.get(i)) {
                                digits.push(chars[i]);
                                i += 1;
                            }
                        }
                        let v = u32::from_str_radix(&digits, 8).unwrap_or(0);
                        if v > 0o377 {
                            return Err(format!(
                                "octal escape value \\{digits} outside of range 0-0o377"
                            ));
                        }
                        text.push(char::from_u32(v).unwrap_or('\0'));
                    } else {
                        let mut n = e.to_digit(10).unwrap_or(0) as usize;
                        if let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            n = n * 10 + d as usize;
                            i += 1;
                        }
                        if n > groups {
                            return Err(format!("invalid group reference {n} in replacement"));
                        }
                        flush(&mut text, &mut pieces);
                        pieces.push(Piece::Group(n));
                    }
                }
                'a' => text.push('\x07'),
                'b' => text.push('\x08'),
                'f' => text.push('\x0c'),
                'n' => text.push('\n'),
                'r' => text.push('\r'),
                't' => text.push('\t'),
                'v' => text.push('\x0b'),
                '\\' => text.push('\\'),
                c if c.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{c} in replacement"))
                }
                c => {
                    text.push('\\');
                    text.push(c);
                }
            }
        }
        flush(&mut text, &mut pieces);
        Ok(Replacement(pieces))
    }

    fn expand(&self, caps: &Captures, out: &mut String) {
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
                Piece::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
            }
        }
    }
}

/// `re.subn(pattern, repl, text, count)`: the new text and how many
/// replacements were made (`count` 0 = all).
pub(super) fn subn(re: &Regex, repl: &Replacement, text: &str, count: usize) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut n = 0;
    for caps in re.captures_iter(text) {
        if count != 0 && n == count {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        repl.expand(&caps, &mut out);
        last = m.end();
        n += 1;
    }
    out.push_str(&text[last..]);
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_in_salts_forms() {
        assert_eq!(Flags::parse(None).unwrap(), Flags::MULTILINE);
        let f = Flags::parse(Some(&json!(10))).unwrap();
        assert!(f.ignorecase && f.multiline && !f.dotall);
        let f = Flags::parse(Some(&json!(["IGNORECASE", "dotall"]))).unwrap();
        assert!(f.ignorecase && f.dotall && !f.multiline);
        assert!(Flags::parse(Some(&json!("BOGUS"))).is_err());
        assert!(Flags::parse(Some(&json!(4))).is_err());
    }

    #[test]
    fn python_replacements() {
        let re = compile(r"(?P<k>\w+)=(\d+)", Flags::MULTILINE).unwrap();
        let r = Replacement::parse(r"\g<k>: \2\n\1 \\ \.", false, &re).unwrap();
        assert_eq!(
            subn(&re, &r, "a=1 b=2", 1),
            ("a: 1\na \\ \\. b=2".to_string(), 1)
        );
        assert!(Replacement::parse(r"\3", false, &re).is_err());
        assert!(Replacement::parse(r"\q", false, &re).is_err());
        assert!(Replacement::parse(r"\g<nope>", false, &re).is_err());
        let lit = Replacement::parse(r"\1", true, &re).unwrap();
        assert_eq!(subn(&re, &lit, "a=1", 0).0, r"\1");
    }

    #[test]
    fn multiline_dollar_and_unsupported_constructs() {
        let re = compile("^b$", Flags::MULTILINE).unwrap();
        assert!(re.is_match("a\nb\nc"));
        assert!(compile("(?<=a)b", Flags::default()).is_err());
        assert!(compile(r"(a)\1", Flags::default()).is_err());
    }
}
