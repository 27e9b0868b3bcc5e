//! The real `update-alternatives` on a throwaway root (`--root`).
use serde_json::json;

use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::super::{changes, Check};
use super::Alternatives;

/// A root with the tool's directories and two editors to choose from.
fn host() -> TestHost {
    let t = TestHost::new();
    for dir in [
        "/etc/alternatives",
        "/var/lib/dpkg/alternatives",
        "/usr/local/bin",
    ] {
        std::fs::create_dir_all(t.path(dir)).unwrap();
    }
    t.write("/usr/bin/ed-a", "a\n");
    t.write("/usr/bin/ed-b", "b\n");
    t
}

fn link_target(t: &TestHost) -> String {
    std::fs::read_link(t.path("/etc/alternatives/brine-ed"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn install(t: &TestHost, path: &str, priority: i64) -> Check {
    t.check(
        &Alternatives,
        "install",
        json!({"name": "brine-ed", "link": "/usr/local/bin/ed", "path": path, "priority": priority}),
    )
    .unwrap()
}

#[test]
fn install_registers_then_is_clean_and_test_mode_writes_nothing() {
    let t = host();
    let before = t.snapshot();
    let check = install(&t, "/usr/bin/ed-a", 10);
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Alternative will be set for brine-ed to /usr/bin/ed-a with priority 10"
    );
    assert_eq!(
        changes_of(&check).unwrap(),
        &changes([
            ("name", json!("brine-ed")),
            ("link", json!("/usr/local/bin/ed")),
            ("path", json!("/usr/bin/ed-a")),
            ("priority", json!(10)),
        ])
    );
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        "Alternative for brine-ed set to path /usr/bin/ed-a with priority 10"
    );
    assert_eq!(link_target(&t), "/usr/bin/ed-a");
    let again = install(&t, "/usr/bin/ed-a", 10);
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "Alternative /usr/bin/ed-a for brine-ed is already registered"
    );

    // A lower priority is registered but does not become the default.
    let second = t.apply(install(&t, "/usr/bin/ed-b", 5));
    assert_eq!(
        second.comment,
        "Alternative /usr/bin/ed-b for brine-ed registered with priority 5 and not set to default"
    );
}

#[test]
fn set_auto_and_remove_follow_salts_comments() {
    let t = host();
    t.apply(install(&t, "/usr/bin/ed-a", 10));
    t.apply(install(&t, "/usr/bin/ed-b", 20));
    assert_eq!(link_target(&t), "/usr/bin/ed-b");

    let set = |path: &str| {
        t.check(
            &Alternatives,
            "set",
            json!({"name": "brine-ed", "path": path}),
        )
        .unwrap()
    };
    let before = t.snapshot();
    let check = set("/usr/bin/ed-a");
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Alternative for brine-ed will be set to path /usr/bin/ed-a"
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "Alternative for brine-ed set to path /usr/bin/ed-a"
    );
    assert_eq!(link_target(&t), "/usr/bin/ed-a");
    assert_eq!(
        comment_of(&set("/usr/bin/ed-a")),
        "Alternative for brine-ed already set to /usr/bin/ed-a"
    );
    let missing = set("/usr/bin/ed-c");
    assert!(matches!(missing, Check::Fail { .. }));
    assert_eq!(
        comment_of(&missing),
        "Alternative /usr/bin/ed-c for brine-ed doesn't exist"
    );

    // Manual mode since the set: auto puts it back on the highest priority.
    let auto = || {
        t.check(&Alternatives, "auto", json!({"name": "brine-ed"}))
            .unwrap()
    };
    let check = auto();
    assert_eq!(comment_of(&check), "brine-ed will be put in auto mode");
    t.apply(check);
    assert_eq!(link_target(&t), "/usr/bin/ed-b");
    assert_eq!(comment_of(&auto()), "brine-ed already in auto mode");

    let remove = |path: &str| {
        t.check(
            &Alternatives,
            "remove",
            json!({"name": "brine-ed", "path": path}),
        )
        .unwrap()
    };
    let check = remove("/usr/bin/ed-b");
    assert_eq!(
        comment_of(&check),
        "Alternative for brine-ed will be removed"
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "Alternative for brine-ed removed. Falling back to path /usr/bin/ed-a"
    );
    assert_eq!(
        applied.changes.unwrap(),
        changes([("path", json!("/usr/bin/ed-a"))])
    );
    assert_eq!(
        comment_of(&remove("/usr/bin/ed-b")),
        "Alternative for brine-ed is set to it's default path /usr/bin/ed-a"
    );
    t.apply(remove("/usr/bin/ed-a"));
    let gone = remove("/usr/bin/ed-a");
    assert!(matches!(gone, Check::Fail { .. }));
    assert_eq!(comment_of(&gone), "Alternative for brine-ed doesn't exist");
}
