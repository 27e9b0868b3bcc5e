//! A highstate that gives a minion nothing to run, which Salt's
//! `call_highstate` reports as one failed pseudo-state, so `state.apply`
//! exits non-zero.
use crate::run::{Report, StateRet};

/// Why a highstate has no states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoStates {
    /// No top file, or no target in it matches this minion (a missing or
    /// mistyped file root included).
    NoTopMatch,
    /// The top matched SLS files that hold no states.
    Empty,
}

impl NoStates {
    /// Salt's comments, word for word.
    pub fn comment(self) -> &'static str {
        match self {
            NoStates::NoTopMatch => {
                "No Top file or master_tops data matches found. Please see master log for details."
            }
            NoStates::Empty => "No states found for this minion",
        }
    }

    /// The result Salt returns: `no_|-states_|-states_|-None`, failed.
    pub fn report(self) -> Report {
        Report {
            rets: vec![StateRet {
                tag: "no_|-states_|-states_|-None".into(),
                id: "states".into(),
                name: "No States".into(),
                sls: String::new(),
                function: "no.None".into(),
                result: Some(false),
                comment: self.comment().into(),
                changes: Default::default(),
                run_num: 0,
                start_time: String::new(),
                duration_ms: 0.0,
                state_ran: false,
                skip_watch: false,
            }],
        }
    }
}
