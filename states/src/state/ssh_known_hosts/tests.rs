use super::super::salt_oracle::Salt;
use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIKmyRTeQBHLknk3XN2D8X543qR7dH3VgAHootZ9rowCT";
const OTHER: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIGb7ZOQaJsQG2ZIb0aSlinHOzMDZ9x4k1G9xDR/mnmYq";
/// Salt's fingerprint of KEY (`ssh.get_known_host_entries`, recorded).
const KEY_FP: &str = "fd:97:2b:95:b5:ea:97:fe:7c:38:10:36:cb:2e:d2:5e:1b:24:8d:58:85:31:ea:33:77:8c:c0:e3:97:0d:dd:ef";
const FILE: &str = "/etc/ssh/ssh_known_hosts";

fn test_comment(check: &Check) -> &str {
    match check {
        Check::Clean {
            test_comment: Some(c),
            ..
        } => c,
        other => comment_of(other),
    }
}

#[test]
fn present_adds_a_key_then_is_clean_and_a_dry_run_writes_nothing() {
    let t = TestHost::new();
    let args =
        json!({"name": "example.com", "key": KEY, "enc": "ssh-ed25519", "hash_known_hosts": false});
    let before = t.snapshot();
    let check = t.check(&SshKnownHosts, "present", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before, "check wrote to the root");
    assert_eq!(
        comment_of(&check),
        "Key for example.com is set to be added to /etc/ssh/ssh_known_hosts"
    );
    assert!(changes_of(&check).unwrap().is_empty());
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        format!("example.com's key saved to /etc/ssh/ssh_known_hosts (key: {KEY})")
    );
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"old": null, "new": [{"hostname": "example.com", "enc": "ssh-ed25519", "key": KEY}]})
    );
    assert_eq!(t.read(FILE), format!("example.com ssh-ed25519 {KEY}\n"));
    let mode = std::fs::metadata(t.path(FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = t.check(&SshKnownHosts, "present", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "example.com already exists in /etc/ssh/ssh_known_hosts"
    );
    assert_eq!(
        test_comment(&again),
        "Host example.com is already in /etc/ssh/ssh_known_hosts"
    );
}

#[test]
fn a_hashed_entry_is_found_and_a_new_key_replaces_the_old_one() {
    let t = TestHost::new();
    t.write(
        FILE,
        &format!("other ssh-ed25519 {KEY}\nexample.com ssh-ed25519 {OTHER}\n"),
    );
    let args = json!({"name": "example.com", "key": KEY, "enc": "ssh-ed25519"});
    let check = t.check(&SshKnownHosts, "present", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "Key for example.com is set to be updated in /etc/ssh/ssh_known_hosts"
    );
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    let old = &applied.changes.unwrap()["old"];
    assert_eq!(old[0]["key"], json!(OTHER));
    let text = t.read(FILE);
    // Hashed by ssh-keygen -H: the name is no longer readable.
    assert!(!text.contains("example.com"), "{text}");
    assert!(!text.contains(OTHER), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(is_clean(&t.check(&SshKnownHosts, "present", args).unwrap()));
    // A fingerprint already there is clean too, and needs no network.
    let by_fp = json!({"name": "example.com", "fingerprint": KEY_FP});
    assert!(is_clean(
        &t.check(&SshKnownHosts, "present", by_fp).unwrap()
    ));
}

#[test]
fn absent_removes_the_host_with_ssh_keygens_words() {
    let t = TestHost::new();
    t.write(
        FILE,
        &format!("other ssh-ed25519 {KEY}\nexample.com ssh-ed25519 {KEY}\n"),
    );
    let args = json!({"name": "example.com"});
    let before = t.snapshot();
    let check = t.check(&SshKnownHosts, "absent", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Key for example.com is set to be removed from /etc/ssh/ssh_known_hosts"
    );
    let applied = t.apply(check);
    let full = t.path(FILE);
    assert_eq!(
        applied.comment,
        format!(
            "# Host example.com found: line 2\n{0} updated.\nOriginal contents retained as {0}.old",
            full.display()
        )
    );
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"old": [{"hostname": "example.com", "key": KEY, "enc": "ssh-ed25519", "fingerprint": KEY_FP}], "new": null})
    );
    assert_eq!(t.read(FILE), format!("other ssh-ed25519 {KEY}\n"));
    let again = t.check(&SshKnownHosts, "absent", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(comment_of(&again), "Host is already absent");
}

#[test]
fn a_users_file_and_what_is_refused() {
    let t = TestHost::new();
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    t.write(
        "/etc/passwd",
        &format!("deploy:x:{uid}:{gid}::/home/deploy:/bin/sh\n"),
    );
    std::fs::create_dir_all(t.path("/home/deploy")).unwrap();
    let args = json!({"name": "git.example.com", "user": "deploy", "key": KEY, "enc": "ssh-ed25519", "hash_known_hosts": false});
    let applied = t.apply(t.check(&SshKnownHosts, "present", args).unwrap());
    assert_eq!(
        applied.comment,
        format!("git.example.com's key saved to .ssh/known_hosts (key: {KEY})")
    );
    assert_eq!(
        t.read("/home/deploy/.ssh/known_hosts"),
        format!("git.example.com ssh-ed25519 {KEY}\n")
    );

    let fail = |args: Value| {
        let check = t.check(&SshKnownHosts, "present", args).unwrap();
        assert!(matches!(check, Check::Fail { .. }));
        comment_of(&check).to_string()
    };
    assert_eq!(
        fail(json!({"name": "h", "config": "rel/known_hosts", "key": KEY, "enc": "ssh-ed25519"})),
        "If not specifying a \"user\", specify an absolute \"config\"."
    );
    assert_eq!(
        fail(json!({"name": "h", "key": KEY})),
        "Required argument \"enc\" if using \"key\" argument."
    );
    assert_eq!(
        fail(json!({"name": "h", "key": KEY, "enc": "ssh-ed25519", "fingerprint": KEY_FP})),
        "Specify either \"key\" or \"fingerprint\", not both."
    );
    assert!(fail(json!({"name": "h"})).contains("does not take whatever key ssh-keyscan returns"));
    assert_eq!(
        fail(json!({"name": "h", "key": KEY, "enc": "ssh-ed25519", "port": 2222})),
        "argument port can not be used in conjunction with argument hash_known_hosts"
    );
}

#[test]
fn a_fingerprint_nobody_serves_fails_after_asking_ssh_keyscan() {
    let t = TestHost::new();
    // Port 1 on loopback: refused at once, so ssh-keyscan returns nothing.
    let args = json!({"name": "127.0.0.1", "fingerprint": KEY_FP, "port": 1, "hash_known_hosts": false, "timeout": 1});
    let check = t.check(&SshKnownHosts, "present", args).unwrap();
    let applied = t.apply(check);
    assert!(!applied.result);
    assert_eq!(applied.comment, "Unable to receive remote host keys");
    assert!(!t.path(FILE).exists());
}

#[test]
fn present_and_absent_match_salt() {
    let Some(oracle) = Salt::new("") else { return };
    let start = format!("other ssh-ed25519 {KEY}\n");
    oracle.write("kh", &start);
    let salt_file = oracle.path("kh");
    let t = TestHost::new();
    t.write(FILE, &start);
    let brine_file = t.path(FILE);
    let same = |brine: String, salt: &Value| {
        let brine = brine.replace(&brine_file.display().to_string(), "FILE");
        let brine = brine.replace(FILE, "FILE");
        let salt = salt
            .as_str()
            .unwrap()
            .replace(&salt_file.display().to_string(), "FILE");
        assert_eq!(brine, salt);
    };

    let salt = oracle.state(
        "ssh_known_hosts.present",
        &[
            "name=example.com".into(),
            format!("key={KEY}"),
            "enc=ssh-ed25519".into(),
            "hash_known_hosts=False".into(),
            format!("config={}", salt_file.display()),
        ],
        false,
    );
    let args = json!({"name": "example.com", "key": KEY, "enc": "ssh-ed25519", "hash_known_hosts": false, "config": FILE});
    let applied = t.apply(t.check(&SshKnownHosts, "present", args).unwrap());
    same(applied.comment, &salt["comment"]);
    assert_eq!(Value::Object(applied.changes.unwrap()), salt["changes"]);
    assert_eq!(t.read(FILE), std::fs::read_to_string(&salt_file).unwrap());

    let salt = oracle.state(
        "ssh_known_hosts.absent",
        &[
            "name=example.com".into(),
            format!("config={}", salt_file.display()),
        ],
        false,
    );
    let applied = t.apply(
        t.check(
            &SshKnownHosts,
            "absent",
            json!({"name": "example.com", "config": FILE}),
        )
        .unwrap(),
    );
    same(applied.comment, &salt["comment"]);
    assert_eq!(Value::Object(applied.changes.unwrap()), salt["changes"]);
    assert_eq!(t.read(FILE), std::fs::read_to_string(&salt_file).unwrap());
}
