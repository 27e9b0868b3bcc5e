//! Salt's `yaml_encode`, `yaml_dquote` and `yaml_squote` Jinja filters
//! (salt/utils/yamlencoding.py). These go through PyYAML's pure-Python
//! emitter with its defaults (no `allow_unicode`, unlimited width), not
//! libyaml, so every non-ASCII character is escaped and nothing is wrapped.
use super::dump::float_text;
use super::emit::escape;
use super::YamlError;
use crate::data::Value;

/// `yaml_encode`: a scalar as YAML text, strings always double-quoted.
/// Lists and mappings are an error (the error has no position: line 0).
pub fn encode_scalar(v: &Value) -> Result<String, YamlError> {
    Ok(match v {
        Value::String(s) => dquote(s),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => float_text(n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => {
            let kind = if v.is_array() { "list" } else { "dict" };
            return Err(YamlError::new(
                0,
                0,
                format!(
                    "yaml_encode() only works with YAML scalar data; failed for <class '{kind}'>"
                ),
            ));
        }
    })
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// `yaml_dquote`: `"text"` with PyYAML's escapes.
pub fn dquote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let plain = (' '..='~').contains(&c) && c != '"' && c != '\\';
        if plain {
            out.push(c);
        } else {
            out.push('\\');
            out.push_str(&escape(c));
        }
    }
    out.push('"');
    out
}

/// `yaml_squote`: `'text'` with `'` doubled. Line breaks are written as
/// PyYAML folds them (a leading `\n` doubled so it survives reading back).
pub fn squote(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    let mut spaces = false;
    let mut breaks = false;
    let mut start = 0;
    for end in 0..=chars.len() {
        let ch = chars.get(end).copied();
        if spaces {
            if ch != Some(' ') {
                out.extend(&chars[start..end]);
                start = end;
            }
        } else if breaks {
            if !ch.is_some_and(is_break) {
                if chars[start] == '\n' {
                    out.push('\n');
                }
                out.extend(&chars[start..end]);
                start = end;
            }
        } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
            out.extend(&chars[start..end]);
            start = end;
        }
        if ch == Some('\'') {
            out.push_str("''");
            start = end + 1;
        }
        if let Some(c) = ch {
            spaces = c == ' ';
            breaks = is_break(c);
        }
    }
    out.push('\'');
    out
}
