//! Execution functions through the real `master serve` and `minion serve`:
//! grains written to the minion's grains file (read again at start, seen by
//! the master's targeting), a `salt://` file copied by `cp.get_file`, and
//! the master's file list for `cp.list_states`/`cp.list_master`.
use std::time::Duration;

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master};

fn tree() -> Master {
    Master::start_with(
        &[
            ("salt/top.sls", "base:\n  '*':\n    - web\n"),
            ("salt/web.sls", "nothing:\n  test.nop\n"),
            ("salt/files/motd.txt", "hello from the master\n"),
        ],
        "auto_accept: True\n",
    )
}

fn ret(master: &Master, args: &[&str]) -> Value {
    let (code, v) = master.json(args);
    assert_eq!(code, Some(0), "{args:?}: {v:#}");
    v["m1"].clone()
}

#[test]
fn grains_setval_persists_in_the_grains_file_and_reaches_the_master() {
    let master = tree();
    let mut minion = master.minion("m1");
    master.wait_connected(&["m1"]);
    let file = minion.dir.path().join("grains");

    assert_eq!(
        ret(&master, &["run", "m1", "grains.setval", "role", "web"]),
        json!({"role": "web"})
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "role: web\n");
    // The next job sees it, and so does the master's targeting.
    assert_eq!(
        ret(&master, &["run", "m1", "grains.get", "role"]),
        json!("web")
    );
    assert_eq!(
        ret(&master, &["run", "m1", "grains.items"])["role"],
        json!("web")
    );
    wait_until(
        Duration::from_secs(20),
        "the master to target by the new grain",
        || {
            let (_, v) = master.json(&["run", "-G", "role:web", "test.ping", "-t", "5"]);
            v["m1"] == json!(true)
        },
    );

    // Read again when the minion starts.
    minion.restart();
    master.wait_connected(&["m1"]);
    assert_eq!(
        ret(&master, &["run", "m1", "grains.get", "role"]),
        json!("web")
    );

    assert_eq!(
        ret(
            &master,
            &["run", "m1", "grains.delval", "role", "destructive=True"]
        ),
        json!({"comment": "", "changes": {"role": null}, "result": true})
    );
    assert_eq!(
        ret(&master, &["run", "m1", "grains.get", "role"]),
        json!("")
    );
    assert!(!std::fs::read_to_string(&file).unwrap().contains("role"));

    // A map is only deleted with force=True; as in Salt, `result: False`
    // makes the job a failure.
    ret(
        &master,
        &["run", "m1", "grains.setval", "deploy", "val={tier: prod}"],
    );
    let (code, v) = master.json(&["run", "m1", "grains.delval", "deploy"]);
    assert_eq!(code, Some(2), "{v:#}");
    assert_eq!(v["m1"]["result"], json!(false), "{v:#}");
    assert_eq!(
        ret(&master, &["run", "m1", "grains.get", "deploy"]),
        json!({"tier": "prod"})
    );
}

#[test]
fn cp_copies_from_and_lists_the_masters_files() {
    let master = tree();
    let minion = master.minion("m1");
    master.wait_connected(&["m1"]);

    assert_eq!(
        ret(
            &master,
            &[
                "run",
                "m1",
                "cp.get_file",
                "salt://files/motd.txt",
                "/etc/motd",
                "makedirs=True"
            ]
        ),
        json!("/etc/motd")
    );
    assert_eq!(
        std::fs::read_to_string(minion.root().join("etc/motd")).unwrap(),
        "hello from the master\n"
    );
    assert_eq!(
        ret(
            &master,
            &["run", "m1", "cp.get_file", "salt://files/nope", "/etc/nope"]
        ),
        json!("")
    );
    assert!(!minion.root().join("etc/nope").exists());

    assert_eq!(
        ret(&master, &["run", "m1", "cp.list_states"]),
        json!(["top", "web"])
    );
    assert_eq!(
        ret(&master, &["run", "m1", "cp.list_master"]),
        json!(["files/motd.txt", "top.sls", "web.sls"])
    );
    assert_eq!(
        ret(&master, &["run", "m1", "cp.list_master", "prefix=files/"]),
        json!(["files/motd.txt"])
    );
    // A saltenv the master does not have lists nothing, as Salt's fileserver.
    assert_eq!(
        ret(&master, &["run", "m1", "cp.list_master", "saltenv=nosuch"]),
        json!([])
    );
}

#[test]
fn the_grains_file_is_merged_under_the_configs_grains_as_salt_merges_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("minion.yaml");
    std::fs::write(&config, "id: m1\ngrains:\n  role: from-config\n").unwrap();
    std::fs::write(
        dir.path().join("grains"),
        "role: from-file\ndeploy: blue\nos: FromFile\n",
    )
    .unwrap();
    let mut cmd = std::process::Command::new(tests::bin("minion"));
    cmd.args(["grains", "--out", "json", "--config"])
        .arg(&config);
    let out = tests::run(cmd, Duration::from_secs(60)).unwrap();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let grains = &v["local"];
    // Detected < grains file < the config's `grains:`.
    assert_eq!(grains["deploy"], json!("blue"), "{v:#}");
    assert_eq!(grains["os"], json!("FromFile"));
    assert_eq!(grains["role"], json!("from-config"));
}
