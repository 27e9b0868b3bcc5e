//! A minion with several masters (issue 13): `master` as a list keeps a
//! session with each (either publishes to it, both have its grains), a job
//! runs once, a result whose master died goes to the other one,
//! `master_type: failover` moves to the next master, `master_fingerprint`
//! as a list refuses a master it does not name, and an operator's
//! `--master A,B` uses the first that answers.
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};

const TOP: &str = "base:\n  '*':\n    - slow\n";

/// Counts its runs, says it started, waits for the gate (a minute at most).
fn slow_sls(gates: &Path) -> String {
    let g = gates.display();
    format!(
        "slow:\n  cmd.run:\n    - name: >-\n        echo ran >> {g}/runs && touch {g}/started &&\n        \
         for i in $(seq 600); do [ -e {g}/go ] && exit 0; sleep 0.1; done; exit 1\n"
    )
}

/// Two masters serving the same tree, each admitting new minion keys.
fn two_masters(gates: &Path) -> (Master, Master) {
    let slow = slow_sls(gates);
    let files = [
        ("salt/top.sls", TOP),
        ("salt/slow.sls", slow.as_str()),
        ("pillar/top.sls", "base: {}\n"),
    ];
    (
        Master::start_with(&files, "auto_accept: True\n"),
        Master::start_with(&files, "auto_accept: True\n"),
    )
}

/// Whether `id` answers `test.ping` through `master` (targeted by its
/// `role` grain, which that master has only if the minion sent it there).
fn answers(master: &Master, id: &str) -> bool {
    // No match prints nothing on stdout.
    let out = master.cli(&[
        "run",
        "-G",
        "role:multi",
        "test.ping",
        "-t",
        "5",
        "--out",
        "json",
    ]);
    serde_json::from_str::<Value>(&out.stdout).is_ok_and(|v| v[id] == Value::Bool(true))
}

fn wait_answers(master: &Master, id: &str, what: &str) {
    wait_until(Duration::from_secs(60), what, || answers(master, id));
}

const GRAINS: &str = "grains:\n  role: multi\n";

#[test]
fn a_minion_listing_two_masters_answers_through_both_and_runs_each_job_once() {
    let gates = tempfile::tempdir().unwrap();
    let (a, b) = two_masters(gates.path());
    let m = Minion::start_listing("mm1", &[a.ret_port, b.ret_port], GRAINS);
    // Grain targeting on each master: both have the minion's grains.
    wait_answers(&a, "mm1", "mm1 through A");
    wait_answers(&b, "mm1", "mm1 through B");
    // Each master's key is trusted on first use in a file of its own.
    let pki = m.dir.path().join("pki");
    for master in [&a, &b] {
        assert!(
            pki.join(format!("master-127.0.0.1_{}.pub", master.ret_port))
                .exists(),
            "{}",
            m.log()
        );
    }
    let (code, v) = a.json(&["run", "mm1", "test.ping"]);
    assert_eq!((code, &v["mm1"]), (Some(0), &Value::Bool(true)), "{v}");
    let (code, v) = b.json(&["run", "mm1", "test.ping"]);
    assert_eq!((code, &v["mm1"]), (Some(0), &Value::Bool(true)), "{v}");
    // Every job the minion started is in its job log once.
    let started = m.jobs_started();
    let mut unique = started.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), started.len(), "{started:?}");
    assert!(started.len() >= 4, "{started:?}");
}

#[test]
fn a_result_whose_master_died_mid_job_goes_to_the_other_master() {
    let gates = tempfile::tempdir().unwrap();
    let (mut a, b) = two_masters(gates.path());
    let m = Minion::start_listing(
        "mm1",
        &[a.ret_port, b.ret_port],
        &format!("{GRAINS}master_alive_interval: 2\n"),
    );
    wait_answers(&a, "mm1", "mm1 through A");
    wait_answers(&b, "mm1", "mm1 through B");
    let mut apply = a.spawn_cli(&["apply", "mm1", "--out", "json", "-t", "90"]);
    wait_until(Duration::from_secs(60), "the job to start", || {
        gates.path().join("started").exists()
    });
    let jid = m.jobs_started().last().cloned().expect("a job started");
    a.kill();
    std::fs::write(gates.path().join("go"), "").unwrap();
    // B has no record of A's job (each has its own job cache): it says so,
    // and acks the result, which leaves the minion's outbox.
    wait_until(
        Duration::from_secs(60),
        "B to get the result of A's job",
        || {
            let log = b.log();
            log.lines()
                .any(|l| l.contains("did not publish") && l.contains(&jid))
        },
    );
    let outbox = m.dir.path().join("cache/outbox");
    wait_until(Duration::from_secs(20), "the result acked", || {
        std::fs::read_dir(&outbox).unwrap().next().is_none()
    });
    assert!(m.log().contains("goes to another master"), "{}", m.log());
    let runs = std::fs::read_to_string(gates.path().join("runs")).unwrap();
    assert_eq!(runs.lines().count(), 1, "the job ran once");
    // New jobs go through B.
    let (code, v) = b.json(&["run", "mm1", "test.ping"]);
    assert_eq!((code, &v["mm1"]), (Some(0), &Value::Bool(true)), "{v}");
    apply.stop();
}

#[test]
fn failover_holds_one_session_and_moves_to_the_next_master_when_it_is_gone() {
    let gates = tempfile::tempdir().unwrap();
    let (mut a, b) = two_masters(gates.path());
    let _m = Minion::start_listing(
        "mm1",
        &[a.ret_port, b.ret_port],
        &format!("{GRAINS}master_type: failover\nmaster_alive_interval: 2\n"),
    );
    wait_answers(&a, "mm1", "mm1 through A");
    // One session: B never heard of it.
    assert!(!answers(&b, "mm1"));
    let (_, keys) = b.json(&["keys", "list"]);
    assert!(!keys.to_string().contains("mm1"), "{keys}");
    a.kill();
    // Within master_alive_interval plus one back-off; the bound is generous.
    wait_answers(&b, "mm1", "mm1 through B after A is gone");
}

#[test]
fn failover_leaves_a_silent_master_within_master_alive_interval_and_one_back_off() {
    let gates = tempfile::tempdir().unwrap();
    let (a, b) = two_masters(gates.path());
    let _m = Minion::start_listing(
        "mm1",
        &[a.ret_port, b.ret_port],
        &format!("{GRAINS}master_type: failover\nmaster_alive_interval: 2\n"),
    );
    wait_answers(&a, "mm1", "mm1 through A");
    // Frozen, not killed: its connections stay open, only the silence
    // tells the minion it is gone.
    a.freeze();
    // master_alive_interval (2 s), one back-off (at most
    // random_reconnect_delay, 2 s, jittered by up to half), and the probe's
    // own ping (-t 5).
    wait_until(
        Duration::from_secs(2 + 3 + 5),
        "mm1 through B within master_alive_interval and one back-off",
        || answers(&b, "mm1"),
    );
}

#[test]
fn failover_with_master_failback_returns_to_the_first_master_once_it_is_back() {
    let gates = tempfile::tempdir().unwrap();
    let (mut a, b) = two_masters(gates.path());
    let m = Minion::start_listing(
        "mm1",
        &[a.ret_port, b.ret_port],
        &format!(
            "{GRAINS}master_type: failover\nmaster_alive_interval: 1\nmaster_failback: true\n"
        ),
    );
    wait_answers(&a, "mm1", "mm1 through A");
    a.kill();
    wait_answers(&b, "mm1", "mm1 through B after A is gone");
    a.restart();
    wait_answers(&a, "mm1", "mm1 back on A");
    assert!(m.log().contains("failing back"), "{}", m.log());
    // One session: the one with B ended.
    wait_until(Duration::from_secs(30), "B to lose mm1", || {
        !answers(&b, "mm1")
    });
}

#[test]
fn a_master_whose_key_is_not_in_master_fingerprint_is_refused() {
    let gates = tempfile::tempdir().unwrap();
    let (a, b) = two_masters(gates.path());
    let a_key = transport::keys::PublicKey::load(&a.dir.path().join("pki/master.pub")).unwrap();
    let m = Minion::start_listing(
        "mm1",
        &[a.ret_port, b.ret_port],
        &format!(
            "{GRAINS}master_fingerprint:\n  - {}\n  - not-a-master\n",
            a_key.fingerprint()
        ),
    );
    wait_answers(&a, "mm1", "mm1 through A");
    wait_until(Duration::from_secs(30), "the refusal of B", || {
        m.log().lines().any(|l| {
            l.contains(&format!("127.0.0.1:{}", b.ret_port)) && l.contains("master_fingerprint is")
        })
    });
    // The minion never told B who it is: B has no key of it.
    let (_, keys) = b.json(&["keys", "list"]);
    assert!(!keys.to_string().contains("mm1"), "{keys}");
    assert!(!answers(&b, "mm1"));
}

#[test]
fn an_operator_listing_a_dead_master_first_uses_the_next_and_says_so() {
    let gates = tempfile::tempdir().unwrap();
    let (a, b) = two_masters(gates.path());
    let _m = Minion::start_listing("mm1", &[a.ret_port, b.ret_port], GRAINS);
    wait_answers(&b, "mm1", "mm1 through B");
    let home = tempfile::tempdir().unwrap();
    let key = home.path().join("op.key");
    // The operator's key, made by a first (refused) call, listed on B.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let list = format!("127.0.0.1:{dead},127.0.0.1:{}", b.operator_port);
    let as_op = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--master", &list, "--operator-key", key.to_str().unwrap()]);
        b.cli(&all)
    };
    let out = as_op(&["run", "mm1", "test.ping"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("not listed"), "{out:?}");
    std::fs::copy(
        home.path().join("op.pub"),
        b.dir.path().join("pki/operators/op.pub"),
    )
    .unwrap();
    let out = as_op(&["run", "mm1", "test.ping", "--out", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"mm1": true}));
    assert!(
        out.stderr.contains(&format!(
            "the master at tcp://127.0.0.1:{dead} does not answer"
        )),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(&format!(
            "using the master at tcp://127.0.0.1:{}",
            b.operator_port
        )),
        "{out:?}"
    );
}
