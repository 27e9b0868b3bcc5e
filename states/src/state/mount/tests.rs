use serde_json::json;

use super::super::changes;
use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::*;

const FSTAB: &str = "/etc/fstab";

fn comment_in_test_mode(check: &Check) -> &str {
    match check {
        Check::Clean {
            test_comment: Some(c),
            ..
        }
        | Check::Fail {
            test_comment: Some(c),
            ..
        } => c,
        other => comment_of(other),
    }
}

#[test]
fn fstab_entry_without_mounting_then_clean_then_updated() {
    let t = TestHost::new();
    t.write(FSTAB, "# static file system information\n");
    let args = json!({"name": "/srv/cache/", "device": "tmpfs", "fstype": "tmpfs",
                      "opts": "size=1m", "mount": false, "mkmnt": true});
    let before = t.snapshot();
    let check = t.check(&Mount, "mounted", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before, "check wrote to the root");
    assert_eq!(
        comment_of(&check),
        "/srv/cache would be created, but not mounted. /srv/cache needs to be written to the fstab in order to be made persistent."
    );
    assert!(changes_of(&check).unwrap().is_empty());
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        "/srv/cache was created, not mounted. Added new entry to the fstab."
    );
    assert_eq!(
        applied.changes.unwrap(),
        changes([("persist", json!("new"))])
    );
    assert!(t.path("/srv/cache").is_dir());
    assert_eq!(
        t.read(FSTAB),
        "# static file system information\ntmpfs\t\t/srv/cache\ttmpfs\tsize=1m\t0 0\n"
    );

    let again = t.check(&Mount, "mounted", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "/srv/cache not mounted. Entry already exists in the fstab."
    );
    assert_eq!(
        comment_in_test_mode(&again),
        "/srv/cache would not be mounted"
    );

    let args = json!({"name": "/srv/cache", "device": "tmpfs", "fstype": "tmpfs",
                      "opts": ["size=2m", "mode=700"], "mount": false, "pass_num": 2});
    let before = t.snapshot();
    let check = t.check(&Mount, "mounted", args).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "/srv/cache would not be mounted. The /srv/cache fstab entry must be updated."
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "/srv/cache not mounted. Updated the entry in the fstab."
    );
    assert_eq!(
        applied.changes.unwrap(),
        changes([("persist", json!("update"))])
    );
    assert_eq!(
        t.read(FSTAB),
        "# static file system information\ntmpfs\t\t/srv/cache\ttmpfs\tsize=2m,mode=700\t0 2\n"
    );
}

#[test]
fn unmounted_purges_the_fstab_entry() {
    let t = TestHost::new();
    t.write(
        FSTAB,
        "/dev/sdb1 /data ext4 defaults 0 2\ntmpfs /srv/cache tmpfs defaults 0 0\n",
    );
    let args = json!({"name": "/data", "persist": true});
    let before = t.snapshot();
    let check = t.check(&Mount, "unmounted", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Mount point /data is unmounted but needs to be purged from /etc/fstab to be made persistent"
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "Target was already unmounted. Removed target from fstab"
    );
    assert_eq!(
        applied.changes.unwrap(),
        changes([("persist", json!("purged"))])
    );
    assert_eq!(t.read(FSTAB), "tmpfs /srv/cache tmpfs defaults 0 0\n");
    let again = t.check(&Mount, "unmounted", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "Target was already unmounted. fstab entry not found"
    );
    let other = t
        .check(
            &Mount,
            "unmounted",
            json!({"name": "/srv/cache", "device": "/dev/x", "persist": true}),
        )
        .unwrap();
    assert_eq!(
        comment_of(&other),
        "Target was already unmounted. fstab entry for device /dev/x not found"
    );
}

#[test]
fn missing_and_unsupported_arguments() {
    let t = TestHost::new();
    let check = t
        .check(&Mount, "mounted", json!({"name": "/x", "fstype": "tmpfs"}))
        .unwrap();
    assert_eq!(comment_of(&check), "Must provide device to mount.mounted");
    let e = t
        .check(
            &Mount,
            "mounted",
            json!({"name": "/x", "device": "tmpfs", "fstype": "tmpfs", "user": "bob"}),
        )
        .err()
        .unwrap();
    assert!(e.to_string().contains("'user' is not supported"), "{e}");
    let check = t
        .check(
            &Mount,
            "mounted",
            json!({"name": "/x", "device": "tmpfs", "fstype": "tmpfs"}),
        )
        .unwrap();
    assert_eq!(comment_of(&check), "Mount directory is not present");
    assert_eq!(
        comment_in_test_mode(&check),
        "/x does not exist and would not be created"
    );
    let check = t
        .check(
            &Mount,
            "mounted",
            json!({"name": "/x", "device": "tmpfs", "fstype": "tmpfs", "mount": false}),
        )
        .unwrap();
    assert_eq!(comment_of(&check), "Bad config file \"/etc/fstab\"");
}

/// Unmounts (lazily) when dropped, so a failing test leaves no mount behind.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn can_mount() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting needs root");
        return false;
    }
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        drop(Unmount(dir.path().to_path_buf()));
    } else {
        eprintln!("skipped: this host does not let us mount a tmpfs");
    }
    ok
}

fn tmpfs_at(t: &TestHost, mp: &str) -> Option<active::Active> {
    let real = std::fs::canonicalize(t.path(mp)).ok()?;
    active::mounted_at(&real).unwrap()
}

#[test]
fn mounts_remounts_and_unmounts_a_real_tmpfs() {
    if !can_mount() {
        return;
    }
    let t = TestHost::new();
    let _guard = Unmount(t.path("/srv/cache"));
    t.write(FSTAB, "");
    let args = json!({"name": "/srv/cache", "device": "tmpfs", "fstype": "tmpfs",
                      "opts": "size=1m", "mkmnt": true});
    let before = t.snapshot();
    let check = t.check(&Mount, "mounted", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before, "check wrote to the root");
    assert!(tmpfs_at(&t, "/srv/cache").is_none());
    assert_eq!(
        comment_of(&check),
        "/srv/cache would be created and mounted"
    );
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        "Target was successfully mounted. Added new entry to the fstab."
    );
    assert_eq!(
        applied.changes.unwrap(),
        changes([("mount", json!(true)), ("persist", json!("new"))])
    );
    let mounted = tmpfs_at(&t, "/srv/cache").expect("mounted");
    assert!(
        mounted.superopts.contains(&"size=1024k".to_string()),
        "{mounted:?}"
    );

    let again = t.check(&Mount, "mounted", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "Target was already mounted. Entry already exists in the fstab."
    );
    assert_eq!(comment_in_test_mode(&again), "Target was already mounted");

    let args = json!({"name": "/srv/cache", "device": "tmpfs", "fstype": "tmpfs",
                      "opts": "size=2m", "mkmnt": true});
    let check = t.check(&Mount, "mounted", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "Remount would be forced because options (size=2048k) changed"
    );
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.changes.unwrap(),
        changes([
            (
                "umount",
                json!("Forced remount because options (size=2048k) changed")
            ),
            ("persist", json!("update")),
        ])
    );
    assert!(tmpfs_at(&t, "/srv/cache")
        .unwrap()
        .superopts
        .contains(&"size=2048k".to_string()));
    assert!(is_clean(&t.check(&Mount, "mounted", args).unwrap()));

    let args = json!({"name": "/srv/cache", "persist": true});
    let before = t.snapshot();
    let check = t.check(&Mount, "unmounted", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Mount point /srv/cache is mounted but should not be"
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "Target was successfully unmounted. Removed target from fstab"
    );
    assert_eq!(
        applied.changes.unwrap(),
        changes([("umount", json!(true)), ("persist", json!("purged"))])
    );
    assert!(tmpfs_at(&t, "/srv/cache").is_none());
    assert_eq!(t.read(FSTAB), "");
    assert!(is_clean(&t.check(&Mount, "unmounted", args).unwrap()));
}
