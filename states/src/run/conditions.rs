//! `unless`, `onlyif`, `creates` and `check_cmd`: the operator's own checks,
//! run through a shell as Salt runs them (they come from the state tree).
use std::process::{Command, Stdio};

use common::data::Value;

use super::ret::StateRet;
use crate::compile::Chunk;
use crate::state::HostRead;

fn commands(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

fn retcode(chunk: &Chunk, cmd: &str) -> i32 {
    let shell = chunk
        .get("shell")
        .and_then(Value::as_str)
        .unwrap_or("/bin/sh");
    let mut c = Command::new(shell);
    c.arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(cwd) = chunk.get("cwd").and_then(Value::as_str) {
        c.current_dir(cwd);
    }
    c.status().ok().and_then(|s| s.code()).unwrap_or(-1)
}

/// `_run_check`: Some(result) when the state is skipped.
pub fn skip(low: &Chunk, host: &HostRead) -> Option<StateRet> {
    let mut skipped = false;
    let mut comments: Vec<&str> = Vec::new();
    if let Some(v) = low.get("onlyif") {
        if commands(v).iter().any(|c| retcode(low, c) != 0) {
            skipped = true;
            comments.push("onlyif condition is false");
        } else {
            comments.push("onlyif condition is true");
        }
    }
    if let Some(v) = low.get("unless") {
        let cmds = commands(v);
        if !cmds.is_empty() && cmds.iter().all(|c| retcode(low, c) == 0) {
            skipped = true;
            comments.push("unless condition is true");
        } else {
            comments.push("unless condition is false");
        }
    }
    if let Some(v) = low.get("creates") {
        let paths = commands(v);
        let all = !paths.is_empty() && paths.iter().all(|p| host.path(p).is_ok_and(|p| p.exists()));
        if all {
            skipped = true;
            comments.push(if v.is_string() {
                "exists"
            } else {
                "All files in creates exist"
            });
        } else {
            comments.push("Creates files not found");
        }
    }
    if !skipped {
        return None;
    }
    let comment = comments
        .iter()
        .map(|c| {
            if *c == "exists" {
                format!("{} exists", common::pyfmt::py_str(&low["creates"]))
            } else {
                c.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut ret = StateRet::new(low, Some(true), comment);
    ret.skip_watch = true;
    Some(ret)
}

/// `check_cmd`: after a successful run, the state succeeded only if these pass.
pub fn check_cmd(low: &Chunk, ret: &mut StateRet) {
    let cmds = low.get("check_cmd").map(commands).unwrap_or_default();
    if cmds.iter().all(|c| retcode(low, c) == 0) {
        ret.comment = "check_cmd determined the state succeeded".into();
    } else {
        ret.result = Some(false);
        ret.comment = "check_cmd determined the state failed".into();
    }
}
