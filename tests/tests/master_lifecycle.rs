//! Stopping the daemons as `systemctl stop` does (SIGTERM) in the middle of
//! a job loses nothing and runs nothing twice; and a minion whose key the
//! operator accepts is admitted at once.
//!
//! The slow job counts its runs in a file, then waits at a gate file the
//! test opens, so the signal lands while it runs whatever the machine's speed.
use std::path::Path;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master, Minion};

const STOP_LIMIT: Duration = Duration::from_secs(30);

/// The job: counts its runs, says it started, waits for the gate (a minute
/// at most).
fn slow_sls(gates: &Path) -> String {
    let g = gates.display();
    format!(
        "slow:\n  cmd.run:\n    - name: >-\n        echo ran >> {g}/runs && touch {g}/started &&\n        \
         for i in $(seq 600); do [ -e {g}/go ] && exit 0; sleep 0.1; done; exit 1\n"
    )
}

fn runs(gates: &Path) -> usize {
    std::fs::read_to_string(gates.join("runs"))
        .unwrap_or_default()
        .lines()
        .count()
}

fn open_gate(gates: &Path) {
    std::fs::write(gates.join("go"), "").unwrap();
}

/// An operator command on its own thread while the test stops daemons.
fn operator(master: &Master, args: &[&str]) -> JoinHandle<tests::Output> {
    let mut cmd = Command::new(tests::bin("master"));
    cmd.args(args).arg("--config").arg(master.config());
    std::thread::spawn(move || {
        tests::run(cmd, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A master whose top gives `slow` to the minions matching `slow*` and a
/// quick state to the others; the first minion is accepted and connected.
fn fleet(gates: &Path) -> Master {
    let files = [
        (
            "salt/top.sls",
            "base:\n  'slow*':\n    - slow\n  'quick*':\n    - quick\n",
        ),
        ("salt/slow.sls", slow_sls(gates).as_str()),
        ("salt/quick.sls", "quick:\n  test.succeed_without_changes\n"),
        ("pillar/top.sls", "base: {}\n"),
    ]
    .map(|(p, t)| (p, t.to_string()));
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    Master::start(&files)
}

fn accept(master: &Master, ids: &[&str]) {
    wait_until(Duration::from_secs(20), "the keys pending", || {
        ids.iter()
            .all(|id| master.pending().iter().any(|p| p == id))
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(ids);
}

/// The job's returns in the master's job cache, by minion id.
fn returns_of(master: &Master, jid: &str) -> Value {
    let (code, v) = master.json(&["jobs", "show", jid]);
    assert_eq!(code, Some(0), "{v:#}");
    let mut by_id = serde_json::Map::new();
    for r in v["returns"].as_array().cloned().unwrap_or_default() {
        by_id.insert(r["minion"].as_str().unwrap().to_string(), r);
    }
    Value::Object(by_id)
}

/// The job a minion started last (the pings that showed it connected came
/// before).
fn last_job(m: &Minion) -> String {
    m.jobs_started().last().cloned().expect("a job started")
}

/// How often a minion started the job `jid`: once, whatever happened.
fn times_started(m: &Minion, jid: &str) -> usize {
    m.jobs_started().iter().filter(|j| *j == jid).count()
}

#[test]
fn sigterm_to_a_minion_mid_job_lets_the_job_finish_and_loses_nothing() {
    let gates = tempfile::tempdir().unwrap();
    let mut master = fleet(gates.path());
    let mut m = master.minion("slow1");
    accept(&master, &["slow1"]);

    let op = operator(&master, &["apply", "*", "--out", "json", "-t", "90"]);
    wait_until(Duration::from_secs(60), "the job to start", || {
        gates.path().join("started").exists()
    });
    let jid = last_job(&m);
    // The signal lands mid-job; the minion waits for the job, then exits.
    let stopping = std::thread::spawn(move || {
        let code = m.terminate(STOP_LIMIT);
        (m, code)
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !stopping.is_finished(),
        "the minion did not wait for its job"
    );
    open_gate(gates.path());
    let (mut m, code) = stopping.join().unwrap();
    assert_eq!(code, Some(0), "{}", m.log());

    let out = op.join().unwrap();
    assert_eq!(out.code, Some(0), "{}\n{}", out.stderr, master.log());
    m.restart();
    master.wait_connected(&["slow1"]);
    let r = &returns_of(&master, &jid)["slow1"];
    assert_eq!(r["success"], json!(true), "{r:#}");
    assert_eq!(runs(gates.path()), 1, "the job ran twice");
    assert_eq!(times_started(&m, &jid), 1);
    // A master restart in between changes nothing either.
    master.restart();
    assert_eq!(returns_of(&master, &jid)["slow1"]["success"], json!(true));
}

#[test]
fn a_minion_stopped_past_its_stop_timeout_returns_the_cut_off_job_after_the_restart() {
    let gates = tempfile::tempdir().unwrap();
    let master = fleet(gates.path());
    let mut m = Minion::start("slow1", master.ret_port, "stop_timeout: 1\n");
    accept(&master, &["slow1"]);

    let op = operator(&master, &["apply", "*", "--out", "json", "-t", "5"]);
    wait_until(Duration::from_secs(60), "the job to start", || {
        gates.path().join("started").exists()
    });
    let jid = last_job(&m);
    assert_eq!(m.terminate(STOP_LIMIT), Some(0), "{}", m.log());
    // The job never finishes in time: the operator is told so.
    let out = op.join().unwrap();
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);

    m.restart();
    wait_until(Duration::from_secs(30), "the checkpoint delivered", || {
        returns_of(&master, &jid).get("slow1").is_some()
    });
    let r = &returns_of(&master, &jid)["slow1"];
    assert_eq!(r["success"], json!(false), "{r:#}");
    assert!(
        r["ret"].as_str().is_some_and(|t| t.contains("was cut off")),
        "{r:#}"
    );
    assert_eq!(times_started(&m, &jid), 1, "the cut-off job was run again");
    open_gate(gates.path());
    assert_eq!(runs(gates.path()), 1);
}

#[test]
fn sigterm_to_the_master_mid_job_keeps_every_return_it_took() {
    let gates = tempfile::tempdir().unwrap();
    let mut master = fleet(gates.path());
    let quick = master.minion("quick1");
    let slow = master.minion("slow1");
    accept(&master, &["quick1", "slow1"]);

    let op = operator(&master, &["apply", "*", "--out", "json", "-t", "90"]);
    wait_until(Duration::from_secs(60), "the slow job to start", || {
        gates.path().join("started").exists()
    });
    let jid = last_job(&slow);
    // quick1's return reached the master: it was acked, so only the
    // master's job cache has it now.
    wait_until(Duration::from_secs(30), "quick1's return acked", || {
        times_started(&quick, &jid) == 1 && outbox(&quick).is_empty()
    });
    assert_eq!(master.terminate(STOP_LIMIT), Some(0), "{}", master.log());
    let out = op.join().unwrap();
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("lost the master"), "{}", out.stderr);

    // slow1 finishes while the master is away and keeps its result.
    open_gate(gates.path());
    wait_until(
        Duration::from_secs(30),
        "slow1's result in its outbox",
        || outbox(&slow) == [jid.clone()],
    );
    master.restart();
    let returns = returns_of(&master, &jid);
    assert_eq!(returns["quick1"]["success"], json!(true), "{returns:#}");
    wait_until(Duration::from_secs(30), "slow1's late return", || {
        returns_of(&master, &jid).get("slow1").is_some()
    });
    let returns = returns_of(&master, &jid);
    assert_eq!(returns["slow1"]["success"], json!(true), "{returns:#}");
    assert_eq!(runs(gates.path()), 1);
    assert_eq!(times_started(&slow, &jid), 1);
}

/// Jids of results a minion keeps until the master acks them.
fn outbox(m: &Minion) -> Vec<String> {
    let mut jids: Vec<String> = std::fs::read_dir(m.dir.path().join("cache/outbox"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
                .collect()
        })
        .unwrap_or_default();
    jids.sort();
    jids
}

#[test]
fn a_pending_minion_is_admitted_as_soon_as_its_key_is_accepted() {
    let gates = tempfile::tempdir().unwrap();
    let master = fleet(gates.path());
    // Its next try would come long after the ping's timeout.
    let _m = Minion::start_waiting("quick1", master.ret_port, 60, "");
    wait_until(Duration::from_secs(20), "the key pending", || {
        master.pending() == ["quick1"]
    });
    let accepted = master.cli(&["keys", "accept", "quick1"]);
    assert_eq!(accepted.code, Some(0), "{}", accepted.stderr);
    let (code, v) = master.json(&["run", "*", "test.ping", "-t", "20"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", master.log());
    assert_eq!(v, json!({"quick1": true}));
}
