//! Two real masters sharing one real PostgreSQL (`master_job_cache:
//! postgres`, `key_store: postgres`, issue 13): a job either publishes is
//! listed and shown, with its returns, by the other, and their jids never
//! collide; a key accepted on one admits the minion on the other, a key
//! deleted on one closes the minion's session on the other.
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};
use tests::postgres::Postgres;

fn shared_master(pg: &Postgres) -> Master {
    Master::start_with(
        &[("salt/top.sls", "base: {}\n")],
        &format!(
            "auto_accept: true\nmaster_job_cache: postgres\npostgres:\n  dsn: \"{}\"\n",
            pg.dsn()
        ),
    )
}

/// The jid of the newest job `master` lists.
fn newest_jid(master: &Master) -> String {
    let (_, jobs) = master.json(&["jobs", "list"]);
    jobs[0]["jid"].as_str().unwrap().to_string()
}

#[test]
fn two_masters_share_one_job_cache() {
    let pg = Postgres::start();
    let a = shared_master(&pg);
    let b = shared_master(&pg);
    let _on_a = a.minion("web-a");
    let _on_b = b.minion("web-b");
    a.wait_connected(&["web-a"]);
    b.wait_connected(&["web-b"]);

    let (code, _) = a.json(&["run", "web-a", "test.ping"]);
    assert_eq!(code, Some(0));
    let jid_a = newest_jid(&a);
    // Published on A, shown with its return by B.
    let (code, shown) = b.json(&["jobs", "show", &jid_a]);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown["record"]["function"], "test.ping");
    assert_eq!(shown["returns"][0]["minion"], "web-a");
    assert_eq!(shown["returns"][0]["ret"], Value::Bool(true));
    assert_eq!(shown["missing"], serde_json::json!([]));

    let (code, _) = b.json(&["run", "web-b", "test.ping"]);
    assert_eq!(code, Some(0));
    let jid_b = newest_jid(&b);
    assert_ne!(jid_a, jid_b);
    // Both masters list both jobs, the newest first.
    for m in [&a, &b] {
        let (_, jobs) = m.json(&["jobs", "list"]);
        let jids: Vec<&str> = jobs
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["jid"].as_str().unwrap())
            .collect();
        assert!(jids.starts_with(&[&jid_b, &jid_a]), "{jids:?}");
    }
    let (_, shown) = a.json(&["jobs", "show", &jid_b]);
    assert_eq!(shown["returns"][0]["minion"], "web-b");
    // Every job has finished, whichever master looks.
    wait_until(Duration::from_secs(10), "no active jobs", || {
        a.json(&["jobs", "active"]).1 == serde_json::json!([])
    });
}

fn keys_shared_master(pg: &Postgres) -> Master {
    Master::start_with(
        &[("salt/top.sls", "base: {}\n")],
        &format!(
            "master_job_cache: postgres\nkey_store: postgres\npostgres:\n  dsn: \"{}\"\n",
            pg.dsn()
        ),
    )
}

#[test]
fn a_key_decided_on_one_master_holds_on_the_other_at_once() {
    let pg = Postgres::start();
    let a = keys_shared_master(&pg);
    let b = keys_shared_master(&pg);
    // One minion, one key, a session with each master.
    let on_b = Minion::start("web1", b.ret_port, "");
    wait_until(
        Duration::from_secs(20),
        "web1 pending, as A lists it",
        || a.pending() == ["web1"],
    );
    // The same minion (its key) connected to A too: started pointed at
    // nowhere, then given B's minion's key and A's port.
    let mut on_a = Minion::start("web1", 1, "");
    on_a.kill();
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(on_a.dir.path().join("pki"))
        .unwrap();
    for f in ["minion.key", "minion.pub"] {
        let from = on_b.dir.path().join("pki").join(f);
        if from.exists() {
            std::fs::copy(&from, on_a.dir.path().join("pki").join(f)).unwrap();
        }
    }
    let config = on_a.dir.path().join("minion.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace(
        "master_port: 1\n",
        &format!("master_port: {}\n", a.ret_port),
    );
    std::fs::write(&config, text).unwrap();
    on_a.restart();
    // Accepted through A: B admits the session it holds, and pings it.
    let (code, v) = a.json(&["keys", "accept", "web1"]);
    assert_eq!(code, Some(0), "{v}");
    b.wait_connected(&["web1"]);
    a.wait_connected(&["web1"]);

    // Deleted through B: A closes its session at once (the minion is told
    // why), and a ping through A finds no minion.
    let (code, v) = b.json(&["keys", "delete", "web1"]);
    assert_eq!(code, Some(0), "{v}");
    wait_until(
        Duration::from_secs(3),
        "the minion connected to A told its key was deleted",
        || on_a.log().contains("this minion's key was deleted"),
    );
    let out = a.cli(&["run", "web1", "test.ping", "-t", "5"]);
    assert_ne!(out.code, Some(0), "{out:?}");
}

#[test]
fn a_master_without_its_postgres_fails_at_start_saying_why() {
    let pg = Postgres::start();
    let dsn = pg.dsn();
    drop(pg);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("master.yaml");
    std::fs::write(
        &config,
        format!(
            "pki_dir: {d}/pki\ncachedir: {d}/cache\nret_port: 1\noperator_port: 2\n\
             master_job_cache: postgres\npostgres:\n  dsn: \"{dsn}\"\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(tests::bin("master"));
    cmd.args(["serve", "--config"]).arg(&config);
    let out = tests::run(cmd, Duration::from_secs(60)).unwrap();
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("postgres"), "{out:?}");
}
