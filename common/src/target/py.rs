//! Small reimplementations of the Python builtins Salt's matchers lean on:
//! `str.split()`, `str()` of a value, and `int()` of a list index. Matching is
//! done on these exact spellings (a grain `True` matches the pattern `true`
//! because Salt compares `str(True).lower()`), so they must agree with Python.

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

/// Python's `str(value)` for data that came from YAML/JSON (one implementation,
/// shared with the renderer).
pub(crate) use crate::pyfmt::py_str;

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
