//! GPG-encrypted pillar on a real master: a `#!yaml|gpg` pillar file holds a
//! value encrypted to the master's key (a throwaway keyring made by real
//! `gpg`). The minion given that pillar gets the plaintext in its managed
//! file; another minion gets nothing; a value encrypted to a key the master
//! lacks fails that minion's compile naming the key path; and the plaintext
//! is in none of the logs nor the job cache, where returns show
//! `<secret db:password>` instead.
use std::process::Command;
use std::time::Duration;

use tests::daemons::{wait_until, Master, Minion};
use tests::gpg_keyring::{files_containing, Keyring};

const PLAINTEXT: &str = "s3cret-Plaintext-4242";

#[test]
fn an_encrypted_pillar_value_reaches_only_its_minion_and_no_log_or_job_cache() {
    let master_key = Keyring::temporary();
    let other_key = Keyring::temporary();
    let secrets = format!(
        "#!yaml|gpg\ndb:\n  user: app\n  password: {}",
        master_key.encrypt_yaml_block(PLAINTEXT, 4)
    );
    let unreadable = format!(
        "#!yaml|gpg\napi:\n  token: {}",
        other_key.encrypt_yaml_block("not-for-this-master", 4)
    );
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - app\n".to_string()),
        (
            "salt/app.sls",
            "/etc/app.conf:\n  file.managed:\n    - contents: \"password={{ pillar.get('db', {}).get('password', 'none') }}\"\n"
                .to_string(),
        ),
        (
            "pillar/top.sls",
            "base:\n  web1:\n    - secrets\n  bad1:\n    - unreadable\n".to_string(),
        ),
        ("pillar/secrets.sls", secrets),
        ("pillar/unreadable.sls", unreadable),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let master = Master::start_with(
        &refs,
        &format!("gpg_keydir: {}\n", master_key.home().display()),
    );
    let minions: Vec<Minion> = ["web1", "db1", "bad1"]
        .iter()
        .map(|id| Minion::start(id, master.ret_port, ""))
        .collect();
    wait_until(Duration::from_secs(20), "three pending", || {
        master.pending().len() == 3
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "db1", "bad1"]);
    for m in &minions {
        std::fs::create_dir_all(m.root().join("etc")).unwrap();
    }
    // web1's file exists with other contents, so its return carries a diff.
    let web1 = &minions[0];
    std::fs::write(web1.root().join("etc/app.conf"), "password=old\n").unwrap();

    let (code, v) = master.json(&["apply", "*"]);
    assert_ne!(code, Some(0), "bad1 fails: {v:#}");
    // The plaintext reaches web1's file, and nothing reaches db1's.
    let written = std::fs::read_to_string(web1.root().join("etc/app.conf")).unwrap();
    assert_eq!(written.trim_end(), format!("password={PLAINTEXT}"));
    let db1 = std::fs::read_to_string(minions[1].root().join("etc/app.conf")).unwrap();
    assert_eq!(db1.trim_end(), "password=none");
    // The operator sees the secret by its key path, never its value.
    let shown = v.to_string();
    assert!(!shown.contains(PLAINTEXT), "{v:#}");
    assert!(shown.contains("<secret db:password>"), "{v:#}");
    // bad1: its compile fails naming the key and the file, and nothing is applied.
    assert!(
        shown.contains("pillar key 'api:token' (unreadable.sls) could not be decrypted"),
        "{v:#}"
    );
    assert!(!shown.contains("BEGIN PGP MESSAGE"), "{v:#}");
    assert!(!minions[2].root().join("etc/app.conf").exists());

    // pillar.items is answered by the master from its compile: hidden too.
    let (code, p) = master.json(&["run", "web1", "pillar.items"]);
    assert_eq!(code, Some(0), "{p:#}");
    assert_eq!(p["web1"]["db"]["password"], "<secret db:password>", "{p:#}");
    assert_eq!(p["web1"]["db"]["user"], "app", "{p:#}");

    // The job cache's database and WAL, the master's log: all under its dir.
    assert!(master.dir.path().join("cache").is_dir());
    let leaks = files_containing(master.dir.path(), PLAINTEXT);
    assert!(leaks.is_empty(), "the plaintext is in {leaks:?}");
    for m in &minions {
        assert!(
            !m.log().contains(PLAINTEXT),
            "the plaintext is in {}'s log",
            m.id
        );
    }
}

/// Masterless (`minion apply --local`): the minion config's `gpg_keydir`
/// decrypts, the file gets the plaintext, and what is printed (highstate
/// and JSON alike) shows `<secret db:password>` instead.
#[test]
fn masterless_apply_decrypts_with_the_minion_keyring_and_prints_no_plaintext() {
    let key = Keyring::temporary();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |rel: &str, text: &str| {
        let p = d.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("salt/top.sls", "base:\n  '*':\n    - app\n");
    write(
        "salt/app.sls",
        "/etc/app.conf:\n  file.managed:\n    - contents: \"password={{ pillar.db.password }}\"\n",
    );
    write("pillar/top.sls", "base:\n  '*':\n    - secrets\n");
    write(
        "pillar/secrets.sls",
        &format!(
            "#!yaml|gpg\ndb:\n  password: {}",
            key.encrypt_yaml_block(PLAINTEXT, 4)
        ),
    );
    write("root/etc/app.conf", "password=old\n");
    write(
        "minion.yaml",
        &format!(
            "file_roots:\n  base: [{d}/salt]\npillar_roots:\n  base: [{d}/pillar]\ngpg_keydir: {}\n",
            key.home().display(),
            d = d.display(),
        ),
    );
    for out in ["json", "highstate"] {
        std::fs::write(d.join("root/etc/app.conf"), "password=old\n").unwrap();
        let run = Command::new(tests::bin("minion"))
            .args(["apply", "--local", "--id", "web1", "--out", out, "--root"])
            .arg(d.join("root"))
            .arg("--config")
            .arg(d.join("minion.yaml"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
        let written = std::fs::read_to_string(d.join("root/etc/app.conf")).unwrap();
        assert_eq!(written.trim_end(), format!("password={PLAINTEXT}"));
        assert!(stdout.contains("<secret db:password>"), "{stdout}");
        assert!(
            !stdout.contains(PLAINTEXT) && !stderr.contains(PLAINTEXT),
            "{stdout}\n{stderr}"
        );
    }
}

/// A master whose one minion, web1, runs `sleep 3` and then writes the
/// decrypted `db:password` over a file that held another, so its return
/// carries the plaintext in a diff. The keyring lives as long as the test.
fn slow_job_with_a_secret() -> (Keyring, Master, Minion) {
    let key = Keyring::temporary();
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - app\n".to_string()),
        (
            "salt/app.sls",
            "slow:\n  cmd.run:\n    - name: sleep 3\n\
             /etc/app.conf:\n  file.managed:\n    - contents: \"password={{ pillar.db.password }}\"\n    - require:\n      - cmd: slow\n"
                .to_string(),
        ),
        ("pillar/top.sls", "base:\n  '*':\n    - secrets\n".to_string()),
        (
            "pillar/secrets.sls",
            format!(
                "#!yaml|gpg\ndb:\n  password: {}",
                key.encrypt_yaml_block(PLAINTEXT, 4)
            ),
        ),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let master = Master::start_with(&refs, &format!("gpg_keydir: {}\n", key.home().display()));
    let web1 = Minion::start("web1", master.ret_port, "");
    wait_until(Duration::from_secs(20), "web1 pending", || {
        master.pending() == ["web1"]
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);
    std::fs::create_dir_all(web1.root().join("etc")).unwrap();
    std::fs::write(web1.root().join("etc/app.conf"), "password=old\n").unwrap();
    (key, master, web1)
}

/// A return that comes after its job's deadline is recorded late, by
/// another path than the publish's: the decrypted value is hidden there too.
#[test]
fn a_late_return_is_recorded_with_the_secret_hidden() {
    let (_key, master, web1) = slow_job_with_a_secret();

    // The deadline passes while `sleep 3` runs: web1 is reported missing.
    let out = master.cli(&["apply", "web1", "-t", "1", "--out", "json"]);
    assert!(!out.stdout.contains(PLAINTEXT), "{out:?}");
    let cache =
        |needle: &str| !files_containing(&master.dir.path().join("cache"), needle).is_empty();
    wait_until(
        Duration::from_secs(30),
        "web1's late return recorded",
        || cache("<secret db:password>"),
    );
    let written = std::fs::read_to_string(web1.root().join("etc/app.conf")).unwrap();
    assert_eq!(written.trim_end(), format!("password={PLAINTEXT}"));
    assert!(!cache(PLAINTEXT), "the plaintext is in the job cache");
    assert!(!master.log().contains(PLAINTEXT));
}

/// A return that comes after the master restarted, when the minion's pillar
/// no longer compiles (here the secret's file was broken meanwhile), cannot
/// have its secrets found: it is withheld, counts only, never recorded as it
/// came with the plaintext in its diff.
#[test]
fn a_late_return_whose_secrets_cannot_be_known_is_withheld() {
    let (_key, mut master, web1) = slow_job_with_a_secret();
    let pings = web1.jobs_started().len();
    let config = master.config();
    let operator = std::thread::spawn(move || {
        let mut cmd = Command::new(tests::bin("master"));
        cmd.args(["apply", "web1", "--config"]).arg(config);
        tests::run(cmd, Duration::from_secs(60)).unwrap()
    });
    wait_until(Duration::from_secs(20), "the job to start", || {
        web1.jobs_started().len() > pings
    });
    master.kill();
    operator.join().unwrap();
    std::fs::write(
        master.dir.path().join("pillar/secrets.sls"),
        "#!yaml|gpg\ndb: [unclosed\n",
    )
    .unwrap();
    master.restart();
    let jid = web1.jobs_started().into_iter().max().unwrap();
    wait_until(Duration::from_secs(30), "the late return", || {
        let (_, shown) = master.json(&["jobs", "show", &jid]);
        shown["returns"][0]["minion"] == "web1"
    });
    let written = std::fs::read_to_string(web1.root().join("etc/app.conf")).unwrap();
    assert_eq!(written.trim_end(), format!("password={PLAINTEXT}"));
    let (_, shown) = master.json(&["jobs", "show", &jid]);
    let ret = shown["returns"][0]["ret"].as_str().unwrap_or_default();
    assert!(
        ret.starts_with("withheld (2 states, 0 failed): "),
        "{shown:#}"
    );
    assert_eq!(shown["returns"][0]["success"], true, "{shown:#}");
    let leaks = files_containing(master.dir.path(), PLAINTEXT);
    assert!(leaks.is_empty(), "the plaintext is in {leaks:?}");
    assert!(
        master
            .log()
            .contains("does not compile now: its result is withheld"),
        "{}",
        master.log()
    );
}

/// Salt lets a state file be encrypted too (`#!yaml|gpg`): its value is
/// decrypted on the master, reaches the minion's file, and is hidden from the
/// return as a pillar secret is.
#[test]
fn an_encrypted_value_in_a_state_file_is_applied_and_hidden_from_the_return() {
    let key = Keyring::temporary();
    let app = format!(
        "#!yaml|gpg\n/etc/token:\n  file.managed:\n    - contents: {}",
        key.encrypt_yaml_block(PLAINTEXT, 8)
    );
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - app\n".to_string()),
        ("salt/app.sls", app),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let master = Master::start_with(&refs, &format!("gpg_keydir: {}\n", key.home().display()));
    let web1 = Minion::start("web1", master.ret_port, "");
    wait_until(Duration::from_secs(20), "web1 pending", || {
        master.pending().len() == 1
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);
    std::fs::create_dir_all(web1.root().join("etc")).unwrap();
    std::fs::write(web1.root().join("etc/token"), "old\n").unwrap();

    let (code, v) = master.json(&["apply", "web1"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", master.log());
    let written = std::fs::read_to_string(web1.root().join("etc/token")).unwrap();
    assert_eq!(written.trim_end(), PLAINTEXT);
    let shown = v.to_string();
    assert!(!shown.contains(PLAINTEXT), "{v:#}");
    assert!(shown.contains("<secret "), "{v:#}");
    let leaks = files_containing(master.dir.path(), PLAINTEXT);
    assert!(leaks.is_empty(), "the plaintext is in {leaks:?}");
}
