//! Grains (stand-in until native detection lands).
use serde_json::{Map, Value};

pub fn detect() -> Map<String, Value> {
    let mut m = Map::new();
    let host = std::fs::read_to_string("/etc/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    m.insert("id".into(), Value::String(host.clone()));
    m.insert("host".into(), Value::String(host));
    m.insert(
        "brineversion".into(),
        Value::String(env!("CARGO_PKG_VERSION").into()),
    );
    m
}
