//! Python's `shlex` in POSIX mode with `whitespace_split`, the one word
//! splitter Salt's Python code uses: `shlex.split(s)` for `cmd.run` with
//! `python_shell=False` and `cmd.wait`'s stateful output, and
//! `shlex.shlex(text, posix=True)` (which strips `#` comments) for `distro`'s
//! os-release parser.
//!
//! Only Python's rules apply: whitespace is `' \t\r\n'` (a non-breaking space
//! is part of a word), a backslash inside double quotes escapes only `"` and
//! `\` (`"\$"` stays `\$`), and an unclosed quote or a trailing backslash is
//! an error, as Python raises `ValueError`.

/// Why a line cannot be split, in Python's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShlexError {
    #[error("No closing quotation")]
    NoClosingQuotation,
    #[error("No escaped character")]
    NoEscapedCharacter,
}

/// `shlex.split(s)`: comments off.
pub fn split(s: &str) -> Result<Vec<String>, ShlexError> {
    words(s, false)
}

/// `shlex.split(s, comments=True)`, which is also what iterating
/// `shlex.shlex(s, posix=True)` with `whitespace_split = True` gives: a `#`
/// outside quotes ends the word and skips to the end of the line.
pub fn split_comments(s: &str) -> Result<Vec<String>, ShlexError> {
    words(s, true)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// `shlex.read_token` in POSIX mode, all tokens at once.
fn words(s: &str, comments: bool) -> Result<Vec<String>, ShlexError> {
    let mut out = Vec::new();
    let mut word = String::new();
    // Python returns a word when it has text or had a quote (`''` is a word).
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if is_space(c) => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if comments => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                word.push(chars.next().ok_or(ShlexError::NoEscapedCharacter)?);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next().ok_or(ShlexError::NoClosingQuotation)? {
                        '\'' => break,
                        n => word.push(n),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next().ok_or(ShlexError::NoClosingQuotation)? {
                        '"' => break,
                        '\\' => match chars.next().ok_or(ShlexError::NoEscapedCharacter)? {
                            e @ ('"' | '\\') => word.push(e),
                            e => {
                                word.push('\\');
                                word.push(e);
                            }
                        },
                        n => word.push(n),
                    }
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected splits produced with Python 3.11:
    //   python3 -c 'import shlex, json, sys; print(json.dumps(shlex.split(sys.argv[1])))' CASE
    // and, for the comment table, `shlex.split(CASE, comments=True)` (which
    // equals `list(shlex.shlex(CASE, posix=True))` with whitespace_split).
    // Errors are the ValueError messages Python raised.
    const SPLIT: &[(&str, &[&str])] = &[
        (
            "echo 'a b' \"c \\\"d\" e\\ f",
            &["echo", "a b", "c \"d", "e f"],
        ),
        ("a ''", &["a", ""]),
        ("''", &[""]),
        ("a'b'c \"d\"e", &["abc", "de"]),
        (
            "a 'b c' \"d \\\"e\\\" \\n\" f\\ g",
            &["a", "b c", "d \"e\" \\n", "f g"],
        ),
        (
            "echo \"\\$HOME\" \"\\`x\\`\" '\\$'",
            &["echo", "\\$HOME", "\\`x\\`", "\\$"],
        ),
        ("a\u{a0}b c", &["a\u{a0}b", "c"]),
        ("a\tb\nc\rd", &["a", "b", "c", "d"]),
        ("", &[]),
        ("   ", &[]),
        ("x # not a comment", &["x", "#", "not", "a", "comment"]),
        ("a\\\\b \"c\\\\d\"", &["a\\b", "c\\d"]),
        ("'it'\\''s'", &["it's"]),
        (
            "A=\"x y\" B='z' C=w#c\nD=a\\ b",
            &["A=x y", "B=z", "C=w#c", "D=a b"],
        ),
        ("\"\\a\\b\"", &["\\a\\b"]),
        ("a\\\nb", &["a\nb"]),
    ];

    const SPLIT_COMMENTS: &[(&str, &[&str])] = &[
        ("x # a comment", &["x"]),
        (
            "A=\"x y\" B='z' C=w#c\nD=a\\ b",
            &["A=x y", "B=z", "C=w", "D=a b"],
        ),
        ("a#b c", &["a"]),
        ("'#' \\# x", &["#", "#", "x"]),
        ("#only\nnext", &["next"]),
    ];

    const ERRORS: &[(&str, &str)] = &[
        ("'open", "No closing quotation"),
        ("\"open", "No closing quotation"),
        ("a\\", "No escaped character"),
        ("\"a\\", "No escaped character"),
    ];

    #[test]
    fn split_matches_python() {
        for (line, want) in SPLIT {
            assert_eq!(split(line).unwrap(), *want, "{line:?}");
        }
    }

    #[test]
    fn split_comments_matches_python() {
        for (line, want) in SPLIT_COMMENTS {
            assert_eq!(split_comments(line).unwrap(), *want, "{line:?}");
        }
    }

    #[test]
    fn unclosed_quotes_and_trailing_backslashes_are_errors() {
        for (line, message) in ERRORS {
            assert_eq!(split(line).unwrap_err().to_string(), *message, "{line:?}");
            assert!(split_comments(line).is_err(), "{line:?}");
        }
    }
}
