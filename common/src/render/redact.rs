//! Pillar values kept out of render errors. A YAML error in a template's output
//! shows the rendered line, and a Jinja error's message can quote a value; when
//! that value came from pillar it may be a secret, and the error travels to the
//! operator's terminal, the job cache and the logs. Each pillar string of at
//! least [`MIN_LEN`] characters is shown as `<pillar KEY:PATH>` instead, which
//! still tells the reader where the text came from.
//!
//! Pillar also holds plain words (`mysql`, `value`, `filter`), and replacing
//! those wherever they occur destroys the message they occur in: `undefined
//! value` would read `undefined <pillar x>`, `grains.filter_by`
//! `grains.<pillar y>_by`. So a value made only of letters (a *word*) is
//! hidden only where it stands as a whole word, and never when it is one of
//! the words errors are written in ([`ERROR_WORDS`]) or a word of the file's
//! own line the error shows (the author wrote it there; showing it again in the
//! message tells nothing new). A word-only secret is a weak one, and a reader
//! must be able to read the error. Any value with a digit, a space or
//! punctuation is not a word: it is hidden wherever it occurs, even inside a
//! longer text.
use std::ops::Range;

use crate::data::Value;

use super::error::RenderError;

/// Shorter strings are left alone: they hide nothing worth a key, and
/// replacing every `80` or `web` would make errors unreadable.
pub const MIN_LEN: usize = 4;

/// The words of the fixed part of MiniJinja's and Brine's render errors
/// (`undefined value`, `unknown filter`, `template error: error in`...). A
/// pillar value equal to one of these is never hidden: the message would lose
/// its meaning, and the value shows nothing the message does not already say.
const ERROR_WORDS: &[&str] = &[
    "argument",
    "arguments",
    "available",
    "bad",
    "block",
    "call",
    "callable",
    "cannot",
    "caused",
    "could",
    "custom",
    "deserialize",
    "dictionary",
    "error",
    "escape",
    "expected",
    "failed",
    "filter",
    "found",
    "from",
    "fuel",
    "function",
    "include",
    "invalid",
    "key",
    "line",
    "list",
    "many",
    "method",
    "missing",
    "must",
    "named",
    "needs",
    "none",
    "operation",
    "output",
    "primitive",
    "printed",
    "ran",
    "render",
    "rendering",
    "serialize",
    "string",
    "syntax",
    "template",
    "test",
    "type",
    "undefined",
    "unexpected",
    "unknown",
    "unpack",
    "value",
    "values",
    "when",
    "while",
    "with",
    "write",
];

/// A value made only of letters and `_`: the kind of text error messages and
/// template expressions are made of.
fn is_word(value: &str) -> bool {
    value.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text[range]` is a whole word: no letter, digit or `_` touches it.
fn whole_word(text: &str, range: &Range<usize>) -> bool {
    !text[..range.start]
        .chars()
        .next_back()
        .is_some_and(is_word_char)
        && !text[range.end..].chars().next().is_some_and(is_word_char)
}

/// The words of `line`, lower-cased as [`ERROR_WORDS`] are compared.
fn words_of(line: &str) -> Vec<&str> {
    line.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Every pillar string worth hiding with its colon-joined key path, longest
/// first so a value containing another is replaced whole.
pub fn pillar_strings(pillar: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    collect(pillar, &mut String::new(), &mut found);
    found.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
    // One name per value: the first key path that holds it.
    found.dedup_by(|a, b| a.0 == b.0);
    found
}

fn collect(v: &Value, path: &mut String, found: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if s.chars().count() >= MIN_LEN => {
            found.push((s.clone(), path.clone()));
        }
        Value::Object(map) => {
            for (k, item) in map {
                descend(path, k, |p| collect(item, p, found));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                descend(path, &i.to_string(), |p| collect(item, p, found));
            }
        }
        _ => {}
    }
}

fn descend(path: &mut String, key: &str, f: impl FnOnce(&mut String)) {
    let len = path.len();
    if !path.is_empty() {
        path.push(':');
    }
    path.push_str(key);
    f(path);
    path.truncate(len);
}

/// `text` with each secret's occurrences replaced, and `column` (1-based, in
/// characters) moved to where the same character is now (the start of a
/// replacement when it pointed inside one).
pub fn redact(
    text: &str,
    column: Option<usize>,
    secrets: &[(String, String)],
) -> (String, Option<usize>) {
    replace_named(text, column, secrets, "pillar")
}

/// [`redact`] with replacements shown as `<{kind} PATH>`.
fn replace_named(
    text: &str,
    column: Option<usize>,
    secrets: &[(String, String)],
    kind: &str,
) -> (String, Option<usize>) {
    let mut hits: Vec<(Range<usize>, &str)> = Vec::new();
    for (value, path) in secrets {
        let word = is_word(value);
        for (start, _) in text.match_indices(value.as_str()) {
            let range = start..start + value.len();
            if word && !whole_word(text, &range) {
                continue;
            }
            if !hits
                .iter()
                .any(|(r, _)| r.start < range.end && range.start < r.end)
            {
                hits.push((range, path));
            }
        }
    }
    if hits.is_empty() {
        return (text.to_string(), column);
    }
    hits.sort_by_key(|(r, _)| r.start);
    let col_byte = column.map(|c| {
        text.char_indices()
            .nth(c.saturating_sub(1))
            .map_or(text.len(), |(i, _)| i)
    });
    let mut out = String::with_capacity(text.len());
    let mut new_col = None;
    let mut at = 0;
    for (range, path) in hits {
        if let Some(cb) = col_byte.filter(|cb| (at..range.end).contains(cb)) {
            let kept = &text[at..cb.min(range.start)];
            new_col = Some(out.chars().count() + kept.chars().count() + 1);
        }
        out.push_str(&text[at..range.start]);
        out.push_str(&format!("<{kind} {path}>"));
        at = range.end;
    }
    if let Some(cb) = col_byte.filter(|cb| *cb >= at) {
        new_col = Some(out.chars().count() + text[at..cb].chars().count() + 1);
    }
    out.push_str(&text[at..]);
    (out, new_col.or(column))
}

/// A value a render decrypted (`gpg`): the key path that held it in its
/// file's data, the file, and the plaintext, which `Debug` never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub path: String,
    pub file: String,
    value: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("path", &self.path)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Secret {
    pub fn new(path: &str, file: &str, value: &str) -> Self {
        Secret {
            path: path.to_string(),
            file: file.to_string(),
            value: value.to_string(),
        }
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// How a return shows it: `<secret db:password>`.
    fn name(&self) -> &str {
        if self.path.is_empty() {
            &self.file
        } else {
            &self.path
        }
    }
}

/// `v` with every decrypted value replaced by `<secret PATH>` in every
/// string and map key: the whole value, and each of its lines on its own,
/// since a diff of a file holding a secret shows it line by line.
pub fn hide_secrets(v: &mut Value, secrets: &[Secret]) {
    if secrets.is_empty() {
        return;
    }
    let mut needles: Vec<(String, String)> = Vec::new();
    for s in secrets {
        needles.push((s.value.clone(), s.name().to_string()));
        for line in s.value.lines().map(str::trim) {
            if line.chars().count() >= MIN_LEN {
                needles.push((line.to_string(), s.name().to_string()));
            }
        }
    }
    needles.retain(|(n, _)| !n.is_empty());
    needles.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
    needles.dedup_by(|a, b| a.0 == b.0);
    hide_in(v, &needles);
}

fn hide_in(v: &mut Value, needles: &[(String, String)]) {
    let hide = |s: &str| replace_named(s, None, needles, "secret").0;
    match v {
        Value::String(s) => *s = hide(s),
        Value::Array(items) => items.iter_mut().for_each(|i| hide_in(i, needles)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                hide_in(&mut item, needles);
                map.insert(hide(&k), item);
            }
        }
        _ => {}
    }
}

impl RenderError {
    /// This error with pillar strings hidden from its message, and from the
    /// line it shows when that line is template output (a line of the file
    /// itself holds only what the file's author wrote).
    pub fn without_pillar(mut self, secrets: &[(String, String)]) -> Self {
        if secrets.is_empty() {
            return self;
        }
        // Words the file's own line shows anyway, when the line is the file's.
        let own_words: Vec<&str> = match (&self.source_line, self.in_rendered_output) {
            (Some(line), false) => words_of(line),
            _ => Vec::new(),
        };
        let secrets: Vec<(String, String)> = secrets
            .iter()
            .filter(|(value, _)| {
                !(is_word(value)
                    && (ERROR_WORDS.contains(&value.to_ascii_lowercase().as_str())
                        || own_words.contains(&value.as_str())))
            })
            .cloned()
            .collect();
        let secrets = secrets.as_slice();
        self.message = redact(&self.message, None, secrets).0;
        if self.in_rendered_output {
            if let Some(line) = &self.source_line {
                let (text, column) = redact(line, self.column, secrets);
                self.source_line = Some(text);
                self.column = column;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_held_twice_is_named_by_its_first_path_and_longest_values_go_first() {
        let found =
            pillar_strings(&json!({"z": "same-value", "b": ["same-value", "abc"], "a": "same"}));
        assert_eq!(
            found,
            vec![
                ("same-value".to_string(), "b:0".to_string()),
                ("same".to_string(), "a".to_string()),
            ]
        );
    }

    #[test]
    fn secrets_are_hidden_whole_and_line_by_line_in_strings_and_keys() {
        let secrets = [Secret::new(
            "db:password",
            "secrets.sls",
            "s3cr3t-pw\nline-two",
        )];
        let mut ret = json!({
            "file_|-s3cr3t-pw": {"changes": {"diff": "+s3cr3t-pw\n+line-two\n"}},
            "whole": "x s3cr3t-pw\nline-two y",
            "n": 5,
        });
        hide_secrets(&mut ret, &secrets);
        assert_eq!(
            ret,
            json!({
                "file_|-<secret db:password>": {"changes": {"diff": "+<secret db:password>\n+<secret db:password>\n"}},
                "whole": "x <secret db:password> y",
                "n": 5,
            })
        );
        assert!(!format!("{secrets:?}").contains("s3cr3t"));
    }

    #[test]
    fn the_column_follows_the_character_it_pointed_at() {
        let secrets = pillar_strings(&json!({"k": "secret"}));
        // Before, inside and after a replaced value (1-based columns).
        assert_eq!(
            redact("ab secret cd", Some(2), &secrets),
            ("ab <pillar k> cd".into(), Some(2))
        );
        assert_eq!(redact("ab secret cd", Some(6), &secrets).1, Some(4));
        let (text, col) = redact("ab secret cd", Some(12), &secrets);
        assert_eq!(&text[col.unwrap() - 1..], "d");
        // Two hits, the column past both.
        let (text, col) = redact("secret secret x", Some(15), &secrets);
        assert_eq!(text, "<pillar k> <pillar k> x");
        assert_eq!(&text[col.unwrap() - 1..], "x");
    }

    fn jinja_error(message: &str, line: &str) -> RenderError {
        RenderError {
            file: "a.sls".into(),
            stage: super::super::Stage::Jinja,
            line: Some(1),
            column: Some(1),
            message: message.into(),
            source_line: Some(line.into()),
            in_rendered_output: false,
        }
    }

    #[test]
    fn common_words_in_pillar_leave_the_message_readable() {
        // Pillar values `value`, `filter` and `mysql`: the message's own words,
        // a part of a longer word, and a word of the file's line stay as written.
        let secrets =
            pillar_strings(&json!({"a": "value", "b": "filter", "c": "mysql", "d": "Undefined"}));
        let err = jinja_error(
            "undefined value: `mysql.pythonpkg` is undefined; grains.filter_by failed",
            "    - name: {{ mysql.pythonpkg }}",
        )
        .without_pillar(&secrets);
        assert_eq!(
            err.message,
            "undefined value: `mysql.pythonpkg` is undefined; grains.filter_by failed"
        );
    }

    #[test]
    fn secrets_are_still_hidden_around_the_exemptions() {
        let secrets = pillar_strings(
            &json!({"pw": "hunter2", "word": "swordfish", "path": "secret-77aa.j2"}),
        );
        // A word not in the file's line, standing alone, is hidden; a value
        // with a digit or punctuation is hidden even inside a longer text.
        let err = jinja_error(
            "template swordfish not found; KeyError: 'xhunter2x'; in secret-77aa.j2x",
            "{% include pillar.path %}",
        )
        .without_pillar(&secrets);
        assert_eq!(
            err.message,
            "template <pillar word> not found; KeyError: 'x<pillar pw>x'; in <pillar path>x"
        );
        // A word only hides as a whole word: `swordfishes` is another word.
        assert_eq!(
            jinja_error("swordfishes", "")
                .without_pillar(&secrets)
                .message,
            "swordfishes"
        );
    }
}
