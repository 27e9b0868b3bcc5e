//! `group.present` / `group.absent` (salt/states/group.py over
//! salt/modules/groupadd.py), with Salt's comments and changes.
//!
//! The group database is read from `<root>/etc/group`; changes go through
//! `groupadd`/`groupmod`/`groupdel` (with `--prefix ROOT` under a test or
//! swarm root). Members are set in one command, not one per user: `gpasswd
//! -M` on a real host (as Salt, keeping /etc/gshadow in step), `groupmod -U`
//! under a prefix (gpasswd has no `--prefix`).
use std::collections::BTreeSet;
use std::path::Path;

use common::data::{Map, Value};
use common::pyfmt::py_repr;

use super::accounts::{prefix_args, Accounts, Group};
use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct GroupState;

impl super::StateModule for GroupState {
    fn name(&self) -> &'static str {
        "group"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::GROUP
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            "absent" => absent(args, host),
            other => Err(StateError::args(format!(
                "group.{other} is not a state function"
            ))),
        }
    }
}

/// What `group.present` asks for.
#[derive(Debug, Clone)]
struct Wanted {
    name: String,
    gid: Option<u32>,
    system: bool,
    non_unique: bool,
    members: Option<Vec<String>>,
    addusers: Option<Vec<String>>,
    delusers: Option<Vec<String>>,
}

/// One entry of Salt's `_changes`, in Salt's order.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    Gid(u32),
    /// `members: []` shows as the set of members to drop.
    DelAll(BTreeSet<String>),
    Members(Vec<String>),
    AddUsers(Vec<String>),
    DelUsers(Vec<String>),
}

impl Change {
    fn key(&self) -> &'static str {
        match self {
            Change::Gid(_) => "gid",
            Change::DelAll(_) | Change::DelUsers(_) => "delusers",
            Change::Members(_) => "members",
            Change::AddUsers(_) => "addusers",
        }
    }

    /// The value as Python prints it in Salt's comment.
    fn python(&self) -> String {
        let list = |v: &[String]| py_repr(&Value::from(v.to_vec()));
        match self {
            Change::Gid(g) => g.to_string(),
            Change::DelAll(set) => format!(
                "{{{}}}",
                set.iter()
                    .map(|s| py_repr(&Value::from(s.as_str())))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Change::Members(v) | Change::AddUsers(v) | Change::DelUsers(v) => list(v),
        }
    }

    fn json(&self) -> Value {
        match self {
            Change::Gid(g) => Value::from(*g),
            Change::DelAll(set) => Value::from(set.iter().cloned().collect::<Vec<_>>()),
            Change::Members(v) | Change::AddUsers(v) | Change::DelUsers(v) => {
                Value::from(v.clone())
            }
        }
    }
}

/// Salt's `_changes` against the current entry.
fn diff(group: &Group, w: &Wanted) -> Vec<Change> {
    let mut out = Vec::new();
    if let Some(gid) = w.gid.filter(|g| *g != 0 && *g != group.gid) {
        out.push(Change::Gid(gid));
    }
    let current: BTreeSet<&String> = group.members.iter().collect();
    match &w.members {
        Some(m) if m.is_empty() && !current.is_empty() => {
            out.push(Change::DelAll(group.members.iter().cloned().collect()));
        }
        Some(m) if !m.is_empty() && current != m.iter().collect::<BTreeSet<_>>() => {
            out.push(Change::Members(m.clone()));
        }
        _ => {}
    }
    if let Some(add) = &w.addusers {
        let missing: Vec<String> = add
            .iter()
            .filter(|u| !current.contains(u))
            .cloned()
            .collect();
        if !missing.is_empty() {
            out.push(Change::AddUsers(missing));
        }
    }
    if let Some(del) = &w.delusers {
        let present: Vec<String> = del
            .iter()
            .filter(|u| current.contains(u))
            .cloned()
            .collect();
        if !present.is_empty() {
            out.push(Change::DelUsers(present));
        }
    }
    out
}

/// The member list after the changes, keeping the current order.
fn final_members(current: &[String], changes: &[Change]) -> Vec<String> {
    let mut members = current.to_vec();
    for c in changes {
        match c {
            Change::Members(m) => members = m.clone(),
            Change::DelAll(_) => members.clear(),
            Change::AddUsers(add) => members.extend(add.iter().cloned()),
            Change::DelUsers(del) => members.retain(|m| !del.contains(m)),
            Change::Gid(_) => {}
        }
    }
    members
}

fn wanted(args: &Args) -> Result<Wanted, StateError> {
    let gid = match args.get("gid") {
        None => None,
        Some(v) => Some(
            common::pyfmt::py_str(v)
                .trim()
                .parse::<u32>()
                .map_err(|_| StateError::args("Invalid gid"))?,
        ),
    };
    if args.bool_or("local", false)? {
        return Err(StateError::args(
            "'local' (lgroupadd from libuser) is not supported",
        ));
    }
    Ok(Wanted {
        name: args.name(),
        gid,
        system: args.bool_or("system", false)?,
        non_unique: args.bool_or("non_unique", false)?,
        members: args.str_list("members")?,
        addusers: args.str_list("addusers")?,
        delusers: args.str_list("delusers")?,
    })
}

fn set_to_change(changes: &[Change]) -> String {
    let mut s = "The following group attributes are set to be changed:\n".to_string();
    for c in changes {
        s.push_str(&format!("{}: {}\n", c.key(), c.python()));
    }
    s
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let w = wanted(args)?;
    if w.members.is_some() && (w.addusers.is_some() || w.delusers.is_some()) {
        return Ok(Check::fail(
            "Error: Conflicting options \"members\" with \"addusers\" and/or \"delusers\" can not be used together. ",
        ));
    }
    if let (Some(add), Some(del)) = (&w.addusers, &w.delusers) {
        if add.iter().any(|u| del.contains(u)) {
            return Ok(Check::fail(
                "Error. Same user(s) can not be added and deleted simultaneously",
            ));
        }
    }
    let accounts = Accounts::read(host)?;
    let Some(group) = accounts.group(&w.name) else {
        return create(&accounts, w);
    };
    let todo = diff(group, &w);
    if todo.is_empty() {
        return Ok(Check::clean(format!(
            "Group {} is present and up to date",
            w.name
        )));
    }
    let comment = set_to_change(&todo);
    let gid = todo.iter().find_map(|c| match c {
        Change::Gid(g) => Some(*g),
        _ => None,
    });
    let members_change = todo.iter().any(|c| !matches!(c, Change::Gid(_)));
    let members = final_members(&group.members, &todo);
    Ok(Check::change(
        Map::new(),
        comment.clone(),
        ApplyFn(move |host: &HostWrite| {
            let mut errors = Vec::new();
            if gid.is_some() || (members_change && host.root() != Path::new("/")) {
                let mut argv: Vec<String> = vec!["groupmod".into()];
                argv.extend(prefix_args(host));
                if let Some(g) = gid {
                    argv.extend(["-g".into(), g.to_string()]);
                    if w.non_unique {
                        argv.push("-o".into());
                    }
                }
                if members_change && host.root() != Path::new("/") {
                    argv.extend(["-U".into(), members.join(",")]);
                }
                argv.push(w.name.clone());
                errors.extend(run(host, &argv));
            }
            if members_change && host.root() == Path::new("/") {
                errors.extend(set_members_gpasswd(host, &w.name, &members));
            }
            Ok(verify_update(host, &w, comment, &errors))
        }),
    ))
}

/// Salt re-reads the group and reports what is still different.
fn verify_update(host: &HostRead, w: &Wanted, mut comment: String, errors: &[String]) -> Applied {
    let left = Accounts::read(host)
        .ok()
        .and_then(|a| a.group(&w.name).map(|g| diff(g, w)))
        .unwrap_or_default();
    if left.is_empty() {
        return Applied::ok_with(
            comment,
            changes([("Final", Value::from("All changes applied successfully"))]),
        );
    }
    comment.push_str("Some changes could not be applied");
    for e in errors {
        comment.push_str(&format!("\n{e}"));
    }
    Applied::failed(comment, changes([("Failed", failed_map(&left))]))
}

fn failed_map(left: &[Change]) -> Value {
    Value::Object(
        left.iter()
            .map(|c| (c.key().to_string(), c.json()))
            .collect(),
    )
}

fn create(accounts: &Accounts, w: Wanted) -> Result<Check, StateError> {
    if let (Some(gid), false) = (w.gid, w.non_unique) {
        if let Some(taken) = accounts.group_by_gid(gid) {
            return Ok(Check::fail(format!(
                "Group {} is not present but gid {gid} is already taken by group {}",
                w.name, taken.name
            )));
        }
    }
    // Salt: members, else addusers, become the new group's members.
    let members = w
        .members
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| w.addusers.clone())
        .unwrap_or_default();
    Ok(Check::change(
        Map::new(),
        format!("Group {} set to be added", w.name),
        ApplyFn(move |host: &HostWrite| {
            let on_prefix = host.root() != Path::new("/");
            let mut argv: Vec<String> = vec!["groupadd".into()];
            argv.extend(prefix_args(host));
            if let Some(g) = w.gid.filter(|g| *g != 0) {
                argv.extend(["-g".into(), g.to_string()]);
                if w.non_unique {
                    argv.push("-o".into());
                }
            }
            if w.system {
                argv.push("-r".into());
            }
            if on_prefix && !members.is_empty() {
                argv.extend(["-U".into(), members.join(",")]);
            }
            argv.push(w.name.clone());
            if let Some(err) = run(host, &argv) {
                return Ok(Applied::failed(
                    format!("Failed to create new group {}: {err}", w.name),
                    Map::new(),
                ));
            }
            if !on_prefix && !members.is_empty() {
                let _ = set_members_gpasswd(host, &w.name, &members);
            }
            let accounts = Accounts::read(host)?;
            let Some(group) = accounts.group(&w.name) else {
                return Ok(Applied::failed(
                    format!("Failed to create new group {}", w.name),
                    Map::new(),
                ));
            };
            let left = diff(group, &w);
            if !left.is_empty() {
                return Ok(Applied::failed(
                    format!(
                        "Group {} has been created but, some changes could not be applied",
                        w.name
                    ),
                    changes([("Failed", failed_map(&left))]),
                ));
            }
            Ok(Applied::ok_with(
                format!("New group {} created", w.name),
                info(group),
            ))
        }),
    ))
}

/// Salt's `group.info`.
fn info(g: &Group) -> Map<String, Value> {
    changes([
        ("name", Value::from(g.name.as_str())),
        ("passwd", Value::from(g.passwd.as_str())),
        ("gid", Value::from(g.gid)),
        ("members", Value::from(g.members.clone())),
    ])
}

fn set_members_gpasswd(host: &HostWrite, name: &str, members: &[String]) -> Option<String> {
    let list = members.join(",");
    run(host, &["gpasswd".into(), "-M".into(), list, name.into()])
}

/// Runs a shadow tool; `Some(error)` when it failed.
fn run(host: &HostWrite, argv: &[String]) -> Option<String> {
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    match host.run(&argv, &[], None) {
        Ok(out) if out.retcode == 0 => None,
        Ok(out) => Some(format!("{}: {}", argv[0], out.stderr.trim())),
        Err(e) => Some(e.to_string()),
    }
}

fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    if args.bool_or("local", false)? {
        return Err(StateError::args(
            "'local' (lgroupdel from libuser) is not supported",
        ));
    }
    let accounts = Accounts::read(host)?;
    if accounts.group(&name).is_none() {
        return Ok(Check::clean("Group not present"));
    }
    Ok(Check::change(
        Map::new(),
        format!("Group {name} is set for removal"),
        ApplyFn(move |host: &HostWrite| {
            let mut argv: Vec<String> = vec!["groupdel".into()];
            argv.extend(prefix_args(host));
            argv.push(name.clone());
            Ok(match run(host, &argv) {
                None => Applied::ok_with(
                    format!("Removed group {name}"),
                    changes([(name.as_str(), Value::from(""))]),
                ),
                Some(err) => {
                    Applied::failed(format!("Failed to remove group {name}: {err}"), Map::new())
                }
            })
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{comment_of, is_clean, shadow_tools_usable, TestHost};
    use super::*;
    use serde_json::json;

    fn host() -> TestHost {
        let t = TestHost::new();
        t.write(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nfred:x:1000:1000::/home/fred:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n",
        );
        t.write(
            "/etc/group",
            "root:x:0:\nfred:x:1000:\nbob:x:1001:\nold:x:3000:fred\n",
        );
        t.write(
            "/etc/shadow",
            "root:*:19000:0:99999:7:::\nfred:!:1::::::\nbob:!:1::::::\n",
        );
        t.write("/etc/gshadow", "root:*::\nfred:!::\nbob:!::\nold:!::fred\n");
        t
    }

    #[test]
    fn present_creates_then_is_clean() {
        if !shadow_tools_usable() {
            return;
        }
        let t = host();
        let args = json!({"name": "web", "gid": 4000, "members": ["fred", "bob"]});
        let before = t.snapshot();
        let check = t.check(&GroupState, "present", args.clone()).unwrap();
        assert_eq!(t.snapshot(), before, "check wrote to the root");
        assert_eq!(comment_of(&check), "Group web set to be added");
        let applied = t.apply(check);
        assert!(applied.result, "{applied:?}");
        assert_eq!(applied.comment, "New group web created");
        assert_eq!(
            applied.changes.unwrap(),
            changes([
                ("name", json!("web")),
                ("passwd", json!("x")),
                ("gid", json!(4000)),
                ("members", json!(["fred", "bob"]))
            ])
        );
        assert!(t.read("/etc/group").contains("web:x:4000:fred,bob\n"));
        let again = t.check(&GroupState, "present", args).unwrap();
        assert!(is_clean(&again));
        assert_eq!(comment_of(&again), "Group web is present and up to date");
    }

    #[test]
    fn present_changes_gid_and_members_with_salts_comment() {
        if !shadow_tools_usable() {
            return;
        }
        let t = host();
        let args = json!({"name": "old", "gid": 3100, "addusers": ["bob"], "delusers": ["fred"]});
        let check = t.check(&GroupState, "present", args.clone()).unwrap();
        let expected = "The following group attributes are set to be changed:\ngid: 3100\naddusers: ['bob']\ndelusers: ['fred']\n";
        assert_eq!(comment_of(&check), expected);
        let applied = t.apply(check);
        assert!(applied.result, "{applied:?}");
        assert_eq!(applied.comment, expected);
        assert_eq!(
            applied.changes.unwrap(),
            changes([("Final", json!("All changes applied successfully"))])
        );
        assert!(t.read("/etc/group").contains("old:x:3100:bob\n"));
        assert!(is_clean(&t.check(&GroupState, "present", args).unwrap()));

        let empty = t
            .check(
                &GroupState,
                "present",
                json!({"name": "old", "members": []}),
            )
            .unwrap();
        assert_eq!(
            comment_of(&empty),
            "The following group attributes are set to be changed:\ndelusers: {'bob'}\n"
        );
        t.apply(empty);
        assert!(t.read("/etc/group").contains("old:x:3100:\n"));
    }

    #[test]
    fn failures() {
        if !shadow_tools_usable() {
            return;
        }
        let t = host();
        let c = t
            .check(
                &GroupState,
                "present",
                json!({"name": "x", "members": ["a"], "addusers": ["b"]}),
            )
            .unwrap();
        assert!(matches!(c, Check::Fail { .. }));
        let c = t
            .check(
                &GroupState,
                "present",
                json!({"name": "x", "addusers": ["a"], "delusers": ["a"]}),
            )
            .unwrap();
        assert_eq!(
            comment_of(&c),
            "Error. Same user(s) can not be added and deleted simultaneously"
        );
        let c = t
            .check(&GroupState, "present", json!({"name": "new", "gid": 1000}))
            .unwrap();
        assert_eq!(
            comment_of(&c),
            "Group new is not present but gid 1000 is already taken by group fred"
        );
        assert!(t
            .check(&GroupState, "present", json!({"name": "x", "gid": "abc"}))
            .is_err());
        // A member that does not exist: the tool refuses, the state says so.
        let applied = t.apply(
            t.check(
                &GroupState,
                "present",
                json!({"name": "old", "members": ["ghost"]}),
            )
            .unwrap(),
        );
        assert!(!applied.result);
        assert!(
            applied
                .comment
                .contains("Some changes could not be applied"),
            "{}",
            applied.comment
        );
        assert_eq!(
            applied.changes.unwrap(),
            changes([("Failed", json!({"members": ["ghost"]}))])
        );
    }

    #[test]
    fn absent_removes_then_is_clean() {
        if !shadow_tools_usable() {
            return;
        }
        let t = host();
        let before = t.snapshot();
        let check = t
            .check(&GroupState, "absent", json!({"name": "old"}))
            .unwrap();
        assert_eq!(t.snapshot(), before);
        assert_eq!(comment_of(&check), "Group old is set for removal");
        let applied = t.apply(check);
        assert_eq!(
            (applied.result, applied.comment.as_str()),
            (true, "Removed group old")
        );
        assert_eq!(applied.changes.unwrap(), changes([("old", json!(""))]));
        assert!(!t.read("/etc/group").contains("old:"));
        let again = t
            .check(&GroupState, "absent", json!({"name": "old"}))
            .unwrap();
        assert_eq!(comment_of(&again), "Group not present");
    }
}
