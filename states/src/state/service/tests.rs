//! service on a temp root, where systemd is offline and systemctl works on
//! unit files (`--root`): enable/disable/mask for real. Starting, stopping
//! and restarting need systemd as PID 1: those run in the nspawn fleet.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};

use super::Service;
use crate::state::pkg::tests_support::NoSources;
use crate::state::{Applied, Args, Check, HostRead, HostWrite, StateModule};

const UNIT: &str = "[Unit]\nDescription=brine test\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n";

fn have_systemctl() -> bool {
    let ok = std::process::Command::new("systemctl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: no systemctl on this host");
    }
    ok
}

fn root_with_unit() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("usr/lib/systemd/system/brinetest.service");
    std::fs::create_dir_all(unit.parent().unwrap()).unwrap();
    std::fs::create_dir_all(dir.path().join("etc/systemd/system")).unwrap();
    std::fs::write(unit, UNIT).unwrap();
    dir
}

fn host(root: &Path) -> HostRead {
    HostRead::new(root.to_path_buf(), Arc::new(NoSources))
}

fn check(root: &Path, fun: &str, v: Value) -> Check {
    let mut c = v.as_object().unwrap().clone();
    c.insert("state".into(), json!("service"));
    c.insert("fun".into(), json!(fun));
    let args = Args::new(&c);
    let out = Service.check(fun, &args, &host(root)).unwrap();
    assert_eq!(args.unknown(), Vec::<String>::new());
    out
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(p, format!("-> {}", target.display()));
            } else if meta.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    out
}

fn clean(c: Check) -> String {
    match c {
        Check::Clean { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected Clean, got Change: {comment}"),
        Check::Fail { comment, .. } => panic!("expected Clean, got Fail: {comment}"),
        Check::Reported { comment, .. } => panic!("expected Clean, got Reported: {comment}"),
    }
}

/// Check (touching nothing), apply, check again (clean).
fn converge(root: &Path, fun: &str, v: Value) -> (serde_json::Map<String, Value>, String, Applied) {
    let before = snapshot(root);
    let Check::Change {
        changes,
        comment,
        apply,
    } = check(root, fun, v.clone())
    else {
        panic!("expected a change");
    };
    assert_eq!(snapshot(root), before, "check changed the root");
    let applied = apply.apply(&HostWrite::new(host(root))).unwrap();
    assert!(applied.result, "{}", applied.comment);
    assert!(
        matches!(check(root, fun, v), Check::Clean { .. }),
        "second check not clean"
    );
    (changes, comment, applied)
}

#[test]
fn enabled_and_disabled_work_on_unit_files() {
    if !have_systemctl() {
        return;
    }
    let r = root_with_unit();
    let (changes, comment, applied) = converge(r.path(), "enabled", json!({"name": "brinetest"}));
    assert!(changes.is_empty());
    assert_eq!(comment, "Service brinetest set to be enabled");
    assert_eq!(
        applied.comment,
        "Service brinetest has been enabled, and is in the desired state"
    );
    assert_eq!(
        applied.changes,
        Some(crate::state::changes([("brinetest", json!(true))]))
    );
    let link = r
        .path()
        .join("etc/systemd/system/multi-user.target.wants/brinetest.service");
    assert!(std::fs::symlink_metadata(&link).is_ok());
    assert_eq!(
        clean(check(
            r.path(),
            "enabled",
            json!({"name": "brinetest.service"})
        )),
        "Service brinetest.service is already enabled, and is in the desired state"
    );

    let (_, comment, applied) = converge(r.path(), "disabled", json!({"name": "brinetest"}));
    assert_eq!(comment, "Service brinetest set to be disabled");
    assert_eq!(
        applied.comment,
        "Service brinetest has been disabled, and is in the desired state"
    );
    assert!(std::fs::symlink_metadata(&link).is_err());
    assert_eq!(
        clean(check(r.path(), "disabled", json!({"name": "brinetest"}))),
        "Service brinetest is already disabled, and is in the desired state"
    );
}

#[test]
fn a_missing_service_as_salt_reports_it() {
    if !have_systemctl() {
        return;
    }
    let r = root_with_unit();
    assert_eq!(
        clean(check(r.path(), "disabled", json!({"name": "nosuch"}))),
        "The named service nosuch is not available"
    );
    let Check::Change { comment, apply, .. } =
        check(r.path(), "enabled", json!({"name": "nosuch"}))
    else {
        panic!("expected a change");
    };
    assert_eq!(
        comment,
        "Service nosuch not present; if created in this state run, it would have been enabled"
    );
    let applied = apply.apply(&HostWrite::new(host(r.path()))).unwrap();
    assert!(!applied.result);
    assert_eq!(applied.comment, "The named service nosuch is not available");
}

#[test]
fn masked_and_unmasked_follow_the_dev_null_link() {
    if !have_systemctl() {
        return;
    }
    let r = root_with_unit();
    let (changes, comment, applied) = converge(r.path(), "masked", json!({"name": "brinetest"}));
    assert_eq!(
        Value::Object(changes),
        json!({"masked": {"old": false, "new": true}})
    );
    assert_eq!(comment, "Service brinetest would be masked");
    assert_eq!(applied.comment, "Service brinetest was masked");
    let link = r.path().join("etc/systemd/system/brinetest.service");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/dev/null"));
    assert_eq!(
        clean(check(r.path(), "masked", json!({"name": "brinetest"}))),
        "Service brinetest is already masked"
    );
    // A runtime mask is another mask.
    assert_eq!(
        clean(check(
            r.path(),
            "unmasked",
            json!({"name": "brinetest", "runtime": true})
        )),
        "Service brinetest was already runtime unmasked"
    );
    let (changes, _, applied) = converge(r.path(), "unmasked", json!({"name": "brinetest"}));
    assert_eq!(
        Value::Object(changes),
        json!({"masked": {"old": true, "new": false}})
    );
    assert_eq!(applied.comment, "Service brinetest was unmasked");
    assert!(std::fs::symlink_metadata(&link).is_err());

    let (changes, _, _) = converge(
        r.path(),
        "masked",
        json!({"name": "brinetest", "runtime": true}),
    );
    assert_eq!(
        Value::Object(changes),
        json!({"runtime masked": {"old": false, "new": true}})
    );
    let rt = r.path().join("run/systemd/system/brinetest.service");
    assert_eq!(std::fs::read_link(&rt).unwrap(), Path::new("/dev/null"));
}

#[test]
fn offline_running_and_dead_do_nothing_as_salt() {
    let r = root_with_unit();
    for fun in ["running", "dead"] {
        assert_eq!(
            clean(check(
                r.path(),
                fun,
                json!({"name": "brinetest", "enable": true, "init_delay": 1})
            )),
            "Running in OFFLINE mode. Nothing to do"
        );
    }
    // mod_watch gets the watching state's arguments (and the executor's `sfun`) and reads them all.
    let c = v(
        json!({"name": "brinetest", "reload": true, "enable": true, "init_delay": 2, "unmask": false, "sfun": "running"}),
    );
    let args = Args::new(&c);
    let w = Service
        .mod_watch("running", &args, &host(r.path()))
        .unwrap()
        .unwrap();
    assert_eq!(clean(w), "Running in OFFLINE mode. Nothing to do");
    assert_eq!(args.unknown(), Vec::<String>::new());
    let c = v(json!({"name": "brinetest", "sfun": "enabled"}));
    let args = Args::new(&c);
    let w = Service
        .mod_watch("enabled", &args, &host(r.path()))
        .unwrap()
        .unwrap();
    let Check::Fail { comment, .. } = w else {
        panic!("expected Fail");
    };
    assert_eq!(comment, "Unable to trigger watch for service.enabled");
}

fn v(j: Value) -> serde_json::Map<String, Value> {
    j.as_object().unwrap().clone()
}

#[test]
fn bad_names_and_typos_are_refused() {
    let r = root_with_unit();
    for bad in ["--now", "a b", "x/y", ""] {
        let c = v(json!({"name": bad}));
        assert!(
            Service
                .check("enabled", &Args::new(&c), &host(r.path()))
                .is_err(),
            "{bad:?}"
        );
    }
    let Check::Fail { comment, .. } = check(
        r.path(),
        "running",
        json!({"name": "nginx", "enabled": true}),
    ) else {
        panic!("expected Fail");
    };
    assert_eq!(
        comment,
        "Service nginx uses non-existent option \"enabled\".  Perhaps \"enable\" option was intended?"
    );
    let c = v(json!({"name": "nginx", "init_delay": "soon"}));
    assert!(Service
        .check("running", &Args::new(&c), &host(r.path()))
        .is_err());
}
