//! High data → ordered low chunks: Salt's `compile_high_data` and `order_chunks`.
use common::data::{Map, Value};
use serde_json::json;

use super::high::High;

/// One low chunk: the unit the executor runs.
pub type Chunk = Map<String, Value>;

/// `compile_high_data`.
pub fn compile_high_data(high: &High) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    for (name, body) in high {
        if name.starts_with("__") {
            continue;
        }
        let Some(b) = body.as_object() else { continue };
        for (state, run) in b {
            if state.starts_with("__") {
                continue;
            }
            let mut funcs: Vec<String> = Vec::new();
            let mut names: Vec<Value> = Vec::new();
            let mut chunk = Chunk::new();
            chunk.insert("state".into(), json!(state));
            chunk.insert("name".into(), json!(name));
            for key in ["__sls__", "__env__", "__sls_included_from__"] {
                if let Some(v) = b.get(key) {
                    chunk.insert(key.into(), v.clone());
                }
            }
            chunk.insert("__id__".into(), json!(name));
            for arg in run.as_array().into_iter().flatten() {
                if let Some(f) = arg.as_str() {
                    if !funcs.iter().any(|x| x == f) {
                        funcs.push(f.to_string());
                    }
                    continue;
                }
                let Some(m) = arg.as_object() else { continue };
                for (key, val) in m {
                    match key.as_str() {
                        "names" => {
                            for n in val.as_array().into_iter().flatten() {
                                if !names.contains(n) {
                                    names.push(n.clone());
                                }
                            }
                        }
                        "state" => {}
                        "name" if !val.is_string() => {
                            chunk.insert(key.clone(), json!(name));
                        }
                        _ => {
                            chunk.insert(key.clone(), val.clone());
                        }
                    }
                }
            }
            let mut push = |live: Chunk| {
                for fun in &funcs {
                    let mut c = live.clone();
                    c.insert("fun".into(), json!(fun));
                    chunks.push(c);
                }
            };
            if names.is_empty() {
                push(chunk);
            } else {
                for (i, entry) in names.iter().enumerate() {
                    let mut live = chunk.clone();
                    match entry {
                        Value::Object(m) if !m.is_empty() => {
                            let (low_name, extra) = m.iter().next().expect("non-empty");
                            live.insert("name".into(), json!(low_name));
                            for item in extra.as_array().into_iter().flatten() {
                                if let Some(im) = item.as_object() {
                                    for (k, v) in im {
                                        live.insert(k.clone(), v.clone());
                                    }
                                }
                            }
                        }
                        other => {
                            live.insert("name".into(), other.clone());
                        }
                    }
                    live.insert("name_order".into(), json!(i + 1));
                    push(live);
                }
            }
        }
    }
    order_chunks(chunks)
}

/// `order_chunks`: resolves `order` (ints, `first`, `last`, negatives, name
/// order) and sorts by it, then by state+name+fun.
pub fn order_chunks(mut chunks: Vec<Chunk>) -> Vec<Chunk> {
    let mut cap: i64 = 1;
    for c in &chunks {
        if let Some(o) = c.get("order").and_then(Value::as_i64) {
            if o > cap - 1 && o > 0 {
                cap = o + 100;
            }
        }
    }
    for c in chunks.iter_mut() {
        let Some(order) = c.get("order").cloned() else {
            c.insert("order".into(), json!(cap));
            continue;
        };
        let mut num: Value = match &order {
            Value::Number(_) => order.clone(),
            Value::String(s) if s == "last" => json!(cap + 1_000_000),
            Value::String(s) if s == "first" => json!(0),
            _ => json!(cap),
        };
        if let Some(no) = c.shift_remove("name_order").and_then(|v| v.as_f64()) {
            num = json!(num.as_f64().unwrap_or(0.0) + no / 10000.0);
        }
        if num.as_f64().unwrap_or(0.0) < 0.0 {
            num = match num.as_i64() {
                Some(i) => json!(cap + 1_000_000 + i),
                None => json!((cap + 1_000_000) as f64 + num.as_f64().unwrap_or(0.0)),
            };
        }
        c.insert("order".into(), num);
    }
    chunks.sort_by(|a, b| {
        let oa = a.get("order").and_then(Value::as_f64).unwrap_or(0.0);
        let ob = b.get("order").and_then(Value::as_f64).unwrap_or(0.0);
        oa.total_cmp(&ob)
            .then_with(|| sort_name(a).cmp(&sort_name(b)))
    });
    chunks
}

/// `"{state}{name}{fun}"`, with Python's str() of each part.
fn sort_name(c: &Chunk) -> String {
    let part = |k: &str| c.get(k).map(common::pyfmt::py_str).unwrap_or_default();
    format!("{}{}{}", part("state"), part("name"), part("fun"))
}
