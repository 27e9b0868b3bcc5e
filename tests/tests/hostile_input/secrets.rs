//! Secrets in pillar stay out of logs, errors and the job cache; key files
//! are 0600 and a readable one stops the daemon.
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tests::daemons::Master;

use crate::fixture::{accept_and_connect, one_sls_master};

#[test]
fn secrets_in_pillar_never_reach_logs_errors_or_the_job_cache() {
    const SECRET: &str = "s3cr3t-9b1e77";
    let sls = "\
with-env:
  cmd.run:
    - name: 'exit 3'
    - env:
      - TOKEN: {{ pillar['secret'] }}
env-written-wrong:
  cmd.run:
    - name: 'true'
    - env:
      - TOKEN={{ pillar['secret'] }}
no-such-program:
  cmd.run:
    - name: /nonexistent/prog
    - env:
        TOKEN: {{ pillar['secret'] }}
/nonexistent-dir/app.conf:
  file.managed:
    - contents: {{ pillar['secret'] }}
/etc/owned.conf:
  file.managed:
    - contents: {{ pillar['secret'] }}
    - user: no-such-user-xyz
/etc/badmode.conf:
  file.managed:
    - contents: {{ pillar['secret'] }}
    - mode: 'abc'
";
    let pillar = format!("secret: {SECRET}\n");
    let master = one_sls_master("sec", sls, &pillar);
    let m = master.minion("m1");
    std::fs::create_dir_all(m.root().join("etc")).unwrap();
    accept_and_connect(&master, &["m1"]);
    // The env reached the command: it is used, just never shown.
    let out = master.cli(&["apply", "m1"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let mut seen = vec![
        ("apply stdout", out.stdout.clone()),
        ("apply stderr", out.stderr.clone()),
    ];
    let (_, jobs) = master.json(&["jobs", "list"]);
    let jid = jobs[0]["jid"].as_str().unwrap().to_string();
    let shown = master.cli(&["jobs", "show", &jid, "--out", "json"]);
    let v: Value = serde_json::from_str(&shown.stdout).unwrap();
    let states = v["returns"][0]["ret"].as_object().unwrap();
    assert_eq!(states.len(), 6, "{v:#}");
    for (tag, s) in states {
        assert_eq!(s["result"], false, "{tag}: {s}");
    }
    seen.push(("jobs show", shown.stdout));
    seen.push(("master.log", master.log()));
    seen.push(("minion.log", m.log()));
    for (what, text) in &seen {
        assert!(!text.contains(SECRET), "the secret is in {what}:\n{text}");
    }
    // And the test can see a secret where one is: the minion was sent it.
    assert!(m.received().contains(SECRET));
}

#[test]
fn a_render_error_shows_where_a_pillar_value_went_but_not_the_value() {
    // A value that breaks the YAML it is rendered into: the error must point
    // at the line without printing it as rendered (Salt prints it).
    const SECRET: &str = "s3cr3t: 9b1e77";
    let master = one_sls_master(
        "sec",
        "/etc/app.conf:\n  file.managed:\n    - contents: {{ pillar['db']['password'] }}\n",
        "db:\n  password: 's3cr3t: 9b1e77'\n",
    );
    let m = master.minion("m1");
    accept_and_connect(&master, &["m1"]);
    let out = master.cli(&["apply", "m1"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("sec.sls, line 3"), "{text}");
    assert!(text.contains("- contents: <pillar db:password>"), "{text}");
    let (_, jobs) = master.json(&["jobs", "list"]);
    let mut seen = vec![
        ("apply output", text),
        ("master.log", master.log()),
        ("minion.log", m.log()),
    ];
    for job in jobs.as_array().unwrap() {
        let jid = job["jid"].as_str().unwrap();
        seen.push((
            "jobs show",
            master.cli(&["jobs", "show", jid, "--out", "json"]).stdout,
        ));
    }
    let rendered = master.cli(&["render", "m1", "sec", "--out", "json"]);
    seen.push(("render", format!("{}{}", rendered.stdout, rendered.stderr)));
    for (what, text) in &seen {
        assert!(!text.contains(SECRET), "the secret is in {what}:\n{text}");
    }
}

/// `master serve` or `minion serve` with a key file others can read.
fn refuses_to_start(cmd: Command, key: &Path) -> String {
    let out = tests::run(cmd, Duration::from_secs(20)).unwrap();
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.code.is_some(), "killed, not refused: {out:?}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains(&key.display().to_string()), "{text}");
    assert!(text.contains("chmod 600"), "{text}");
    text
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn key_files_are_0600_and_a_readable_one_stops_the_daemon() {
    let mut master = Master::start(&[("salt/top.sls", "base: {}\n")]);
    let mut m = master.minion("m1");
    accept_and_connect(&master, &["m1"]);
    let pki = master.dir.path().join("pki");
    let master_key = pki.join("master.key");
    let operator_key = pki.join("operator.key");
    let minion_key = m.dir.path().join("pki/minion.key");
    for key in [&master_key, &operator_key, &minion_key] {
        assert_eq!(mode(key), 0o600, "{}", key.display());
    }
    for dir in [&pki, &m.dir.path().join("pki")] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }

    master.kill();
    m.kill();
    let master_key_bytes = std::fs::read(&master_key).unwrap();
    for bits in [0o644, 0o640, 0o604] {
        chmod(&master_key, bits);
        let mut cmd = Command::new(tests::bin("master"));
        cmd.args(["serve", "--config"]).arg(master.config());
        refuses_to_start(cmd, &master_key);
    }
    chmod(&master_key, 0o600);
    // Refused, not "fixed": the key is the same key, the mode is the operator's to set.
    assert_eq!(std::fs::read(&master_key).unwrap(), master_key_bytes);

    chmod(&minion_key, 0o644);
    let mut cmd = Command::new(tests::bin("minion"));
    cmd.args(["serve", "--config"])
        .arg(m.dir.path().join("minion.yaml"));
    refuses_to_start(cmd, &minion_key);

    // The operator key on the master host: the daemon (which lists it) and
    // the CLI (which signs in with it) both refuse it.
    chmod(&operator_key, 0o644);
    let mut cmd = Command::new(tests::bin("master"));
    cmd.args(["serve", "--config"]).arg(master.config());
    refuses_to_start(cmd, &operator_key);
    let out = master.cli(&["keys", "list"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);

    // Put right, both start again and the minion is still accepted.
    chmod(&operator_key, 0o600);
    chmod(&minion_key, 0o600);
    master.restart();
    m.restart();
    master.wait_connected(&["m1"]);
}
