//! Reports for CI systems, from the results of a run on one or more
//! minions: JUnit XML (`--out junit`, a `testsuite` per minion and a
//! `testcase` per state) and Markdown fit for a pull-request comment
//! (`--out markdown`). Both binaries build the same [`MinionOutcome`]s from
//! what they have (a local run's report; the master's returns), so the two
//! formats read alike masterless and through a master.
mod junit;
mod markdown;

use common::data::{Map, Value};

use crate::run::{Report, StateRet};

pub use junit::junit;
pub use markdown::markdown;

/// What one minion's run came to.
pub enum Outcome {
    /// The states ran (or, in test mode, were checked).
    States(Report),
    /// Nothing ran: its tree did not compile, or the job could not start.
    Errors(Vec<String>),
    /// It was targeted and did not answer.
    DidNotReturn(String),
}

pub struct MinionOutcome {
    pub id: String,
    pub outcome: Outcome,
}

impl MinionOutcome {
    /// A minion's return as the master keeps it: a result map, a list of
    /// errors, or a message.
    pub fn from_return(id: &str, ret: &Value) -> MinionOutcome {
        let outcome = match Report::from_json(ret) {
            Some(report) => Outcome::States(report),
            None => Outcome::Errors(match ret {
                Value::Array(items) => items.iter().map(common::pyfmt::py_str).collect(),
                other => vec![common::pyfmt::py_str(other)],
            }),
        };
        MinionOutcome {
            id: id.to_string(),
            outcome,
        }
    }
}

/// How the run was made and what counts as failing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// A dry run (`--test`): changes are pending, not made.
    pub test: bool,
    /// `--fail-on-change`: a change (made or pending) is a failure.
    pub fail_on_change: bool,
}

/// What a state's changes show a reviewer: a file's unified diff as it is,
/// anything else as indented JSON.
pub fn changes_text(changes: &Map<String, Value>) -> String {
    if let Some(Value::String(diff)) = changes.get("diff") {
        if changes.len() == 1 {
            return diff.clone();
        }
    }
    serde_json::to_string_pretty(changes).unwrap_or_default()
}

/// Whether a state changed something or, in test mode, would.
fn changed(r: &StateRet) -> bool {
    !r.changes.is_empty() || r.result.is_none()
}

#[cfg(test)]
mod tests;
