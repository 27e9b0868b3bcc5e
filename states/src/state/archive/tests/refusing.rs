//! What archive.extracted refuses: hostile members, links out of the
//! target, wrong types without `force`, bad sources and names.
use super::*;

#[test]
fn hostile_archives_are_refused_and_change_nothing() {
    let f = fixture();
    std::fs::create_dir_all(f.root.join("opt/www")).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot.tar.gz",
            gzip(&tar_bytes(&[
                Dir("app/"),
                File("app/../../evil", "x", 0o644),
            ])),
        ),
        ("abs.tar", tar_bytes(&[File("/etc/evil", "x", 0o644)])),
        (
            "link.tar.xz",
            xz(&tar_bytes(&[
                Dir("app/"),
                Symlink("app/link", "../../outside"),
                File("app/link/evil", "x", 0o644),
            ])),
        ),
        (
            "abslink.tar",
            tar_bytes(&[Dir("app/"), Symlink("app/etc", "/etc")]),
        ),
        (
            "chain.tar",
            tar_bytes(&[
                Dir("app/"),
                Symlink("app/here", "."),
                Symlink("app/up", "here/../.."),
            ]),
        ),
        (
            "hard.tar",
            tar_bytes(&[Dir("app/"), Hardlink("app/passwd", "../../etc/passwd")]),
        ),
        (
            "dotdot.zip",
            zip_bytes(&[Dir("app/"), File("app/../../evil", "x", 0o644)]),
        ),
        (
            "link.zip",
            zip_bytes(&[Dir("app/"), Symlink("app/link", "../../../tmp")]),
        ),
    ];
    for (name, bytes) in cases {
        let source = f.local(name, &bytes);
        let before = snapshot(&f.root);
        let msg = fail(
            f.check(json!({"source": source, "enforce_toplevel": false}))
                .unwrap(),
        );
        assert!(
            msg.contains("was refused and nothing was extracted"),
            "{name}: {msg}"
        );
        assert_eq!(before, snapshot(&f.root), "{name}");
    }
    assert!(!f.root.join("evil").exists());
    assert!(!f.root.join("opt/evil").exists());
}

#[test]
fn a_symlink_already_on_disk_cannot_lead_outside() {
    let f = fixture();
    std::fs::create_dir_all(f.root.join("opt/www")).unwrap();
    std::fs::create_dir_all(f.root.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(f.root.join("elsewhere"), f.root.join("opt/www/app-1.0")).unwrap();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    // A symlink where the archive has a directory is the wrong type...
    let msg = fail(f.check(json!({"source": source})).unwrap());
    assert!(msg.ends_with("\n\n- app-1.0/"), "{msg}");
    // ...and `force` replaces the link itself, never writing through it.
    let applied = f.apply(json!({"source": source, "force": true}));
    assert!(applied.result, "{}", applied.comment);
    assert!(f.root.join("opt/www/app-1.0").is_dir());
    assert!(!std::fs::symlink_metadata(f.root.join("opt/www/app-1.0"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_dir(f.root.join("elsewhere")).unwrap().count(),
        0
    );

    // Had it been written (a race, or a path the listing did not name), the
    // extraction itself refuses to go through it.
    let listing =
        super::super::entries::list(&tar_bytes(APP), super::super::entries::Format::Tar, 0)
            .unwrap();
    std::fs::remove_dir_all(f.root.join("opt/www/app-1.0")).unwrap();
    std::os::unix::fs::symlink(f.root.join("elsewhere"), f.root.join("opt/www/app-1.0")).unwrap();
    assert_eq!(
        super::super::extract::escapes_on_disk(&f.root.join("opt/www"), &listing).as_deref(),
        Some("app-1.0")
    );
    let err = super::super::extract::extract(
        &HostWrite::new(f.host()),
        &tar_bytes(APP),
        super::super::entries::Format::Tar,
        0,
        &f.root.join("opt/www"),
    );
    assert!(
        matches!(err, Err(super::super::entries::ArchiveError::Unsafe(_))),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read_dir(f.root.join("elsewhere")).unwrap().count(),
        0
    );
}

#[test]
fn wrong_types_need_force() {
    let f = fixture();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    std::fs::create_dir_all(f.root.join("opt/www/app-1.0/README")).unwrap();
    let msg = fail(f.check(json!({"source": source})).unwrap());
    assert_eq!(msg, "The below paths (relative to /opt/www/) exist, but are the incorrect type (file instead of directory, symlink instead of file, etc.). To proceed with extraction, set 'force' to True. Note that this will remove these paths before extracting.\n\n- app-1.0/README");
    let applied = f.apply(json!({"source": source, "force": true}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.changes.unwrap()["removed"],
        json!(["/opt/www/app-1.0/README"])
    );
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
}

#[test]
fn bad_sources_and_names() {
    let f = fixture();
    assert_eq!(
        fail(f.check(json!({"source": "/srv/missing.tar.gz"})).unwrap()),
        "Source file '/srv/missing.tar.gz' does not exist"
    );
    assert!(fail(
        f.check(json!({"source": "ftp://example.com/a.tar.gz"}))
            .unwrap()
    )
    .starts_with("Source 'ftp://example.com/a.tar.gz' is not supported"));
    // A download needs a hash (state::http_sources_tests downloads for real).
    assert!(fail(
        f.check(json!({"source": "https://example.com/a.tar.gz"}))
            .unwrap()
    )
    .starts_with("Unable to verify upstream hash of source file https://example.com/a.tar.gz"));
    assert_eq!(
        fail(f.check(json!({"source": "/srv/x", "name": "opt"})).unwrap()),
        "opt is not an absolute path"
    );
    let source = f.local("app.bin", &gzip(&tar_bytes(APP)));
    assert!(fail(f.check(json!({"source": source})).unwrap())
        .starts_with("Could not guess archive_format"));
    change(
        f.check(json!({"source": source, "archive_format": "tar"}))
            .unwrap(),
    );
    let junk = f.local("junk.zip", b"not a zip at all");
    assert!(fail(f.check(json!({"source": junk})).unwrap())
        .starts_with("Unable to list contents of /srv/junk.zip"));
    assert_eq!(
        fail(
            f.check(
                json!({"source": source, "archive_format": "tar", "user": "no-such-user-brine"})
            )
            .unwrap()
        ),
        "User no-such-user-brine does not exist"
    );
    std::fs::write(f.root.join("srv/file"), "").unwrap();
    assert_eq!(
        fail(
            f.check(json!({"source": source, "name": "/srv/file"}))
                .unwrap()
        ),
        "/srv/file exists and is not a directory"
    );
}
