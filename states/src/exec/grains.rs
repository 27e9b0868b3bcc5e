//! `grains.*`: the minion's grains as it computed them at start.
use common::data::Value;

use super::{Access, AnsweredBy, ExecCall, ExecFunction, Param};

pub const ITEMS: ExecFunction = ExecFunction {
    name: "grains.items",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "all grains",
    parse: |_| Ok(ExecCall::GrainsItems),
};

pub const GET: ExecFunction = ExecFunction {
    name: "grains.get",
    params: &[
        Param::required("key"),
        Param::optional("default"),
        Param::optional("delimiter"),
    ],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "one grain by `a:b:c` path, or the default ('')",
    parse: |a| {
        Ok(ExecCall::GrainsGet {
            key: a.str("key")?,
            // `default=None` is a default of None, as in Salt.
            default: a
                .given("default")
                .cloned()
                .unwrap_or(Value::String(String::new())),
            delimiter: a
                .opt_str("delimiter")
                .unwrap_or_else(|| common::data::DEFAULT_DELIMITER.to_string()),
        })
    },
};

pub fn get(grains: &Value, key: &str, default: &Value, delimiter: &str) -> Value {
    common::data::traverse(grains, key, delimiter)
        .cloned()
        .unwrap_or_else(|| default.clone())
}
