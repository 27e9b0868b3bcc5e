use std::collections::BTreeSet;

use serde_json::json;

use super::*;
use crate::state::{registry, Args, StateModule};

fn map(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

#[test]
fn a_misspelt_argument_is_unknown_and_a_documented_one_is_not() {
    let args = map(
        json!({"name": "/etc/motd", "source": "salt://motd", "sourec": "x",
        "mode": 644, "require": [{"pkg": "motd"}], "__sls__": "motd"}),
    );
    assert_eq!(unknown_args("file", "managed", &args), ["sourec"]);
    assert_eq!(
        unknown_args(
            "pkg",
            "installed",
            &map(json!({"pkgs": [], "verison": "1"}))
        ),
        ["verison"]
    );
}

#[test]
fn every_documented_argument_of_every_function_is_known() {
    let common: Map<String, Value> = COMMON_ARGS
        .iter()
        .chain(&["__id__", "__sls__", "__env__"])
        .map(|a| (a.to_string(), json!(1)))
        .collect();
    for module in registry() {
        for sig in module.signatures() {
            let mut args = common.clone();
            args.extend(sig.args.iter().map(|a| (a.to_string(), json!(1))));
            assert_eq!(
                unknown_args(module.name(), sig.name, &args),
                Vec::<String>::new(),
                "{}.{}",
                module.name(),
                sig.name
            );
            if !sig.any_args {
                args.insert("no_such_argument".into(), json!(1));
                assert_eq!(
                    unknown_args(module.name(), sig.name, &args),
                    ["no_such_argument"],
                    "{}.{}",
                    module.name(),
                    sig.name
                );
            }
        }
    }
}

#[test]
fn kwargs_functions_accept_anything() {
    let args = map(json!({"anything": 1, "at_all": 2}));
    assert!(unknown_args("test", "nop", &args).is_empty());
    // Salt's cron.absent takes a present's arguments and ignores them.
    assert!(unknown_args("cron", "absent", &args).is_empty());
    assert_eq!(
        unknown_args("cron", "present", &args),
        ["anything", "at_all"]
    );
}

#[test]
fn a_function_brine_lacks_knows_only_the_common_arguments() {
    assert!(lookup("file", "teleported").is_none());
    assert!(lookup("nosuchmodule", "managed").is_none());
    let args = map(json!({"name": "x", "require": [], "source": "y"}));
    assert_eq!(unknown_args("file", "teleported", &args), ["source"]);
}

#[test]
fn tables_name_each_function_once_and_leave_common_arguments_to_the_common_list() {
    for module in registry() {
        let mut seen = BTreeSet::new();
        for sig in module.signatures() {
            assert!(
                seen.insert(sig.name),
                "{}.{} twice",
                module.name(),
                sig.name
            );
            let args: BTreeSet<_> = sig.args.iter().collect();
            assert_eq!(
                args.len(),
                sig.args.len(),
                "{}.{}: an argument twice",
                module.name(),
                sig.name
            );
            for a in sig.args {
                assert!(
                    !is_common(a),
                    "{}.{} lists common '{a}'",
                    module.name(),
                    sig.name
                );
            }
        }
    }
}

/// The guard that keeps the tables complete: reading an argument the
/// function's table does not list fails the test that does it.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "file.managed reads 'sourec', which its signature table does not list")]
fn reading_an_argument_the_table_lacks_fails_loudly() {
    let chunk = map(json!({"state": "file", "fun": "managed", "name": "/x"}));
    let _ = Args::new(&chunk).get("sourec");
}

#[test]
fn reading_listed_common_and_mod_watch_arguments_is_fine() {
    let chunk = map(json!({"state": "service", "fun": "running", "name": "nginx"}));
    let args = Args::new(&chunk);
    for key in ["reload", "require", "__reqs_changed__", "sfun"] {
        let _ = args.get(key);
    }
}

/// The executor's errors come from the tables: an unknown function lists
/// the module's functions in table order, an argument no function read is
/// named, and a `**kwargs` function takes anything.
#[test]
fn the_executor_names_unknown_functions_and_arguments() {
    let t = crate::state::testutil::TestHost::new();
    let low = |id: &str, state: &str, fun: &str, extra: Value| {
        let mut c = map(
            json!({"state": state, "fun": fun, "name": format!("/tmp/{id}"),
            "__id__": id, "__sls__": "sigs", "__env__": "base", "order": 1}),
        );
        c.extend(map(extra));
        c
    };
    let report = crate::run::Runner::new(t.host.clone(), true).run(vec![
        low("teleport", "file", "teleported", json!({})),
        low("typo", "file", "absent", json!({"forse": true})),
        low("kwargs", "test", "nop", json!({"anything": 1})),
    ]);
    let comment = |id: &str| {
        let r = report.rets.iter().find(|r| r.id == id).expect(id);
        (r.result, r.comment.clone())
    };
    let functions = names(crate::state::file::File.signatures()).join(", ");
    assert_eq!(
        comment("teleport"),
        (
            Some(false),
            format!("State 'file.teleported' was not found: the file module has {functions}")
        )
    );
    assert!(
        functions.starts_with("managed, directory, absent"),
        "{functions}"
    );
    assert_eq!(
        comment("typo"),
        (
            Some(false),
            "Unknown argument(s) for file.absent: forse".to_string()
        )
    );
    assert_eq!(comment("kwargs").0, Some(true));
}
