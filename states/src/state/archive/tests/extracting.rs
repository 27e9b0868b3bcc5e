//! Archives extracted, re-checked and re-extracted as Salt does.
use super::*;

#[test]
fn tar_gz_is_extracted_then_present() {
    let f = fixture();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    let args = json!({"source": source});

    let (changes, comment) = change(f.check(args.clone()).unwrap());
    assert_eq!(comment, format!("Archive {source} would be extracted to /opt/www/, due to absence of one or more files/dirs"));
    assert_eq!(
        Value::Object(changes),
        json!({"directories_created": ["/opt/www/"], "extracted_files": NAMES})
    );

    let applied = f.apply(args.clone());
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        format!("{source} extracted to /opt/www/, due to absence of one or more files/dirs")
    );
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"directories_created": ["/opt/www/"], "extracted_files": NAMES})
    );
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
    let run = f.root.join("opt/www/app-1.0/bin/run");
    assert_eq!(
        std::fs::metadata(&run).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert_eq!(
        std::fs::read_link(f.root.join("opt/www/app-1.0/current")).unwrap(),
        Path::new("bin")
    );

    assert_eq!(
        clean(f.check(args).unwrap()),
        "All files in archive are already present"
    );
}

#[test]
fn tar_xz_and_bz2_from_salt_sources() {
    let f = fixture();
    std::fs::write(f.files.join("app.tar.xz"), xz(&tar_bytes(APP))).unwrap();
    std::fs::write(f.files.join("app.tbz2"), bzip(&tar_bytes(APP))).unwrap();
    let applied = f.apply(json!({"source": "salt://app.tar.xz"}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/app-1.0/bin/run"), "#!/bin/sh\n");
    clean(f.check(json!({"source": "salt://app.tar.xz"})).unwrap());

    let applied = f.apply(json!({"source": "salt://app.tbz2", "name": "/opt/other"}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/other/app-1.0/README"), "hello\n");

    let missing = fail(f.check(json!({"source": "salt://nope.tar.gz"})).unwrap());
    assert_eq!(
        missing,
        "Source file salt://nope.tar.gz not found in saltenv 'base'"
    );
}

#[test]
fn zip_is_extracted_with_modes_and_links() {
    let f = fixture();
    let source = f.local("app.zip", &zip_bytes(APP));
    let applied = f.apply(json!({"source": source}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
    let run = f.root.join("opt/www/app-1.0/bin/run");
    assert_eq!(
        std::fs::metadata(&run).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(
        std::fs::symlink_metadata(f.root.join("opt/www/app-1.0/current"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    clean(f.check(json!({"source": source})).unwrap());
}

#[test]
fn enforce_toplevel_as_salt() {
    let f = fixture();
    let bomb = f.local(
        "bomb.tar",
        &tar_bytes(&[File("a/x", "1", 0o644), File("b/y", "2", 0o644)]),
    );
    assert_eq!(
        fail(f.check(json!({"source": bomb})).unwrap()),
        "Archive does not have a single top-level directory. To allow this archive to be extracted, set 'enforce_toplevel' to False. To avoid a 'tar-bomb' it may also be advisable to set a top-level directory by adding it to the 'name' value (for example, setting 'name' to /opt/www/some_dir instead of /opt/www/)."
    );
    let loose = f.local("loose.zip", &zip_bytes(&[File("x", "1", 0o644)]));
    assert!(fail(f.check(json!({"source": loose})).unwrap()).contains("'zip-bomb'"));
    let applied = f.apply(json!({"source": bomb, "enforce_toplevel": false}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/b/y"), "2");
}

#[test]
fn if_missing_and_source_hash() {
    let f = fixture();
    let bytes = gzip(&tar_bytes(APP));
    let source = f.local("app.tar.gz", &bytes);
    std::fs::write(f.root.join("srv/flag"), "").unwrap();
    assert_eq!(
        clean(
            f.check(json!({"source": source, "if_missing": "/srv/flag"}))
                .unwrap()
        ),
        "Path /srv/flag exists"
    );
    assert_eq!(
        fail(
            f.check(json!({"source": source, "if_missing": "srv/flag"}))
                .unwrap()
        ),
        "Value for 'if_missing' is not an absolute path"
    );

    let sha = super::super::hash::digest("sha256", &bytes);
    let md5 = super::super::hash::digest("md5", &bytes);
    change(
        f.check(json!({"source": source, "source_hash": format!("sha256={sha}")}))
            .unwrap(),
    );
    change(
        f.check(json!({"source": source, "source_hash": md5}))
            .unwrap(),
    );
    let wrong = "0".repeat(64);
    assert_eq!(
        fail(
            f.check(json!({"source": source, "source_hash": wrong}))
                .unwrap()
        ),
        format!("{source} does not match the desired source_hash {wrong}")
    );
    change(
        f.check(json!({"source": source, "source_hash": wrong, "skip_verify": true}))
            .unwrap(),
    );
    std::fs::write(
        f.root.join("srv/SHA256SUMS"),
        format!("{wrong}  other.tar.gz\n{sha}  app.tar.gz\n"),
    )
    .unwrap();
    change(
        f.check(json!({"source": source, "source_hash": "/srv/SHA256SUMS"}))
            .unwrap(),
    );
    assert!(fail(
        f.check(json!({"source": source, "source_hash": "sha256=xyz"}))
            .unwrap()
    )
    .starts_with("Source hash sha256=xyz format is invalid."));
}

#[test]
fn overwrite_clean_and_source_hash_update() {
    let f = fixture();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    f.apply(json!({"source": source}));
    std::fs::write(f.root.join("opt/www/app-1.0/README"), "edited\n").unwrap();
    std::fs::write(f.root.join("opt/www/app-1.0/stray"), "x").unwrap();
    // Every path is there: nothing to do, as Salt.
    clean(f.check(json!({"source": source})).unwrap());

    let sha = super::super::hash::digest(
        "sha256",
        &std::fs::read(f.root.join("srv/app.tar.gz")).unwrap(),
    );
    let args = json!({"source": source, "source_hash": sha, "source_hash_update": true});
    let (_, comment) = change(f.check(args.clone()).unwrap());
    assert!(
        comment.ends_with(", due to source_hash update"),
        "{comment}"
    );
    let applied = f.apply(args.clone());
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
    clean(f.check(args).unwrap());

    std::fs::write(f.root.join("opt/www/app-1.0/README"), "edited\n").unwrap();
    let applied = f.apply(json!({"source": source, "overwrite": true, "clean": true}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.changes.unwrap()["removed"],
        json!(["/opt/www/app-1.0/"])
    );
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
    assert!(!f.root.join("opt/www/app-1.0/stray").exists());
}

#[test]
fn options_and_trim_output() {
    let f = fixture();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    let applied = f.apply(
        json!({"source": source, "options": "--strip-components=1", "enforce_toplevel": false}),
    );
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/README"), "hello\n");
    clean(f.check(json!({"source": source, "options": "v --strip-components 1", "enforce_toplevel": false})).unwrap());
    let msg = fail(
        f.check(json!({"source": source, "options": "--to-command=sh"}))
            .unwrap(),
    );
    assert!(
        msg.starts_with("The tar option '--to-command=sh' is not supported"),
        "{msg}"
    );

    let many: Vec<String> = (0..5).map(|i| format!("d/f{i}")).collect();
    let members: Vec<Member> = many.iter().map(|n| File(n, "x", 0o644)).collect();
    let zip = f.local("many.zip", &zip_bytes(&members));
    let applied = f.apply(json!({"source": zip, "name": "/opt/many", "trim_output": 2}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.changes.unwrap()["extracted_files"],
        json!(["d/f0", "d/f1", "List trimmed after 2 files."])
    );
    assert!(applied
        .comment
        .ends_with(". Output was trimmed to 2 number of lines"));
}

/// A user and a group that exist only in the fixture root's account files
/// (ids no real host gives out), so only a root-aware lookup finds them.
fn root_only_accounts(root: &Path) {
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "brine-only:x:64201:64202::/home/brine-only:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/group"), "brine-grp:x:64203:\n").unwrap();
}

#[test]
fn owners_are_looked_up_in_the_roots_account_files() {
    let f = fixture();
    root_only_accounts(&f.root);
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    // Known only to the root: resolved.
    let args = json!({"source": source, "user": "brine-only", "group": "brine-grp"});
    change(f.check(args).unwrap());
    // Known to this host (NSS) but not to the root: not resolved.
    assert_eq!(
        fail(f.check(json!({"source": source, "user": "root"})).unwrap()),
        "User root does not exist"
    );
    assert_eq!(
        fail(f.check(json!({"source": source, "group": "root"})).unwrap()),
        "Group root does not exist"
    );
}

#[test]
fn user_and_group_own_the_extracted_tree() {
    // Changing owners needs root; elsewhere there is nothing to check.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let f = fixture();
    root_only_accounts(&f.root);
    let (nobody, nogroup) = ((64201, 64202), 64203);
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    let args = json!({"source": source, "user": "brine-only", "group": "brine-grp"});
    let (changes, _) = change(f.check(args.clone()).unwrap());
    assert_eq!(changes["updated ownership"], json!(true));
    let applied = f.apply(args.clone());
    assert!(applied.result, "{}", applied.comment);
    for path in [
        "opt/www/app-1.0",
        "opt/www/app-1.0/bin/run",
        "opt/www/app-1.0/current",
    ] {
        let meta = std::fs::symlink_metadata(f.root.join(path)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (nobody.0, nogroup), "{path}");
    }
    clean(f.check(args.clone()).unwrap());

    std::os::unix::fs::lchown(f.root.join("opt/www/app-1.0/README"), Some(0), Some(0)).unwrap();
    let (changes, comment) = change(f.check(args.clone()).unwrap());
    assert_eq!(Value::Object(changes), json!({"updated ownership": true}));
    assert_eq!(comment, "All files in archive are already present. Ownership would be updated on one or more files/directories.");
    let applied = f.apply(args.clone());
    assert_eq!(applied.comment, "All files in archive are already present");
    clean(f.check(args).unwrap());
}

#[test]
fn registered_in_the_registry() {
    let names: Vec<_> = super::super::super::registry()
        .iter()
        .map(|m| m.name())
        .collect();
    assert!(
        names.contains(&"archive") && names.contains(&"git"),
        "{names:?}"
    );
}
