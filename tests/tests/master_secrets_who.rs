//! `master secrets who KEY:PATH` end to end: which accepted minions'
//! pillar holds a key, from their cached grains, never showing the value;
//! a minion whose pillar does not compile is listed with its error.
use std::time::Duration;

use serde_json::json;
use tests::daemons::{wait_until, Master};

const SECRET: &str = "s3cret-db-password";

#[test]
fn only_the_minion_whose_pillar_holds_the_key_is_named() {
    let master = Master::start(&[
        ("salt/top.sls", "base: {}\n"),
        (
            "pillar/top.sls",
            "base:\n  '*':\n    - common\n  'db1':\n    - db\n  'broken1':\n    - broken\n",
        ),
        ("pillar/common.sls", "motd: hello\n"),
        ("pillar/db.sls", &format!("db:\n  password: {SECRET}\n")),
        ("pillar/broken.sls", "x: {{ undefined_thing.attr }}\n"),
    ]);
    let minions: Vec<_> = ["web1", "db1", "broken1"]
        .iter()
        .map(|id| master.minion(id))
        .collect();
    wait_until(Duration::from_secs(20), "three pending keys", || {
        master.pending().len() == 3
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "db1", "broken1"]);

    let (code, v) = master.json(&["secrets", "who", "db:password"]);
    assert_eq!(
        code,
        Some(1),
        "an uncompiled pillar is not a clean answer: {v:#}"
    );
    assert_eq!(v["db1"], json!({"holds": true}), "{v:#}");
    assert_eq!(v["web1"], json!({"holds": false}), "{v:#}");
    let err = v["broken1"]["error"].as_str().expect("an error, not a no");
    assert!(err.contains("broken.sls"), "{err}");
    assert!(!v.to_string().contains(SECRET));

    let out = master.cli(&["secrets", "who", "db:password"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("db1: yes\n"), "{}", out.stdout);
    assert!(out.stdout.contains("web1: no\n"), "{}", out.stdout);
    assert!(out.stdout.contains("broken1: ERROR"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("1 of 3 minions' pillar holds db:password; 1 could not be compiled"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));

    // A key every minion has, asked with a path into a map.
    let (code, v) = master.json(&["secrets", "who", "motd"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["web1"], json!({"holds": true}));
    assert_eq!(v["db1"], json!({"holds": true}));
    let (code, v) = master.json(&["secrets", "who", "db:user"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["db1"], json!({"holds": false}));
    assert!(!master.log().contains(SECRET));
    drop(minions);
}
