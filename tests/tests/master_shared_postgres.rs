//! Two real masters sharing one real PostgreSQL (`master_job_cache:
//! postgres`, issue 13): a job either publishes is listed and shown, with its
//! returns, by the other, and their jids never collide.
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master};
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
