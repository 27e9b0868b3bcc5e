//! `#!py`: the SLS module runs in the system's python3, one child process per
//! render, never inside a Brine process.
//!
//! The child runs `python3 -I -c <shim.py>` (isolated: no user site, no
//! `PYTHON*` variables). Brine sends the source and the dunders as one JSON
//! line; the shim executes the module as `salt.utils.templates.py` does, sets
//! `__grains__`, `__pillar__`, `__opts__`, `__salt__`, `__sls__`, `__env__`
//! (and their plain names), and calls `run()`. Each `__salt__['mod.fun'](...)`
//! is a JSON line answered by the caller's [`SaltCall`]. The protocol uses
//! private copies of the child's stdin and stdout: the module's fd 1 is its
//! stderr, so `print()` cannot corrupt it. The render is bounded ([`Limits`]):
//! the child is killed past its time, its output or its number of calls.
mod child;
mod keyed;

use std::path::Path;
use std::time::{Duration, Instant};

use common::data::{Map, Value};
use common::render::{ExternalError, PyContext, SaltCall};
use serde_json::json;

use child::{Child, Event};

/// The Python side of the protocol.
const SHIM: &str = include_str!("shim.py");

/// How much one `#!py` render may do before its python3 is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time python3 may take. Time spent answering `__salt__` calls (a
    /// `cmd.run` on the minion) is not counted.
    pub timeout: Duration,
    /// Bytes python3 may send, all lines together.
    pub max_output: u64,
    /// `__salt__` calls one render may make.
    pub max_calls: usize,
}

/// The limits of [`render`]: far above what a real SLS needs (a module that
/// computes for minutes or returns more than 64 MiB of high data is a bug).
pub const LIMITS: Limits = Limits {
    timeout: Duration::from_secs(120),
    max_output: 64 << 20,
    max_calls: 100_000,
};

/// Longest exception text kept in an error (its end: the exception itself).
const MAX_ERROR_CHARS: usize = 4000;

/// Runs the `#!py` module `source` (the SLS file `file`) with `python` and
/// returns what its `run()` returned, within [`LIMITS`].
pub fn render(
    python: &Path,
    file: &str,
    source: &str,
    context: &PyContext,
    salt: SaltCall<'_>,
) -> Result<Value, ExternalError> {
    render_with(python, file, source, context, salt, &LIMITS)
}

/// [`render`] within other limits.
pub fn render_with(
    python: &Path,
    file: &str,
    source: &str,
    context: &PyContext,
    salt: SaltCall<'_>,
    limits: &Limits,
) -> Result<Value, ExternalError> {
    let failed = |what: String| ExternalError::Failed(format!("{file}: {what}"));
    tracing::debug!(file, python = %python.display(), "rendering #!py");
    let mut child =
        Child::start(python, limits.max_output).map_err(|e| ExternalError::Unavailable {
            renderer: "py".into(),
            reason: format!("cannot run {}: {e}", python.display()),
        })?;
    let request = json!({
        "file": file,
        "source": source,
        "grains": keyed::tag(&context.grains),
        "pillar": keyed::tag(&context.pillar),
        "opts": keyed::tag(&context.opts),
        "sls": context.sls,
        "saltenv": context.saltenv,
    });
    child.send(line_of(&request));
    let mut time_left = limits.timeout;
    let mut calls = 0;
    loop {
        let waiting = Instant::now();
        let event = child.next(time_left);
        time_left = time_left.saturating_sub(waiting.elapsed());
        let line = match event {
            Event::Line(line) => line,
            Event::TimedOut => {
                return Err(failed(format!(
                    "python3 ran for more than {}s and was stopped",
                    limits.timeout.as_secs_f64()
                )))
            }
            Event::TooMuch => {
                return Err(failed(format!(
                    "python3 sent more than {} bytes and was stopped",
                    limits.max_output
                )))
            }
            Event::Ended => {
                let status = child
                    .exit_status()
                    .map_or("status unknown".to_string(), |s| s.to_string());
                return Err(failed(format!(
                    "{} ended without an answer ({status})",
                    python.display()
                )));
            }
        };
        let mut msg = match serde_json::from_slice::<Value>(&line) {
            Ok(Value::Object(msg)) => msg,
            Ok(_) => {
                return Err(failed(
                    "python3 sent a line outside Brine's protocol".into(),
                ))
            }
            // Data nested deeper than serde_json's limit (128) ends here.
            Err(e) => return Err(failed(format!("python3 sent data Brine cannot read: {e}"))),
        };
        if let Some(fun) = msg.get("call") {
            calls += 1;
            if calls > limits.max_calls {
                return Err(failed(format!(
                    "more than {} __salt__ calls; python3 was stopped",
                    limits.max_calls
                )));
            }
            let fun = fun.as_str().unwrap_or_default().to_string();
            let args = untag(msg.remove("args").unwrap_or_default(), &failed)?;
            let kwargs = untag(msg.remove("kwargs").unwrap_or_default(), &failed)?;
            let answer = match salt(
                &fun,
                args.as_array().map_or(&[][..], Vec::as_slice),
                kwargs.as_object().unwrap_or(&Map::new()),
            ) {
                Ok(value) => json!({ "ok": keyed::tag(&value) }),
                Err(message) => json!({ "error": message }),
            };
            child.send(line_of(&answer));
        } else if let Some(result) = msg.remove("result") {
            return match untag(result, &failed)? {
                result @ Value::Object(_) => Ok(result),
                _ => Err(failed("run() returned no dict".into())),
            };
        } else {
            return Err(shim_error(file, &msg));
        }
    }
}

fn untag(v: Value, failed: &impl Fn(String) -> ExternalError) -> Result<Value, ExternalError> {
    keyed::untag(v).map_err(|e| failed(format!("python3 sent data Brine cannot read: {e}")))
}

fn line_of(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value serialises")
}

/// The shim's `{"error": kind, "message", "traceback", "line"}` as an error:
/// `file, line N: KeyError: 'x'` and then the SLS frames of the traceback.
fn shim_error(file: &str, msg: &Map<String, Value>) -> ExternalError {
    let text = |key: &str| msg.get(key).and_then(Value::as_str).unwrap_or("");
    let mut out = match msg.get("line").and_then(Value::as_u64) {
        Some(line) => format!("{file}, line {line}: {}", last_chars(text("message"))),
        None => format!("{file}: {}", last_chars(text("message"))),
    };
    let traceback = text("traceback");
    if !traceback.is_empty() {
        out.push('\n');
        out.push_str(&last_chars(traceback));
    }
    ExternalError::Failed(out)
}

/// The end of `text`, at most [`MAX_ERROR_CHARS`] characters.
fn last_chars(text: &str) -> String {
    match text.char_indices().rev().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("...{}", &text[cut..]),
        None => text.to_string(),
    }
}
