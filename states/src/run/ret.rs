//! One state's result, as Salt reports it.
use common::data::{Map, Value};
use serde_json::json;

use crate::compile::Chunk;

/// `state_|-id_|-name_|-fun`, Salt's key for a state's result.
pub fn tag(chunk: &Chunk) -> String {
    let part = |k: &str| chunk.get(k).map(common::pyfmt::py_str).unwrap_or_default();
    format!(
        "{}_|-{}_|-{}_|-{}",
        part("state"),
        part("__id__"),
        part("name"),
        part("fun")
    )
}

/// The result of one state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRet {
    pub tag: String,
    pub id: String,
    pub name: String,
    pub sls: String,
    /// `state.fun`, for display.
    pub function: String,
    /// `None`: would change (test mode).
    pub result: Option<bool>,
    pub comment: String,
    pub changes: Map<String, Value>,
    pub run_num: usize,
    /// Local wall-clock time the state started, `HH:MM:SS.ffffff`.
    pub start_time: String,
    pub duration_ms: f64,
    /// False when a requisite kept the state from running (onchanges, onfail).
    pub state_ran: bool,
    /// `unless`/`onlyif`/`creates` skipped it: a watcher must not fire.
    pub skip_watch: bool,
}

impl StateRet {
    pub fn new(chunk: &Chunk, result: Option<bool>, comment: impl Into<String>) -> Self {
        let s = |k: &str| chunk.get(k).map(common::pyfmt::py_str).unwrap_or_default();
        StateRet {
            tag: tag(chunk),
            id: s("__id__"),
            name: s("name"),
            sls: s("__sls__"),
            function: format!("{}.{}", s("state"), s("fun")),
            result,
            comment: comment.into(),
            changes: Map::new(),
            run_num: 0,
            start_time: String::new(),
            duration_ms: 0.0,
            state_ran: true,
            skip_watch: false,
        }
    }

    /// One entry of a result map, as [`StateRet::to_json`] wrote it.
    pub fn from_json(tag: &str, v: &Value) -> Option<StateRet> {
        let parts: Vec<&str> = tag.split("_|-").collect();
        let [state, id, name, fun] = parts[..] else {
            return None;
        };
        let o = v.as_object()?;
        let text = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Some(StateRet {
            tag: tag.to_string(),
            id: id.to_string(),
            name: o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_string(),
            sls: text("__sls__"),
            function: format!("{state}.{fun}"),
            result: o.get("result")?.as_bool(),
            comment: text("comment"),
            changes: o
                .get("changes")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            run_num: o.get("__run_num__").and_then(Value::as_u64).unwrap_or(0) as usize,
            start_time: text("start_time"),
            duration_ms: o.get("duration").and_then(Value::as_f64).unwrap_or(0.0),
            state_ran: true,
            skip_watch: false,
        })
    }

    /// The value Salt's `--out json` shows under the state's tag.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "changes": self.changes,
            "result": self.result,
            "comment": self.comment,
            "__sls__": self.sls,
            "__run_num__": self.run_num,
            "start_time": self.start_time,
            "duration": (self.duration_ms * 1000.0).round() / 1000.0,
            "__id__": self.id,
        })
    }
}

/// Local time of day as Salt prints it (`14:33:19.899634`).
pub fn local_time_of_day() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    let (h, m, s) = if ok {
        (tm.tm_hour, tm.tm_min, tm.tm_sec)
    } else {
        (0, 0, 0)
    };
    format!("{h:02}:{m:02}:{s:02}.{:06}", now.subsec_micros())
}
