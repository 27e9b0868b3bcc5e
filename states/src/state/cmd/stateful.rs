//! `stateful: True`: the command reports its own changes on the last line of
//! its stdout (`changed=yes comment='...'`) or as a JSON object, read exactly
//! as Salt's `_reinterpreted_state` in salt/states/cmd.py reads it.
use common::data::{Map, Value};
use common::pyfmt::py_str;

/// What a stateful command said about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Reinterpreted {
    pub changes: Map<String, Value>,
    pub comment: String,
    /// The output could not be read: the state fails whatever the retcode.
    pub failed: bool,
}

const PARSE_FAILURE: &str =
    "Failed parsing script output! Stdout must be JSON or a line of name=value pairs.";

/// `ran` is the command's `{pid, retcode, stdout, stderr}`.
pub fn reinterpret(ran: &Map<String, Value>) -> Reinterpreted {
    let text = |k: &str| ran.get(k).map(py_str).unwrap_or_default();
    let out = text("stdout");
    let mut result = Reinterpreted {
        changes: Map::new(),
        comment: String::new(),
        failed: false,
    };
    if out.is_empty() {
        result.comment = text("stderr");
        return result;
    }
    let (mut data, is_json, idx) = match serde_json::from_str::<Value>(&out) {
        Ok(Value::Object(map)) => (map, true, None),
        Ok(_) => {
            result.failed = true;
            result.comment = "script JSON output must be a JSON object (e.g., {})!".into();
            return result;
        }
        Err(_) => {
            let idx = out.trim_end().rfind('\n');
            let last = idx.map_or(out.as_str(), |i| &out[i + 1..]);
            match name_value_pairs(last) {
                Some(map) => (map, false, idx),
                None => {
                    result.failed = true;
                    result.comment = PARSE_FAILURE.into();
                    result.changes = ran.clone();
                    return result;
                }
            }
        }
    };
    let changed = match is_true(data.get("changed").unwrap_or(&Value::from("no"))) {
        Some(b) => b,
        None => {
            result.failed = true;
            result.comment = format!(
                "Failed parsing boolean value: {}",
                data.get("changed").map(py_str).unwrap_or_default()
            );
            return result;
        }
    };
    if let Some(c) = data.shift_remove("comment") {
        result.comment = py_str(&c);
    }
    if changed {
        for (k, v) in ran {
            data.entry(k.clone()).or_insert_with(|| v.clone());
        }
        // JSON output is the state line itself; a name=value line is cut off
        // the output. (Salt slices `[:-1]` when the line is the only one,
        // eating a character of it; we show nothing instead.)
        let stdout = match idx {
            Some(i) if !is_json => data
                .get("stdout")
                .map(py_str)
                .map(|s| s.get(..i).unwrap_or(&s).to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        data.insert("stdout".into(), Value::from(stdout));
        result.changes = data;
    }
    result
}

/// Salt's `_is_true`.
fn is_true(v: &Value) -> Option<bool> {
    match py_str(v).to_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// `key=value` tokens of one shell-quoted line; `None` when a token is not
/// exactly one `=` pair (Python's `key, val = item.split("=")`).
fn name_value_pairs(line: &str) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    // Python raises on an unclosed quote or a trailing backslash.
    for item in common::shlex::split(line).ok()? {
        let mut parts = item.split('=');
        let (Some(k), Some(v), None) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        map.insert(k.to_string(), Value::from(v));
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ran(stdout: &str) -> Map<String, Value> {
        json!({"pid": 7, "retcode": 0, "stdout": stdout, "stderr": ""})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn last_line_pairs_with_changes() {
        let r = reinterpret(&ran("working\nchanged=yes comment='did it' extra=1"));
        assert!(!r.failed);
        assert_eq!(r.comment, "did it");
        assert_eq!(
            Value::Object(r.changes),
            json!({"changed": "yes", "extra": "1", "pid": 7, "retcode": 0, "stdout": "working", "stderr": ""})
        );
    }

    #[test]
    fn unchanged_reports_no_changes() {
        let r = reinterpret(&ran("changed=no comment=\"all good\""));
        assert_eq!(
            (r.comment.as_str(), r.changes.len(), r.failed),
            ("all good", 0, false)
        );
    }

    #[test]
    fn json_object_and_non_object() {
        let r = reinterpret(&ran(r#"{"changed": true, "comment": "j", "x": [1]}"#));
        assert_eq!(r.comment, "j");
        assert_eq!(r.changes["stdout"], json!(""));
        assert_eq!(r.changes["x"], json!([1]));
        assert!(reinterpret(&ran("[1, 2]")).failed);
    }

    #[test]
    fn unparsable_output_fails_with_salts_comment() {
        let r = reinterpret(&ran("just some text"));
        assert!(r.failed);
        assert_eq!(r.comment, PARSE_FAILURE);
        assert_eq!(r.changes["stdout"], json!("just some text"));
        assert!(reinterpret(&ran("changed=maybe")).failed);
        assert!(reinterpret(&ran("changed='unclosed")).failed);
    }
}
