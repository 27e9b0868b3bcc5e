use serde_json::json;

use super::*;

#[test]
fn append_adds_only_missing_lines() {
    let fx = Fixture::new();
    fx.write("/f", "a\nb\n");
    fx.chmod("/f", 0o600);
    let args = json!({"name": "/f", "text": ["c", "a", "  b  "]});
    let seen = fx.seen("append", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({"diff": "--- \n\n+++ \n\n@@ -1,2 +1,3 @@\n\n a\n b\n+c"})
    );
    assert_eq!(seen.comment(), "File /f is set to be updated");
    let done = fx.apply("append", args.clone());
    assert_eq!(done.comment, "Appended 1 lines");
    assert_eq!(
        (fx.read("/f").as_str(), fx.mode("/f")),
        ("a\nb\nc\n", 0o600)
    );
    match fx.check("append", args).unwrap() {
        Check::Clean { comment, .. } => assert_eq!(comment, "File /f is in correct state"),
        _ => panic!("expected clean"),
    }
    // No final newline: one is added before the new line.
    fx.write("/g", "x");
    fx.apply(
        "append",
        json!({"name": "/g", "text": "y", "ignore_whitespace": false}),
    );
    assert_eq!(fx.read("/g"), "x\ny\n");
    // A missing file is created.
    let args = json!({"name": "/new/h", "text": "hello", "makedirs": true});
    let seen = fx.seen("append", args.clone());
    assert_eq!(seen.changes(), &json!({"new": "/new/h"}));
    assert_eq!(seen.comment(), "File /new/h is set to be created");
    fx.apply("append", args.clone());
    assert_eq!(fx.read("/new/h"), "hello\n");
    fx.assert_clean("append", args);
    let seen = fx.seen("append", json!({"name": "/f"}));
    assert_eq!(seen.comment(), "No text found to append. Nothing appended");
}

#[test]
fn append_from_a_template_source() {
    let fx = Fixture::new();
    fx.write_src("lines.j2", "host {{ who }}\n");
    fx.write("/f", "");
    let args = json!({"name": "/f", "source": "salt://lines.j2", "context": {"who": "web01"}});
    fx.apply("append", args.clone());
    assert_eq!(fx.read("/f"), "host web01\n");
    fx.assert_clean("append", args);
}

#[test]
fn replace_with_backrefs_backup_and_append_if_not_found() {
    let fx = Fixture::new();
    fx.write("/r", "a\nport = 1\n");
    let args = json!({"name": "/r", "pattern": "^port = (\\d+)", "repl": "port = 2\\1"});
    let seen = fx.seen("replace", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({"diff": "--- \n+++ \n@@ -1,2 +1,2 @@\n a\n-port = 1\n+port = 21\n"})
    );
    assert_eq!(seen.comment(), "Changes would have been made");
    let done = fx.apply("replace", args);
    assert_eq!(done.comment, "Changes were made");
    assert_eq!(fx.read("/r"), "a\nport = 21\n");
    assert_eq!(fx.read("/r.bak"), "a\nport = 1\n");
    let same = json!({"name": "/r", "pattern": "^port = 21$", "repl": "port = 21"});
    match fx.check("replace", same).unwrap() {
        Check::Clean { comment, .. } => assert_eq!(comment, "No changes needed to be made"),
        _ => panic!("expected clean"),
    }

    let add = json!({"name": "/r", "pattern": "^x = .*", "repl": "x = 1", "append_if_not_found": true, "backup": false});
    let seen = fx.seen("replace", add.clone());
    assert_eq!(
        seen.changes(),
        &json!({"diff": "--- \n+++ \n@@ -1,2 +1,3 @@\n a\n port = 21\n+x = 1\n"})
    );
    fx.apply("replace", add.clone());
    fx.assert_clean("replace", add);
    let pre = json!({"name": "/r", "pattern": "^#top", "repl": "#top", "prepend_if_not_found": true, "not_found_content": "# managed"});
    fx.apply("replace", pre.clone());
    assert_eq!(fx.read("/r"), "# managed\na\nport = 21\nx = 1\n");
    fx.assert_clean("replace", pre);

    let quiet = json!({"name": "/r", "pattern": "x = 1", "repl": "x = 2", "show_changes": false, "flags": ["IGNORECASE"]});
    assert_eq!(fx.seen("replace", quiet).changes(), &json!({"diff": true}));
    let once = json!({"name": "/r", "pattern": "\\d", "repl": "N", "count": 1});
    fx.apply("replace", once);
    assert_eq!(fx.read("/r"), "# managed\na\nport = N1\nx = 1\n");
}

#[test]
fn replace_refuses_what_it_cannot_do_faithfully() {
    let fx = Fixture::new();
    fx.write("/r", "a\n");
    let seen = fx.seen(
        "replace",
        json!({"name": "/r", "pattern": "(?<=a)b", "repl": "c"}),
    );
    assert!(
        seen.is_fail() && seen.comment().contains("which Brine cannot evaluate"),
        "{seen:?}"
    );
    let seen = fx.seen(
        "replace",
        json!({"name": "/r", "pattern": "(a", "repl": "c"}),
    );
    assert!(seen.is_fail(), "{seen:?}");
    let seen = fx.seen(
        "replace",
        json!({"name": "/r", "pattern": "a", "repl": "\\2"}),
    );
    assert!(
        seen.comment().contains("invalid group reference"),
        "{seen:?}"
    );
    let seen = fx.seen(
        "replace",
        json!({"name": "/missing", "pattern": "a", "repl": "b"}),
    );
    assert_eq!(seen.comment(), "/missing: file not found");
    match fx
        .check(
            "replace",
            json!({"name": "/missing", "pattern": "a", "repl": "b", "ignore_if_missing": true}),
        )
        .unwrap()
    {
        Check::Clean { comment, .. } => assert_eq!(comment, "No changes needed to be made"),
        _ => panic!("expected clean"),
    }
    std::fs::write(fx.p("/bin"), b"\0\0a").unwrap();
    let seen = fx.seen(
        "replace",
        json!({"name": "/bin", "pattern": "a", "repl": "b"}),
    );
    assert_eq!(
        seen.comment(),
        "Cannot perform string replacements on a binary file: /bin"
    );
    assert!(fx
        .check("replace", json!({"name": "/r", "pattern": "a"}))
        .is_err());
}

#[test]
fn line_ensure_replace_delete_and_create() {
    let fx = Fixture::new();
    fx.write("/l", "a\n  b\nc\n");
    let args = json!({"name": "/l", "content": "x", "mode": "ensure", "after": "b"});
    let seen = fx.seen("line", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({"diff": "--- \n+++ \n@@ -1,3 +1,4 @@\n a\n   b\n+  x\n c\n"})
    );
    assert_eq!(seen.comment(), "Changes would be made");
    let done = fx.apply("line", args.clone());
    assert_eq!(done.comment, "Changes were made");
    assert_eq!(fx.read("/l"), "a\n  b\n  x\nc\n");
    // Salt would add the indented line again on every run; Brine does not.
    fx.assert_clean("line", args);

    fx.apply(
        "line",
        json!({"name": "/l", "content": "C", "match": "^c$", "mode": "replace"}),
    );
    assert_eq!(fx.read("/l"), "a\n  b\n  x\nC\n");
    fx.apply(
        "line",
        json!({"name": "/l", "match": "x", "mode": "delete"}),
    );
    assert_eq!(fx.read("/l"), "a\n  b\nC\n");
    // Salt's insert at the end, blank line and missing final newline included.
    fx.apply(
        "line",
        json!({"name": "/l", "content": "END", "mode": "insert", "location": "end"}),
    );
    assert_eq!(fx.read("/l"), "a\n  b\nC\n\nEND");

    let create = json!({"name": "/new", "content": "k=v", "mode": "insert", "location": "start", "create": true, "file_mode": 600});
    fx.apply("line", create);
    assert_eq!(
        (fx.read("/new").as_str(), fx.mode("/new")),
        ("k=v\n", 0o600)
    );
    let seen = fx.seen(
        "line",
        json!({"name": "/nope", "content": "x", "mode": "ensure", "after": "b"}),
    );
    assert_eq!(seen.comment(), "/nope: file not found");
    let seen = fx.seen(
        "line",
        json!({"name": "/l", "content": "y", "mode": "ensure"}),
    );
    assert_eq!(
        seen.comment(),
        "Wrong conditions? Unable to ensure line without knowing where to put it before and/or after."
    );
    let seen = fx.seen("line", json!({"name": "/l", "content": "y"}));
    assert_eq!(
        seen.comment(),
        "Mode was not defined. How to process the file?"
    );
}

#[test]
fn blockreplace_between_markers() {
    let fx = Fixture::new();
    fx.write(
        "/b",
        "a\n#-- start managed zone --\nold\n#-- end managed zone --\nz\n",
    );
    let args = json!({"name": "/b", "content": "new"});
    let seen = fx.seen("blockreplace", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({"diff": "--- \n+++ \n@@ -1,5 +1,5 @@\n a\n #-- start managed zone --\n-old\n+new\n #-- end managed zone --\n z\n"})
    );
    assert_eq!(seen.comment(), "Changes would be made");
    fx.apply("blockreplace", args.clone());
    assert_eq!(
        fx.read("/b.bak"),
        "a\n#-- start managed zone --\nold\n#-- end managed zone --\nz\n"
    );
    fx.assert_clean("blockreplace", args);

    fx.write("/c", "x\n");
    let seen = fx.seen("blockreplace", json!({"name": "/c", "content": "new"}));
    assert_eq!(
        seen.comment(),
        "Encountered error managing block: Cannot edit marked block. Markers were not found in file.. See the log for details."
    );
    let args = json!({"name": "/c", "marker_start": "# BEGIN", "marker_end": "# END", "content": "k=v\n", "prepend_if_not_found": true, "backup": false});
    fx.apply("blockreplace", args.clone());
    assert_eq!(fx.read("/c"), "# BEGIN\nk=v\n# END\nx\n");
    assert!(!fx.p("/c.bak").exists());
    fx.assert_clean("blockreplace", args);
}

#[test]
fn comment_and_uncomment() {
    let fx = Fixture::new();
    fx.write("/c", "foo=1\n  foo=2\nbar\n");
    let args = json!({"name": "/c", "regex": "^foo"});
    let seen = fx.seen("comment", args.clone());
    assert_eq!(seen.changes(), &json!({"/c": "updated"}));
    assert_eq!(seen.comment(), "File /c is set to be updated");
    let done = fx.apply("comment", args.clone());
    assert_eq!(done.comment, "Commented lines successfully");
    assert_eq!(
        applied_changes(&done),
        json!({"diff": "--- \n+++ \n@@ -1,3 +1,3 @@\n-foo=1\n+#foo=1\n   foo=2\n bar\n"})
    );
    assert_eq!(fx.read("/c"), "#foo=1\n  foo=2\nbar\n");
    assert_eq!(fx.read("/c.bak"), "foo=1\n  foo=2\nbar\n");
    // "  foo=2" still matches, but Salt's line regex only takes lines that
    // start with it: nothing left to do, as Salt finds.
    match fx.check("comment", args).unwrap() {
        Check::Clean { comment, .. } => assert_eq!(comment, "Commented lines successfully"),
        _ => panic!("expected clean"),
    }
    match fx
        .check("comment", json!({"name": "/c", "regex": "^foo=1"}))
        .unwrap()
    {
        Check::Clean { comment, .. } => assert_eq!(comment, "Pattern already commented"),
        _ => panic!("expected clean"),
    }
    let seen = fx.seen("comment", json!({"name": "/c", "regex": "nothing"}));
    assert_eq!(seen.comment(), "nothing: Pattern not found");

    let args = json!({"name": "/c", "regex": "foo=1", "backup": false});
    let done = fx.apply("uncomment", args.clone());
    assert_eq!(done.comment, "Uncommented lines successfully");
    assert_eq!(fx.read("/c"), "foo=1\n  foo=2\nbar\n");
    match fx.check("uncomment", args).unwrap() {
        Check::Clean { comment, .. } => assert_eq!(comment, "Pattern already uncommented"),
        _ => panic!("expected clean"),
    }
    let seen = fx.seen("uncomment", json!({"name": "/c", "regex": "zzz"}));
    assert_eq!(seen.comment(), "zzz: Pattern not found");
}
