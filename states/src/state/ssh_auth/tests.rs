use std::os::unix::fs::{MetadataExt, PermissionsExt};

use serde_json::json;

use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::super::{changes, Check};
use super::SshAuth;

const K1: &str = "a2V5LW9uZS1mb3ItdGVzdHM=";
const K2: &str = "a2V5LXR3by1mb3ItdGVzdHMh";
const K3: &str = "a2V5LXRocmVl";
const KEYS: &str = "/home/fred/.ssh/authorized_keys";

fn host_with_fred() -> TestHost {
    let t = TestHost::new();
    t.write(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nfred:x:1234:1234:Fred:/home/fred:/bin/sh\n",
    );
    t.write("/etc/group", "root:x:0:\nfred:x:1234:\n");
    std::fs::create_dir_all(t.path("/home/fred")).unwrap();
    t
}

fn euid_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn present_creates_private_dir_and_file_then_is_clean() {
    let t = host_with_fred();
    let args = json!({"name": format!("ssh-ed25519 {K1} fred@laptop"), "user": "fred"});
    let before = t.snapshot();
    let check = t.check(&SshAuth, "present", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before, "check wrote to the root");
    assert_eq!(
        comment_of(&check),
        format!("Key {K1} for user fred is set to be added")
    );
    assert!(changes_of(&check).unwrap().is_empty());

    let applied = t.apply(check);
    assert!(applied.result);
    assert_eq!(
        applied.comment,
        format!("The authorized host key {K1} for user fred was added")
    );
    assert_eq!(applied.changes.unwrap(), changes([(K1, json!("New"))]));
    assert_eq!(t.read(KEYS), format!("ssh-ed25519 {K1} fred@laptop\n"));
    let dir = std::fs::metadata(t.path("/home/fred/.ssh")).unwrap();
    let file = std::fs::metadata(t.path(KEYS)).unwrap();
    assert_eq!(
        (
            dir.permissions().mode() & 0o777,
            file.permissions().mode() & 0o777
        ),
        (0o700, 0o600)
    );
    if euid_is_root() {
        assert_eq!((dir.uid(), file.uid(), file.gid()), (1234, 1234, 1234));
    }

    let again = t.check(&SshAuth, "present", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        format!("The authorized host key {K1} is already present for user fred")
    );
}

#[test]
fn present_updates_options_and_keeps_other_lines() {
    let t = host_with_fred();
    let existing =
        format!("# managed by hand\nssh-rsa {K2} other\n\nssh-ed25519 {K1} old-comment\n");
    t.write(KEYS, &existing);
    let args = json!({"name": K1, "user": "fred", "enc": "ed25519", "comment": "new", "options": ["no-pty"]});
    let check = t.check(&SshAuth, "present", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        format!("Key {K1} for user fred is set to be updated")
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        format!("The authorized host key {K1} for user fred was updated")
    );
    assert_eq!(applied.changes.unwrap(), changes([(K1, json!("Updated"))]));
    assert_eq!(
        t.read(KEYS),
        format!("# managed by hand\nssh-rsa {K2} other\n\nno-pty ssh-ed25519 {K1} new\n")
    );
    assert!(is_clean(&t.check(&SshAuth, "present", args).unwrap()));
}

#[test]
fn keys_from_a_source_file() {
    let t = host_with_fred();
    t.source(
        "keys/fred.pub",
        &format!("ssh-rsa {K2} a b\ncommand=\"x\" ssh-ed25519 {K3} c\n"),
    );
    t.write(KEYS, &format!("ssh-rsa {K2} a b\n"));
    let args = json!({"name": "fred-keys", "user": "fred", "source": "salt://keys/fred.pub"});
    let check = t.check(&SshAuth, "present", args.clone()).unwrap();
    assert_eq!(comment_of(&check), format!("Set to add: {K3}\n"));
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "The authorized host key fred-keys for user fred was added"
    );
    assert_eq!(
        t.read(KEYS),
        format!("ssh-rsa {K2} a b\ncommand=\"x\" ssh-ed25519 {K3} c\n")
    );
    match t.check(&SshAuth, "present", args.clone()).unwrap() {
        Check::Clean { test_comment, .. } => assert_eq!(
            test_comment.as_deref(),
            Some("All host keys in file salt://keys/fred.pub are already present")
        ),
        _ => panic!("expected clean"),
    }
    let check = t.check(&SshAuth, "absent", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        format!("Set to remove: {K2}\nSet to remove: {K3}\n")
    );
    assert_eq!(t.apply(check).comment, "Key removed");
    assert_eq!(t.read(KEYS), "");
}

#[test]
fn absent_removes_every_line_of_the_key() {
    let t = host_with_fred();
    t.write(
        KEYS,
        &format!("ssh-rsa {K1} x\nssh-rsa {K2} keep\nfrom=\"h\" ssh-rsa {K1} again\n"),
    );
    let args = json!({"name": format!("ssh-rsa {K1}"), "user": "fred"});
    let before = t.snapshot();
    let check = t.check(&SshAuth, "absent", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        format!("Key {K1} for user fred is set for removal")
    );
    let applied = t.apply(check);
    assert_eq!(
        (applied.comment.as_str(), applied.changes.unwrap()),
        ("Key removed", changes([(K1, json!("Removed"))]))
    );
    assert_eq!(t.read(KEYS), format!("ssh-rsa {K2} keep\n"));
    match t.check(&SshAuth, "absent", args).unwrap() {
        Check::Clean {
            comment,
            test_comment,
        } => {
            assert_eq!(comment, "Key not present");
            assert_eq!(test_comment.as_deref(), Some("Key is already absent"));
        }
        _ => panic!("expected clean"),
    }
}

#[test]
fn failures_read_like_salts() {
    let t = host_with_fred();
    let bad = t
        .check(
            &SshAuth,
            "present",
            json!({"name": "not base64!", "user": "fred"}),
        )
        .unwrap();
    assert_eq!(comment_of(&bad), super::INVALID_KEY);
    let missing = t
        .check(
            &SshAuth,
            "present",
            json!({"name": "x", "user": "fred", "source": "salt://nope.pub"}),
        )
        .unwrap();
    assert!(matches!(missing, Check::Fail { .. }));
    assert_eq!(
        comment_of(&missing),
        "Failed to add the ssh key. Source file salt://nope.pub is missing"
    );
    t.source("empty.pub", "# nothing\n");
    let empty = t
        .check(
            &SshAuth,
            "present",
            json!({"name": "x", "user": "fred", "source": "salt://empty.pub"}),
        )
        .unwrap();
    assert_eq!(
        comment_of(&empty),
        "No keys detected in salt://empty.pub. Is file properly formatted?"
    );
    assert!(t
        .check(
            &SshAuth,
            "present",
            json!({"name": K1, "user": "fred", "enc": "ssh-nope"})
        )
        .is_err());
    assert!(t.check(&SshAuth, "present", json!({"name": K1})).is_err());
    assert!(t
        .check(
            &SshAuth,
            "present",
            json!({"name": K1, "user": "fred", "fingerprint_hash_type": "crc"})
        )
        .is_err());
    // A user that does not exist yet: a dry run would add, a real run fails.
    let ghost = t
        .check(&SshAuth, "present", json!({"name": K1, "user": "ghost"}))
        .unwrap();
    assert_eq!(
        comment_of(&ghost),
        format!("Key {K1} for user ghost is set to be added")
    );
    let applied = t.apply(ghost);
    assert!(!applied.result);
    assert_eq!(applied.comment, super::NO_HOME);
    // No home directory: fails rather than creating it.
    std::fs::remove_dir(t.path("/home/fred")).unwrap();
    let applied = t.apply(
        t.check(&SshAuth, "present", json!({"name": K1, "user": "fred"}))
            .unwrap(),
    );
    assert_eq!(
        (applied.result, applied.comment.as_str()),
        (false, super::NO_HOME)
    );
    assert!(!t.path("/home/fred").exists());
}
