//! A finished (or abandoned) job on stdout: each minion's output in the
//! chosen format, the minions that did not return, and the fleet summary.
use std::collections::BTreeMap;
use std::io::IsTerminal;

use anyhow::Result;
use common::data::{Map, Value};
use states::ci_report::{self, MinionOutcome, Outcome, ReportOptions};
use states::highstate_out::{self, StateOutput};
use states::run::Report;
use transport::wire::JobReturn;

use super::super::Out;

/// What there is to show of one job.
pub struct JobOutcome<'a> {
    pub jid: &'a str,
    pub expected: &'a [String],
    pub returns: &'a BTreeMap<String, JobReturn>,
    /// Targeted minions without a return.
    pub missing: &'a [String],
    /// Why the operator lost the master, if it did before the job ended.
    pub lost: Option<&'a str>,
}

/// How to show it.
pub struct Rendering {
    pub out: Out,
    pub state_output: StateOutput,
    /// Returns are state reports (apply, `state.*`), shown as highstate blocks.
    pub states: bool,
    /// For `--out junit|markdown`: a dry run, and `--fail-on-change`.
    pub report: ReportOptions,
}

pub fn print(job: &JobOutcome, how: &Rendering) -> Result<()> {
    let jid = job.jid;
    let missing_text = match job.lost {
        None => "Minion did not return. [No response]".to_string(),
        Some(_) => {
            format!("Not returned when the operator lost the master; see `master jobs show {jid}`")
        }
    };
    match how.out {
        Out::Junit | Out::Markdown => {
            let mut minions: Vec<MinionOutcome> = job
                .returns
                .iter()
                .map(|(id, r)| MinionOutcome::from_return(id, &r.ret))
                .collect();
            minions.extend(job.missing.iter().map(|id| MinionOutcome {
                id: id.clone(),
                outcome: Outcome::DidNotReturn(missing_text.clone()),
            }));
            minions.sort_by(|a, b| a.id.cmp(&b.id));
            let text = if how.out == Out::Junit {
                ci_report::junit(&minions, how.report)
            } else {
                let title = format!(
                    "master apply{}: job {jid}",
                    if how.report.test { " --test" } else { "" }
                );
                ci_report::markdown(&title, &minions, how.report)
            };
            super::super::write_stdout(&text)
        }
        Out::Json | Out::Yaml => {
            let mut all = Map::new();
            for (id, r) in job.returns {
                all.insert(id.clone(), r.ret.clone());
            }
            for id in job.missing {
                all.insert(id.clone(), Value::String(missing_text.clone()));
            }
            super::super::print_value(how.out, &Value::Object(all))
        }
        Out::Highstate => {
            let color = std::io::stdout().is_terminal();
            let mut out = String::new();
            let mut changed = 0;
            for (id, r) in job.returns {
                match Report::from_json(&r.ret).filter(|_| how.states) {
                    Some(report) => {
                        if report.changed() > 0 {
                            changed += 1;
                        }
                        out.push_str(&highstate_out::render(id, &report, how.state_output, color));
                    }
                    None => {
                        out.push_str(&format!("{id}:\n"));
                        for line in nested_text(&r.ret).lines() {
                            out.push_str(&format!("    {line}\n"));
                        }
                    }
                }
            }
            for id in job.missing {
                out.push_str(&format!("{id}:\n    {missing_text}\n"));
            }
            let not_returned = if job.lost.is_some() {
                "not returned yet"
            } else {
                "did not return"
            };
            let failed = job.returns.values().filter(|r| !r.success).count();
            out.push_str(&format!(
                "\nJob {jid}: {} minion(s) targeted: {} succeeded, {} failed, {} changed, {} {not_returned}\n",
                job.expected.len(),
                job.returns.len() - failed,
                failed,
                changed,
                job.missing.len()
            ));
            super::super::write_stdout(&out)
        }
    }
}

fn nested_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => {
            if *b {
                "True".into()
            } else {
                "False".into()
            }
        }
        other => common::yaml::dump_block(other),
    }
}
