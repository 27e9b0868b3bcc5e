//! `sys.list_functions`: the table itself.
use common::data::Value;

use super::{Access, AnsweredBy, ExecCall, ExecFunction, FUNCTIONS};

pub const LIST_FUNCTIONS: ExecFunction = ExecFunction {
    name: "sys.list_functions",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "the names of the execution functions Brine has",
    parse: |_| Ok(ExecCall::ListFunctions),
};

/// Sorted, as Salt lists them.
pub fn list_functions() -> Value {
    let mut names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    names.sort_unstable();
    Value::Array(names.into_iter().map(Value::from).collect())
}
