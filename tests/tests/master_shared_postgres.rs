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

const FLEET: [&str; 3] = ["pg1", "pg2", "pg3"];

/// Each minion notes that it ran and started (by its id), then waits for
/// the gate (a minute at most).
fn gated_sls(gates: &std::path::Path) -> String {
    let g = gates.display();
    format!(
        "slow:\n  cmd.run:\n    - name: >-\n        echo {{{{ grains['id'] }}}} >> {g}/runs &&\n        \
         touch {g}/started-{{{{ grains['id'] }}}} &&\n        \
         for i in $(seq 600); do [ -e {g}/go ] && exit 0; sleep 0.1; done; exit 1\n"
    )
}

/// Master A or B of issue 13: jobs and keys in `pg`, keys accepted by hand,
/// the gated state as the highstate.
fn pg_master(pg: &Postgres, gates: &std::path::Path) -> Master {
    let slow = gated_sls(gates);
    Master::start_with(
        &[
            ("salt/top.sls", "base:\n  '*':\n    - slow\n"),
            ("salt/slow.sls", &slow),
            ("pillar/top.sls", "base: {}\n"),
        ],
        &format!(
            "master_job_cache: postgres\nkey_store: postgres\npostgres:\n  dsn: \"{}\"\n",
            pg.dsn()
        ),
    )
}

/// Whether the minion's log says the master at `port` closed its session
/// because its key was deleted.
fn told_deleted_by(m: &Minion, port: u16) -> bool {
    let master = format!("127.0.0.1:{port}");
    m.log()
        .lines()
        .any(|l| l.contains(&master) && l.contains("this minion's key was deleted"))
}

/// Issue 13's "How it is shown", on loopback: two masters, one PostgreSQL,
/// three minions listing both.
#[test]
fn two_masters_on_one_postgres_survive_losing_one_mid_apply() {
    let pg = Postgres::start();
    let gates = tempfile::tempdir().unwrap();
    let mut a = pg_master(&pg, gates.path());
    let b = pg_master(&pg, gates.path());
    let minions: Vec<Minion> = FLEET
        .iter()
        .map(|id| {
            Minion::start_listing(id, &[a.ret_port, b.ret_port], "master_alive_interval: 2\n")
        })
        .collect();

    // Accepted on A, they answer through B.
    wait_until(Duration::from_secs(30), "three keys pending on A", || {
        a.pending() == FLEET
    });
    let (code, v) = a.json(&["keys", "accept", "--all"]);
    assert_eq!(code, Some(0), "{v}");
    let (_, keys) = b.json(&["keys", "list"]);
    assert_eq!(keys["minions"], serde_json::json!(FLEET), "{keys}");
    b.wait_connected(&FLEET);
    a.wait_connected(&FLEET);

    // An apply on A, A killed while every minion runs it.
    let mut apply = a.spawn_cli(&["apply", "*", "--out", "json", "-t", "120"]);
    wait_until(
        Duration::from_secs(60),
        "the apply to start on all three",
        || {
            FLEET
                .iter()
                .all(|id| gates.path().join(format!("started-{id}")).exists())
        },
    );
    let jid = minions[0].jobs_started().last().cloned().expect("a job");
    for m in &minions[1..] {
        assert_eq!(m.jobs_started().last(), Some(&jid), "one job on all three");
    }
    a.kill();
    apply.stop();
    std::fs::write(gates.path().join("go"), "").unwrap();

    // Every result lands in the shared job cache through B: B shows the
    // job with all three returns and none missing.
    let shown = b.show_when_returned(&jid, 3, Duration::from_secs(60));
    assert_eq!(shown["record"]["function"], "state.apply", "{shown}");
    assert_eq!(shown["missing"], serde_json::json!([]), "{shown}");
    let mut returned: Vec<&str> = shown["returns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["minion"].as_str().unwrap())
        .collect();
    returned.sort();
    assert_eq!(returned, FLEET, "{shown}");
    for r in shown["returns"].as_array().unwrap() {
        let states = r["ret"].as_object().expect("a state report");
        assert_eq!(states.len(), 1, "{shown}");
        let state = states.values().next().unwrap();
        assert_eq!(state["result"], Value::Bool(true), "{shown}");
    }
    // Every expected minion has returned: the job is over, though the
    // master that would have finished it is gone.
    let (_, active) = b.json(&["jobs", "active"]);
    assert_eq!(active, serde_json::json!([]), "{active}");
    assert!(
        b.json(&["jobs", "show", &jid]).1["record"]["finished"].is_i64(),
        "{shown}"
    );
    // Each minion ran the job once.
    let runs = std::fs::read_to_string(gates.path().join("runs")).unwrap();
    let mut ran: Vec<&str> = runs.lines().collect();
    ran.sort();
    assert_eq!(ran, FLEET, "each minion ran the job once");

    // A new job goes through B.
    let (code, v) = b.json(&["run", "*", "test.ping"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        v,
        serde_json::json!({"pg1": true, "pg2": true, "pg3": true})
    );

    // A comes back on the same config and dirs: both serve.
    a.restart();
    a.wait_connected(&FLEET);
    b.wait_connected(&FLEET);

    // A key deleted on B: A closes that minion's session within a second.
    let (code, v) = b.json(&["keys", "delete", "pg3"]);
    assert_eq!(code, Some(0), "{v}");
    wait_until(
        Duration::from_secs(1),
        "A to close pg3's session, saying its key was deleted",
        || told_deleted_by(&minions[2], a.ret_port),
    );
    let out = a.cli(&["run", "pg3", "test.ping", "-t", "5"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    a.wait_connected(&["pg1", "pg2"]);
}

/// A master that hangs (SIGSTOP: its connections stay open, what the
/// minion sends lands in its socket buffer) after the minion sent it a
/// result: the minion gives it up after `master_alive_interval` and hands
/// the unacked result to the other master, which files it in the shared job
/// cache.
#[test]
fn a_result_a_hung_master_never_acked_reaches_the_shared_cache_through_the_other() {
    let pg = Postgres::start();
    let gates = tempfile::tempdir().unwrap();
    let a = pg_master(&pg, gates.path());
    let b = pg_master(&pg, gates.path());
    let m = Minion::start_listing(
        "pg1",
        &[a.ret_port, b.ret_port],
        "master_alive_interval: 2\n",
    );
    wait_until(Duration::from_secs(30), "pg1 pending on A", || {
        a.pending() == ["pg1"]
    });
    let (code, v) = a.json(&["keys", "accept", "pg1"]);
    assert_eq!(code, Some(0), "{v}");
    a.wait_connected(&["pg1"]);
    b.wait_connected(&["pg1"]);

    let _apply = a.spawn_cli(&["apply", "pg1", "--out", "json", "-t", "120"]);
    wait_until(Duration::from_secs(60), "the apply to start", || {
        gates.path().join("started-pg1").exists()
    });
    let jid = m.jobs_started().last().cloned().expect("a job");
    a.freeze();
    std::fs::write(gates.path().join("go"), "").unwrap();
    let shown = b.show_when_returned(&jid, 1, Duration::from_secs(60));
    assert_eq!(shown["missing"], serde_json::json!([]), "{shown}");
    assert_eq!(shown["returns"][0]["success"], Value::Bool(true), "{shown}");
    // Sent to A first (its result was done before A was given up), then
    // handed on.
    assert!(
        m.log()
            .contains("a result the lost master did not ack goes to another master"),
        "{}",
        m.log()
    );
}

/// A return of a job another master published, whose pillar `gpg`
/// decrypted there, is filed by the surviving master with the secret
/// hidden: not in `jobs show`, not in PostgreSQL, not in its log.
#[test]
fn a_dead_masters_return_is_filed_by_the_other_with_its_secret_hidden() {
    const PLAINTEXT: &str = "s3cret-Plaintext-1313";
    let key = tests::gpg_keyring::Keyring::temporary();
    let gates = tempfile::tempdir().unwrap();
    let g = gates.path().display();
    let app = format!(
        "gate:\n  cmd.run:\n    - name: >-\n        touch {g}/started &&\n        \
         for i in $(seq 600); do [ -e {g}/go ] && exit 0; sleep 0.1; done; exit 1\n\
         /etc/app.conf:\n  file.managed:\n    - contents: \"password={{{{ pillar.db.password }}}}\"\n    \
         - require:\n      - cmd: gate\n"
    );
    let secrets = format!(
        "#!yaml|gpg\ndb:\n  password: {}",
        key.encrypt_yaml_block(PLAINTEXT, 4)
    );
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - app\n"),
        ("salt/app.sls", app.as_str()),
        ("pillar/top.sls", "base:\n  '*':\n    - secrets\n"),
        ("pillar/secrets.sls", secrets.as_str()),
    ];
    let pg = Postgres::start();
    let config = format!(
        "auto_accept: true\nmaster_job_cache: postgres\nkey_store: postgres\n\
         postgres:\n  dsn: \"{}\"\ngpg_keydir: {}\n",
        pg.dsn(),
        key.home().display()
    );
    let mut a = Master::start_with(&files, &config);
    let b = Master::start_with(&files, &config);
    let m = Minion::start_listing("pg1", &[a.ret_port, b.ret_port], "");
    // A file the secret replaces: the diff in the return shows it.
    std::fs::create_dir_all(m.root().join("etc")).unwrap();
    std::fs::write(m.root().join("etc/app.conf"), "password=old\n").unwrap();
    a.wait_connected(&["pg1"]);
    b.wait_connected(&["pg1"]);

    let _apply = a.spawn_cli(&["apply", "pg1", "--out", "json", "-t", "120"]);
    wait_until(Duration::from_secs(60), "the apply to start", || {
        gates.path().join("started").exists()
    });
    let jid = m.jobs_started().last().cloned().expect("a job");
    a.kill();
    std::fs::write(gates.path().join("go"), "").unwrap();
    let shown = b.show_when_returned(&jid, 1, Duration::from_secs(60));
    let written = std::fs::read_to_string(m.root().join("etc/app.conf")).unwrap();
    assert_eq!(written.trim_end(), format!("password={PLAINTEXT}"));
    let text = shown.to_string();
    assert!(!text.contains(PLAINTEXT), "{shown:#}");
    assert!(text.contains("<secret db:password>"), "{shown:#}");
    let stored = pg.psql("brine", "SELECT ret FROM brine_returns");
    assert!(
        !stored.contains(PLAINTEXT),
        "the plaintext is in PostgreSQL"
    );
    assert!(!b.log().contains(PLAINTEXT));
}

/// A master killed with a job running whose minion never returns either:
/// the survivor finishes that job once the dead master has been gone from
/// the store at two looks, instead of listing it in `jobs active` until the
/// dead master comes back.
#[test]
fn a_dead_masters_job_whose_minion_never_returns_is_finished_by_the_survivor() {
    let pg = Postgres::start();
    let gates = tempfile::tempdir().unwrap();
    let mut a = pg_master(&pg, gates.path());
    let b = pg_master(&pg, gates.path());
    let mut m = Minion::start("pg1", a.ret_port, "");
    wait_until(Duration::from_secs(30), "pg1 pending on A", || {
        a.pending() == ["pg1"]
    });
    let (code, v) = a.json(&["keys", "accept", "pg1"]);
    assert_eq!(code, Some(0), "{v}");
    a.wait_connected(&["pg1"]);

    let _apply = a.spawn_cli(&["apply", "pg1", "--out", "json", "-t", "120"]);
    wait_until(Duration::from_secs(60), "the apply to start", || {
        gates.path().join("started-pg1").exists()
    });
    let jid = m.jobs_started().last().cloned().expect("a job");
    m.kill();
    a.kill();
    // The state's shell, left by the killed minion, ends.
    std::fs::write(gates.path().join("go"), "").unwrap();
    let (_, active) = b.json(&["jobs", "active"]);
    assert_eq!(active[0]["jid"], jid.as_str(), "{active}");

    wait_until(Duration::from_secs(60), "B to finish A's job", || {
        b.json(&["jobs", "active"]).1 == serde_json::json!([])
    });
    let (_, shown) = b.json(&["jobs", "show", &jid]);
    assert_eq!(shown["missing"], serde_json::json!(["pg1"]), "{shown}");
    assert!(shown["record"]["finished"].is_i64(), "{shown}");
    assert!(
        b.log()
            .contains("finished the running jobs of masters that are gone"),
        "{}",
        b.log()
    );
}
