//! Salt's `highstate` outputter: a block per state, then the summary, so the
//! output reads as familiar to a Salt user (shared/reference/salt-highstate-output.txt).
//! Both binaries print it (`minion apply --local`, `master apply`), so it lives here.
use std::fmt::Write;

use crate::run::{Report, StateRet};
use common::data::Value;

/// How much of each state to print (`--state-output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

/// Salt's summary: counts right-aligned to the widest, `unchanged=` for
/// results of None (test mode) and `changed=` only when non-zero.
fn summary(out: &mut String, who: &str, report: &Report, c: &Colors) {
    let total = report.rets.len();
    let failed = report.failed();
    let changed = report.changed();
    let pending = report.rets.iter().filter(|r| r.result.is_none()).count();
    let succeeded = total - failed;
    let count_len = [succeeded, failed, pending]
        .iter()
        .map(|n| n.to_string().len())
        .max()
        .unwrap_or(1);
    let width = "Succeeded".len() + count_len + 2;
    let counts = |label: &str, n: usize| format!("{label}: {n:>w$}", w = width - (label.len() + 2));
    let _ = writeln!(
        out,
        "\n{}Summary for {who}\n{}{}",
        c.cyan,
        "-".repeat(width),
        c.reset
    );
    let mut stats = Vec::new();
    if pending > 0 {
        stats.push(format!("{}unchanged={pending}{}", c.yellow, c.reset));
    }
    if changed > 0 {
        stats.push(format!("{}changed={changed}{}", c.green, c.reset));
    }
    let stats = if stats.is_empty() {
        String::new()
    } else {
        format!(" ({})", stats.join(", "))
    };
    let _ = writeln!(
        out,
        "{}{}{}{stats}",
        c.green,
        counts("Succeeded", succeeded),
        c.reset
    );
    let fail_hue = if failed > 0 { c.red } else { c.cyan };
    let _ = writeln!(out, "{fail_hue}{}{}", counts("Failed", failed), c.reset);
    // Folded from +0.0: an empty f64 sum is -0.0, printed "-0.000 ms".
    let run_ms: f64 = report.rets.iter().fold(0.0, |sum, r| sum + r.duration_ms);
    let (amount, unit) = if run_ms > 999.0 {
        (run_ms / 1000.0, "s")
    } else {
        (run_ms, "ms")
    };
    let _ = writeln!(
        out,
        "{}{}\nTotal states run: {total:>w$}\nTotal run time: {:>r$} {unit}{}",
        c.cyan,
        "-".repeat(width),
        format!("{amount:.3}"),
        c.reset,
        w = width - 7,
        r = width - 5,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::StateRet;

    fn ret(id: &str, result: Option<bool>, changed: bool) -> StateRet {
        let chunk = serde_json::json!({"state": "test", "__id__": id, "name": id, "fun": "nop", "__sls__": "s"});
        let mut r = StateRet::new(chunk.as_object().unwrap(), result, "c");
        if changed {
            r.changes.insert("x".into(), serde_json::json!(1));
        }
        r.duration_ms = 17.236;
        r
    }

    #[test]
    fn summary_reads_like_salts() {
        let report = Report {
            rets: vec![
                ret("a", Some(true), true),
                ret("b", Some(true), false),
                ret("c", Some(false), false),
                ret("d", Some(true), true),
            ],
        };
        let text = render("local", &report, StateOutput::Terse, false);
        let summary = &text[text.find("Summary").unwrap()..];
        assert_eq!(
            summary,
            "Summary for local\n------------\nSucceeded: 3 (changed=2)\nFailed:    1\n------------\nTotal states run:     4\nTotal run time:  68.944 ms\n"
        );
    }

    #[test]
    fn test_mode_counts_unchanged_and_no_changes_means_no_parens() {
        let report = Report {
            rets: vec![ret("a", None, true), ret("b", Some(true), false)],
        };
        let text = render("local", &report, StateOutput::Full, false);
        assert!(
            text.contains("Succeeded: 2 (unchanged=1, changed=1)\n"),
            "{text}"
        );
        let quiet = Report {
            rets: vec![ret("b", Some(true), false)],
        };
        let text = render("local", &quiet, StateOutput::Full, false);
        assert!(text.contains("Succeeded: 1\nFailed:    0\n"), "{text}");
    }

    #[test]
    fn full_block_matches_salts_layout() {
        let report = Report {
            rets: vec![ret("app_config", Some(true), true)],
        };
        let text = render("local", &report, StateOutput::Full, false);
        assert!(text.starts_with("local:\n----------\n          ID: app_config\n    Function: test.nop\n        Name: app_config\n      Result: True\n     Comment: c\n"), "{text}");
        assert!(text.contains("     Changes:   \n              ----------\n              x:\n                  1\n"), "{text}");
    }
}
