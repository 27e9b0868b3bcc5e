use serde_json::json;

use super::*;

#[test]
fn symlink_create_retarget_chown_and_force() {
    let fx = Fixture::new();
    fx.write("/t", "");
    let args = json!({"name": "/l", "target": "/t"});
    let seen = fx.seen("symlink", args.clone());
    assert_eq!(seen.changes(), &json!({"new": "/l"}));
    assert_eq!(seen.comment(), "Symlink /l to /t is set for creation");
    let done = fx.apply("symlink", args.clone());
    assert_eq!(done.comment, "Created new symlink /l -> /t");
    assert_eq!(applied_changes(&done), json!({"new": "/l"}));
    assert_eq!(
        std::fs::read_link(fx.p("/l")).unwrap(),
        std::path::PathBuf::from("/t")
    );
    match fx.check("symlink", args).unwrap() {
        Check::Clean {
            comment,
            test_comment,
        } => {
            assert_eq!(comment, "Symlink /l is present and owned by root:root");
            assert_eq!(test_comment.as_deref(), Some("The symlink /l is present"));
        }
        _ => panic!("expected clean"),
    }

    let args = json!({"name": "/l", "target": "/u"});
    assert_eq!(
        fx.seen("symlink", args.clone()).comment(),
        "Link /l target is set to be changed to /u"
    );
    fx.apply("symlink", args.clone());
    assert_eq!(
        std::fs::read_link(fx.p("/l")).unwrap(),
        std::path::PathBuf::from("/u")
    );
    fx.assert_clean("symlink", args);

    let args = json!({"name": "/l", "target": "/u", "user": "deploy", "group": "staff"});
    let seen = fx.seen("symlink", args.clone());
    assert_eq!(seen.changes(), &json!({"ownership": "root:root"}));
    let done = fx.apply("symlink", args.clone());
    assert_eq!(done.comment, "Set ownership of symlink /l to deploy:staff");
    assert_eq!(fx.owner("/l"), (DEPLOY, STAFF));
    fx.assert_clean("symlink", args);

    let seen = fx.seen("symlink", json!({"name": "/t", "target": "/x"}));
    assert_eq!(seen.comment(), "File exists where the symlink /t should be");
    let args = json!({"name": "/t", "target": "/x", "force": true});
    fx.apply("symlink", args.clone());
    assert!(fx
        .p("/t")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
    fx.assert_clean("symlink", args);

    let args = json!({"name": "/deep/er/l", "target": "/t"});
    let done = fx.apply("symlink", args);
    assert!(!done.result);
    assert_eq!(
        done.comment,
        "Directory /deep/er for symlink is not present"
    );
    fx.apply(
        "symlink",
        json!({"name": "/deep/er/l", "target": "/t", "makedirs": true}),
    );
    assert!(fx.p("/deep/er/l").symlink_metadata().is_ok());
    let seen = fx.seen(
        "symlink",
        json!({"name": "/m", "target": "/t", "user": "ghost"}),
    );
    assert_eq!(seen.comment(), "User ghost does not exist");
}

#[test]
fn absent_exists_missing() {
    let fx = Fixture::new();
    fx.write("/d/f", "x");
    let seen = fx.seen("absent", json!({"name": "/d/f"}));
    assert_eq!(
        (seen.changes(), seen.comment()),
        (&json!({"removed": "/d/f"}), "File /d/f is set for removal")
    );
    let done = fx.apply("absent", json!({"name": "/d/f"}));
    assert_eq!(done.comment, "Removed file /d/f");
    let seen = fx.seen("absent", json!({"name": "/d"}));
    assert_eq!(seen.comment(), "Directory /d is set for removal");
    assert_eq!(
        fx.apply("absent", json!({"name": "/d"})).comment,
        "Removed directory /d"
    );
    match fx.check("absent", json!({"name": "/d"})).unwrap() {
        Check::Clean { comment, .. } => assert_eq!(comment, "File /d is not present"),
        _ => panic!("expected clean"),
    }
    assert_eq!(
        fx.seen("absent", json!({"name": "/"})).comment(),
        "Refusing to make \"/\" absent"
    );
    assert!(fx.seen("exists", json!({"name": "/d"})).is_fail());
    assert_eq!(
        fx.seen("missing", json!({"name": "/d"})).comment(),
        "Path /d is missing"
    );
    assert_eq!(
        fx.seen("exists", json!({"name": "/etc"})).comment(),
        "Path /etc exists"
    );
}

#[test]
fn touch_creates_and_sets_times() {
    let fx = Fixture::new();
    let args = json!({"name": "/a/t", "makedirs": true});
    let seen = fx.seen("touch", args.clone());
    assert_eq!(
        (seen.changes(), seen.comment()),
        (&json!({"new": "/a/t"}), "File /a/t is set to be created")
    );
    let done = fx.apply("touch", args);
    assert_eq!(done.comment, "Created empty file /a/t");
    let timed = json!({"name": "/a/t", "atime": 1_000_000, "mtime": 2_000_000});
    let done = fx.apply("touch", timed);
    assert_eq!(done.comment, "Updated times on file /a/t");
    let m = std::fs::metadata(fx.p("/a/t")).unwrap();
    assert_eq!((m.atime(), m.mtime()), (1_000_000, 2_000_000));
    // (Reading a file may move its atime, so only mtime is compared again.)
    fx.assert_clean("touch", json!({"name": "/a/t", "mtime": 2_000_000}));
    assert_eq!(
        fx.seen("touch", json!({"name": "/a/t"})).changes(),
        &json!({"touched": "/a/t"})
    );
    assert!(fx
        .check("touch", json!({"name": "/a/t", "mtime": "noon"}))
        .is_err());
}

#[test]
fn copy_a_local_file_and_a_tree() {
    let fx = Fixture::new();
    fx.write("/src/f", "data");
    fx.chmod("/src/f", 0o640);
    let args = json!({"name": "/dst/f", "source": "/src/f", "makedirs": true, "user": "deploy"});
    let seen = fx.seen("copy", args.clone());
    assert_eq!(
        seen.comment(),
        "File \"/src/f\" is set to be copied to \"/dst/f\""
    );
    let done = fx.apply("copy", args.clone());
    assert_eq!(done.comment, "Copied \"/src/f\" to \"/dst/f\"");
    assert_eq!(
        applied_changes(&done),
        json!({"/dst/f": "/src/f", "user": "deploy", "group": "deploy"})
    );
    assert_eq!(
        (
            fx.read("/dst/f").as_str(),
            fx.mode("/dst/f"),
            fx.owner("/dst/f")
        ),
        ("data", 0o640, (DEPLOY, DEPLOY))
    );
    match fx.check("copy", args).unwrap() {
        Check::Clean { comment, .. } => {
            assert_eq!(
                comment,
                "The target file \"/dst/f\" exists and will not be overwritten"
            )
        }
        _ => panic!("expected clean"),
    }
    fx.write("/src/f", "data2");
    let forced = json!({"name": "/dst/f", "source": "/src/f", "force": true, "user": "deploy"});
    fx.apply("copy", forced.clone());
    assert_eq!(fx.read("/dst/f"), "data2");
    fx.assert_clean("copy", forced);

    fx.write("/tree/a/b", "b");
    std::os::unix::fs::symlink("b", fx.p("/tree/a/link")).unwrap();
    fx.apply("copy", json!({"name": "/copy", "source": "/tree"}));
    assert_eq!(fx.read("/copy/a/b"), "b");
    assert_eq!(
        std::fs::read_link(fx.p("/copy/a/link")).unwrap(),
        std::path::PathBuf::from("b")
    );
    assert!(fx.temp_files().is_empty());
    let seen = fx.seen("copy", json!({"name": "/x", "source": "/nope"}));
    assert_eq!(seen.comment(), "Source file \"/nope\" is not present");
}

#[test]
fn serialize_json_and_yaml_then_merge() {
    let fx = Fixture::with_pillar(json!({"app": {"port": 80}}));
    let args = json!({"name": "/c.json", "dataset": {"b": 1, "a": [1, 2]}, "serializer": "json"});
    let seen = fx.seen("serialize", args.clone());
    assert_eq!(seen.changes(), &json!({"newfile": "/c.json"}));
    assert_eq!(
        seen.comment(),
        "Dataset will be serialized and stored into /c.json"
    );
    let done = fx.apply("serialize", args.clone());
    assert_eq!(applied_changes(&done), json!({"diff": "New file"}));
    let back: Value = serde_json::from_str(&fx.read("/c.json")).unwrap();
    assert_eq!(back, json!({"a": [1, 2], "b": 1}));
    assert!(fx.read("/c.json").ends_with('\n'));
    fx.assert_clean("serialize", args);

    let args = json!({"name": "/c.yaml", "dataset_pillar": "app", "formatter": "yaml"});
    fx.apply("serialize", args.clone());
    assert_eq!(
        common::yaml::load(&fx.read("/c.yaml")).unwrap(),
        json!({"port": 80})
    );
    fx.assert_clean("serialize", args);

    let merge = json!({"name": "/c.json", "dataset": {"c": 3}, "serializer": "json", "merge_if_exists": true});
    fx.apply("serialize", merge.clone());
    let back: Value = serde_json::from_str(&fx.read("/c.json")).unwrap();
    assert_eq!(back, json!({"a": [1, 2], "b": 1, "c": 3}));
    fx.assert_clean("serialize", merge);

    let seen = fx.seen(
        "serialize",
        json!({"name": "/x", "dataset": {"a": 1}, "serializer": "toml"}),
    );
    assert!(seen
        .comment()
        .starts_with("The toml serializer could not be found"));
    let seen = fx.seen("serialize", json!({"name": "/x"}));
    assert_eq!(
        seen.comment(),
        "Neither 'dataset' nor 'dataset_pillar' was defined"
    );
}

#[test]
fn serialized_text_is_what_salt_writes() {
    // Recorded from Salt 3007.8: file.serialize with the same datasets.
    let fx = Fixture::new();
    let data = json!({"b": 1, "a": [1, 2], "c": {"x": "é"}});
    fx.apply(
        "serialize",
        json!({"name": "/s.json", "dataset": data, "serializer": "json"}),
    );
    assert_eq!(
        fx.read("/s.json"),
        "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1,\n  \"c\": {\n    \"x\": \"é\"\n  }\n}\n"
    );
    let data = json!({"b": 1, "a": [1, 2], "c": {"x": "y"}});
    fx.apply("serialize", json!({"name": "/s.yaml", "dataset": data}));
    assert_eq!(fx.read("/s.yaml"), "a:\n- 1\n- 2\nb: 1\nc:\n  x: y\n");
}
