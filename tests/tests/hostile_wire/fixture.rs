//! A master with one real, accepted minion, and what "nothing changed"
//! means for the two of them.
use std::time::Duration;

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master, Minion};
use tests::sealed::Sealed;
use transport::keys::KeyPair;
use transport::wire::{Admission, Claim, MinionMsg};

pub const TREE: &[(&str, &str)] = &[
    ("salt/top.sls", "base:\n  '*': []\n"),
    ("salt/secret.txt", "only for the job that names it\n"),
    ("pillar/top.sls", "base: {}\n"),
];

/// A master (with `extra` config) and minion `m1`, accepted and answering.
pub fn master_and_minion(extra: &str) -> (Master, Minion) {
    let master = Master::start_with(TREE, extra);
    let m1 = master.minion("m1");
    wait_until(Duration::from_secs(20), "m1 pending", || {
        master.pending() == ["m1"]
    });
    master.cli(&["keys", "accept", "m1"]);
    master.wait_connected(&["m1"]);
    (master, m1)
}

/// What the attempts must leave as it was. The test's own probes (`run '*'
/// test.ping`, see [`State::assert_unchanged`]) are left out.
#[derive(Debug, PartialEq)]
pub struct State {
    keys: Value,
    jobs: Vec<Value>,
    started: Vec<String>,
}

impl State {
    pub fn of(master: &Master, m1: &Minion) -> State {
        let all = master.json(&["jobs", "list"]).1;
        let (probes, jobs): (Vec<Value>, Vec<Value>) = all
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .partition(|j| j["target"] == "*" && j["function"] == "test.ping");
        let mut started: Vec<String> = m1
            .jobs_started()
            .into_iter()
            .filter(|jid| !probes.iter().any(|p| p["jid"] == jid.as_str()))
            .collect();
        started.sort();
        State {
            keys: master.json(&["keys", "list"]).1,
            jobs,
            started,
        }
    }

    /// Nothing changed, and the master still runs a job on m1.
    pub fn assert_unchanged(&self, master: &Master, m1: &Minion) {
        assert!(
            master.rss_kib().is_some(),
            "the master died:\n{}",
            master.log()
        );
        assert_eq!(*self, State::of(master, m1), "{}", master.log());
        let (code, v) = master.json(&["run", "*", "test.ping"]);
        assert_eq!(
            (code, v),
            (Some(0), json!({"m1": true})),
            "{}",
            master.log()
        );
    }
}

/// Waits for `text` in the master's log.
pub fn logged(master: &Master, text: &str) {
    wait_until(Duration::from_secs(15), text, || {
        master.log().contains(text)
    });
}

/// How many lines of the master's log contain `text`.
pub fn log_count(master: &Master, text: &str) -> usize {
    master.log().lines().filter(|l| l.contains(text)).count()
}

/// A client of our own with a key the master accepted for `id`, in a fresh
/// session that has sent its grains (so jobs can target it).
pub fn admitted(master: &Master, id: &str) -> (KeyPair, Sealed) {
    let key = KeyPair::generate().unwrap();
    let claim = Claim::Minion { id: id.into() };
    let (_, first) = Sealed::connect(master.ret_port, &key, &claim).unwrap();
    assert_eq!(first, Admission::Pending);
    let out = master.cli(&["keys", "accept", id]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let s = session(master, &key, id);
    (key, s)
}

/// A new accepted session for `id` with `key`, grains sent.
pub fn session(master: &Master, key: &KeyPair, id: &str) -> Sealed {
    let claim = Claim::Minion { id: id.into() };
    let (mut s, a) = Sealed::connect(master.ret_port, key, &claim).unwrap();
    assert_eq!(a, Admission::Accepted);
    s.send(&MinionMsg::Grains {
        grains: json!({"id": id, "os": "Debian"}),
    })
    .unwrap();
    s
}

/// The grains the master keeps on disk for `id`.
pub fn cached_grains(master: &Master, id: &str) -> Value {
    let path = master
        .dir
        .path()
        .join(format!("cache/minions/{id}/grains.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap_or_default()).unwrap_or(Value::Null)
}
