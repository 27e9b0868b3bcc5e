use serde_json::json;

use super::*;

#[test]
fn new_directory_then_mode_change_as_salt_reports_them() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.p("/srv")).unwrap();
    let args = json!({"name": "/srv/data/", "mode": 750, "user": "deploy"});
    let seen = fx.seen("directory", args.clone());
    assert_eq!(seen.changes(), &json!({"/srv/data": {"directory": "new"}}));
    assert_eq!(
        seen.comment(),
        "The following files will be changed:\n/srv/data: directory - new\n"
    );
    let done = fx.apply("directory", args.clone());
    assert!(done.result);
    assert_eq!(done.comment, "");
    assert_eq!(
        applied_changes(&done),
        json!({"/srv/data": {"directory": "new"}})
    );
    assert_eq!(
        (fx.mode("/srv/data"), fx.owner("/srv/data").0),
        (0o750, DEPLOY)
    );
    match fx.check("directory", args).unwrap() {
        Check::Clean { comment, .. } => {
            assert_eq!(comment, "The directory /srv/data is in the correct state")
        }
        _ => panic!("expected clean"),
    }

    let args = json!({"name": "/srv/data", "dir_mode": "0700"});
    let seen = fx.seen("directory", args.clone());
    assert_eq!(seen.changes(), &json!({"/srv/data": {"mode": "0700"}}));
    let done = fx.apply("directory", args.clone());
    assert_eq!(done.comment, "Directory /srv/data updated");
    assert_eq!(
        applied_changes(&done),
        json!({"/srv/data": {"mode": "0700"}, "mode": "0700"})
    );
    fx.assert_clean("directory", args);
}

#[test]
fn missing_parent_needs_makedirs() {
    let fx = Fixture::new();
    let args = json!({"name": "/a/b/c"});
    let done = fx.apply("directory", args);
    assert!(!done.result);
    assert_eq!(done.comment, "No directory to create /a/b/c in");
    let args = json!({"name": "/a/b/c", "makedirs": true, "mode": 711});
    fx.apply("directory", args.clone());
    assert_eq!((fx.mode("/a"), fx.mode("/a/b/c")), (0o711, 0o711));
    fx.assert_clean("directory", args);
}

#[test]
fn recurse_sets_modes_below_and_reports_per_path() {
    let fx = Fixture::new();
    fx.write("/d/keep", "");
    fx.write("/d/sub/y", "");
    fx.chmod("/d/keep", 0o644);
    fx.chmod("/d/sub/y", 0o640);
    fx.chmod("/d/sub", 0o755);
    fx.chmod("/d", 0o755);
    let args = json!({"name": "/d", "recurse": ["mode"], "dir_mode": 750, "file_mode": 640});
    let seen = fx.seen("directory", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({"/d/keep": {"mode": "0640"}, "/d/sub": {"mode": "0750"}, "/d": {"mode": "0750"}})
    );
    assert_eq!(
        seen.comment(),
        "The following files will be changed:\n/d/keep: mode - 0640\n/d/sub: mode - 0750\n/d: mode - 0750\n"
    );
    let done = fx.apply("directory", args.clone());
    assert_eq!(done.comment, "Directory /d updated");
    assert_eq!(
        applied_changes(&done),
        json!({"/d/keep": {"mode": "0640"}, "/d/sub": {"mode": "0750"}, "/d": {"mode": "0750"}, "mode": "0750"})
    );
    assert_eq!(
        (fx.mode("/d/keep"), fx.mode("/d/sub"), fx.mode("/d/sub/y")),
        (0o640, 0o750, 0o640)
    );
    fx.assert_clean("directory", args);

    let owners =
        json!({"name": "/d", "recurse": ["user", "group"], "user": "deploy", "group": "staff"});
    fx.apply("directory", owners.clone());
    assert_eq!(fx.owner("/d/sub/y"), (DEPLOY, STAFF));
    fx.assert_clean("directory", owners);

    let seen = fx.seen("directory", json!({"name": "/d", "recurse": ["user"]}));
    assert_eq!(
        seen.comment(),
        "user not specified, but configured as a target for recursive ownership management"
    );
    let seen = fx.seen("directory", json!({"name": "/d", "recurse": ["bogus"]}));
    assert!(
        seen.comment()
            .starts_with("Types for \"recurse\" limited to"),
        "{seen:?}"
    );
}

#[test]
fn clean_removes_what_no_state_asked_for() {
    let fx = Fixture::new();
    for f in ["/d/x", "/d/sub/y", "/d/keep", "/d/managed.conf"] {
        fx.write(f, "");
    }
    std::fs::create_dir_all(fx.p("/d/sub/deep")).unwrap();
    let args = json!({
        "name": "/d", "clean": true, "exclude_pat": "keep",
        "require": [{"file": "/d/managed.conf"}],
    });
    let seen = fx.seen("directory", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({
            "/d/x": {"removed": "Removed due to clean"},
            "/d/sub": {"removed": "Removed due to clean"},
            "/d/sub/y": {"removed": "Removed due to clean"},
            "/d/sub/deep": {"removed": "Removed due to clean"},
        })
    );
    let done = fx.apply("directory", args.clone());
    assert_eq!(done.comment, "Files cleaned from directory /d");
    assert_eq!(applied_changes(&done)["removed"], json!(["/d/sub", "/d/x"]));
    assert!(fx.p("/d/keep").exists() && fx.p("/d/managed.conf").exists());
    assert!(!fx.p("/d/sub").exists() && !fx.p("/d/x").exists());
    fx.assert_clean("directory", args);
    let seen = fx.seen(
        "directory",
        json!({"name": "/d", "clean": true, "max_depth": 1}),
    );
    assert_eq!(seen.comment(), "Cannot specify both max_depth and clean");
}

#[test]
fn a_file_in_the_way_fails_unless_forced_or_backed_up() {
    let fx = Fixture::new();
    fx.write("/spot", "file");
    let seen = fx.seen("directory", json!({"name": "/spot"}));
    assert_eq!(
        seen.comment(),
        "Specified location /spot exists and is a file"
    );
    let args = json!({"name": "/spot", "force": true});
    let seen = fx.seen("directory", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({"forced": "File would be forcibly replaced", "/spot": {"directory": "new"}})
    );
    let done = fx.apply("directory", args);
    assert_eq!(
        applied_changes(&done),
        json!({"forced": "File was forcibly replaced", "/spot": {"directory": "new"}})
    );
    assert!(fx.p("/spot").is_dir());

    fx.write("/other", "precious");
    let args = json!({"name": "/other", "backupname": "/other.bak"});
    let seen = fx.seen("directory", args.clone());
    assert_eq!(
        seen.comment(),
        "/other would be backed up and replaced with a new directory"
    );
    fx.apply("directory", args);
    assert_eq!(fx.read("/other.bak"), "precious");
    assert!(fx.p("/other").is_dir());
}
