//! Targeting, batches, `master render`, and operators with their own keys
//! and an ACL, against real daemons on loopback.
use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};

const EXTRA: &str = "\
nodegroups:
  webs: 'G@role:web'
acl:
  local:
    - targets: ['*']
      functions: ['*']
  alice:
    - targets: ['web*']
      functions: ['test.*']
";

fn fleet() -> (Master, Vec<Minion>) {
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - noop\n"),
        ("salt/noop.sls", "hi:\n  test.nop: []\n"),
        ("pillar/top.sls", "base:\n  db1:\n    - gold\n"),
        ("pillar/gold.sls", "tier: gold\n"),
    ];
    let master = Master::start_with(&files, EXTRA);
    let grains = [
        ("web1", "grains:\n  role: web\n  deploy:\n    tier: prod\n"),
        ("web2", "grains:\n  role: web\n  deploy:\n    tier: dev\n"),
        ("db1", "grains:\n  role: db\n"),
    ];
    let minions: Vec<Minion> = grains
        .iter()
        .map(|(id, g)| Minion::start(id, master.ret_port, g))
        .collect();
    wait_until(Duration::from_secs(20), "three pending", || {
        master.pending().len() == 3
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "web2", "db1"]);
    (master, minions)
}

fn pinged(master: &Master, args: &[&str]) -> BTreeSet<String> {
    let mut all = vec!["run"];
    all.extend(args);
    all.push("test.ping");
    let (code, v) = master.json(&all);
    assert_eq!(code, Some(0), "{args:?}: {v}");
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| **r == Value::Bool(true))
        .map(|(k, _)| k.clone())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_target_type_selects_from_the_cached_grains_and_pillar() {
    let (master, _minions) = fleet();
    let cases: &[(&[&str], &[&str])] = &[
        (&["web*"], &["web1", "web2"]),
        (&["-E", "web[0-9]$"], &["web1", "web2"]),
        (&["-L", "web1,db1"], &["web1", "db1"]),
        (&["-G", "role:web"], &["web1", "web2"]),
        (&["-G", "role:w*"], &["web1", "web2"]),
        (&["-G", "deploy:tier:prod"], &["web1"]),
        (&["-I", "tier:gold"], &["db1"]),
        (&["-S", "127.0.0.0/8"], &["web1", "web2", "db1"]),
        (&["-C", "G@role:web and not web2"], &["web1"]),
        (
            &["-C", "( L@db1 or E@web2 ) and not G@role:nope"],
            &["db1", "web2"],
        ),
        (&["-N", "webs"], &["web1", "web2"]),
    ];
    for (args, want) in cases {
        assert_eq!(pinged(&master, args), set(want), "{args:?}");
    }
    // Batches: every minion still answers, a wave at a time.
    assert_eq!(
        pinged(&master, &["*", "-b", "1"]),
        set(&["web1", "web2", "db1"])
    );
    assert_eq!(
        pinged(&master, &["*", "--batch-size", "50%"]),
        set(&["web1", "web2", "db1"])
    );
}

#[test]
fn render_shows_a_minions_chunks_and_grains_come_from_the_minion() {
    let (master, _minions) = fleet();
    let (code, v) = master.json(&["render", "web1"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v[0]["__id__"], "hi");
    assert_eq!(v[0]["fun"], "nop");
    let (_, g) = master.json(&["run", "web1", "grains.get", "deploy:tier"]);
    assert_eq!(g["web1"], "prod");
    let (_, p) = master.json(&["run", "db1", "pillar.items"]);
    assert_eq!(p["db1"]["tier"], "gold");
    let out = master.cli(&["render", "nosuch"]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("never connected"), "{out:?}");
}

#[test]
fn an_operator_needs_a_listed_key_and_stays_inside_its_acl() {
    let (master, _minions) = fleet();
    let home = tempfile::tempdir().unwrap();
    let key = home.path().join("alice.key");
    let key_arg = key.to_str().unwrap();
    let addr = format!("127.0.0.1:{}", master.operator_port);
    let as_alice = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--master", &addr, "--operator-key", key_arg]);
        master.cli(&all)
    };
    // Unknown key: refused, nothing runs.
    let out = as_alice(&["run", "web*", "test.ping"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("not listed"), "{out:?}");
    std::fs::copy(
        home.path().join("alice.pub"),
        master.dir.path().join("pki/operators/alice.pub"),
    )
    .unwrap();
    let out = as_alice(&["run", "web*", "test.ping", "--out", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"web1": true, "web2": true}));
    for denied in [
        vec!["run", "db*", "test.ping"],
        vec!["run", "web*", "cmd.run", "id"],
        vec!["apply", "web*"],
        vec!["keys", "list"],
    ] {
        let out = as_alice(&denied);
        assert_eq!(out.code, Some(1), "{denied:?}: {out:?}");
        assert!(out.stderr.contains("may not"), "{denied:?}: {out:?}");
    }
    // Every job records who ran it.
    let (_, jobs) = master.json(&["jobs", "list"]);
    assert!(jobs
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["operator"] == "alice" && j["function"] == "test.ping"));
}

#[test]
fn changed_grains_reach_the_master_and_its_targeting() {
    let files = [
        ("salt/top.sls", "base: {}\n"),
        ("pillar/top.sls", "base: {}\n"),
    ];
    let master = Master::start(&files);
    let m = Minion::start(
        "web1",
        master.ret_port,
        "grains_refresh_every: 0.01\ngrains:\n  role: web\n",
    );
    wait_until(Duration::from_secs(20), "pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);
    assert_eq!(pinged(&master, &["-G", "role:web"]), set(&["web1"]));
    let config = m.dir.path().join("minion.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("role: web", "role: db")).unwrap();
    wait_until(
        Duration::from_secs(20),
        "the new grains on the master",
        || {
            let out = master.cli(&["run", "-G", "role:db", "test.ping", "--out", "json"]);
            out.code == Some(0) && out.stdout.contains("web1")
        },
    );
}
