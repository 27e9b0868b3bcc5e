use super::super::salt_oracle::Salt;
use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::*;
use serde_json::json;

const START: &str = "# top\na=1\n\n[s1]\n#k = old\nx = 1\n; semi\n[s2]\ny=2\n";

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
fn options_present_edits_like_salt_then_is_clean_and_a_dry_run_writes_nothing() {
    let t = TestHost::new();
    t.write("/etc/app.ini", START);
    let args = json!({"name": "/etc/app.ini", "sections": {
        "a": 2, "s1": {"k": "v", "x": 1}, "s3": {"z": true}
    }});
    let before = t.snapshot();
    let check = t.check(&Ini, "options_present", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before, "check wrote to the root");
    assert_eq!(
        comment_of(&check),
        "Changed key a.\nChanged key k in section s1.\nUnchanged key x in section s1.\nChanged key z in section s3.\n"
    );
    assert!(changes_of(&check).unwrap().is_empty());
    let applied = t.apply(check);
    assert!(applied.result);
    assert_eq!(applied.comment, "Changes take effect");
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({
            "a": {"before": "1", "after": "2"},
            "s1": {"k": {"before": null, "after": "v"}},
            "s3": {"before": null, "after": {"z": "True"}},
        })
    );
    // What Salt 3007.8 leaves (recorded with salt-call on the same input):
    // the commented `#k = old` gives its place to k.
    assert_eq!(
        t.read("/etc/app.ini"),
        "# top\na = 2\n\n[s1]\nk = v\nx = 1\n; semi\n\n[s2]\ny = 2\n\n[s3]\nz = True\n"
    );
    let again = t.check(&Ini, "options_present", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(comment_of(&again), "No anomaly detected");
    assert_eq!(
        test_comment(&again),
        "Unchanged key a.\nUnchanged key k in section s1.\nUnchanged key x in section s1.\nUnchanged key z in section s3.\n"
    );
}

#[test]
fn strict_removes_what_sections_do_not_name() {
    let t = TestHost::new();
    t.write("/etc/app.ini", "a = 1\nb = 2\n[s]\nx = 1\ny = 2\n");
    let args = json!({"name": "/etc/app.ini", "strict": true, "separator": "=",
        "sections": {"a": 1, "s": {"x": 1}}});
    let check = t.check(&Ini, "options_present", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "Unchanged key a.\nRemoved key b.\nDeleted key y in section s.\nUnchanged key x in section s.\n"
    );
    let applied = t.apply(check);
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"b": {"before": "2", "after": null}, "s": {"y": {"before": "2", "after": null}}})
    );
    assert_eq!(t.read("/etc/app.ini"), "a = 1\n\n[s]\nx = 1\n");
    assert!(is_clean(&t.check(&Ini, "options_present", args).unwrap()));
}

#[test]
fn options_absent_and_sections_present() {
    let t = TestHost::new();
    t.write("/etc/app.ini", "top = 1\n[s]\nx = 1\ny = 2\n");
    let args = json!({"name": "/etc/app.ini", "sections": {"s": ["x", "nope"], "": ["top"]}});
    let before = t.snapshot();
    let check = t.check(&Ini, "options_absent", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Deleted key x in section s.\nKey nope in section s does not exist.\nDeleted key top.\n"
    );
    let applied = t.apply(check);
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"s": {"x": "1"}, "": {"top": "1"}})
    );
    assert_eq!(t.read("/etc/app.ini"), "[s]\ny = 2\n");
    let again = t.check(&Ini, "options_absent", args).unwrap();
    assert!(is_clean(&again));

    let args = json!({"name": "/etc/app.ini", "sections": ["s", "new"]});
    let before = t.snapshot();
    let check = t.check(&Ini, "sections_present", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Section unchanged s.\nCreated new section new.\n"
    );
    let applied = t.apply(check);
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"new": {"before": null, "after": {}}})
    );
    assert_eq!(t.read("/etc/app.ini"), "[s]\ny = 2\n\n[new]\n");
    assert!(is_clean(&t.check(&Ini, "sections_present", args).unwrap()));
}

#[test]
fn continuation_lines_and_a_missing_file() {
    let t = TestHost::new();
    t.write("/etc/c.ini", "[s]\nlong = a\n  b\nz: 9\n");
    let args = json!({"name": "/etc/c.ini", "separator": ":", "sections": {"s": {"z": 10}}});
    t.apply(t.check(&Ini, "options_present", args).unwrap());
    assert_eq!(t.read("/etc/c.ini"), "[s]\nlong = a\n  b\nz : 10\n");

    let args = json!({"name": "/etc/new.ini", "sections": {"k": "v"}});
    t.apply(t.check(&Ini, "options_present", args).unwrap());
    assert_eq!(t.read("/etc/new.ini"), "k = v\n");
    assert!(t
        .check(
            &Ini,
            "options_present",
            json!({"name": "/etc/new.ini", "encoding": "latin-1"})
        )
        .is_err());
}

#[test]
fn options_present_matches_salt() {
    let cases: &[(&str, Value, &[&str])] = &[
        (
            START,
            json!({"a": 2, "s1": {"k": "v", "x": 1}, "s3": {"z": true}}),
            &[],
        ),
        (
            "a = 1\nb = 2\n[s]\nx = 1\ny = 2\n",
            json!({"a": 1, "s": {"x": 1}}),
            &["strict=True"],
        ),
        (
            "[db]\nhost=localhost\n# port = 5432\n\n[web]\nport=80\n",
            json!({"db": {"port": 5433}}),
            &[],
        ),
        ("k = v\n", json!({"k": "v"}), &[]),
    ];
    for (start, sections, extra) in cases {
        for test in [true, false] {
            let Some(oracle) = Salt::new("") else { return };
            oracle.write("f.ini", start);
            let mut words = vec![
                format!("name={}", oracle.path("f.ini").display()),
                format!("sections={sections}"),
            ];
            words.extend(extra.iter().map(|w| w.to_string()));
            let salt = oracle.state("ini.options_present", &words, test);
            let salt_text = oracle.read("f.ini");
            let t = TestHost::new();
            t.write("/etc/f.ini", start);
            let mut args = json!({"name": "/etc/f.ini", "sections": sections});
            for kv in *extra {
                let (k, v) = kv.split_once('=').unwrap();
                args[k] = json!(v == "True");
            }
            let check = t.check(&Ini, "options_present", args).unwrap();
            let (comment, changes, result) = if test {
                let result = match &check {
                    Check::Clean { .. } => json!(true),
                    _ => json!(null),
                };
                (test_comment(&check).to_string(), json!({}), result)
            } else if is_clean(&check) {
                (comment_of(&check).to_string(), json!({}), json!(true))
            } else {
                let applied = t.apply(check);
                (
                    applied.comment,
                    Value::Object(applied.changes.unwrap()),
                    json!(applied.result),
                )
            };
            let case = format!("{start:?} {sections} {extra:?} test={test}");
            assert_eq!(json!(comment), salt["comment"], "{case}");
            assert_eq!(changes, salt["changes"], "{case}");
            assert_eq!(result, salt["result"], "{case}");
            if !test && !is_clean_text(&salt["changes"]) {
                assert_eq!(t.read("/etc/f.ini"), salt_text, "{case}");
            }
        }
    }
}

/// Salt rewrites the file even when nothing changed; Brine does not, so
/// the texts are compared only after a change.
fn is_clean_text(changes: &Value) -> bool {
    changes.as_object().is_some_and(|m| m.is_empty())
}

/// `options_absent` in both modes, and `sections_present`'s dry run (Salt
/// 3007.8's real run raises a TypeError), against salt-call.
#[test]
fn options_absent_and_sections_present_match_salt() {
    use super::super::salt_oracle::brine_state;
    let start = "top = 1\n[s]\nx = 1\ny = \n# z = 3\n";
    let cases: &[(&str, Value, bool)] = &[
        ("options_absent", json!({"s": ["x", "nope"]}), true),
        ("options_absent", json!({"s": ["x", "nope"]}), false),
        ("options_absent", json!({"nope": ["x"]}), false),
        ("options_absent", json!({"s": ["z"]}), false),
        ("sections_present", json!(["s", "new"]), true),
        ("sections_present", json!(["s"]), true),
    ];
    for (fun, sections, test) in cases {
        let Some(oracle) = Salt::new("") else { return };
        oracle.write("f.ini", start);
        let words = [
            format!("name={}", oracle.path("f.ini").display()),
            format!("sections={sections}"),
        ];
        let theirs = oracle.state(&format!("ini.{fun}"), &words, *test);
        let t = TestHost::new();
        t.write("/etc/f.ini", start);
        let args = json!({"name": "/etc/f.ini", "sections": sections});
        let ours = brine_state(&t, &Ini, fun, args, *test);
        let case = format!("ini.{fun} {sections} test={test}");
        assert_eq!(ours["result"], theirs["result"], "{case}");
        assert_eq!(ours["comment"], theirs["comment"], "{case}");
        assert_eq!(ours["changes"], theirs["changes"], "{case}");
        if !*test && !is_clean_text(&theirs["changes"]) {
            assert_eq!(t.read("/etc/f.ini"), oracle.read("f.ini"), "{case}");
        }
    }
}
