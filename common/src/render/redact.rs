//! Pillar values kept out of render errors. A YAML error in a template's output
//! shows the rendered line, and a Jinja error's message can quote a value; when
//! that value came from pillar it may be a secret, and the error travels to the
//! operator's terminal, the job cache and the logs. Each pillar string of at
//! least [`MIN_LEN`] characters is shown as `<pillar KEY:PATH>` instead, which
//! still tells the reader where the text came from.
use std::ops::Range;

use crate::data::Value;

use super::error::RenderError;

/// Shorter strings are left alone: they hide nothing worth a key, and
/// replacing every `80` or `web` would make errors unreadable.
pub const MIN_LEN: usize = 4;

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
    let mut hits: Vec<(Range<usize>, &str)> = Vec::new();
    for (value, path) in secrets {
        for (start, _) in text.match_indices(value.as_str()) {
            let range = start..start + value.len();
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
        out.push_str(&format!("<pillar {path}>"));
        at = range.end;
    }
    if let Some(cb) = col_byte.filter(|cb| *cb >= at) {
        new_col = Some(out.chars().count() + text[at..cb].chars().count() + 1);
    }
    out.push_str(&text[at..]);
    (out, new_col.or(column))
}

impl RenderError {
    /// This error with pillar strings hidden from its message, and from the
    /// line it shows when that line is template output (a line of the file
    /// itself holds only what the file's author wrote).
    pub fn without_pillar(mut self, secrets: &[(String, String)]) -> Self {
        if secrets.is_empty() {
            return self;
        }
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
}
