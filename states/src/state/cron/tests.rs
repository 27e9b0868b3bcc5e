use serde_json::json;

use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::super::{changes, Check};
use super::Cron;

const SPOOL: &str = "/var/spool/cron/crontabs/root";

#[test]
fn present_adds_then_is_clean_and_check_writes_nothing() {
    let t = TestHost::new();
    t.write(SPOOL, "MAILTO=ops\n0 * * * * /usr/bin/hourly\n");
    let args =
        json!({"name": "/usr/local/bin/backup ", "minute": 5, "hour": "2", "comment": "nightly"});
    let before = t.snapshot();
    let check = t.check(&Cron, "present", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Cron /usr/local/bin/backup is set to be added"
    );
    assert!(changes_of(&check).unwrap().is_empty());

    let applied = t.apply(check);
    assert!(applied.result);
    assert_eq!(
        applied.comment,
        "Cron /usr/local/bin/backup added to root's crontab"
    );
    assert_eq!(
        applied.changes.unwrap(),
        changes([("root", json!("/usr/local/bin/backup"))])
    );
    assert_eq!(
        t.read(SPOOL),
        "MAILTO=ops\n0 * * * * /usr/bin/hourly\n# Lines below here are managed by Salt, do not edit\n# nightly SALT_CRON_IDENTIFIER:/usr/local/bin/backup\n5 2 * * * /usr/local/bin/backup\n"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(t.path(SPOOL))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let again = t.check(&Cron, "present", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "Cron /usr/local/bin/backup already present"
    );
}

#[test]
fn present_updates_a_salt_written_line() {
    let t = TestHost::new();
    t.write(
        "/var/spool/cron/crontabs/www",
        "# Lines below here are managed by Salt, do not edit\n# SALT_CRON_IDENTIFIER:purge\n*/5 * * * * /srv/purge --old\n",
    );
    let args =
        json!({"name": "/srv/purge --all", "user": "www", "identifier": "purge", "minute": "*/10"});
    let check = t.check(&Cron, "present", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "Cron /srv/purge --all is set to be updated"
    );
    let applied = t.apply(check);
    assert_eq!(applied.comment, "Cron /srv/purge --all updated");
    assert_eq!(
        t.read("/var/spool/cron/crontabs/www"),
        "# Lines below here are managed by Salt, do not edit\n# SALT_CRON_IDENTIFIER:purge\n*/10 * * * * /srv/purge --all\n"
    );
    assert!(is_clean(&t.check(&Cron, "present", args).unwrap()));
}

#[test]
fn special_jobs_and_absent() {
    let t = TestHost::new();
    let args = json!({"name": "/usr/bin/warm-cache", "special": "@reboot"});
    t.apply(t.check(&Cron, "present", args.clone()).unwrap());
    assert!(t
        .read(SPOOL)
        .ends_with("# SALT_CRON_IDENTIFIER:/usr/bin/warm-cache\n@reboot /usr/bin/warm-cache\n"));
    assert!(is_clean(&t.check(&Cron, "present", args.clone()).unwrap()));

    let check = t.check(&Cron, "absent", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "Cron /usr/bin/warm-cache is set to be removed"
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "Cron /usr/bin/warm-cache removed from root's crontab"
    );
    assert_eq!(
        t.read(SPOOL),
        "# Lines below here are managed by Salt, do not edit\n"
    );
    match t.check(&Cron, "absent", args).unwrap() {
        Check::Clean {
            comment,
            test_comment,
        } => {
            assert_eq!(comment, "Cron /usr/bin/warm-cache already absent");
            assert_eq!(
                test_comment.as_deref(),
                Some("Cron /usr/bin/warm-cache is absent")
            );
        }
        _ => panic!("expected clean"),
    }
}

#[test]
fn env_lines() {
    let t = TestHost::new();
    let args = json!({"name": "MAILTO", "value": "ops@example.com"});
    let check = t.check(&Cron, "env_present", args.clone()).unwrap();
    assert_eq!(comment_of(&check), "Cron env MAILTO is set to be added");
    assert_eq!(
        t.apply(check).comment,
        "Cron env MAILTO added to root's crontab"
    );
    assert_eq!(
        t.read(SPOOL),
        "# Lines below here are managed by Salt, do not edit\nMAILTO=ops@example.com\n"
    );
    assert!(is_clean(&t.check(&Cron, "env_present", args).unwrap()));
    // An empty value is written as "" and stays clean afterwards.
    t.apply(
        t.check(&Cron, "env_present", json!({"name": "SHELLOPTS"}))
            .unwrap(),
    );
    assert!(is_clean(
        &t.check(&Cron, "env_present", json!({"name": "SHELLOPTS"}))
            .unwrap()
    ));
    let check = t
        .check(&Cron, "env_absent", json!({"name": "MAILTO"}))
        .unwrap();
    assert_eq!(
        t.apply(check).comment,
        "Cron env MAILTO removed from root's crontab"
    );
    assert_eq!(
        t.read(SPOOL),
        "# Lines below here are managed by Salt, do not edit\nSHELLOPTS=\"\"\n"
    );
}

#[test]
fn bad_users_are_refused() {
    let t = TestHost::new();
    for user in ["../etc", "", "a/b"] {
        assert!(t
            .check(&Cron, "present", json!({"name": "x", "user": user}))
            .is_err());
    }
}
