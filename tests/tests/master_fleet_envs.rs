//! Saltenvs and encrypted pillar on a real fleet: one master serves a `prod`
//! and a `stage` environment (their own file roots and pillar roots, one top
//! file in `base` giving each host its environment), and the prod pillar
//! holds a database password encrypted to the master's GPG key
//! (`#!yaml|gpg`, `gpg_keydir`). Two Debian hosts (systemd in nspawn, each
//! with its own network) run the minion's unit. After `master apply`, each
//! host has its environment's file rendered from its environment's template
//! and pillar; the password reaches the prod host's file decrypted, and
//! appears nowhere else: not on the stage host, not in the operator's
//! output, not in the master's log or job cache, not in either minion's
//! journal. Prints `skipped: <reason>` where containers cannot run.
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master};
use tests::fleet::{self, Container, Options};
use tests::fleet_minion::install_minion;
use tests::gpg_keyring::{files_containing, Keyring};

const IDS: [&str; 2] = ["prod1", "stage1"];
const APP_CONF: &str = "/etc/brine-app.conf";

/// Each environment has its own top file, merged by the default strategy.
const BASE_TOP: &str = "base:\n  '*':\n    - common\n";
const PROD_TOP: &str = "prod:\n  'prod*':\n    - app\n";
const STAGE_TOP: &str = "stage:\n  'stage*':\n    - app\n";

const COMMON: &str = "\
common-marker:
  file.managed:
    - name: /etc/brine-common
    - contents: 'from {{ saltenv }}'
";

/// The same SLS in both environments: what differs is the template beside it.
const APP: &str = "\
app-config:
  file.managed:
    - name: /etc/brine-app.conf
    - source: salt://app.conf.j2
    - template: jinja
    - mode: '0600'
";

const PROD_CONF: &str = "\
env=prod
greeting={{ pillar['app']['greeting'] }}
password={{ pillar['app']['db_password'] }}
";

const STAGE_CONF: &str = "\
env=stage
greeting={{ pillar['app']['greeting'] }}
password={{ pillar['app'].get('db_password', 'none') }}
";

const PILLAR_TOP: &str = "\
prod:
  'prod*':
    - app
stage:
  'stage*':
    - app
";

const ROOTS: &str = "\
file_roots:
  base: [ROOT/salt/base]
  prod: [ROOT/salt/prod]
  stage: [ROOT/salt/stage]
pillar_roots:
  base: [ROOT/pillar/base]
  prod: [ROOT/pillar/prod]
  stage: [ROOT/pillar/stage]
";

/// `master apply TARGET ARGS --out json`, and the raw output too, to search
/// for the secret.
fn apply(master: &Master, target: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut argv = vec!["apply", target];
    argv.extend(args);
    argv.extend(["--out", "json"]);
    let out = master.cli(&argv);
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\nstdout: {}\nstderr: {}\nlog: {}",
            out.stdout,
            out.stderr,
            master.log()
        )
    });
    (out.code, v, format!("{}{}", out.stdout, out.stderr))
}

fn read(c: &Container, path: &str) -> String {
    String::from_utf8(c.read_file(path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

#[test]
fn prod_and_stage_environments_and_an_encrypted_pillar_value_reach_only_their_hosts() {
    if !fleet::skip_or_continue(
        "prod_and_stage_environments_and_an_encrypted_pillar_value_reach_only_their_hosts",
    ) {
        return;
    }
    let started = Instant::now();
    let phase = |what: &str| eprintln!("[{:6.1}s] {what}", started.elapsed().as_secs_f64());
    let opts = Options::private_network();
    let fleet = fleet::boot_all(&IDS, &opts);
    phase("2 containers booted");

    let keys = tempfile::tempdir().unwrap();
    let keyring = Keyring::create(&keys.path().join("gpgkeys"));
    // Unique per run, so a match can only come from this run's data.
    let secret = format!("pw-{}-{}", std::process::id(), started.elapsed().as_nanos());
    let prod_pillar = format!(
        "#!yaml|gpg\napp:\n  greeting: hello prod\n  db_password: {}",
        keyring.encrypt_yaml_block(&secret, 4)
    );
    let files = [
        ("salt/base/top.sls", BASE_TOP),
        ("salt/prod/top.sls", PROD_TOP),
        ("salt/stage/top.sls", STAGE_TOP),
        ("salt/base/common.sls", COMMON),
        ("salt/prod/app.sls", APP),
        ("salt/prod/app.conf.j2", PROD_CONF),
        ("salt/stage/app.sls", APP),
        ("salt/stage/app.conf.j2", STAGE_CONF),
        ("pillar/base/top.sls", PILLAR_TOP),
        ("pillar/prod/app.sls", prod_pillar.as_str()),
        ("pillar/stage/app.sls", "app:\n  greeting: hello stage\n"),
    ];
    let master = Master::start_with_roots(
        "0.0.0.0",
        &files,
        ROOTS,
        &format!("gpg_keydir: {}\n", keyring.home().display()),
    );
    phase("master serving");
    std::thread::scope(|s| {
        for (c, id) in fleet.iter().zip(IDS) {
            let port = master.ret_port;
            s.spawn(move || install_minion(c, id, port, "ping_interval: 2\n"));
        }
    });
    wait_until(Duration::from_secs(90), "both keys pending", || {
        master.pending().len() == IDS.len()
    });
    let (code, accepted) = master.json(&["keys", "accept", "--all"]);
    assert_eq!(code, Some(0), "{accepted:#}");
    master.wait_connected(&IDS);
    phase("keys accepted, both answer test.ping");

    let (code, report, shown) = apply(&master, "*", &[]);
    assert_eq!(code, Some(0), "{report:#}\n{}", master.log());
    for id in IDS {
        let states = report[id]
            .as_object()
            .unwrap_or_else(|| panic!("{id}: {report:#}"));
        assert_eq!(states.len(), 2, "{id}: {report:#}");
        assert!(
            states.values().all(|r| r["result"] == json!(true)),
            "{id}: {report:#}"
        );
    }
    let (prod, stage) = (&fleet[0], &fleet[1]);
    assert_eq!(
        read(prod, APP_CONF),
        format!("env=prod\ngreeting=hello prod\npassword={secret}\n")
    );
    assert_eq!(
        read(stage, APP_CONF),
        "env=stage\ngreeting=hello stage\npassword=none\n"
    );
    // Each environment's SLS sees its own saltenv; `common` comes from base.
    for c in [prod, stage] {
        assert_eq!(read(c, "/etc/brine-common"), "from base\n");
    }
    assert_eq!(prod.run("stat -c %a /etc/brine-app.conf"), "600");
    phase("apply: each host got its environment's file and pillar");

    // Where the plaintext must not be.
    assert!(
        !shown.contains(&secret),
        "the operator's output shows the secret:\n{shown}"
    );
    let leaks = files_containing(master.dir.path(), &secret);
    assert!(
        leaks.is_empty(),
        "the secret is in the master's files: {leaks:?}"
    );
    for c in [prod, stage] {
        let journal = c.run("journalctl -u brine-minion --no-pager -o cat");
        assert!(
            !journal.contains(&secret),
            "the secret is in a minion's journal"
        );
    }
    let stage_hits = stage.run(&format!(
        "grep -rl -- '{secret}' /etc /var/cache/brine /var/log 2>/dev/null || true"
    ));
    assert_eq!(stage_hits, "", "the secret reached the stage host");
    phase("the plaintext is on the prod host's file only");

    // `saltenv=stage` reads only the stage top: stage1 gets app again
    // (unchanged) and not base's common.
    let (code, report, _) = apply(&master, "stage1", &["saltenv=stage"]);
    assert_eq!(code, Some(0), "{report:#}");
    let stage_states = report["stage1"].as_object().expect("stage1 report");
    assert_eq!(stage_states.len(), 1, "{report:#}");
    assert!(
        stage_states
            .values()
            .all(|r| r["result"] == json!(true) && r["changes"] == json!({})),
        "{report:#}"
    );
    phase("saltenv=stage: only stage states, nothing changed");
}
