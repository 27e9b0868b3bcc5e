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
    let _ = text;
    todo!("yaml::load")
}
