//! What a CI job reads from the exit status: a highstate with nothing to run
//! fails as Salt's does ("No Top file or master_tops data matches found",
//! exit 2) instead of passing with "Succeeded: 0", and `--detailed-exitcode`
//! tells "nothing to do" (0) from "changed, or would change" (4), beside
//! Salt's 1 (could not run), 2 (a state failed) and 3 (a minion did not
//! return); masterless and through the master.
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master};

const NO_TOP: &str =
    "No Top file or master_tops data matches found. Please see master log for details.";
const NO_STATES_TAG: &str = "no_|-states_|-states_|-None";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn local(d: &Path, words: &[&str]) -> Output {
    tests::apply_local_tree(d, words)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_highstate_with_nothing_to_run_fails_as_salts_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("root")).unwrap();
    // A file root that does not exist: no top file at all.
    let out = Command::new(tests::bin("minion"))
        .args(["apply", "--local", "--id", "web01", "--out", "json"])
        .arg("--file-root")
        .arg(d.join("nonexistent"))
        .arg("--root")
        .arg(d.join("root"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    let ret = &v["local"][NO_STATES_TAG];
    assert_eq!(ret["result"], false, "{v:#}");
    assert_eq!(ret["comment"], NO_TOP);
    assert_eq!(ret["name"], "No States");

    // A top that names other minions only; the summary says so, and an
    // empty run's time is not "-0.000 ms".
    write(&d.join("salt/top.sls"), "base:\n  'db*':\n    - app\n");
    write(&d.join("salt/app.sls"), "x:\n  test.nop\n");
    let out = local(d, &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(NO_TOP), "{text}");
    assert!(text.contains("Failed:    1"), "{text}");
    assert!(!text.contains("-0.000"), "{text}");

    // A top that matches, but its SLS holds no states.
    write(&d.join("salt/top.sls"), "base:\n  '*':\n    - empty\n");
    write(&d.join("salt/empty.sls"), "{# nothing yet #}\n");
    let out = local(d, &["--out", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        json(&out)["local"][NO_STATES_TAG]["comment"],
        "No states found for this minion"
    );

    // Named SLS files need no top: an empty one is an empty success, as in Salt.
    let out = local(d, &["empty", "--out", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["local"], serde_json::json!({}));
}

#[test]
fn detailed_exitcode_masterless_tells_pending_and_done_changes_from_none() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("root")).unwrap();
    write(&d.join("salt/top.sls"), "base:\n  '*':\n    - app\n");
    write(
        &d.join("salt/app.sls"),
        "/etc/app.conf:\n  file.managed:\n    - contents: v1\n    - makedirs: True\n",
    );
    let code = |words: &[&str]| local(d, words).status.code();
    let detailed = ["--detailed-exitcode"];
    // Pending in a dry run: 4, and nothing written.
    assert_eq!(code(&["--test", "--detailed-exitcode"]), Some(4));
    assert!(!d.join("root/etc/app.conf").exists());
    // Without the flag a dry run exits 0, as Salt's does.
    assert_eq!(code(&["--test"]), Some(0));
    assert_eq!(code(&detailed), Some(4));
    assert!(d.join("root/etc/app.conf").exists());
    assert_eq!(code(&detailed), Some(0));
    assert_eq!(code(&["--test", "--detailed-exitcode"]), Some(0));
    // A failed state: 2, also when another state changed.
    write(
        &d.join("salt/app.sls"),
        "/etc/app.conf:\n  file.managed:\n    - contents: v2\n\
         broken:\n  cmd.run:\n    - name: 'false'\n",
    );
    assert_eq!(code(&detailed), Some(2));
    // Could not run (a render error): 1.
    write(&d.join("salt/app.sls"), "x: {{ nope(\n");
    assert_eq!(code(&detailed), Some(1));
}

#[test]
fn detailed_exitcode_through_the_master() {
    let files = [
        ("salt/top.sls", "base:\n  'web*':\n    - app\n"),
        (
            "salt/app.sls",
            "/etc/app.conf:\n  file.managed:\n    - contents: v1\n    - makedirs: True\n",
        ),
        ("pillar/top.sls", "base: {}\n"),
    ];
    let master = Master::start(&files);
    let web1 = master.minion("web1");
    let mut web2 = master.minion("web2");
    let db1 = master.minion("db1");
    wait_until(Duration::from_secs(20), "three pending", || {
        master.pending().len() == 3
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "web2", "db1"]);
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "web*", "--detailed-exitcode"];
        args.extend_from_slice(extra);
        master.json(&args)
    };
    let (code, v) = apply(&["--test"]);
    assert_eq!(code, Some(4), "{v:#}");
    assert!(!web1.root().join("etc/app.conf").exists());
    let (code, v) = apply(&[]);
    assert_eq!(code, Some(4), "{v:#}");
    assert!(web1.root().join("etc/app.conf").exists());
    let (code, v) = apply(&[]);
    assert_eq!(code, Some(0), "{v:#}");
    let (code, v) = apply(&["--test"]);
    assert_eq!(code, Some(0), "{v:#}");

    // db1 gets nothing from the top: its highstate fails with Salt's words.
    let (code, v) = master.json(&["apply", "db1"]);
    assert_eq!(code, Some(2), "{v:#}");
    assert_eq!(v["db1"][NO_STATES_TAG]["comment"], NO_TOP, "{v:#}");

    // A targeted minion that does not return: 3, whatever the others did.
    web2.kill();
    let (code, v) = apply(&["-t", "2"]);
    assert_eq!(code, Some(3), "{v:#}");
    drop((web1, db1));
}
