//! `test.*`: answers that prove a minion is there.
use super::{Access, AnsweredBy, ExecCall, ExecFunction, Param};

pub const PING: ExecFunction = ExecFunction {
    name: "test.ping",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "True when the minion answers",
    parse: |_| Ok(ExecCall::TestPing),
};

pub const ECHO: ExecFunction = ExecFunction {
    name: "test.echo",
    params: &[Param::required("text")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "the text given",
    parse: |a| {
        Ok(ExecCall::TestEcho {
            text: a.str("text")?,
        })
    },
};

pub const VERSION: ExecFunction = ExecFunction {
    name: "test.version",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "the minion's Brine version",
    parse: |_| Ok(ExecCall::TestVersion),
};
