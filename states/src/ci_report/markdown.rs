//! A Markdown summary for a pull-request comment: a table with a line per
//! minion, then each failed or changed state, its diff in a collapsible
//! `<details>` block (GitHub and GitLab render them).
use std::fmt::Write;

use super::{changed, changes_text, MinionOutcome, Outcome, ReportOptions};

pub fn markdown(title: &str, minions: &[MinionOutcome], opts: ReportOptions) -> String {
    let mut out = format!("### {}\n\n", cell(title));
    let change_word = if opts.test { "would change" } else { "changed" };
    let _ = writeln!(
        out,
        "| minion | outcome | succeeded | failed | {change_word} |\n|---|---|---|---|---|"
    );
    let mut details = String::new();
    for m in minions {
        match &m.outcome {
            Outcome::States(report) => {
                let failed = report.failed();
                let changes = report.rets.iter().filter(|r| changed(r)).count();
                let outcome = if failed > 0 {
                    "failed"
                } else if changes > 0 {
                    change_word
                } else {
                    "no changes"
                };
                let _ = writeln!(
                    out,
                    "| {} | {outcome} | {} | {failed} | {changes} |",
                    cell(&m.id),
                    report.rets.len() - failed
                );
                for r in &report.rets {
                    let what = if r.result == Some(false) {
                        "failed"
                    } else if changed(r) {
                        change_word
                    } else {
                        continue;
                    };
                    let mut body = r.comment.clone();
                    if !r.changes.is_empty() {
                        body.push_str("\n\n");
                        body.push_str(&changes_text(&r.changes));
                    }
                    block(
                        &mut details,
                        &format!("{}: {} ({what})", m.id, r.tag),
                        &body,
                    );
                }
            }
            Outcome::Errors(list) => {
                let _ = writeln!(out, "| {} | could not run | 0 | 0 | 0 |", cell(&m.id));
                block(
                    &mut details,
                    &format!("{}: could not run", m.id),
                    &list.join("\n\n"),
                );
            }
            Outcome::DidNotReturn(_) => {
                let _ = writeln!(out, "| {} | did not return | | | |", cell(&m.id));
            }
        }
    }
    if !details.is_empty() {
        out.push('\n');
        out.push_str(&details);
    }
    out
}

/// A table cell: pipes escaped, one line.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// `<details>` with `summary` and `body` in a code block fenced longer than
/// any run of backticks in it, so no content can close it early.
fn block(out: &mut String, summary: &str, body: &str) {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let lang = if body.contains("\n@@ ") || body.starts_with("---") {
        "diff"
    } else {
        ""
    };
    let summary = summary
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let _ = write!(
        out,
        "<details><summary>{summary}</summary>\n\n{fence}{lang}\n{body}\n{fence}\n\n</details>\n\n"
    );
}
