//! `group.info`, from the group file under the state root.
use serde_json::json;

use common::data::{Map, Value};

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};
use crate::state::accounts::Accounts;
use crate::state::HostRead;

pub const INFO: ExecFunction = ExecFunction {
    name: "group.info",
    params: &[Param::required("name"), Param::unsupported("root")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a group's name, passwd, gid and members; {} when there is no such group",
    parse: |a| {
        Ok(ExecCall::GroupInfo {
            name: a.str("name")?,
        })
    },
};

/// Salt's `group.info` (`_format_info` of `grp.getgrnam`).
pub fn info(host: &HostRead, name: &str) -> Result<Value, ExecError> {
    let accounts = Accounts::read(host)?;
    Ok(match accounts.group(name) {
        Some(g) => json!({
            "name": g.name,
            "passwd": g.passwd,
            "gid": g.gid,
            "members": g.members,
        }),
        None => Value::Object(Map::new()),
    })
}
