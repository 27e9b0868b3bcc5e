use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::*;
use serde_json::json;

const START: &str = "# The following lines\n127.0.0.1\tlocalhost\n\n10.0.0.1 db # the database\n::1 localhost ip6-localhost\n";

#[test]
fn present_adds_a_name_then_is_clean_and_a_dry_run_writes_nothing() {
    let t = TestHost::new();
    t.write("/etc/hosts", START);
    let args = json!({"name": "web", "ip": ["10.0.0.2", "10.0.0.1"]});
    let before = t.snapshot();
    let check = t.check(&Host, "present", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before, "check wrote to the root");
    assert_eq!(
        comment_of(&check),
        "Host web (10.0.0.1) would be added\nHost web (10.0.0.2) would be added"
    );
    assert_eq!(
        changes_of(&check).unwrap(),
        &changes([("added", json!({"10.0.0.1": ["web"], "10.0.0.2": ["web"]}))])
    );
    let applied = t.apply(check);
    assert!(applied.result);
    assert_eq!(
        applied.comment,
        "Added host web (10.0.0.1)\nAdded host web (10.0.0.2)"
    );
    // Salt's _write_hosts: one line per address, tabs, blank lines gone.
    assert_eq!(
        t.read("/etc/hosts"),
        "# The following lines\n127.0.0.1\t\tlocalhost\n10.0.0.1\t\tdb web\t\t# the database\n::1\t\tlocalhost ip6-localhost\n10.0.0.2\t\tweb\n"
    );
    let again = t.check(&Host, "present", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "Host web (10.0.0.1) already present\nHost web (10.0.0.2) already present"
    );
}

#[test]
fn present_with_clean_moves_the_name_and_sets_comments() {
    let t = TestHost::new();
    t.write("/etc/hosts", START);
    let args = json!({"name": "db", "ip": "10.0.0.9", "clean": true, "comment": "moved"});
    let check = t.check(&Host, "present", args.clone()).unwrap();
    assert_eq!(
        changes_of(&check).unwrap(),
        &changes([
            ("added", json!({"10.0.0.9": ["db"]})),
            ("comment_added", json!({"10.0.0.9": ["moved"]})),
            ("removed", json!({"10.0.0.1": ["db"]})),
        ])
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "Added host db (10.0.0.9)\nSet comment for host 10.0.0.9 (moved)\nRemoved host db (10.0.0.1)"
    );
    assert!(t.read("/etc/hosts").contains("10.0.0.9\t\tdb\t\t# moved\n"));
    assert!(!t.read("/etc/hosts").contains("10.0.0.1"));
    assert!(is_clean(&t.check(&Host, "present", args).unwrap()));

    // Without clean, the other address is a warning line, nothing changes.
    let t = TestHost::new();
    t.write("/etc/hosts", START);
    let check = t
        .check(&Host, "present", json!({"name": "db", "ip": "10.0.0.1"}))
        .unwrap();
    assert!(is_clean(&check));
    let check = t
        .check(
            &Host,
            "present",
            json!({"name": "db", "ip": "10.0.0.1", "comment": "x"}),
        )
        .unwrap();
    assert_eq!(
        changes_of(&check).unwrap(),
        &changes([("comment_added", json!({"10.0.0.1": ["x"]}))])
    );
}

#[test]
fn present_creates_a_missing_hosts_file() {
    let t = TestHost::new();
    let args = json!({"name": "web", "ip": "10.1.1.1"});
    let check = t.check(&Host, "present", args.clone()).unwrap();
    t.apply(check);
    assert_eq!(t.read("/etc/hosts"), "10.1.1.1\t\tweb\n");
    assert!(is_clean(&t.check(&Host, "present", args).unwrap()));
}

#[test]
fn absent_removes_only_that_name() {
    let t = TestHost::new();
    t.write("/etc/hosts", START);
    let args = json!({"name": "localhost", "ip": ["::1", "10.9.9.9"]});
    let before = t.snapshot();
    let check = t.check(&Host, "absent", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Host localhost (::1) needs to be removed\nHost localhost (10.9.9.9) already absent"
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.changes.unwrap(),
        changes([("host", json!("localhost"))])
    );
    assert_eq!(
        t.read("/etc/hosts"),
        "# The following lines\n127.0.0.1\tlocalhost\n\n10.0.0.1 db # the database\n::1\t\tip6-localhost \n"
    );
    let again = t.check(&Host, "absent", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "Host localhost (::1) already absent\nHost localhost (10.9.9.9) already absent"
    );
}

#[test]
fn only_sets_the_names_of_an_address() {
    let t = TestHost::new();
    t.write("/etc/hosts", START);
    let args = json!({"name": "::1", "hostnames": ["localhost6", " ip6-loopback "]});
    let before = t.snapshot();
    let check = t.check(&Host, "only", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Would change ::1 from \"localhost ip6-localhost\" to \"localhost6 ip6-loopback\""
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.changes.unwrap(),
        changes([(
            "::1",
            json!({"old": "localhost ip6-localhost", "new": "localhost6 ip6-loopback"})
        )])
    );
    assert!(t
        .read("/etc/hosts")
        .ends_with("::1\t\tlocalhost6 ip6-loopback\n"));
    let again = t.check(&Host, "only", args).unwrap();
    assert_eq!(
        comment_of(&again),
        "IP address ::1 already set to \"localhost6 ip6-loopback\""
    );
    // No names: the address's lines go.
    t.apply(
        t.check(&Host, "only", json!({"name": "10.0.0.1", "hostnames": []}))
            .unwrap(),
    );
    assert!(!t.read("/etc/hosts").contains("10.0.0.1"));
}

/// Salt's host states on a hosts file of their own (`hosts.file` in the
/// minion config), Brine's on the same text under a test root.
#[test]
fn matches_salt() {
    use super::super::salt_oracle::{brine_state, lines_sorted, Salt};
    let cases: &[(&str, Value, &[&str])] = &[
        (
            "present",
            json!({"name": "web", "ip": ["10.0.0.2", "10.0.0.1"]}),
            &["name=web", "ip=[10.0.0.2, 10.0.0.1]"],
        ),
        (
            "present",
            json!({"name": "db", "ip": "10.0.0.9", "clean": true, "comment": "moved"}),
            &["name=db", "ip=10.0.0.9", "clean=True", "comment=moved"],
        ),
        (
            "present",
            json!({"name": "localhost", "ip": "127.0.0.1"}),
            &["name=localhost", "ip=127.0.0.1"],
        ),
        // One address: with an absent one too, Salt's dry run says True.
        (
            "absent",
            json!({"name": "localhost", "ip": ["::1"]}),
            &["name=localhost", r#"ip=["::1"]"#],
        ),
        (
            "absent",
            json!({"name": "web", "ip": ["::1", "10.9.9.9"]}),
            &["name=web", r#"ip=["::1", "10.9.9.9"]"#],
        ),
        (
            "only",
            json!({"name": "::1", "hostnames": ["localhost6", "ip6-loopback"]}),
            &[r#"name="::1""#, "hostnames=[localhost6, ip6-loopback]"],
        ),
        (
            "only",
            json!({"name": "10.0.0.1", "hostnames": "db"}),
            &["name=10.0.0.1", "hostnames=db"],
        ),
    ];
    for (fun, args, words) in cases {
        for test in [true, false] {
            let Some(salt) = Salt::new("hosts.file: {dir}/hosts") else {
                return;
            };
            salt.write("hosts", START);
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            let theirs = salt.state(&format!("host.{fun}"), &words, test);
            let t = TestHost::new();
            t.write("/etc/hosts", START);
            let mut ours = brine_state(&t, &Host, fun, args.clone(), test);
            let case = format!("host.{fun} {args} test={test}");
            // Salt's `warnings` are lines of Brine's comment.
            let (warnings, said): (Vec<&str>, Vec<&str>) = ours["comment"]
                .as_str()
                .unwrap()
                .lines()
                .partition(|l| l.contains("To get rid of this warning"));
            let their_warnings: Vec<&str> = theirs["warnings"]
                .as_array()
                .map(|w| w.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert_eq!(warnings, their_warnings, "{case}");
            ours["comment"] = said.join("\n").into();
            assert_eq!(ours["result"], theirs["result"], "{case}");
            assert_eq!(
                lines_sorted(&ours["comment"]),
                lines_sorted(&theirs["comment"]),
                "{case}"
            );
            assert_eq!(ours["changes"], theirs["changes"], "{case}");
            assert_eq!(t.read("/etc/hosts"), salt.read("hosts"), "{case}");
        }
    }
}
