//! End to end: `minion apply` through the master (Salt's `salt-call
//! state.apply`) beside the daemon of the same id, the minion's `schedule`
//! as jobs it starts itself, and `master drift` over its scheduled dry runs.
//! Real `master serve` and `minion serve` on loopback.
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};

const TOP: &str = "base:\n  '*':\n    - app\n";
/// A file rendered by the master with the minion's grains: the job needs
/// the master's template rendering and file requests.
const APP: &str = "\
/etc/app.conf:
  file.managed:
    - source: salt://app.conf.j2
    - template: jinja
";
const TEMPLATE: &str = "id={{ grains['id'] }}\n";

fn tree() -> Vec<(&'static str, &'static str)> {
    vec![
        ("salt/top.sls", TOP),
        ("salt/app.sls", APP),
        ("salt/app.conf.j2", TEMPLATE),
        ("pillar/top.sls", "base: {}\n"),
    ]
}

/// Accepts every pending key once `ids` are all pending, and waits until
/// they answer.
fn accept(master: &Master, ids: &[&str]) {
    wait_until(Duration::from_secs(20), "keys pending", || {
        let pending = master.pending();
        ids.iter().all(|id| pending.iter().any(|p| p == id))
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(ids);
}

fn json_of(out: &tests::Output) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", out.stdout, out.stderr))
}

/// The state results of a run, whatever their tags (printed under
/// `local`, as `--local` prints them).
fn results(v: &Value) -> Vec<&Value> {
    v["local"].as_object().unwrap().values().collect()
}

#[test]
fn minion_apply_through_the_master_runs_is_recorded_and_keeps_the_daemon_connected() {
    let master = Master::start(&tree());
    let minion = master.minion("web1");
    std::fs::create_dir_all(minion.root().join("etc")).unwrap();
    accept(&master, &["web1"]);
    let conf = minion.root().join("etc/app.conf");

    // A dry run: pending (exit 4 with --detailed-exitcode), nothing written.
    let dry = minion.cli(&["apply", "--test", "--detailed-exitcode", "--out", "json"]);
    assert_eq!(dry.code, Some(4), "{}\n{}", dry.stderr, master.log());
    let v = json_of(&dry);
    assert!(results(&v).iter().all(|r| r["result"].is_null()), "{v:#}");
    assert!(!conf.exists());

    let applied = minion.cli(&["apply", "--out", "json"]);
    assert_eq!(
        applied.code,
        Some(0),
        "{}\n{}",
        applied.stderr,
        master.log()
    );
    let v = json_of(&applied);
    assert!(results(&v).iter().all(|r| r["result"] == true), "{v:#}");
    // Rendered by the master with this minion's grains.
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), "id=web1\n");

    // Clean now: --detailed-exitcode says 0.
    let again = minion.cli(&["apply", "--test", "--detailed-exitcode"]);
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("local:"), "{}", again.stdout);

    // In the job cache as the minion's own jobs, with their returns.
    let (_, jobs) = master.json(&["jobs", "list"]);
    let mine: Vec<&Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["operator"] == "minion:web1")
        .collect();
    assert_eq!(mine.len(), 3, "{jobs:#}");
    assert!(mine
        .iter()
        .all(|j| j["function"] == "state.apply" && j["returned"] == 1 && j["schedule"].is_null()));
    let applied_jid = mine[1]["jid"].as_str().unwrap();
    let (code, shown) = master.json(&["jobs", "show", applied_jid]);
    assert_eq!(code, Some(0));
    assert_eq!(shown["returns"][0]["minion"], "web1");
    assert_eq!(shown["returns"][0]["retcode"], 0);
    assert_eq!(shown["record"]["args"]["test"], false);

    // The daemon's session was never replaced by the calls.
    let (code, ping) = master.json(&["run", "web1", "test.ping", "-t", "10"]);
    assert_eq!(code, Some(0));
    assert_eq!(ping["web1"], true);
    assert!(
        !master.log().contains("minion disconnected"),
        "{}",
        master.log()
    );
    assert!(
        !minion.log().contains("lost the master"),
        "{}",
        minion.log()
    );
}

#[test]
fn minion_apply_with_a_key_not_accepted_or_no_master_says_so() {
    let master = Master::start(&tree());
    let minion = master.minion("web1");
    wait_until(Duration::from_secs(20), "web1 pending", || {
        !master.pending().is_empty()
    });
    let out = minion.cli(&["apply"]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("this minion's key is not accepted on the master")
            && out.stderr.contains("master keys accept web1"),
        "{}",
        out.stderr
    );
    assert_eq!(master.pending(), vec!["web1".to_string()]);

    // No master at all: an error within the CLI's bound, not a hang.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = Minion::start("lonely", port, "");
    let out = nowhere.cli(&["apply"]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("the master at 127.0.0.1:"),
        "{}",
        out.stderr
    );
}

/// A dry run every 2 s, as a drift check is scheduled.
const SCHEDULE: &str = "\
schedule:
  drift:
    function: state.apply
    seconds: 2
    returner: mysql
    kwargs:
      test: True
";

fn drift(master: &Master) -> (Option<i32>, Value) {
    master.json(&["drift"])
}

#[test]
fn scheduled_dry_runs_reach_the_job_cache_and_master_drift_reports_a_hand_edit() {
    let master = Master::start(&tree());
    let web1 = Minion::start("web1", master.ret_port, SCHEDULE);
    let web2 = master.minion("web2");
    for m in [&web1, &web2] {
        std::fs::create_dir_all(m.root().join("etc")).unwrap();
    }
    accept(&master, &["web1", "web2"]);
    let (code, _) = master.json(&["apply", "web1"]);
    assert_eq!(code, Some(0), "{}", master.log());
    let conf = web1.root().join("etc/app.conf");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), "id=web1\n");

    // A scheduled run after the apply finds nothing to do.
    wait_until(Duration::from_secs(30), "web1 clean", || {
        let (code, v) = drift(&master);
        code == Some(0) && v["web1"]["status"] == "clean"
    });
    let (code, v) = drift(&master);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["web2"]["status"], "never", "{v:#}");
    assert_eq!(v["web1"]["schedule"], "drift");
    assert_eq!(v["web1"]["interval"], 2);

    // The job cache has the scheduled runs, marked so.
    let (_, jobs) = master.json(&["jobs", "list"]);
    let scheduled: Vec<&Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["schedule"] == "drift")
        .collect();
    assert!(!scheduled.is_empty(), "{jobs:#}");
    assert!(scheduled
        .iter()
        .all(|j| j["operator"] == "minion:web1" && j["target"] == "web1"));
    let jid = scheduled[0]["jid"].as_str().unwrap();
    let (_, shown) = master.json(&["jobs", "show", jid]);
    assert_eq!(shown["schedule"], "drift");
    assert_eq!(shown["record"]["args"]["test"], true);

    // Edited by hand: the next scheduled dry run reports the drift.
    std::fs::write(&conf, "edited by hand\n").unwrap();
    wait_until(Duration::from_secs(30), "web1 drifted", || {
        drift(&master).1["web1"]["status"] == "drifted"
    });
    let (code, v) = drift(&master);
    assert_eq!(code, Some(4), "{v:#}");
    let states = v["web1"]["states"].as_array().unwrap();
    assert_eq!(states.len(), 1, "{v:#}");
    assert_eq!(states[0]["state"], "file.managed");
    assert_eq!(states[0]["name"], "/etc/app.conf");
    assert!(v["web1"]["since"].as_i64().unwrap() <= v["web1"]["last_run"].as_i64().unwrap());
    // The dry runs changed nothing.
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), "edited by hand\n");
    // The text output names it too, with the same exit status.
    let text = master.cli(&["drift", "web1"]);
    assert_eq!(text.code, Some(4));
    assert!(
        text.stdout.contains("web1: drifted") && text.stdout.contains("file.managed"),
        "{}",
        text.stdout
    );
    assert!(web1.log().contains("returner"), "{}", web1.log());
}

#[test]
fn a_schedule_brine_cannot_run_is_a_config_error_naming_it() {
    let master = Master::start(&tree());
    let minion = Minion::start(
        "web1",
        master.ret_port,
        "schedule:\n  job1:\n    function: cmd.run\n    seconds: 5\n",
    );
    // Both the daemon and `minion apply` read the config: apply says why.
    let out = minion.cli(&["apply"]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("schedule entry 'job1'") && out.stderr.contains("cmd.run"),
        "{}",
        out.stderr
    );
    wait_until(
        Duration::from_secs(10),
        "the daemon to refuse its config",
        || minion.log().contains("schedule entry 'job1'"),
    );
}
