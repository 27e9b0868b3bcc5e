//! virtualenv.managed with the real `python3 -m venv` and pip, offline
//! (wheels from pip's tests in a wheelhouse under the test root).
use serde_json::json;

use super::super::pip::tests::{imported_version, write_wheel};
use super::super::testutil::{comment_of, is_clean, TestHost};
use super::super::{Check, StateModule};
use super::Virtualenv;

fn args(extra: serde_json::Value) -> serde_json::Value {
    let mut base = json!({
        "name": "/srv/venv",
        "pip_pkgs": ["brinepkg"],
        "find_links": "/wheels",
        "no_index": true,
    });
    base.as_object_mut()
        .expect("map")
        .extend(extra.as_object().expect("map").clone());
    base
}

#[test]
fn creates_installs_rechecks_clean_and_upgrades() {
    let t = TestHost::new();
    write_wheel(&t.path("/wheels"), "brinepkg", "1.0");
    let before = t.snapshot();
    let check = t.check(&Virtualenv, "managed", args(json!({}))).unwrap();
    assert_eq!(
        comment_of(&check),
        "Virtualenv /srv/venv is set to be created"
    );
    assert_eq!(t.snapshot(), before, "a check must not write");
    assert!(!t.path("/srv/venv").exists());

    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(applied.comment, "Created new virtualenv");
    let changes = applied.changes.expect("changes");
    assert!(
        changes["new"]
            .as_str()
            .is_some_and(|v| v.starts_with("Python 3.")),
        "{changes:?}"
    );
    assert_eq!(
        changes["packages"],
        json!({"new": ["brinepkg==1.0"], "old": ""})
    );
    assert_eq!(
        imported_version(&t, "/srv/venv", "brinepkg").as_deref(),
        Some("1.0")
    );

    let again = t.check(&Virtualenv, "managed", args(json!({}))).unwrap();
    assert!(is_clean(&again));
    match again {
        Check::Clean {
            comment,
            test_comment,
        } => {
            assert_eq!(comment, "virtualenv exists");
            assert_eq!(
                test_comment.as_deref(),
                Some("Virtualenv /srv/venv is already created")
            );
        }
        _ => unreachable!(),
    }

    write_wheel(&t.path("/wheels"), "brinepkg", "1.1");
    assert!(is_clean(
        &t.check(&Virtualenv, "managed", args(json!({}))).unwrap()
    ));
    let before = t.snapshot();
    let up = t
        .check(&Virtualenv, "managed", args(json!({"pip_upgrade": true})))
        .unwrap();
    assert_eq!(
        comment_of(&up),
        "Virtualenv /srv/venv is already created; packages set to be installed: brinepkg==1.1"
    );
    assert_eq!(t.snapshot(), before, "a check must not write");
    let applied = t.apply(up);
    assert_eq!(
        applied.changes.expect("changes")["packages"],
        json!({"new": ["brinepkg==1.1"], "old": ["brinepkg==1.0"]})
    );
    assert_eq!(
        imported_version(&t, "/srv/venv", "brinepkg").as_deref(),
        Some("1.1")
    );
}

#[test]
fn system_site_packages_and_a_bare_venv() {
    let t = TestHost::new();
    let bare = json!({"name": "/srv/bare", "system_site_packages": true});
    let applied = t.apply(t.check(&Virtualenv, "managed", bare.clone()).unwrap());
    assert!(applied.result, "{}", applied.comment);
    let cfg = t.read("/srv/bare/pyvenv.cfg");
    assert!(cfg.contains("include-system-site-packages = true"), "{cfg}");
    assert!(is_clean(&t.check(&Virtualenv, "managed", bare).unwrap()));
}

#[test]
fn refusals_name_what_is_wrong() {
    let t = TestHost::new();
    let venv_python = t
        .check(
            &Virtualenv,
            "managed",
            json!({"name": "/srv/v", "venv_bin": "python3 -m venv", "python": "python3"}),
        )
        .unwrap();
    assert_eq!(
        comment_of(&venv_python),
        "The `python`(`--python`) option is not supported by 'python3 -m venv'"
    );
    let missing = t
        .check(
            &Virtualenv,
            "managed",
            json!({"name": "/srv/v", "requirements": "salt://nope.txt"}),
        )
        .unwrap();
    assert_eq!(
        comment_of(&missing),
        "pip requirements file 'salt://nope.txt' not found"
    );
    // A python that does not exist fails the creation, naming it.
    let check = t
        .check(
            &Virtualenv,
            "managed",
            json!({"name": "/srv/v", "python": "/nonexistent/python9"}),
        )
        .unwrap();
    let err = match check {
        Check::Change { apply, .. } => apply
            .apply(&t.writer())
            .expect_err("no such python")
            .to_string(),
        _ => panic!("expected a change"),
    };
    assert!(err.contains("/nonexistent/python9"), "{err}");
    assert_eq!(Virtualenv.name(), "virtualenv");
}

#[test]
fn requirements_from_salt_and_a_venv_bin() {
    let t = TestHost::new();
    write_wheel(&t.path("/wheels"), "brinepkg", "1.0");
    t.source("app/requirements.txt", "brinepkg==1.0\n");
    // venv_bin as Salt runs it: a program with "venv" in its name takes no --python.
    let wrapper = t.root.path().join("my-venv");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\ntouch \"$0.ran\"\nexec python3 -m venv \"$@\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let managed = json!({
        "name": "/srv/venv",
        "venv_bin": wrapper.display().to_string(),
        "requirements": "salt://app/requirements.txt",
        "find_links": "/wheels",
        "no_index": true,
    });
    let applied = t.apply(t.check(&Virtualenv, "managed", managed.clone()).unwrap());
    assert!(applied.result, "{}", applied.comment);
    assert!(
        t.root.path().join("my-venv.ran").exists(),
        "venv_bin was not run"
    );
    assert_eq!(
        applied.changes.expect("changes")["packages"],
        json!({"new": ["brinepkg==1.0"], "old": ""})
    );
    assert!(is_clean(&t.check(&Virtualenv, "managed", managed).unwrap()));
}
