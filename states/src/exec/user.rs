//! `user.info` and `user.list_users`, from the passwd and group files under
//! the state root.
use common::data::{Map, Value};
use serde_json::json;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};
use crate::state::accounts::Accounts;
use crate::state::HostRead;

pub const INFO: ExecFunction = ExecFunction {
    name: "user.info",
    params: &[Param::required("name")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a user's passwd fields and groups; {} when there is no such user",
    parse: |a| {
        Ok(ExecCall::UserInfo {
            name: a.str("name")?,
        })
    },
};

pub fn info(host: &HostRead, name: &str) -> Result<Value, ExecError> {
    let read = |p: &str| -> Result<String, ExecError> {
        Ok(std::fs::read_to_string(host.path(p)?).unwrap_or_default())
    };
    Ok(user_info_from(
        name,
        &read("/etc/passwd")?,
        &read("/etc/group")?,
    ))
}

/// Salt's `user.info` from passwd and group file contents; `{}` for no such user.
pub fn user_info_from(name: &str, passwd: &str, group: &str) -> Value {
    let Some(fields) = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && f[0] == name)
    else {
        return Value::Object(Map::new());
    };
    let gid: i64 = fields[3].parse().unwrap_or(0);
    let mut groups: Vec<String> = Vec::new();
    for g in group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|g| g.len() >= 4)
    {
        let members = g[3].split(',').any(|m| m == name);
        if members || g[2].parse::<i64>().ok() == Some(gid) {
            groups.push(g[0].to_string());
        }
    }
    groups.sort();
    groups.dedup();
    let gecos: Vec<&str> = fields[4].split(',').collect();
    let gecos_at = |i: usize| gecos.get(i).copied().unwrap_or("");
    json!({
        "name": fields[0],
        "passwd": fields[1],
        "uid": fields[2].parse::<i64>().unwrap_or(0),
        "gid": gid,
        "home": fields[5],
        "shell": fields[6],
        "fullname": gecos_at(0),
        "roomnumber": gecos_at(1),
        "workphone": gecos_at(2),
        "homephone": gecos_at(3),
        "other": gecos.get(4..).map(|r| r.join(",")).unwrap_or_default(),
        "groups": groups,
    })
}

pub const LIST_USERS: ExecFunction = ExecFunction {
    name: "user.list_users",
    // Salt's chroot; Brine's state root is the run's, not the caller's.
    params: &[Param::unsupported("root")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "every user's name, sorted",
    parse: |_| Ok(ExecCall::UserListUsers),
};

/// Salt's `user.list_users`: the passwd names under the root, sorted.
pub fn list_users(host: &HostRead) -> Result<Value, ExecError> {
    let mut names: Vec<String> = Accounts::read(host)?
        .users
        .into_iter()
        .map(|u| u.name)
        .collect();
    names.sort();
    Ok(Value::Array(names.into_iter().map(Value::String).collect()))
}
