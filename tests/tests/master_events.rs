//! `master events` against real daemons: Salt's tags and data for a
//! minion's key (`salt/auth`, `salt/key`), its session (`salt/minion/<id>/start`)
//! and its jobs (`salt/job/<jid>/new`, `salt/job/<jid>/ret/<id>`); a return
//! whose minion's pillar was decrypted by gpg shows `<secret KEY:PATH>` as the
//! job cache does; a stalled subscriber neither holds a job up nor makes the
//! master keep more than its queue (the rest dropped and counted); an
//! operator the ACL does not give `events` is refused.
//!
//! These tests wait on the event stream itself instead of polling.
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{Master, Minion};
use tests::events::EventStream;
use tests::gpg_keyring::Keyring;

const WAIT: Duration = Duration::from_secs(30);

fn tree() -> Vec<(&'static str, &'static str)> {
    vec![
        ("salt/top.sls", "base:\n  '*':\n    - noop\n"),
        ("salt/noop.sls", "hi:\n  test.nop: []\n"),
        ("pillar/top.sls", "base: {}\n"),
    ]
}

fn str_list(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn events_follow_a_minion_from_its_key_to_its_jobs_with_salts_tags() {
    let master = Master::start(&tree());
    let mut all = EventStream::start(&master, &[]);
    let mut jobs_only = EventStream::start(&master, &["--tag", "salt/job/*"]);

    let web1 = Minion::start("web1", master.ret_port, "");
    let auth = all.wait_for("salt/auth pend of web1", WAIT, |e| {
        e["tag"] == "salt/auth" && e["data"]["id"] == "web1"
    });
    let d = &auth["data"];
    assert_eq!(d["act"], "pend", "{auth:#}");
    assert_eq!(d["result"], true, "{auth:#}");
    assert!(d["pub"].as_str().is_some_and(|k| !k.is_empty()), "{auth:#}");
    let (_, fp) = master.json(&["keys", "fingerprint", "web1"]);
    assert_eq!(d["fingerprint"], fp["fingerprint"], "{auth:#} {fp:#}");
    assert!(
        d["_stamp"].as_str().is_some_and(|s| s.contains('T')),
        "{auth:#}"
    );

    assert_eq!(master.cli(&["keys", "accept", "web1"]).code, Some(0));
    let key = all.wait_tag("salt/key", WAIT);
    assert_eq!(key["data"]["act"], "accept", "{key:#}");
    assert_eq!(key["data"]["id"], "web1", "{key:#}");
    assert_eq!(key["data"]["result"], true, "{key:#}");
    let start = all.wait_tag("salt/minion/web1/start", WAIT);
    let d = &start["data"];
    assert_eq!(d["id"], "web1", "{start:#}");
    assert_eq!(d["cmd"], "_minion_event", "{start:#}");
    assert_eq!(d["tag"], "salt/minion/web1/start", "{start:#}");
    assert!(
        d["data"]
            .as_str()
            .is_some_and(|s| s.starts_with("Minion web1 started at ")),
        "{start:#}"
    );

    // A job: announced, then one return, as the operator and job cache saw it.
    let (code, out) = master.json(&["run", "web1", "test.echo", "hello"]);
    assert_eq!(code, Some(0), "{out:#}");
    let (_, list) = master.json(&["jobs", "list"]);
    let jid = list[0]["jid"].as_str().unwrap().to_string();
    let new = all.wait_tag(&format!("salt/job/{jid}/new"), WAIT);
    let d = &new["data"];
    assert_eq!(d["jid"], jid.as_str(), "{new:#}");
    assert_eq!(d["tgt"], "web1", "{new:#}");
    assert_eq!(d["tgt_type"], "glob", "{new:#}");
    assert_eq!(d["fun"], "test.echo", "{new:#}");
    assert_eq!(d["user"], "local", "{new:#}");
    assert_eq!(str_list(&d["minions"]), ["web1"], "{new:#}");
    assert_eq!(d["arg"], serde_json::json!(["hello"]), "{new:#}");
    let ret = all.wait_tag(&format!("salt/job/{jid}/ret/web1"), WAIT);
    let d = &ret["data"];
    assert_eq!(d["id"], "web1", "{ret:#}");
    assert_eq!(d["jid"], jid.as_str(), "{ret:#}");
    assert_eq!(d["fun"], "test.echo", "{ret:#}");
    assert_eq!(d["fun_args"], new["data"]["arg"], "{ret:#}");
    assert_eq!(d["success"], true, "{ret:#}");
    assert_eq!(d["retcode"], 0, "{ret:#}");
    assert_eq!(d["return"], "hello", "{ret:#}");
    assert_eq!(d["return"], out["web1"], "{ret:#}\n{out:#}");
    let (_, shown) = master.json(&["jobs", "show", &jid]);
    assert_eq!(d["return"], shown["returns"][0]["ret"], "{shown:#}");
    // `new` came before its return.
    let at = |tag: &str| all.seen.iter().position(|e| e["tag"] == tag).unwrap();
    assert!(at(&format!("salt/job/{jid}/new")) < at(&format!("salt/job/{jid}/ret/web1")));

    // The filtered subscriber saw the job and nothing else.
    jobs_only.wait_tag(&format!("salt/job/{jid}/ret/web1"), WAIT);
    assert!(
        jobs_only.seen.iter().all(|e| e["tag"]
            .as_str()
            .is_some_and(|t| t.starts_with("salt/job/"))),
        "{:#?}",
        jobs_only.seen
    );
    assert_eq!(jobs_only.seen.len(), 2, "{:#?}", jobs_only.seen);

    // An apply's keyword arguments as Salt's `__kwarg__` map.
    let (code, out) = master.json(&["apply", "web1", "--test"]);
    assert_eq!(code, Some(0), "{out:#}");
    let new = all.wait_for("the apply's new event", WAIT, |e| {
        e["data"]["fun"] == "state.apply" && e["tag"].as_str().is_some_and(|t| t.ends_with("/new"))
    });
    assert_eq!(
        new["data"]["arg"],
        serde_json::json!([{"test": true, "__kwarg__": true}]),
        "{new:#}"
    );

    // A run the minion starts itself (`minion apply` through the master) is
    // announced like a published job.
    let pulled = web1.cli(&["apply", "--test", "--out", "json"]);
    assert_eq!(pulled.code, Some(0), "{}", pulled.stderr);
    let new = all.wait_for("the minion's own run's new event", WAIT, |e| {
        e["data"]["user"] == "minion:web1" && e["tag"].as_str().is_some_and(|t| t.ends_with("/new"))
    });
    assert_eq!(new["data"]["fun"], "state.apply", "{new:#}");
    assert_eq!(new["data"]["tgt"], "web1", "{new:#}");
    assert_eq!(new["data"]["tgt_type"], "list", "{new:#}");
    assert_eq!(str_list(&new["data"]["minions"]), ["web1"], "{new:#}");

    // Deleting the key: salt/key with act delete.
    assert_eq!(master.cli(&["keys", "delete", "web1"]).code, Some(0));
    let key = all.wait_tag("salt/key", WAIT);
    assert_eq!(key["data"]["act"], "delete", "{key:#}");
}

const PLAINTEXT: &str = "ev3nt-Plaintext-8080";

#[test]
fn a_return_event_shows_decrypted_pillar_as_the_job_cache_does_never_the_plaintext() {
    let keyring = Keyring::temporary();
    let secrets = format!(
        "#!yaml|gpg\ndb:\n  password: {}",
        keyring.encrypt_yaml_block(PLAINTEXT, 4)
    );
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - app\n".to_string()),
        (
            "salt/app.sls",
            "/app.conf:\n  file.managed:\n    - contents: \"password={{ pillar.db.password }}\"\n"
                .to_string(),
        ),
        (
            "pillar/top.sls",
            "base:\n  web1:\n    - secrets\n".to_string(),
        ),
        ("pillar/secrets.sls", secrets),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let master = Master::start_with(
        &refs,
        &format!(
            "gpg_keydir: {}\nauto_accept: true\n",
            keyring.home().display()
        ),
    );
    let mut events = EventStream::start(&master, &[]);
    let web1 = Minion::start("web1", master.ret_port, "");
    events.wait_tag("salt/minion/web1/start", WAIT);
    // The file is there with other contents: the return's diff names the secret.
    std::fs::write(web1.root().join("app.conf"), "password=old\n").unwrap();

    let (code, out) = master.json(&["apply", "web1"]);
    assert_eq!(code, Some(0), "{out:#}");
    let written = std::fs::read_to_string(web1.root().join("app.conf")).unwrap();
    assert_eq!(written.trim_end(), format!("password={PLAINTEXT}"));
    let ret = events.wait_for("the apply's return", WAIT, |e| {
        e["tag"]
            .as_str()
            .is_some_and(|t| t.starts_with("salt/job/") && t.ends_with("/ret/web1"))
    });
    let text = ret.to_string();
    assert!(!text.contains(PLAINTEXT), "{ret:#}");
    assert!(text.contains("<secret db:password>"), "{ret:#}");
    assert_eq!(ret["data"]["fun"], "state.apply", "{ret:#}");
    let jid = ret["data"]["jid"].as_str().unwrap();
    let (_, shown) = master.json(&["jobs", "show", jid]);
    assert_eq!(
        ret["data"]["return"], shown["returns"][0]["ret"],
        "{shown:#}"
    );
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[test]
fn a_stalled_subscriber_does_not_hold_a_job_up_and_is_told_what_it_missed() {
    let master = Master::start_with(&tree(), "auto_accept: true\n");
    let mut watcher = EventStream::start(&master, &[]);
    // Holds at most two events for itself, then stops reading altogether.
    let mut stalled = EventStream::start(&master, &["--queue", "2"]);
    let _minions: Vec<Minion> = ["web1", "web2"]
        .iter()
        .map(|id| Minion::start(id, master.ret_port, ""))
        .collect();
    // In whichever order they come.
    let mut started = std::collections::BTreeSet::new();
    while started.len() < 2 {
        let e = watcher.wait_for("a minion start", WAIT, |e| {
            e["tag"]
                .as_str()
                .is_some_and(|t| t.starts_with("salt/minion/") && t.ends_with("/start"))
        });
        started.insert(e["data"]["id"].as_str().unwrap().to_string());
    }
    signal(stalled.pid(), "-STOP");
    // Each job fires a new event and two returns: far more than two events.
    for _ in 0..3 {
        let (code, out) = master.json(&["run", "*", "test.ping"]);
        assert_eq!(code, Some(0), "{out:#}\n{}", master.log());
        assert_eq!(out["web1"], true, "{out:#}");
        assert_eq!(out["web2"], true, "{out:#}");
    }
    let (_, list) = master.json(&["jobs", "list"]);
    let last = list[0]["jid"].as_str().unwrap().to_string();
    watcher.wait_tag(&format!("salt/job/{last}/ret/web2"), WAIT);
    signal(stalled.pid(), "-CONT");
    let dropped = stalled.wait_tag("brine/events/dropped", WAIT);
    assert!(
        dropped["data"]["dropped"].as_u64() >= Some(1),
        "{dropped:#}"
    );
    assert_eq!(dropped["data"]["queue"], 2, "{dropped:#}");
    // The stream goes on after it.
    let (code, _) = master.json(&["run", "web1", "test.ping"]);
    assert_eq!(code, Some(0));
    let (_, list) = master.json(&["jobs", "list"]);
    let jid = list[0]["jid"].as_str().unwrap().to_string();
    let final_ret = format!("salt/job/{jid}/ret/web1");
    stalled.wait_tag(&final_ret, WAIT);
    watcher.wait_tag(&final_ret, WAIT);
    // Every event fired before that job (the watcher, with room to spare,
    // saw them all) reached the stalled subscriber or was counted dropped.
    let before = |seen: &[Value]| -> Vec<Value> {
        seen.iter()
            .take_while(|e| e["tag"] != format!("salt/job/{jid}/new").as_str())
            .cloned()
            .collect()
    };
    let fired = before(&watcher.seen);
    let got = before(&stalled.seen);
    let counted: u64 = got
        .iter()
        .filter(|e| e["tag"] == "brine/events/dropped")
        .map(|e| e["data"]["dropped"].as_u64().unwrap())
        .sum();
    let delivered = got
        .iter()
        .filter(|e| e["tag"] != "brine/events/dropped")
        .count() as u64;
    assert_eq!(
        delivered + counted,
        fired.len() as u64,
        "fired: {fired:#?}\nstalled got: {got:#?}"
    );
}

#[test]
fn an_operator_without_events_in_the_acl_is_refused() {
    let master = Master::start_with(
        &tree(),
        "acl:\n  local:\n    - targets: ['*']\n      functions: ['keys', 'test.*']\n",
    );
    let out = master.cli(&["events", "--count", "1"]);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("operator local may not run events"),
        "{}",
        out.stderr
    );
}
