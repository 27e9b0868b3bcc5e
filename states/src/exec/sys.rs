//! `sys.list_functions`, `sys.doc`: the table itself.
use common::data::{Map, Value};

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

pub const DOC: ExecFunction = ExecFunction {
    name: "sys.doc",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "each function's name, parameters and one-line summary",
    parse: |_| Ok(ExecCall::Doc),
};

/// `{name: "name(params): summary"}`, sorted by name; a parameter Brine does
/// not implement is left out.
pub fn doc() -> Value {
    let mut rows: Vec<_> = FUNCTIONS.iter().collect();
    rows.sort_unstable_by_key(|f| f.name);
    let docs: Map<String, Value> = rows
        .into_iter()
        .map(|f| {
            let params: Vec<String> = f
                .params
                .iter()
                .filter(|p| p.supported)
                .map(|p| {
                    if p.required {
                        p.name.to_string()
                    } else {
                        format!("{}=None", p.name)
                    }
                })
                .collect();
            let text = format!("{}({}): {}", f.name, params.join(", "), f.summary);
            (f.name.to_string(), Value::String(text))
        })
        .collect();
    Value::Object(docs)
}
