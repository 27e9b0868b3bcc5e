use serde_json::json;

use super::super::testutil::{comment_of, is_clean, shadow_tools_usable, TestHost};
use super::super::Check;
use super::User;

const HASH: &str = "$6$saltsalt$KCqw5t3wQO8zZBqVqKpNUfeNhzMJz0iNC9GhhsrU0mRzUEFh7kQfUmUtWa5tYcHgsLuQ8c0g1Ov3vBnlbJPb/0";

/// A root with minimal account files; the shadow tools edit them through
/// `--prefix`, never this host's /etc.
fn host() -> TestHost {
    let t = TestHost::new();
    t.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    t.write(
        "/etc/group",
        "root:x:0:\nusers:x:100:\nweb:x:200:\nadm:x:4:\n",
    );
    t.write("/etc/shadow", "root:*:19000:0:99999:7:::\n");
    t.write("/etc/gshadow", "root:*::\nusers:*::\nweb:!::\nadm:*::\n");
    std::fs::create_dir_all(t.path("/home")).unwrap();
    t
}

fn fred() -> serde_json::Value {
    json!({"name": "fred", "uid": 2000, "gid": "users", "groups": ["web"], "optional_groups": ["nope"],
           "shell": "/bin/bash", "home": "/home/fred", "fullname": "Fred Flintstone", "password": HASH})
}

#[test]
fn present_creates_then_is_clean_and_check_writes_nothing() {
    if !shadow_tools_usable() {
        return;
    }
    let t = host();
    let before = t.snapshot();
    let check = t.check(&User, "present", fred()).unwrap();
    assert_eq!(t.snapshot(), before, "check wrote to the root");
    assert_eq!(comment_of(&check), "User fred set to be added");

    let applied = t.apply(check);
    assert!(applied.result, "{applied:?}");
    assert_eq!(applied.comment, "New user fred created");
    assert_eq!(
        serde_json::Value::Object(applied.changes.unwrap()),
        json!({"gid": 100, "groups": ["users", "web"], "home": "/home/fred", "name": "fred", "passwd": "x",
               "shell": "/bin/bash", "uid": 2000, "fullname": "Fred Flintstone", "roomnumber": "",
               "workphone": "", "homephone": "", "other": "", "password": "XXX-REDACTED-XXX"})
    );
    assert!(t
        .read("/etc/passwd")
        .contains("fred:x:2000:100:Fred Flintstone:/home/fred:/bin/bash\n"));
    assert!(t.read("/etc/shadow").contains(&format!("fred:{HASH}:")));
    assert!(t.path("/home/fred").is_dir());

    let again = t.check(&User, "present", fred()).unwrap();
    assert!(is_clean(&again), "{}", comment_of(&again));
    assert_eq!(comment_of(&again), "User fred is present and up to date");
}

#[test]
fn present_updates_attributes_in_one_go() {
    if !shadow_tools_usable() {
        return;
    }
    let t = host();
    t.apply(t.check(&User, "present", fred()).unwrap());
    let args = json!({"name": "fred", "groups": ["adm"], "shell": "/bin/zsh", "fullname": "Fred", "roomnumber": "12"});
    let before = t.snapshot();
    let check = t.check(&User, "present", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "The following user attributes are set to be changed:\ngroups: ['adm']\nshell: /bin/zsh\nfullname: Fred\nroomnumber: 12\n"
    );
    let applied = t.apply(check);
    assert!(applied.result, "{applied:?}");
    assert_eq!(applied.comment, "Updated user fred");
    assert_eq!(
        serde_json::Value::Object(applied.changes.unwrap()),
        json!({"groups": ["adm", "users"], "shell": "/bin/zsh", "fullname": "Fred", "roomnumber": "12"})
    );
    assert!(t
        .read("/etc/passwd")
        .contains("fred:x:2000:100:Fred,12:/home/fred:/bin/zsh\n"));
    assert!(is_clean(&t.check(&User, "present", args).unwrap()));
}

#[test]
fn uid_changes_need_permission() {
    if !shadow_tools_usable() {
        return;
    }
    let t = host();
    t.apply(t.check(&User, "present", fred()).unwrap());
    let check = t
        .check(&User, "present", json!({"name": "fred", "uid": 2001}))
        .unwrap();
    assert!(matches!(check, Check::Fail { .. }));
    assert_eq!(
        comment_of(&check),
        "Encountered error checking for needed changes. Additional info follows:\n\n- Changing uid (2000 -> 2001) not permitted, set allow_uid_change to True to force this change. Note that this will not change file ownership."
    );
    let applied = t.apply(
        t.check(
            &User,
            "present",
            json!({"name": "fred", "uid": 2001, "allow_uid_change": true}),
        )
        .unwrap(),
    );
    assert!(applied.result, "{applied:?}");
    assert_eq!(applied.changes.unwrap()["uid"], json!(2001));
}

#[test]
fn passwords_locks_and_empty_passwords() {
    if !shadow_tools_usable() {
        return;
    }
    let t = host();
    t.apply(
        t.check(
            &User,
            "present",
            json!({"name": "fred", "gid": 100, "createhome": false}),
        )
        .unwrap(),
    );
    let args =
        json!({"name": "fred", "password": HASH, "password_lock": true, "createhome": false});
    let check = t.check(&User, "present", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "The following user attributes are set to be changed:\npasswd: XXX-REDACTED-XXX\n"
    );
    let applied = t.apply(check);
    assert!(applied.result, "{applied:?}");
    assert_eq!(
        applied.changes.unwrap()["passwd"],
        json!("XXX-REDACTED-XXX")
    );
    assert!(t.read("/etc/shadow").contains(&format!("fred:!{HASH}:")));
    assert!(is_clean(&t.check(&User, "present", args).unwrap()));

    let args = json!({"name": "fred", "empty_password": true, "createhome": false});
    t.apply(t.check(&User, "present", args.clone()).unwrap());
    assert!(t.read("/etc/shadow").contains("fred::"));
    assert!(is_clean(&t.check(&User, "present", args).unwrap()));
}

#[test]
fn refusals_read_like_salt() {
    if !shadow_tools_usable() {
        return;
    }
    let t = host();
    let c = t
        .check(
            &User,
            "present",
            json!({"name": "fred", "groups": ["web", "nope", "gone"]}),
        )
        .unwrap();
    assert_eq!(
        comment_of(&c),
        "The following group(s) are not present: nope,gone"
    );
    let c = t
        .check(
            &User,
            "present",
            json!({"name": "fred", "fullname": "Flintstone, Fred"}),
        )
        .unwrap();
    assert_eq!(comment_of(&c), "Unsupported char ',' in Flintstone, Fred");
    let e = t.check(
        &User,
        "present",
        json!({"name": "fred", "password": "pw", "hash_password": true}),
    );
    assert!(e
        .err()
        .unwrap()
        .to_string()
        .contains("hash_password is not supported yet"));
    assert!(t
        .check(&User, "present", json!({"name": "fred", "mindays": 1}))
        .is_err());
    assert!(t
        .check(&User, "present", json!({"name": "fred", "uid": "abc"}))
        .is_err());
    // A tool failure is reported with the tool's own words.
    let applied = t.apply(
        t.check(
            &User,
            "present",
            json!({"name": "fred", "gid": "nosuchgroup"}),
        )
        .unwrap(),
    );
    assert!(!applied.result);
    assert!(
        applied
            .comment
            .starts_with("Failed to create new user fred: useradd:"),
        "{}",
        applied.comment
    );
}

#[test]
fn absent_purges_then_is_clean() {
    if !shadow_tools_usable() {
        return;
    }
    let t = host();
    t.apply(
        t.check(
            &User,
            "present",
            json!({"name": "fred", "gid": 100, "home": "/home/fred"}),
        )
        .unwrap(),
    );
    assert!(t.path("/home/fred").is_dir());
    let args = json!({"name": "fred", "purge": true, "force": true});
    let before = t.snapshot();
    let check = t.check(&User, "absent", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(comment_of(&check), "User fred set for removal");
    let applied = t.apply(check);
    assert!(applied.result, "{applied:?}");
    assert_eq!(applied.comment, "Removed user fred");
    assert_eq!(
        serde_json::Value::Object(applied.changes.unwrap()),
        json!({"fred": "removed"})
    );
    assert!(!t.read("/etc/passwd").contains("fred"));
    assert!(!t.path("/home/fred").exists());
    let again = t.check(&User, "absent", args).unwrap();
    assert_eq!(comment_of(&again), "User fred is not present");
    assert!(is_clean(&again));
}
