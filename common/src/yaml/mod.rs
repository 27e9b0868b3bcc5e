//! YAML as Salt reads and writes it. (Being implemented: see load.rs / dump.rs.)
use crate::data::Value;

/// A YAML syntax or construction error, with a 1-based position in the text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses one YAML document the way `salt.utils.yaml.safe_load` does. Empty → `Null`.
pub fn load(text: &str) -> Result<Value, YamlError> {
    // Stand-in until the Salt-compatible loader lands.
    serde_saphyr::from_str::<Option<Value>>(text)
        .map(|v| v.unwrap_or(Value::Null))
        .map_err(|e| YamlError {
            line: 1,
            column: 1,
            message: e.to_string(),
        })
}

pub fn dump_flow(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
pub fn dump_block(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
pub fn encode_scalar(v: &Value) -> Result<String, YamlError> {
    Ok(serde_json::to_string(v).unwrap_or_default())
}
pub fn dquote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}
