//! Two masters on one PostgreSQL serving a real fleet (issue 13): three
//! Debian hosts (systemd-nspawn, each on its own network) run
//! `brine-minion.service` listing both masters; masters A and B run on the
//! host with their job cache and key store in one PostgreSQL. The keys are
//! accepted on A; an apply through A installs nginx and its site. Then the
//! pillar changes and a second apply through A rewrites the site and
//! restarts nginx through the `watch`; A is killed (SIGKILL) while every
//! host is still in that job. The report B shows for the job is complete
//! for every host, and nginx restarted exactly once on each. Prints
//! `skipped: <reason>` and returns where containers cannot run.
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master};
use tests::fleet::{self, Container, Options};
use tests::fleet_minion::install_minion_listing;
use tests::nginx_tree::{starts, PILLAR_TOP, SITE_PER_MINION, TOP, WEB};
use tests::postgres::Postgres;

const IDS: [&str; 3] = ["web1", "web2", "web3"];
/// Touched by the `gate` state once nginx has been (re)started...
const STARTED: &str = "/tmp/brine-gate-started";
/// ...which then waits for this (ten minutes at most).
const GATE: &str = "/tmp/brine-gate-go";

/// The fleet's nginx tree with a gate after the restart: the master dies
/// while the job is still running on every host, after the templates it
/// renders were fetched.
fn web_sls() -> String {
    format!(
        "{WEB}
gate:
  cmd.run:
    - name: >-
        touch {STARTED} &&
        for i in $(seq 6000); do [ -e {GATE} ] && exit 0; sleep 0.1; done; exit 1
    - require:
      - service: nginx
"
    )
}

fn pg_master(pg: &Postgres) -> Master {
    let web = web_sls();
    Master::start_on(
        "0.0.0.0",
        &[
            ("salt/top.sls", TOP),
            ("salt/web.sls", &web),
            ("salt/site.conf.j2", SITE_PER_MINION),
            ("pillar/top.sls", PILLAR_TOP),
        ],
        &format!(
            "master_job_cache: postgres\nkey_store: postgres\npostgres:\n  dsn: \"{}\"\n",
            pg.dsn()
        ),
    )
}

/// Both masters serve the same tree: the pillar changes on each.
fn set_greeting(masters: &[&Master], greeting: &str) {
    for m in masters {
        std::fs::write(
            m.dir.path().join("pillar/web.sls"),
            format!("greeting: {greeting}\n"),
        )
        .unwrap();
    }
}

/// `master apply '*'` through `m`, with time for apt: the exit status and
/// the report.
fn apply(m: &Master) -> (Option<i32>, Value) {
    let mut cmd = Command::new(tests::bin("master"));
    cmd.args(["apply", "*", "-t", "900", "--out", "json", "--config"])
        .arg(m.config());
    let out = tests::run(cmd, Duration::from_secs(1200)).unwrap();
    let v = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("apply: {e}\n{out:?}\n--- master log ---\n{}", m.log()));
    (out.code, v)
}

/// A state's result in one host's report, by `module.fun id`.
fn state<'a>(report: &'a Value, tag: &str) -> &'a Value {
    let (fun, id) = tag.split_once(' ').unwrap();
    let (module, fun) = fun.split_once('.').unwrap();
    report
        .as_object()
        .and_then(|states| {
            states.iter().find_map(|(k, v)| {
                let p: Vec<&str> = k.split("_|-").collect();
                (p.len() == 4 && p[0] == module && p[1] == id && p[3] == fun).then_some(v)
            })
        })
        .unwrap_or_else(|| panic!("no {tag} in {report:#}"))
}

fn started(c: &Container) -> bool {
    c.exec(&["test", "-e", STARTED]).status.success()
}

#[test]
fn two_masters_on_one_postgres_serve_a_fleet_through_losing_one_mid_apply() {
    if !fleet::skip_or_continue(
        "two_masters_on_one_postgres_serve_a_fleet_through_losing_one_mid_apply",
    ) {
        return;
    }
    let t0 = Instant::now();
    let phase = |what: &str| eprintln!("[{:6.1}s] {what}", t0.elapsed().as_secs_f64());
    let opts = Options::private_network();
    let fleet = fleet::boot_all(&IDS, &opts);
    phase("3 containers booted");
    let pg = Postgres::start();
    let mut a = pg_master(&pg);
    let b = pg_master(&pg);
    set_greeting(&[&a, &b], "hello v1");
    let ports = [a.ret_port, b.ret_port];
    std::thread::scope(|s| {
        for (c, id) in fleet.iter().zip(IDS) {
            let ports = &ports;
            s.spawn(move || {
                install_minion_listing(
                    c,
                    id,
                    ports,
                    "ping_interval: 1\nrandom_reconnect_delay: 2\n",
                )
            });
        }
    });
    phase("brine-minion.service listing both masters on all 3");

    wait_until(Duration::from_secs(90), "three keys pending on A", || {
        a.pending() == IDS
    });
    let (code, v) = a.json(&["keys", "accept", "--all"]);
    assert_eq!(code, Some(0), "{v}");
    a.wait_connected(&IDS);
    b.wait_connected(&IDS);
    phase("keys accepted on A; all 3 answer through A and B");

    // nginx installed and serving v1 (the gate open: straight through).
    for c in &fleet {
        c.run(&format!("touch {GATE}"));
    }
    let (code, first) = apply(&a);
    assert_eq!(code, Some(0), "{first:#}\n--- master log ---\n{}", a.log());
    let mut before = Vec::new();
    for (c, id) in fleet.iter().zip(IDS) {
        assert_eq!(c.run("systemctl is-active nginx"), "active", "{id}");
        assert_eq!(
            c.run("curl -s http://127.0.0.1:8080/"),
            format!("hello v1 from {id}")
        );
        before.push(starts(c));
    }
    phase("apply through A: nginx serving v1 on all 3");

    // The pillar changes; the apply through A is killed with A once every
    // host has restarted nginx and waits at the gate.
    set_greeting(&[&a, &b], "hello v2");
    for c in &fleet {
        c.run(&format!("rm -f {STARTED} {GATE}"));
    }
    let mut operator = a.spawn_cli(&["apply", "*", "-t", "900", "--out", "json"]);
    wait_until(Duration::from_secs(300), "every host at the gate", || {
        fleet.iter().all(started)
    });
    let (_, jobs) = b.json(&["jobs", "list"]);
    let jid = jobs[0]["jid"].as_str().unwrap().to_string();
    assert_eq!(jobs[0]["function"], "state.apply", "{jobs:#}");
    a.kill();
    operator.stop();
    for c in &fleet {
        c.run(&format!("touch {GATE}"));
    }
    phase(&format!("A killed mid-apply (job {jid}); gates open"));

    // B shows the job whole: every host's report, none missing.
    let shown = b.show_when_returned(&jid, 3, Duration::from_secs(120));
    assert_eq!(shown["missing"], json!([]), "{shown:#}");
    for (i, (c, id)) in fleet.iter().zip(IDS).enumerate() {
        let ret = shown["returns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["minion"] == id)
            .unwrap_or_else(|| panic!("no return of {id}: {shown:#}"));
        let report = &ret["ret"];
        assert_eq!(
            report.as_object().map(|m| m.len()),
            Some(4),
            "{id}: {report:#}"
        );
        assert!(
            report
                .as_object()
                .unwrap()
                .values()
                .all(|r| r["result"] == true),
            "{id}: {report:#}"
        );
        let diff = state(report, "file.managed site")["changes"]["diff"]
            .as_str()
            .unwrap_or_default();
        assert!(
            diff.contains(&format!(
                "+    location / {{ return 200 \"hello v2 from {id}\\n\"; }}"
            )),
            "{id}: {report:#}"
        );
        assert_eq!(
            state(report, "service.running nginx")["changes"],
            json!({"nginx": true}),
            "{id}: {report:#}"
        );
        // Restarted once by the job, which ran once.
        assert_eq!(
            starts(c),
            before[i] + 1,
            "{id}: nginx not restarted exactly once"
        );
        assert_eq!(
            c.run("curl -s http://127.0.0.1:8080/"),
            format!("hello v2 from {id}")
        );
    }
    phase("B shows every host's report; nginx restarted once on each");

    // New jobs go through B.
    let (code, pong) = b.json(&["run", "*", "test.ping", "-t", "10"]);
    assert_eq!(code, Some(0), "{pong:#}");
    assert_eq!(pong, json!({"web1": true, "web2": true, "web3": true}));
}
