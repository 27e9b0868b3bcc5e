//! GPG-encrypted pillar on a real master: a `#!yaml|gpg` pillar file holds a
//! value encrypted to the master's key (a throwaway keyring made by real
//! `gpg`). The minion given that pillar gets the plaintext in its managed
//! file; another minion gets nothing; a value encrypted to a key the master
//! lacks fails that minion's compile naming the key path; and the plaintext
//! is in none of the logs nor the job cache, where returns show
//! `<secret db:password>` instead.
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tests::daemons::{wait_until, Master, Minion};

const PLAINTEXT: &str = "s3cret-Plaintext-4242";

/// A GnuPG home made for this test; its agent is stopped with it.
struct Keyring(tempfile::TempDir);

impl Keyring {
    fn new() -> Keyring {
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let k = Keyring(home);
        k.gpg(
            &[
                "--passphrase",
                "",
                "--quick-gen-key",
                "brine-test",
                "default",
                "default",
                "never",
            ],
            "",
        );
        k
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn gpg(&self, args: &[&str], input: &str) -> String {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(self.path())
            .args(["--batch", "--no-tty", "--quiet"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is installed (scripts/test-prereqs.sh)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `text` encrypted to this keyring's key, indented as a YAML block.
    fn encrypt_block(&self, text: &str) -> String {
        let armored = self.gpg(
            &[
                "--armor",
                "--trust-model",
                "always",
                "--encrypt",
                "-r",
                "brine-test",
            ],
            text,
        );
        armored.trim_end().replace('\n', "\n    ")
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// Every file under `dir`, as bytes (the job cache's database, its WAL, ...).
fn files_under(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn an_encrypted_pillar_value_reaches_only_its_minion_and_no_log_or_job_cache() {
    let master_key = Keyring::new();
    let other_key = Keyring::new();
    let secrets = format!(
        "#!yaml|gpg\ndb:\n  user: app\n  password: |\n    {}\n",
        master_key.encrypt_block(PLAINTEXT)
    );
    let unreadable = format!(
        "#!yaml|gpg\napi:\n  token: |\n    {}\n",
        other_key.encrypt_block("not-for-this-master")
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
        &format!("gpg_keydir: {}\n", master_key.path().display()),
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

    let mut everything = Vec::new();
    files_under(&master.dir.path().join("cache"), &mut everything);
    everything.push(("master.log".into(), master.log().into_bytes()));
    for m in &minions {
        everything.push((format!("{} log", m.id), m.log().into_bytes()));
    }
    assert!(everything.iter().any(|(name, _)| name.contains("cache")));
    for (name, bytes) in &everything {
        assert!(!contains(bytes, PLAINTEXT), "the plaintext is in {name}");
    }
}

/// Masterless (`minion apply --local`): the minion config's `gpg_keydir`
/// decrypts, the file gets the plaintext, and what is printed (highstate
/// and JSON alike) shows `<secret db:password>` instead.
#[test]
fn masterless_apply_decrypts_with_the_minion_keyring_and_prints_no_plaintext() {
    let key = Keyring::new();
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
            "#!yaml|gpg\ndb:\n  password: |\n    {}\n",
            key.encrypt_block(PLAINTEXT)
        ),
    );
    write("root/etc/app.conf", "password=old\n");
    write(
        "minion.yaml",
        &format!(
            "file_roots:\n  base: [{d}/salt]\npillar_roots:\n  base: [{d}/pillar]\ngpg_keydir: {}\n",
            key.path().display(),
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

/// A return that comes after its job's deadline is recorded late, by
/// another path than the publish's: the decrypted value is hidden there too.
#[test]
fn a_late_return_is_recorded_with_the_secret_hidden() {
    let key = Keyring::new();
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
                "#!yaml|gpg\ndb:\n  password: |\n    {}\n",
                key.encrypt_block(PLAINTEXT)
            ),
        ),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let master = Master::start_with(&refs, &format!("gpg_keydir: {}\n", key.path().display()));
    let web1 = Minion::start("web1", master.ret_port, "");
    wait_until(Duration::from_secs(20), "web1 pending", || {
        master.pending() == ["web1"]
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);
    std::fs::create_dir_all(web1.root().join("etc")).unwrap();
    std::fs::write(web1.root().join("etc/app.conf"), "password=old\n").unwrap();

    // The deadline passes while `sleep 3` runs: web1 is reported missing.
    let out = master.cli(&["apply", "web1", "-t", "1", "--out", "json"]);
    assert!(!out.stdout.contains(PLAINTEXT), "{out:?}");
    let cache = |needle: &str| {
        let mut files = Vec::new();
        files_under(&master.dir.path().join("cache"), &mut files);
        files.iter().any(|(_, bytes)| contains(bytes, needle))
    };
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
