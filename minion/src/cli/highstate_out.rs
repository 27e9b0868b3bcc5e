//! Salt's `highstate` outputter: a block per state, then the summary, so the
//! output reads as familiar to a Salt user (shared/reference/salt-highstate-output.txt).
use std::fmt::Write;

use common::data::Value;
use states::run::{Report, StateRet};

/// How much of each state to print (`--state-output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateOutput {
    /// Every state as a full block.
    Full,
    /// Full blocks for states that changed or failed, one line for the rest.
    Changes,
    /// One line per state.
    Terse,
}

struct Colors {
    green: &'static str,
    yellow: &'static str,
    red: &'static str,
    cyan: &'static str,
    reset: &'static str,
}

const COLOR: Colors = Colors {
    green: "\x1b[0;32m",
    yellow: "\x1b[0;33m",
    red: "\x1b[0;31m",
    cyan: "\x1b[0;36m",
    reset: "\x1b[0m",
};
const PLAIN: Colors = Colors {
    green: "",
    yellow: "",
    red: "",
    cyan: "",
    reset: "",
};

fn result_text(r: Option<bool>) -> &'static str {
    match r {
        Some(true) => "True",
        Some(false) => "False",
        None => "None",
    }
}

/// Renders a run for minion `who` as Salt's highstate outputter does.
pub fn render(who: &str, report: &Report, mode: StateOutput, color: bool) -> String {
    let c = if color { &COLOR } else { &PLAIN };
    let mut out = String::new();
    let _ = writeln!(out, "{}{who}:{}", c.cyan, c.reset);
    for ret in &report.rets {
        let hue = match ret.result {
            Some(false) => c.red,
            None => c.yellow,
            Some(true) if !ret.changes.is_empty() => c.green,
            Some(true) => c.green,
        };
        let brief = mode == StateOutput::Terse
            || (mode == StateOutput::Changes && ret.result == Some(true) && ret.changes.is_empty());
        if brief {
            let _ = writeln!(
                out,
                "{hue}  Name: {} - Function: {} - Result: {} - Started: {} - Duration: {} ms{}",
                ret.name,
                ret.function,
                if ret.result == Some(true) && ret.changes.is_empty() {
                    "Clean"
                } else if ret.result == Some(true) {
                    "Changed"
                } else {
                    result_text(ret.result)
                },
                ret.start_time,
                fmt_ms(ret.duration_ms),
                c.reset
            );
            continue;
        }
        block(&mut out, ret, hue, c.reset);
    }
    summary(&mut out, who, report, c);
    out
}

fn fmt_ms(ms: f64) -> String {
    let s = format!("{ms:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn block(out: &mut String, ret: &StateRet, hue: &str, reset: &str) {
    let _ = writeln!(out, "{hue}----------");
    let _ = writeln!(out, "          ID: {}", ret.id);
    let _ = writeln!(out, "    Function: {}", ret.function);
    let _ = writeln!(out, "        Name: {}", ret.name);
    let _ = writeln!(out, "      Result: {}", result_text(ret.result));
    let mut lines = ret.comment.lines();
    let _ = writeln!(out, "     Comment: {}", lines.next().unwrap_or(""));
    for l in lines {
        let _ = writeln!(out, "              {l}");
    }
    let _ = writeln!(out, "     Started: {}", ret.start_time);
    let _ = writeln!(out, "    Duration: {} ms", fmt_ms(ret.duration_ms));
    let _ = write!(out, "     Changes:   ");
    if ret.changes.is_empty() {
        let _ = writeln!(out, "{reset}");
        return;
    }
    let _ = writeln!(out);
    nested(out, &Value::Object(ret.changes.clone()), 14);
    let _ = write!(out, "{reset}");
}

/// Salt's `nested` outputter.
fn nested(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            let _ = writeln!(out, "{pad}----------");
            for (k, val) in m {
                match val {
                    Value::Object(_) | Value::Array(_) => {
                        let _ = writeln!(out, "{pad}{k}:");
                        nested(out, val, indent + 4);
                    }
                    Value::String(s) if s.contains('\n') => {
                        let _ = writeln!(out, "{pad}{k}:");
                        for l in s.lines() {
                            let _ = writeln!(out, "{pad}    {l}");
                        }
                    }
                    Value::String(s) if s.is_empty() => {
                        let _ = writeln!(out, "{pad}{k}:");
                    }
                    other => {
                        let _ = writeln!(out, "{pad}{k}:");
                        let _ = writeln!(out, "{pad}    {}", common::pyfmt::py_str(other));
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => nested(out, item, indent + 2),
                    other => {
                        let _ = writeln!(out, "{pad}- {}", common::pyfmt::py_str(other));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", common::pyfmt::py_str(other));
        }
    }
}

fn summary(out: &mut String, who: &str, report: &Report, c: &Colors) {
    let total = report.rets.len();
    let failed = report.failed();
    let changed = report.changed();
    let pending = report.rets.iter().filter(|r| r.result.is_none()).count();
    let succeeded = total - failed;
    let run_ms: f64 = report.rets.iter().map(|r| r.duration_ms).sum();
    let _ = writeln!(
        out,
        "\n{}Summary for {who}\n------------{}",
        c.cyan, c.reset
    );
    if pending > 0 {
        let _ = writeln!(
            out,
            "{}Succeeded: {succeeded}{} ({}unchanged={pending}{}, {}changed={changed}{})",
            c.green, c.reset, c.yellow, c.reset, c.green, c.reset
        );
    } else {
        let _ = writeln!(
            out,
            "{}Succeeded: {succeeded}{} ({}changed={changed}{})",
            c.green, c.reset, c.green, c.reset
        );
    }
    let fail_hue = if failed > 0 { c.red } else { c.cyan };
    let _ = writeln!(out, "{fail_hue}Failed:    {failed}{}", c.reset);
    let _ = writeln!(
        out,
        "{}------------\nTotal states run:     {total}\nTotal run time: {:>8} ms{}",
        c.cyan,
        fmt_ms(run_ms),
        c.reset
    );
}
