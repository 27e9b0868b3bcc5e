//! End to end: real `master serve` and `minion serve` binaries on loopback,
//! each with its own keys and temp dirs; the operator commands run as a user
//! would run them.
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master};

const TOP: &str = "base:\n  '*':\n    - web\n";

const WEB: &str = "\
/etc/app.conf:
  file.managed:
    - source: salt://app.conf.j2
    - template: jinja
/etc/static.txt:
  file.managed:
    - source: salt://static.txt
reload-app:
  cmd.wait:
    - name: echo reloaded >> /tmp/reloads
    - watch:
      - file: /etc/app.conf
";

fn web_tree(greeting: &str) -> Vec<(&'static str, String)> {
    vec![
        ("salt/top.sls", TOP.to_string()),
        ("salt/web.sls", WEB.to_string()),
        (
            "salt/app.conf.j2",
            "id={{ grains['id'] }} greeting={{ pillar['greeting'] }} probe={{ salt['cmd.run']('echo from-minion') }}\n".into(),
        ),
        ("salt/static.txt", "static\n".into()),
        (
            "salt/tools/hello.sh",
            "#!/bin/sh\necho \"hello $#:$1\"\n".into(),
        ),
        ("pillar/top.sls", "base:\n  '*':\n    - common\n".into()),
        ("pillar/common.sls", format!("greeting: {greeting}\n")),
    ]
}

fn start(files: &[(&'static str, String)]) -> Master {
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    Master::start(&refs)
}

/// The state results of one minion from `master apply --out json`.
fn states<'a>(v: &'a Value, id: &str) -> &'a serde_json::Map<String, Value> {
    v[id]
        .as_object()
        .unwrap_or_else(|| panic!("no states for {id} in {v:#}"))
}

fn state<'a>(v: &'a Value, id: &str, tag_prefix: &str) -> &'a Value {
    states(v, id)
        .iter()
        .find(|(k, _)| k.starts_with(tag_prefix))
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("no {tag_prefix} for {id} in {v:#}"))
}

#[test]
fn keys_are_accepted_before_any_job_and_ping_answers_after() {
    let master = start(&web_tree("hi"));
    let m = master.minion("web1");
    wait_until(Duration::from_secs(20), "web1 pending", || {
        master.pending() == ["web1"]
    });
    // Not accepted: no minion matches, no job is sent (exit 1 as Salt's "No minions matched").
    let out = master.cli(&["run", "*", "test.ping"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("No minions matched"), "{out:?}");
    let out = master.cli(&["apply", "*"]);
    assert_eq!(out.code, Some(1));
    assert!(m.jobs_started().is_empty());
    assert!(!m.root().join("etc/app.conf").exists());

    let (code, v) = master.json(&["keys", "accept", "web1"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["accepted"], serde_json::json!(["web1"]));
    master.wait_connected(&["web1"]);
    let (code, v) = master.json(&["run", "*", "test.ping"]);
    assert_eq!(code, Some(0));
    assert_eq!(v, serde_json::json!({"web1": true}));
    // A function nobody has: Salt's words from the minion, a failed run.
    let (code, v) = master.json(&["run", "*", "nosuch.fn"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        v,
        serde_json::json!({"web1": "'nosuch.fn' is not available."})
    );
    // A function's salt:// file comes from the master; a text args is one
    // argument, as in Salt.
    let (code, v) = master.json(&[
        "run",
        "*",
        "cmd.script",
        "salt://tools/hello.sh",
        "args=a b",
    ]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["web1"]["stdout"], "hello 1:a b", "{v}");
    assert_eq!(v["web1"]["retcode"], 0, "{v}");
    // The master's fingerprint is the one the minion pinned on first use.
    let (_, fp) = master.json(&["keys", "fingerprint"]);
    let pinned = std::fs::read_to_string(m.dir.path().join("pki/master.pub")).unwrap();
    let master_pub = std::fs::read_to_string(master.dir.path().join("pki/master.pub")).unwrap();
    assert_eq!(pinned, master_pub);
    assert!(fp["master"].as_str().unwrap().len() == 95);

    // Deleting the key closes the session at once: the minion is told.
    let (code, _) = master.json(&["keys", "delete", "web1"]);
    assert_eq!(code, Some(0));
    wait_until(Duration::from_secs(5), "the minion told", || {
        m.log().contains("key was deleted")
    });
    let out = master.cli(&["run", "*", "test.ping"]);
    assert_eq!(out.code, Some(1), "{out:?}");
}

#[test]
fn apply_runs_the_watch_chain_test_mode_changes_nothing_and_a_rerun_is_clean() {
    let master = start(&web_tree("hello"));
    let m = master.minion("web1");
    std::fs::create_dir_all(m.root().join("etc")).unwrap();
    wait_until(Duration::from_secs(20), "pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);

    // Dry run: None with a diff, nothing written.
    let (code, v) = master.json(&["apply", "*", "--test"]);
    assert_eq!(code, Some(0), "{v:#}");
    let conf = state(&v, "web1", "file_|-/etc/app.conf");
    assert_eq!(conf["result"], Value::Null, "{conf}");
    assert!(!m.root().join("etc/app.conf").exists());
    assert!(!m.root().join("etc/static.txt").exists());

    // For real: the template rendered by the master with this minion's
    // grains, pillar and a probe answered by the minion.
    let (code, v) = master.json(&["apply", "*"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", m.log());
    let conf = std::fs::read_to_string(m.root().join("etc/app.conf")).unwrap();
    assert_eq!(conf, "id=web1 greeting=hello probe=from-minion\n");
    assert_eq!(
        std::fs::read_to_string(m.root().join("etc/static.txt")).unwrap(),
        "static\n"
    );
    let watcher = state(&v, "web1", "cmd_|-reload-app");
    assert_eq!(watcher["result"], true, "{watcher}");
    assert_eq!(watcher["changes"]["retcode"], 0, "{watcher}");

    // static.txt came by SHA-256, once; the template was rendered by the master.
    let fetched = |m: &tests::daemons::Minion| m.received().matches("\"Fetched\"").count();
    assert_eq!(fetched(&m), 1, "{}", m.received());

    // Again: nothing changes, the watch does not fire, no file is sent again.
    let (code, v) = master.json(&["apply", "*"]);
    assert_eq!(fetched(&m), 1);
    assert_eq!(code, Some(0));
    for (tag, s) in states(&v, "web1") {
        assert_eq!(s["changes"], serde_json::json!({}), "{tag}: {s}");
    }

    // The job cache has both applies with their operator.
    let (_, jobs) = master.json(&["jobs", "list"]);
    let jobs = jobs.as_array().unwrap();
    assert!(jobs.len() >= 3);
    assert!(jobs.iter().all(|j| j["operator"] == "local"));
    let jid = jobs[0]["jid"].as_str().unwrap();
    let (_, shown) = master.json(&["jobs", "show", jid]);
    assert_eq!(shown["missing"], serde_json::json!([]));
    assert_eq!(shown["returns"][0]["minion"], "web1");
}

#[test]
fn a_stolen_id_with_another_key_is_refused_and_gets_no_job() {
    let master = start(&web_tree("hi"));
    let real = master.minion("web1");
    wait_until(Duration::from_secs(20), "pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "web1"]);
    master.wait_connected(&["web1"]);
    let impostor = master.minion("web1");
    wait_until(Duration::from_secs(20), "the impostor refused", || {
        impostor.log().contains("refused")
    });
    assert!(
        master.log().contains("another key holds"),
        "{}",
        master.log()
    );
    let (code, v) = master.json(&["run", "*", "test.ping"]);
    assert_eq!(code, Some(0));
    assert_eq!(v, serde_json::json!({"web1": true}));
    assert!(impostor.jobs_started().is_empty());
    assert!(!impostor.received().contains("Job"));
    assert!(!real.jobs_started().is_empty());
}

#[test]
fn pillar_of_one_minion_never_reaches_another() {
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - show\n"),
        (
            "salt/show.sls",
            "/etc/secret:\n  file.managed:\n    - contents: {{ pillar['secret'] }}\n",
        ),
        ("pillar/top.sls", "base:\n  a1:\n    - a\n  b1:\n    - b\n"),
        ("pillar/a.sls", "secret: s3cr3t-of-a1\n"),
        ("pillar/b.sls", "secret: s3cr3t-of-b1\n"),
    ];
    let master = Master::start(&files);
    let a = master.minion("a1");
    let b = master.minion("b1");
    for m in [&a, &b] {
        std::fs::create_dir_all(m.root().join("etc")).unwrap();
    }
    wait_until(Duration::from_secs(20), "two pending", || {
        master.pending().len() == 2
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["a1", "b1"]);
    let (code, v) = master.json(&["apply", "*"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(
        std::fs::read_to_string(b.root().join("etc/secret")).unwrap(),
        "s3cr3t-of-b1\n"
    );
    // What b1's process was sent: its own secret, never a1's.
    let got = b.received();
    assert!(got.contains("s3cr3t-of-b1"), "{got}");
    assert!(!got.contains("s3cr3t-of-a1"), "{got}");
    assert!(!a.received().contains("s3cr3t-of-b1"));
}

#[test]
fn minions_reconnect_after_the_master_restarts_and_the_next_job_works() {
    let mut master = start(&web_tree("hi"));
    let m1 = master.minion("web1");
    let m2 = master.minion("web2");
    wait_until(Duration::from_secs(20), "two pending", || {
        master.pending().len() == 2
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "web2"]);
    master.kill();
    std::thread::sleep(Duration::from_secs(2));
    master.restart();
    master.wait_connected(&["web1", "web2"]);
    for m in [&m1, &m2] {
        std::fs::create_dir_all(m.root().join("etc")).unwrap();
    }
    let (code, v) = master.json(&["apply", "*"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(m2.root().join("etc/app.conf").exists());

    // A minion that is down is still expected (its grains are cached on
    // disk, across a master restart too) and reported, not silently skipped.
    let mut m2 = m2;
    m2.kill();
    master.kill();
    master.restart();
    master.wait_connected(&["web1"]);
    let (code, v) = master.json(&["run", "-G", "id:web*", "test.ping", "-t", "2"]);
    assert_eq!(code, Some(3), "{v:#}");
    assert_eq!(v["web1"], true);
    assert_eq!(v["web2"], "Minion did not return. [No response]");
}

#[test]
fn a_minion_killed_mid_job_is_reported_missing_and_the_others_complete() {
    let files = [
        (
            "salt/top.sls",
            "base:\n  slow:\n    - slow\n  fast:\n    - fast\n",
        ),
        ("salt/slow.sls", "nap:\n  cmd.run:\n    - name: sleep 30\n"),
        ("salt/fast.sls", "hi:\n  cmd.run:\n    - name: echo hi\n"),
        ("pillar/top.sls", "base: {}\n"),
    ];
    let master = Master::start(&files);
    let mut slow = master.minion("slow");
    let _fast = master.minion("fast");
    wait_until(Duration::from_secs(20), "two pending", || {
        master.pending().len() == 2
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["slow", "fast"]);
    let pings = slow.jobs_started().len();
    let killer = std::thread::spawn(move || {
        wait_until(Duration::from_secs(20), "the slow job to start", || {
            slow.jobs_started().len() > pings
        });
        slow.kill();
        slow
    });
    let started = std::time::Instant::now();
    let (code, v) = master.json(&["apply", "*", "-t", "5"]);
    let _slow = killer.join().unwrap();
    assert_eq!(code, Some(3), "{v:#}");
    assert_eq!(v["slow"], "Minion did not return. [No response]");
    assert_eq!(state(&v, "fast", "cmd_|-hi")["result"], true);
    // Reported at the deadline, not after the 30 s sleep.
    assert!(started.elapsed() < Duration::from_secs(25));
    let (_, jobs) = master.json(&["jobs", "list"]);
    let jid = jobs[0]["jid"].as_str().unwrap().to_string();
    let (_, shown) = master.json(&["jobs", "show", &jid]);
    assert_eq!(shown["missing"], serde_json::json!(["slow"]));
}

#[test]
fn a_result_finished_during_a_master_outage_arrives_after_it_returns() {
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - nap\n"),
        (
            "salt/nap.sls",
            "nap:\n  cmd.run:\n    - name: sleep 3 && echo rested\n",
        ),
        ("pillar/top.sls", "base: {}\n"),
    ];
    let mut master = Master::start(&files);
    let m = master.minion("web1");
    wait_until(Duration::from_secs(20), "pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);
    let pings = m.jobs_started().len();
    let config = master.config();
    let operator = std::thread::spawn(move || {
        let mut cmd = std::process::Command::new(tests::bin("master"));
        cmd.args(["apply", "*", "--config"]).arg(config);
        tests::run(cmd, Duration::from_secs(60)).unwrap()
    });
    wait_until(Duration::from_secs(20), "the job to start", || {
        m.jobs_started().len() > pings
    });
    master.kill();
    let out = operator.join().unwrap();
    assert_ne!(out.code, Some(0), "{out:?}");
    // The job finishes while the master is down; its result waits on disk.
    wait_until(Duration::from_secs(20), "the result in the outbox", || {
        std::fs::read_dir(m.dir.path().join("cache/outbox"))
            .map(|d| d.flatten().count() > 0)
            .unwrap_or(false)
    });
    master.restart();
    let jid = m.jobs_started().into_iter().max().unwrap();
    wait_until(Duration::from_secs(30), "the late return", || {
        let (_, shown) = master.json(&["jobs", "show", &jid]);
        shown["returns"][0]["minion"] == "web1"
    });
    let (_, shown) = master.json(&["jobs", "show", &jid]);
    let ret = &shown["returns"][0]["ret"];
    let nap = ret.as_object().unwrap().values().next().unwrap();
    assert_eq!(nap["changes"]["stdout"], "rested");
    // Acked: the outbox is empty, and the job was run once.
    wait_until(Duration::from_secs(10), "the outbox emptied", || {
        std::fs::read_dir(m.dir.path().join("cache/outbox"))
            .map(|d| d.flatten().count() == 0)
            .unwrap_or(false)
    });
    assert_eq!(m.jobs_started().len(), pings + 1);
}
