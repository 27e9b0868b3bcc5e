//! pkg checks on a temp root holding a real-format dpkg status file, with
//! candidates from this host's own `apt-cache` (pointed at that status file).
//! Installing for real happens in the systemd-nspawn fleet tests.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};

use super::tests_support::NoSources;
use super::{apt, Pkg};
use crate::state::{Args, Check, HostRead, HostWrite, StateError, StateModule};

const STATUS: &str = "\
Package: bash
Essential: yes
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b8
Description: GNU Bourne Again SHell

Package: tzdata
Status: hold ok installed
Architecture: all
Version: 2024a-0+deb12u1
Description: time zone and daylight-saving time data

Package: nginx-common
Status: install reinstreq half-installed
Architecture: all
Version: 1.22.1-9
Description: small, powerful, scalable web/proxy server - common files

Package: nginx
Status: deinstall ok config-files
Architecture: amd64
Version: 1.22.1-9
Description: small, powerful, scalable web/proxy server

Package: curl
Status: purge ok not-installed
Architecture: amd64
";

fn root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("var/lib/dpkg/status");
    std::fs::create_dir_all(status.parent().unwrap()).unwrap();
    std::fs::write(status, STATUS).unwrap();
    dir
}

fn host(root: &Path) -> HostRead {
    HostRead::new(root.to_path_buf(), Arc::new(NoSources))
}

fn chunk(fun: &str, v: Value) -> serde_json::Map<String, Value> {
    let mut m = v.as_object().unwrap().clone();
    m.insert("state".into(), json!("pkg"));
    m.insert("fun".into(), json!(fun));
    m
}

fn check(root: &Path, fun: &str, v: Value) -> Result<Check, StateError> {
    let c = chunk(fun, v);
    let args = Args::new(&c);
    let out = Pkg.check(fun, &args, &host(root));
    assert_eq!(
        args.unknown(),
        Vec::<String>::new(),
        "every argument is read"
    );
    out
}

/// Every file under `dir` with its bytes: what a check must leave alone.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn clean_comment(c: Check) -> String {
    match c {
        Check::Clean { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected Clean, got Change: {comment}"),
        Check::Fail { comment, .. } => panic!("expected Clean, got Fail: {comment}"),
        Check::Reported { comment, .. } => panic!("expected Clean, got Reported: {comment}"),
    }
}

fn fail_comment(c: Check) -> String {
    match c {
        Check::Fail { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected Fail, got Change: {comment}"),
        Check::Clean { comment, .. } => panic!("expected Fail, got Clean: {comment}"),
        Check::Reported { comment, .. } => panic!("expected Fail, got Reported: {comment}"),
    }
}

fn change(
    c: Check,
) -> (
    serde_json::Map<String, Value>,
    String,
    Box<dyn crate::state::Apply>,
) {
    match c {
        Check::Change {
            changes,
            comment,
            apply,
        } => (changes, comment, apply),
        Check::Clean { comment, .. } => panic!("expected Change, got Clean: {comment}"),
        Check::Fail { comment, .. } => panic!("expected Change, got Fail: {comment}"),
        Check::Reported { comment, .. } => panic!("expected Change, got Reported: {comment}"),
    }
}

/// This host's apt candidate for a package, or None when apt has no lists
/// (before `apt-get update`) — then candidate-dependent tests are skipped.
fn candidate(root: &Path, name: &str) -> Option<String> {
    let h = host(root);
    let p = apt::policy(&h, &[name.to_string()], None).ok()?;
    let c = p.get(name)?.candidate.clone();
    if c.is_none() {
        eprintln!("skipping: apt on this host has no candidate for {name} (run apt-get update)");
    }
    c
}

#[test]
fn installed_packages_are_clean_without_asking_apt() {
    let r = root();
    let c = check(r.path(), "installed", json!({"name": "bash"})).unwrap();
    assert_eq!(
        clean_comment(c),
        "All specified packages are already installed"
    );
    let c = check(
        r.path(),
        "installed",
        json!({"name": "x", "pkgs": ["bash:amd64", {"tzdata": "2024a*"}]}),
    )
    .unwrap();
    assert_eq!(
        clean_comment(c),
        "All specified packages are already installed and are at the desired version"
    );
    let c = check(
        r.path(),
        "installed",
        json!({"name": "bash", "version": ">=5.2"}),
    )
    .unwrap();
    assert_eq!(
        clean_comment(c),
        "All specified packages are already installed and are at the desired version"
    );
    let c = check(r.path(), "installed", json!({"name": "x", "pkgs": []})).unwrap();
    assert_eq!(clean_comment(c), "No packages to install provided");
}

#[test]
fn a_missing_package_is_a_change_and_the_check_touches_nothing() {
    let r = root();
    let Some(cand) = candidate(r.path(), "nginx") else {
        return;
    };
    let before = snapshot(r.path());
    let c = check(
        r.path(),
        "installed",
        json!({"name": "nginx", "refresh": false}),
    )
    .unwrap();
    assert_eq!(snapshot(r.path()), before);
    let (changes, comment, _) = change(c);
    assert_eq!(
        comment,
        "The following packages would be installed/updated: nginx"
    );
    assert_eq!(
        Value::Object(changes),
        json!({"nginx": {"old": "", "new": cand}})
    );
}

#[test]
fn a_half_installed_package_is_reinstalled() {
    let r = root();
    if candidate(r.path(), "nginx-common").is_none() {
        return;
    }
    let (changes, comment, _) =
        change(check(r.path(), "installed", json!({"name": "nginx-common"})).unwrap());
    assert_eq!(
        comment,
        "The following packages would be installed/updated: nginx-common"
    );
    assert!(changes.contains_key("nginx-common"));
}

#[test]
fn versions_are_resolved_against_what_apt_has() {
    let r = root();
    let Some(cand) = candidate(r.path(), "nginx") else {
        return;
    };
    let prefix: String = cand.chars().take(4).collect();
    let (changes, _, _) = change(
        check(
            r.path(),
            "installed",
            json!({"name": "x", "pkgs": [{"nginx": format!("{prefix}*")}, "bash"]}),
        )
        .unwrap(),
    );
    assert_eq!(
        Value::Object(changes),
        json!({"nginx": {"old": "", "new": cand}})
    );
    let c = check(
        r.path(),
        "installed",
        json!({"name": "nginx", "version": ">=999"}),
    )
    .unwrap();
    let msg = fail_comment(c);
    assert!(
        msg.starts_with("No version matching 'nginx>=999' could be found (available: "),
        "{msg}"
    );
    assert!(msg.contains(&cand), "{msg}");
}

#[test]
fn unknown_packages_fail_in_the_check() {
    let r = root();
    if candidate(r.path(), "bash").is_none() {
        return;
    }
    let c = check(
        r.path(),
        "installed",
        json!({"name": "x", "pkgs": ["no-such-pkg-b", "no-such-pkg-a", "bash"]}),
    )
    .unwrap();
    assert_eq!(
        fail_comment(c),
        "The following package(s) were not found, and no possible matches were found in the package db: no-such-pkg-a, no-such-pkg-b"
    );
    let c = check(r.path(), "latest", json!({"name": "no-such-pkg-a"})).unwrap();
    assert_eq!(fail_comment(c), "No information found for 'no-such-pkg-a'.");
}

#[test]
fn bad_names_and_pkgs_are_refused() {
    let r = root();
    for bad in [
        json!({"name": "-oAPT::Foo=1"}),
        json!({"name": "x", "pkgs": ["ok", "--force"]}),
        json!({"name": "two words"}),
        json!({"name": ""}),
    ] {
        let err = check(r.path(), "installed", bad.clone()).err();
        assert!(matches!(err, Some(StateError::Args(_))), "{bad}: {err:?}");
    }
    let err = check(
        r.path(),
        "installed",
        json!({"name": "x", "pkgs": ["a", {"a": "1"}]}),
    )
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("duplicated packages names"),
        "{err}"
    );
    let err = check(
        r.path(),
        "installed",
        json!({"name": "x", "pkgs": {"a": 1}}),
    )
    .err();
    assert!(matches!(err, Some(StateError::Args(_))));
    let err = check(
        r.path(),
        "installed",
        json!({"name": "bash", "version": "<>1"}),
    )
    .err();
    assert!(matches!(err, Some(StateError::Args(_))), "{err:?}");
    let c = check(
        r.path(),
        "installed",
        json!({"name": "x", "sources": [{"a": "salt://a.deb"}]}),
    );
    assert!(fail_comment(c.unwrap()).contains("'sources'"));
}

#[test]
fn hold_reads_the_selection_from_the_status_file() {
    let r = root();
    let c = check(
        r.path(),
        "installed",
        json!({"name": "tzdata", "hold": true}),
    )
    .unwrap();
    assert_eq!(
        clean_comment(c),
        "All specified packages are already installed.\nPackage tzdata is already set to be held."
    );
    let c = check(
        r.path(),
        "installed",
        json!({"name": "bash", "hold": false}),
    )
    .unwrap();
    assert_eq!(
        clean_comment(c),
        "All specified packages are already installed.\nPackage bash is already set not to be held."
    );
    let before = snapshot(r.path());
    let (changes, comment, _) =
        change(check(r.path(), "installed", json!({"name": "bash", "hold": true})).unwrap());
    assert_eq!(snapshot(r.path()), before);
    assert!(changes.is_empty());
    assert_eq!(
        comment,
        "All specified packages are already installed.\nPackage bash is set to be held."
    );
    let (_, comment, _) = change(
        check(
            r.path(),
            "installed",
            json!({"name": "tzdata", "hold": false}),
        )
        .unwrap(),
    );
    assert_eq!(
        comment,
        "All specified packages are already installed.\nPackage tzdata is set not to be held."
    );
}

#[test]
fn removed_and_purged_as_salt_words_them() {
    let r = root();
    let c = check(r.path(), "removed", json!({"name": "curl"})).unwrap();
    assert_eq!(
        clean_comment(c),
        "All specified packages are already absent"
    );
    // Only config files left: removed already, but purge has work to do.
    let c = check(r.path(), "removed", json!({"name": "nginx"})).unwrap();
    assert_eq!(
        clean_comment(c),
        "All specified packages are already absent"
    );
    let c = check(
        r.path(),
        "removed",
        json!({"name": "bash", "version": "1.0"}),
    )
    .unwrap();
    assert_eq!(
        clean_comment(c),
        "All specified packages (matching specified versions) are already absent"
    );
    let c = check(r.path(), "purged", json!({"name": "curl"})).unwrap();
    assert_eq!(
        clean_comment(c),
        "None of the targeted packages are installed or partially installed"
    );

    let before = snapshot(r.path());
    let (changes, comment, _) = change(
        check(
            r.path(),
            "removed",
            json!({"name": "x", "pkgs": ["tzdata", "bash", "curl"]}),
        )
        .unwrap(),
    );
    assert_eq!(snapshot(r.path()), before);
    assert_eq!(
        comment,
        "The following packages will be removed: bash, tzdata."
    );
    assert_eq!(
        Value::Object(changes),
        json!({"bash": {"new": "removed", "old": ""}, "tzdata": {"new": "removed", "old": ""}})
    );
    let (changes, comment, _) =
        change(check(r.path(), "purged", json!({"name": "nginx"})).unwrap());
    assert_eq!(comment, "The following packages will be purged: nginx.");
    assert_eq!(
        Value::Object(changes),
        json!({"nginx": {"new": "purged", "old": ""}})
    );
}

#[test]
fn latest_compares_installed_with_the_candidate() {
    let r = root();
    let Some(cand) = candidate(r.path(), "bash") else {
        return;
    };
    let c = check(r.path(), "latest", json!({"name": "bash"})).unwrap();
    if super::version::compare(&cand, "5.2.15-2+b8").is_le() {
        assert_eq!(clean_comment(c), "Package bash is already up-to-date");
        return;
    }
    let (changes, comment, _) = change(c);
    assert_eq!(
        comment,
        "The following packages would be installed/upgraded: bash"
    );
    assert_eq!(
        Value::Object(changes),
        json!({"bash": {"new": cand, "old": "5.2.15-2+b8"}})
    );
}

#[test]
fn applying_under_a_temp_root_refuses_instead_of_changing_this_host() {
    let r = root();
    let (_, _, apply) = change(check(r.path(), "removed", json!({"name": "bash"})).unwrap());
    let before = snapshot(r.path());
    let err = apply.apply(&HostWrite::new(host(r.path()))).err().unwrap();
    assert!(
        err.to_string().contains("cannot be applied under the root"),
        "{err}"
    );
    assert_eq!(snapshot(r.path()), before);
}

#[test]
fn a_missing_status_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = check(dir.path(), "installed", json!({"name": "bash"}))
        .err()
        .unwrap();
    assert!(err.to_string().contains("dpkg's database"), "{err}");
}

#[test]
fn pkg_pkgrepo_and_service_are_registered() {
    let names: Vec<&str> = crate::state::registry().iter().map(|m| m.name()).collect();
    for want in ["pkg", "pkgrepo", "service"] {
        assert!(
            names.contains(&want),
            "{want} missing from registry(): {names:?}"
        );
    }
}
