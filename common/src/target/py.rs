//! Small reimplementations of the Python builtins Salt's matchers lean on:
//! `str.split()`, `str()` of a value, and `int()` of a list index. Matching is
//! done on these exact spellings (a grain `True` matches the pattern `true`
//! because Salt compares `str(True).lower()`), so they must agree with Python.
use crate::data::Value;
use std::fmt::Write;

/// Python's `str.isspace()`: Unicode White_Space plus the four ASCII
/// separators U+001C..U+001F, which Python counts and Rust does not.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.split()` with no arguments, keeping each word's byte offset
/// so compound-target errors can point at the word.
pub(crate) fn split_words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (is_space(c), start) {
            (true, Some(b)) => {
                out.push((b, &s[b..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((b, &s[b..]));
    }
    out
}

/// Result of Python's `int(s)` on a list-index path component.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PyInt {
    /// `int()` raises: the component is a key, not an index.
    NotInt,
    /// A valid integer.
    Int(i64),
    /// A valid integer beyond i64; as an index it is always out of range.
    Huge,
}

/// Python's `int(s)`: surrounding whitespace, one sign, ASCII digits with
/// single underscores between them.
pub(crate) fn py_int(s: &str) -> PyInt {
    let t = s.trim_matches(is_space);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let b = digits.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() || !b[b.len() - 1].is_ascii_digit() {
        return PyInt::NotInt;
    }
    let mut value: i64 = 0;
    let mut huge = false;
    let mut prev_underscore = false;
    for &c in b {
        if c == b'_' {
            if prev_underscore {
                return PyInt::NotInt;
            }
            prev_underscore = true;
            continue;
        }
        if !c.is_ascii_digit() {
            return PyInt::NotInt;
        }
        prev_underscore = false;
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(c - b'0')))
        {
            Some(v) => value = v,
            None => huge = true,
        }
    }
    if huge {
        PyInt::Huge
    } else if neg {
        PyInt::Int(-value)
    } else {
        PyInt::Int(value)
    }
}

/// Python's `str(value)` for data that came from YAML/JSON.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            repr(other, &mut out);
            out
        }
    }
}

/// Python's `repr(value)`: what `str()` of a list or dict prints for its items.
fn repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                out.push_str(&float_repr(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => str_repr(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                str_repr(k, out);
                out.push_str(": ");
                repr(item, out);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(float)`: the shortest round-tripping digits, in positional
/// notation when the decimal exponent is in -4..16, else `1e+16` style.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` prints the same shortest digits Python's repr chooses.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;
    if decpt <= -4 || decpt > 16 {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.unsigned_abs())
    } else if decpt <= 0 {
        format!(
            "{sign}0.{}{digits}",
            "0".repeat(decpt.unsigned_abs() as usize)
        )
    } else {
        let d = decpt as usize;
        if d >= digits.len() {
            format!("{sign}{digits}{}.0", "0".repeat(d - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..d], &digits[d..])
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has a `'` and no `"`,
/// escapes for controls and for characters Python deems unprintable.
fn str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_ascii() || printable(c) => out.push(c),
            c if (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable()` for non-ASCII characters, approximated without
/// Unicode tables: controls, separators, format characters and private use
/// are unprintable; unassigned code points are (unlike Python) printable.
fn printable(c: char) -> bool {
    !matches!(c as u32,
        0x80..=0xa0 | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e
        | 0x1680 | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064
        | 0x2066..=0x206f | 0x3000 | 0xe000..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
        | 0x110bd | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f
        | 0xf0000..=0x10ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn str_of_values_matches_python() {
        // Each right-hand side is what CPython 3.11 prints for `str(x)`.
        let table = [
            (json!(true), "True"),
            (json!(false), "False"),
            (json!(null), "None"),
            (json!(12), "12"),
            (json!(-3), "-3"),
            (json!(18446744073709551615u64), "18446744073709551615"),
            (json!(2048.5), "2048.5"),
            (json!(1.0), "1.0"),
            (json!(1e16), "1e+16"),
            (json!(1e15), "1000000000000000.0"),
            (json!(0.0001), "0.0001"),
            (json!(0.00001), "1e-05"),
            (json!(1.5e-7), "1.5e-07"),
            (json!(123456789012345678.0), "1.2345678901234568e+17"),
            (json!(-0.0), "-0.0"),
            (json!("plain"), "plain"),
            (json!(["x", "y"]), "['x', 'y']"),
            (json!([1, true, null, 2.5]), "[1, True, None, 2.5]"),
            (json!({"k": "v", "n": [1]}), "{'k': 'v', 'n': [1]}"),
            (json!(["it's"]), "[\"it's\"]"),
            (json!(["a'b\"c"]), "['a\\'b\"c']"),
            (
                json!(["tab\there", "nl\n", "bs\\"]),
                "['tab\\there', 'nl\\n', 'bs\\\\']",
            ),
            (
                json!(["\u{1}", "\u{7f}", "é", "\u{a0}", "\u{200b}"]),
                "['\\x01', '\\x7f', 'é', '\\xa0', '\\u200b']",
            ),
            (json!([]), "[]"),
            (json!({}), "{}"),
        ];
        for (value, expected) in table {
            assert_eq!(py_str(&value), expected, "str({value})");
        }
    }

    #[test]
    fn int_parsing_matches_python() {
        let table = [
            ("0", PyInt::Int(0)),
            ("-1", PyInt::Int(-1)),
            ("+7", PyInt::Int(7)),
            (" 3 ", PyInt::Int(3)),
            ("1_0", PyInt::Int(10)),
            ("1__0", PyInt::NotInt),
            ("_1", PyInt::NotInt),
            ("1_", PyInt::NotInt),
            ("", PyInt::NotInt),
            ("-", PyInt::NotInt),
            ("0x1", PyInt::NotInt),
            ("name", PyInt::NotInt),
            ("99999999999999999999999", PyInt::Huge),
        ];
        for (text, expected) in table {
            assert_eq!(py_int(text), expected, "int({text:?})");
        }
    }

    #[test]
    fn split_matches_python() {
        assert_eq!(
            split_words(" a\tb\u{1c}c\u{a0} d "),
            vec![(1, "a"), (3, "b"), (5, "c"), (9, "d")]
        );
        assert!(split_words(" \n ").is_empty());
    }
}
