//! JUnit XML as Jenkins' xunit plugin schema (junit-10.xsd) defines it,
//! which GitLab, GitHub actions and the rest read too.
use std::fmt::Write;

use super::{changed, changes_text, MinionOutcome, Outcome, ReportOptions};

/// The whole report: `<testsuites>` with a `<testsuite>` per minion.
pub fn junit(minions: &[MinionOutcome], opts: ReportOptions) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors, mut secs) = (0, 0, 0, 0.0);
    for m in minions {
        let suite = suite(m, opts);
        tests += suite.tests;
        failures += suite.failures;
        errors += suite.errors;
        secs += suite.secs;
        suites.push_str(&suite.xml);
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"brine\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{secs:.3}\">\n{suites}</testsuites>\n"
    )
}

struct Suite {
    xml: String,
    tests: usize,
    failures: usize,
    errors: usize,
    secs: f64,
}

fn suite(m: &MinionOutcome, opts: ReportOptions) -> Suite {
    let mut cases = String::new();
    let (mut tests, mut failures, mut errors, mut secs) = (0, 0, 0, 0.0);
    match &m.outcome {
        Outcome::States(report) => {
            for r in &report.rets {
                tests += 1;
                let case_secs = r.duration_ms / 1000.0;
                secs += case_secs;
                let classname = if r.sls.is_empty() { &m.id } else { &r.sls };
                let _ = write!(
                    cases,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"{case_secs:.3}\"",
                    attr(classname),
                    attr(&r.tag)
                );
                let failure = if r.result == Some(false) {
                    Some(("failed", r.comment.clone(), r.comment.clone()))
                } else if opts.fail_on_change && changed(r) {
                    let diff = changes_text(&r.changes);
                    let kind = if opts.test { "would change" } else { "changed" };
                    Some((kind, diff.clone(), format!("{}\n\n{diff}", r.comment)))
                } else {
                    None
                };
                match failure {
                    Some((kind, message, body)) => {
                        failures += 1;
                        let _ = write!(
                            cases,
                            ">\n      <failure type=\"{kind}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                            attr(&message),
                            text(&body)
                        );
                    }
                    None => cases.push_str("/>\n"),
                }
            }
        }
        Outcome::Errors(list) => {
            tests += 1;
            errors += 1;
            let _ = writeln!(
                cases,
                "    <testcase classname=\"{}\" name=\"compile\">",
                attr(&m.id)
            );
            for e in list {
                let first = e.lines().next().unwrap_or("");
                let _ = writeln!(
                    cases,
                    "      <error type=\"could not run\" message=\"{}\">{}</error>",
                    attr(first),
                    text(e)
                );
            }
            cases.push_str("    </testcase>\n");
        }
        Outcome::DidNotReturn(why) => {
            tests += 1;
            errors += 1;
            let _ = writeln!(
                cases,
                "    <testcase classname=\"{}\" name=\"return\">\n      <error type=\"did not return\" message=\"{}\"/>\n    </testcase>",
                attr(&m.id),
                attr(why)
            );
        }
    }
    let xml = format!(
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{secs:.3}\">\n{cases}  </testsuite>\n",
        attr(&m.id)
    );
    Suite {
        xml,
        tests,
        failures,
        errors,
        secs,
    }
}

/// Text XML 1.0 can hold: its escapes, and the control characters it
/// forbids (a command's raw output may have them) as U+FFFD.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// [`text`] inside a double-quoted attribute, newlines kept as references.
fn attr(s: &str) -> String {
    text(s)
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}
