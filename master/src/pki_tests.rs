use std::os::unix::fs::PermissionsExt;

use super::*;

fn key(n: u8) -> PublicKey {
    PublicKey([n; 32])
}

fn store() -> (tempfile::TempDir, KeyStore) {
    let dir = tempfile::tempdir().unwrap();
    let ks = KeyStore::open(&dir.path().join("pki")).unwrap();
    (dir, ks)
}

/// What keeps a store under test alive: its `pki_dir`, and with
/// `key_store: postgres` its own PostgreSQL server.
#[allow(dead_code)] // held for their Drop
enum Guard {
    Files(tempfile::TempDir),
    Postgres(tempfile::TempDir, ::tests::postgres::Postgres),
}

fn files_store() -> (Guard, KeyStore) {
    let (d, ks) = store();
    (Guard::Files(d), ks)
}

fn postgres_store() -> (Guard, KeyStore) {
    let pg = ::tests::postgres::Postgres::start();
    let (d, ks) = store();
    let ks = ks.shared(PgKeys::open(&pg.dsn()).unwrap());
    (Guard::Postgres(d, pg), ks)
}

/// Each test `fn name(open)` runs as `name::files` and `name::postgres`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn files() {
                super::$name(super::files_store);
            }
            #[test]
            fn postgres() {
                super::$name(super::postgres_store);
            }
        }
    )*};
}

on_both_stores!(
    a_new_key_is_pending_until_accepted,
    auto_accept_and_autosign,
    a_stolen_id_is_refused_and_the_binding_kept,
    a_pending_id_may_be_reclaimed_while_pending,
    rejected_ids_stay_refused_until_deleted,
    delete_from_any_directory,
    operators_are_found_by_key,
);

type Open = fn() -> (Guard, KeyStore);

fn refused(a: Admission) -> String {
    match a {
        Admission::Refused { reason } => reason,
        other => panic!("expected Refused, got {other:?}"),
    }
}

/// Every path under `root`, relative to it.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn ids_that_could_leave_the_directory_are_refused() {
    for bad in [
        "",
        ".",
        "..",
        ".hidden",
        "../../etc/passwd",
        "a/b",
        "/abs",
        "a\\b",
        "a\0b",
        "a\nb",
        "a\x7fb",
        "100%",
        &"x".repeat(256),
    ] {
        assert!(
            matches!(validate_id(bad), Err(PkiError::InvalidId { .. })),
            "{bad:?}"
        );
    }
    for good in [
        "web01",
        "web01.example.com",
        "a-b_c",
        "x".repeat(255).as_str(),
        "ünï",
    ] {
        validate_id(good).unwrap();
    }
    let long = validate_id(&"y".repeat(1000)).unwrap_err().to_string();
    assert!(long.len() < 200, "{long}");
}

#[test]
fn open_creates_private_dirs() {
    let (dir, _ks) = store();
    for sub in ["minions_pre", "minions", "minions_rejected", "operators"] {
        let mode = fs::metadata(dir.path().join("pki").join(sub))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{sub}");
    }
}

#[test]
fn traversal_ids_touch_nothing_outside_pki_dir() {
    let (dir, ks) = store();
    let before = tree(dir.path());
    for bad in ["../../etc/passwd", "a/b", "../escape", "..", ".x"] {
        assert!(ks.admit(bad, &key(1), true, &[]).is_err(), "{bad}");
        assert!(ks.admit(bad, &key(1), false, &[]).is_err(), "{bad}");
        assert!(ks.accept(bad).is_err());
        assert!(ks.reject(bad).is_err());
        assert!(ks.delete(bad).is_err());
        assert!(ks.fingerprint(bad).is_err());
        assert!(ks.accepted_key(bad).is_err());
        assert!(ks.add_operator(bad, &key(1)).is_err());
    }
    assert_eq!(tree(dir.path()), before);
    assert!(!dir.path().join("escape").exists());
}

fn a_new_key_is_pending_until_accepted(open: Open) {
    let (_d, ks) = open();
    assert_eq!(
        ks.admit("web01", &key(1), false, &[]).unwrap(),
        Admission::Pending
    );
    assert_eq!(
        ks.admit("web01", &key(1), false, &[]).unwrap(),
        Admission::Pending
    );
    let fp = key(1).fingerprint();
    assert_eq!(
        ks.fingerprint("web01").unwrap(),
        Some((KeyState::Pending, fp.clone()))
    );
    assert_eq!(ks.accepted_key("web01").unwrap(), None);
    ks.accept("web01").unwrap();
    assert_eq!(
        ks.admit("web01", &key(1), false, &[]).unwrap(),
        Admission::Accepted
    );
    assert_eq!(
        ks.fingerprint("web01").unwrap(),
        Some((KeyState::Accepted, fp))
    );
    assert_eq!(ks.accepted_key("web01").unwrap(), Some(key(1)));
    assert_eq!(ks.list().unwrap().pending, Vec::<String>::new());
    if ks.shared.is_none() {
        // The file holds the base64 key, Salt-style one file per id.
        let text = fs::read_to_string(ks.dir().join("minions/web01")).unwrap();
        assert_eq!(PublicKey::from_base64(&text), Some(key(1)));
    }
    assert!(matches!(
        ks.accept("web01"),
        Err(PkiError::NotFound {
            wanted: "pending",
            ..
        })
    ));
}

fn auto_accept_and_autosign(open: Open) {
    let (_d, ks) = open();
    assert_eq!(
        ks.admit("any", &key(1), true, &[]).unwrap(),
        Admission::Accepted
    );
    let globs = vec!["web*".to_string(), "db0[1-2]".to_string()];
    assert_eq!(
        ks.admit("web7", &key(2), false, &globs).unwrap(),
        Admission::Accepted
    );
    assert_eq!(
        ks.admit("db02", &key(3), false, &globs).unwrap(),
        Admission::Accepted
    );
    assert_eq!(
        ks.admit("db03", &key(4), false, &globs).unwrap(),
        Admission::Pending
    );
    // A pending id that later matches autosign is accepted and leaves pending.
    assert_eq!(
        ks.admit("db03", &key(4), true, &[]).unwrap(),
        Admission::Accepted
    );
    let l = ks.list().unwrap();
    assert_eq!(l.accepted, ["any", "db02", "db03", "web7"]);
    assert!(l.pending.is_empty());
}

fn a_stolen_id_is_refused_and_the_binding_kept(open: Open) {
    let (_d, ks) = open();
    ks.admit("web01", &key(1), true, &[]).unwrap();
    for auto in [false, true] {
        let reason = refused(ks.admit("web01", &key(2), auto, &["*".into()]).unwrap());
        assert_eq!(reason, "another key holds id web01");
    }
    assert_eq!(ks.accepted_key("web01").unwrap(), Some(key(1)));
    assert!(ks.list().unwrap().pending.is_empty());
}

fn a_pending_id_may_be_reclaimed_while_pending(open: Open) {
    let (_d, ks) = open();
    ks.admit("web01", &key(1), false, &[]).unwrap();
    assert_eq!(
        ks.admit("web01", &key(2), false, &[]).unwrap(),
        Admission::Pending
    );
    let fp = key(2).fingerprint();
    assert_eq!(
        ks.fingerprint("web01").unwrap(),
        Some((KeyState::Pending, fp))
    );
    ks.accept("web01").unwrap();
    assert_eq!(ks.accepted_key("web01").unwrap(), Some(key(2)));
}

fn rejected_ids_stay_refused_until_deleted(open: Open) {
    let (_d, ks) = open();
    ks.admit("p", &key(1), false, &[]).unwrap();
    ks.admit("a", &key(2), true, &[]).unwrap();
    ks.reject("p").unwrap();
    ks.reject("a").unwrap();
    ks.reject("a").unwrap(); // already rejected: no-op
    for (id, k) in [("p", 1), ("a", 2)] {
        let reason = refused(ks.admit(id, &key(k), true, &["*".into()]).unwrap());
        assert!(reason.contains("rejected"), "{reason}");
    }
    let l = ks.list().unwrap();
    assert_eq!(l.rejected, ["a", "p"]);
    assert!(l.accepted.is_empty() && l.pending.is_empty());
    assert!(matches!(
        ks.reject("nobody"),
        Err(PkiError::NotFound { .. })
    ));
    ks.delete("a").unwrap();
    assert_eq!(
        ks.admit("a", &key(9), false, &[]).unwrap(),
        Admission::Pending
    );
}

fn delete_from_any_directory(open: Open) {
    let (_d, ks) = open();
    ks.admit("p", &key(1), false, &[]).unwrap();
    ks.admit("a", &key(2), true, &[]).unwrap();
    ks.admit("r", &key(3), false, &[]).unwrap();
    ks.reject("r").unwrap();
    for id in ["p", "a", "r"] {
        ks.delete(id).unwrap();
        assert_eq!(ks.fingerprint(id).unwrap(), None);
    }
    assert_eq!(ks.list().unwrap(), KeyList::default());
    assert!(matches!(ks.delete("p"), Err(PkiError::NotFound { .. })));
}

#[test]
fn accept_all_and_conflicts() {
    let (_d, ks) = store();
    for (i, id) in ["c", "a", "b"].iter().enumerate() {
        ks.admit(id, &key(i as u8), false, &[]).unwrap();
    }
    // Debris in a key directory is not an id.
    fs::write(ks.dir().join("minions_pre/.tmp.1.2"), "junk").unwrap();
    // A pending key whose id was meanwhile accepted with another key.
    ks.admit("z", &key(7), false, &[]).unwrap();
    key(8).save(&ks.dir().join("minions/z")).unwrap();
    assert_eq!(ks.accept_all().unwrap(), ["a", "b", "c"]);
    assert!(matches!(ks.accept("z"), Err(PkiError::Conflict { .. })));
    assert_eq!(ks.list().unwrap().pending, ["z"]);
}

#[test]
fn operators_and_master_key() {
    let (_d, ks) = store();
    ks.add_operator("alice", &key(5)).unwrap();
    fs::write(ks.dir().join("operators/broken.pub"), "not a key").unwrap();
    fs::write(ks.dir().join("operators/notes.txt"), key(6).to_base64()).unwrap();
    assert_eq!(ks.operator_for(&key(5)).unwrap().as_deref(), Some("alice"));
    assert_eq!(ks.operator_for(&key(6)).unwrap(), None);
    let m = ks.master_key().unwrap();
    assert_eq!(ks.master_key().unwrap().public, m.public);
    assert_eq!(
        PublicKey::load(&ks.dir().join("master.pub")).unwrap(),
        m.public
    );
}

#[test]
fn pending_keys_are_bounded_in_number_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    // Rate 1/s with a burst of 2: a flood within one second writes two keys.
    let ks = KeyStore::open(&dir.path().join("pki"))
        .unwrap()
        .limit_pending(3, 1);
    let admit = |id: &str, k: u8| ks.admit(id, &key(k), false, &[]).unwrap();
    assert_eq!(admit("a", 1), Admission::Pending);
    assert_eq!(admit("b", 2), Admission::Pending);
    let reason = refused(admit("c", 3));
    assert!(reason.contains("pending_key_rate"), "{reason}");
    // A key already pending asks again for free: nothing is written.
    assert_eq!(admit("a", 1), Admission::Pending);
    assert_eq!(ks.list().unwrap().pending, ["a", "b"]);

    // Without the rate in the way, the count stops new ids at the maximum...
    let dir = tempfile::tempdir().unwrap();
    let ks = KeyStore::open(&dir.path().join("pki"))
        .unwrap()
        .limit_pending(2, 1000);
    let admit = |id: &str, k: u8| ks.admit(id, &key(k), false, &[]).unwrap();
    assert_eq!(admit("a", 1), Admission::Pending);
    assert_eq!(admit("b", 2), Admission::Pending);
    let reason = refused(admit("c", 3));
    assert!(reason.contains("max_pending_keys"), "{reason}");
    assert_eq!(ks.list().unwrap().pending, ["a", "b"]);
    // ...accepted ids still get in, and an operator's accept makes room.
    ks.accept("a").unwrap();
    assert_eq!(admit("a", 1), Admission::Accepted);
    assert_eq!(admit("c", 3), Admission::Pending);
    assert_eq!(ks.list().unwrap().pending, ["b", "c"]);
}

fn operators_are_found_by_key(open: Open) {
    let (_d, ks) = open();
    ks.add_operator("alice", &key(5)).unwrap();
    ks.add_operator("bob", &key(6)).unwrap();
    assert_eq!(ks.operator_for(&key(5)).unwrap().as_deref(), Some("alice"));
    assert_eq!(ks.operator_for(&key(6)).unwrap().as_deref(), Some("bob"));
    assert_eq!(ks.operator_for(&key(7)).unwrap(), None);
}

/// Two masters' key stores on one PostgreSQL: a key pending on one is
/// listed by the other, accepted there it is accepted here, and every change
/// is announced on `brine_keys` to whoever listens.
#[test]
fn masters_sharing_postgres_share_keys_and_hear_every_change() {
    let pg = ::tests::postgres::Postgres::start();
    let heard = crate::pgstore::listen(&pg.dsn(), &[crate::pki_postgres::CHANNEL]).unwrap();
    let (_da, a) = store();
    let a = a.shared(PgKeys::open(&pg.dsn()).unwrap());
    let (_db, b) = store();
    let b = b.shared(PgKeys::open(&pg.dsn()).unwrap());
    let next = || match heard
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("a key change announced")
    {
        crate::pgstore::Heard::Note { payload, .. } => payload,
        other => panic!("{other:?}"),
    };

    assert_eq!(
        b.admit("web01", &key(1), false, &[]).unwrap(),
        Admission::Pending
    );
    assert_eq!(next(), "pending web01");
    assert_eq!(a.list().unwrap().pending, ["web01"]);
    a.accept("web01").unwrap();
    assert_eq!(next(), "accepted web01");
    assert_eq!(b.accepted_key("web01").unwrap(), Some(key(1)));
    assert_eq!(
        b.admit("web01", &key(1), false, &[]).unwrap(),
        Admission::Accepted
    );
    let reason = refused(a.admit("web01", &key(2), true, &[]).unwrap());
    assert_eq!(reason, "another key holds id web01");
    b.reject("web01").unwrap();
    assert_eq!(next(), "rejected web01");
    assert!(refused(a.admit("web01", &key(1), true, &[]).unwrap()).contains("rejected"));
    a.delete("web01").unwrap();
    assert_eq!(next(), "deleted web01");
    assert_eq!(b.list().unwrap(), KeyList::default());
    // The pending limit counts every master's pending keys.
    let (_dc, c) = store();
    let c = c
        .limit_pending(1, 1000)
        .shared(PgKeys::open(&pg.dsn()).unwrap());
    assert_eq!(
        a.admit("db01", &key(3), false, &[]).unwrap(),
        Admission::Pending
    );
    let reason = refused(c.admit("db02", &key(4), false, &[]).unwrap());
    assert!(reason.contains("max_pending_keys"), "{reason}");
}
