//! End to end: gitfs and git_pillar remotes that need credentials, fetched
//! by the master in-process with libgit2 (no `git` binary on its side):
//! smart HTTP over TLS with Basic auth (`git http-backend` behind a Python
//! server, a throwaway CA) and ssh with key files (a real `sshd` serving
//! `git-upload-pack`), both on loopback. Shown: the right credentials
//! fetch and apply uses the tree; a wrong password, an untrusted
//! certificate and an unknown ssh host key are errors in `master
//! fileserver status` that say what to do, while the remote keeps serving
//! its last good commit; `ssl_verify: False` accepts any, as Salt does; and
//! no password or passphrase reaches an output, the log or the job cache.
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};
use tests::git_remote::{commit, init_repo};
use tests::git_servers::{https_git, ssh_key, sshd};

const TOP: &str = "base:\n  '*':\n    - app\n";
const APP: &str = "\
/etc/app.conf:
  file.managed:
    - source: salt://app.conf.j2
    - template: jinja
";

/// A master serving only git, started with `env`, and one accepted,
/// connected minion `web1`. Every operator command's output is kept, to
/// look for secrets in.
struct Fixture {
    master: Master,
    minion: Minion,
    outputs: std::cell::RefCell<String>,
}

impl Fixture {
    fn start(git_config: &str, env: &[(&str, &str)]) -> Fixture {
        let master = Master::start_with_roots_env("127.0.0.1", &[], "", git_config, env);
        let minion = master.minion("web1");
        std::fs::create_dir_all(minion.root().join("etc")).unwrap();
        wait_until(Duration::from_secs(20), "web1 pending", || {
            !master.pending().is_empty()
        });
        master.cli(&["keys", "accept", "--all"]);
        master.wait_connected(&["web1"]);
        Fixture {
            master,
            minion,
            outputs: Default::default(),
        }
    }

    fn app_conf(&self) -> String {
        std::fs::read_to_string(self.minion.root().join("etc/app.conf")).unwrap_or_default()
    }

    /// `master ARGS --out json`, its output kept.
    fn json(&self, args: &[&str]) -> (Option<i32>, Value) {
        let (code, v) = self.master.json(args);
        self.outputs.borrow_mut().push_str(&v.to_string());
        (code, v)
    }

    /// `master ARGS` (human output), its output kept.
    fn human(&self, args: &[&str]) -> String {
        let out = self.master.cli(args);
        let text = format!("{}{}", out.stdout, out.stderr);
        self.outputs.borrow_mut().push_str(&text);
        text
    }

    fn apply(&self) {
        let (code, v) = self.json(&["apply", "*"]);
        assert_eq!(code, Some(0), "{v:#}\n{}", self.master.log());
        let (_, jobs) = self.json(&["jobs", "list"]);
        let jid = jobs[0]["jid"].as_str().unwrap().to_string();
        self.human(&["jobs", "show", &jid]);
    }

    /// `master fileserver update`: its exit code and remotes.
    fn update(&self) -> (Option<i32>, Value) {
        let (code, v) = self.json(&["fileserver", "update"]);
        self.human(&["fileserver", "status"]);
        (code, v["remotes"].clone())
    }

    /// Appends `lines` to master.yaml and restarts the master with `env`.
    fn reconfigure(&mut self, lines: &str, env: &[(&str, &str)]) {
        let mut text = std::fs::read_to_string(self.master.config()).unwrap();
        text.push_str(lines);
        std::fs::write(self.master.config(), text).unwrap();
        self.master.set_env(env);
        self.master.restart();
        self.master.wait_connected(&["web1"]);
    }

    /// No `secret` in any operator output, in the master's log, or in any
    /// file under its dir (job cache, key store, git cache) but the config
    /// it was written in.
    fn assert_never_shown(&self, secret: &str) {
        assert!(
            !self.outputs.borrow().contains(secret),
            "an operator command showed a secret:\n{}",
            self.outputs.borrow()
        );
        let config = self.master.config();
        let leaks: Vec<PathBuf> = files_under(self.master.dir.path())
            .into_iter()
            .filter(|p| *p != config)
            .filter(|p| {
                std::fs::read(p)
                    .map(|bytes| contains(&bytes, secret.as_bytes()))
                    .unwrap_or(false)
            })
            .collect();
        assert!(leaks.is_empty(), "files hold a secret: {leaks:?}");
        assert!(self.master.dir.path().join("cache").is_dir());
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(files_under(&p));
        } else if p.is_file() {
            out.push(p);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn https_with_basic_auth_fetches_when_the_ca_is_trusted_and_names_an_untrusted_certificate() {
    const PASSWORD: &str = "pw-3c9e1f7a-right";
    let repos = tempfile::tempdir().unwrap();
    let states = repos.path().join("states");
    init_repo(
        &states,
        &[("top.sls", TOP), ("app.sls", APP), ("app.conf.j2", "v1\n")],
    );
    let server = https_git(repos.path(), "alice", PASSWORD);
    let ca = server.ca.display().to_string();
    let mut f = Fixture::start(
        &format!(
            "fileserver_backend: [git]\ngitfs_update_interval: 3600\ngitfs_remotes:\n  - {}:\n    \
             - name: states\n    - user: alice\n    - password: {PASSWORD}\n",
            server.url("states")
        ),
        &[("SSL_CERT_FILE", &ca)],
    );
    f.apply();
    assert_eq!(f.app_conf(), "v1\n");

    let v2 = commit(&states, &[("app.conf.j2", "v2\n")], "v2");
    let (code, remotes) = f.update();
    assert_eq!(code, Some(0), "{remotes:#}\n{}", f.master.log());
    assert_eq!(remotes[0]["saltenvs"]["base"], v2.as_str(), "{remotes:#}");
    assert_eq!(remotes[0]["last_error"], Value::Null, "{remotes:#}");
    f.apply();
    assert_eq!(f.app_conf(), "v2\n");

    // The CA no longer in the master's environment: the certificate is
    // refused, saying how to trust it, and v2 stays served.
    let v3 = commit(&states, &[("app.conf.j2", "v3\n")], "v3");
    f.reconfigure("", &[]);
    let (code, remotes) = f.update();
    assert_eq!(code, Some(1), "{remotes:#}");
    let error = remotes[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("the TLS certificate of 127.0.0.1 is not trusted")
            && error.contains("SSL_CERT_FILE")
            && error.contains("ssl_verify: False"),
        "{remotes:#}"
    );
    assert_eq!(remotes[0]["name"], "states", "{remotes:#}");
    assert_eq!(remotes[0]["saltenvs"]["base"], v2.as_str(), "{remotes:#}");
    f.apply();
    assert_eq!(f.app_conf(), "v2\n");

    // Salt's gitfs_ssl_verify: False accepts the certificate unchecked.
    f.reconfigure("gitfs_ssl_verify: False\n", &[]);
    let (code, remotes) = f.update();
    assert_eq!(code, Some(0), "{remotes:#}\n{}", f.master.log());
    assert_eq!(remotes[0]["saltenvs"]["base"], v3.as_str(), "{remotes:#}");
    f.apply();
    assert_eq!(f.app_conf(), "v3\n");

    f.assert_never_shown(PASSWORD);
}

#[test]
fn a_wrong_https_password_is_an_error_naming_the_remote_and_no_password_is_shown() {
    const RIGHT: &str = "pw-0d41a9be-right";
    const WRONG: &str = "pw-77d2b0e4-wrong";
    let repos = tempfile::tempdir().unwrap();
    init_repo(
        &repos.path().join("states"),
        &[("top.sls", TOP), ("app.sls", APP), ("app.conf.j2", "v1\n")],
    );
    let server = https_git(repos.path(), "alice", RIGHT);
    let ca = server.ca.display().to_string();
    let f = Fixture::start(
        &format!(
            "fileserver_backend: [git]\ngitfs_update_interval: 3600\ngitfs_user: alice\n\
             gitfs_password: {WRONG}\ngitfs_remotes:\n  - {}:\n    - name: states\n",
            server.url("states")
        ),
        &[("SSL_CERT_FILE", &ca)],
    );
    let (code, remotes) = f.update();
    assert_eq!(code, Some(1), "{remotes:#}");
    assert_eq!(remotes[0]["name"], "states", "{remotes:#}");
    let error = remotes[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("authentication failed")
            && error.contains("refused user \"alice\" with the configured password"),
        "{remotes:#}"
    );
    assert_eq!(remotes[0]["saltenvs"], serde_json::json!({}), "{remotes:#}");
    let status = f.human(&["fileserver", "status"]);
    assert!(
        status.contains("states") && status.contains("refused user"),
        "{status}"
    );
    let log = f.master.log();
    assert!(
        log.contains("remote=states") && log.contains("refused user \"alice\""),
        "{log}"
    );
    // Nothing served: an apply fails, and says so without the password.
    let out = f.human(&["apply", "*"]);
    assert!(!out.is_empty());
    f.assert_never_shown(WRONG);
    f.assert_never_shown(RIGHT);
}

#[test]
fn ssh_with_key_files_serves_tree_and_pillar_when_the_host_key_is_known_and_names_an_unknown_one() {
    const PASSPHRASE: &str = "pp-5be1c2d9-secret";
    let keys = tempfile::tempdir().unwrap();
    let (plain, plain_pub) = ssh_key(keys.path(), "plain", "");
    let (protected, protected_pub) = ssh_key(keys.path(), "protected", PASSPHRASE);
    let server = sshd(&[&plain_pub, &protected_pub]);
    let repos = tempfile::tempdir().unwrap();
    let (states, pillar) = (repos.path().join("states"), repos.path().join("pillar"));
    init_repo(
        &states,
        &[
            ("top.sls", TOP),
            ("app.sls", APP),
            ("app.conf.j2", "v1 greeting={{ pillar['greeting'] }}\n"),
        ],
    );
    init_repo(
        &pillar,
        &[
            ("top.sls", "base:\n  '*':\n    - common\n"),
            ("common.sls", "greeting: over-ssh\n"),
        ],
    );
    // The master's user knows the server's host key (HOME/.ssh/known_hosts).
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/known_hosts"),
        server.known_hosts_line(),
    )
    .unwrap();
    let home_dir = home.path().display().to_string();
    let mut f = Fixture::start(
        &format!(
            "fileserver_backend: [git]\ngitfs_update_interval: 3600\n\
             gitfs_remotes:\n  - {states_url}:\n    - name: states\n    - pubkey: {plain_pub}\n    \
             - privkey: {plain}\n\
             ext_pillar:\n  - git:\n    - master {pillar_url}:\n      - name: pillar\n      \
             - pubkey: {protected_pub}\n      - privkey: {protected}\n      - passphrase: {PASSPHRASE}\n",
            states_url = server.url(&states),
            pillar_url = server.url(&pillar),
            plain = plain.display(),
            plain_pub = plain_pub.display(),
            protected = protected.display(),
            protected_pub = protected_pub.display(),
        ),
        &[("HOME", &home_dir)],
    );
    f.apply();
    assert_eq!(
        f.app_conf(),
        "v1 greeting=over-ssh\n",
        "{}\n{}",
        f.master.log(),
        server.log()
    );

    let states2 = commit(
        &states,
        &[("app.conf.j2", "v2 greeting={{ pillar['greeting'] }}\n")],
        "v2",
    );
    let pillar2 = commit(&pillar, &[("common.sls", "greeting: pushed\n")], "pushed");
    let (code, remotes) = f.update();
    assert_eq!(code, Some(0), "{remotes:#}\n{}", f.master.log());
    assert_eq!(
        remotes[0]["saltenvs"]["base"],
        states2.as_str(),
        "{remotes:#}"
    );
    assert_eq!(
        remotes[1]["pillarenvs"]["base"],
        pillar2.as_str(),
        "{remotes:#}"
    );
    f.apply();
    assert_eq!(f.app_conf(), "v2 greeting=pushed\n");

    // A master user whose known_hosts lacks the host key: refused, naming
    // the key's fingerprint and where to add it; the last good commits
    // stay served.
    let stranger = tempfile::tempdir().unwrap();
    let stranger_dir = stranger.path().display().to_string();
    let states3 = commit(
        &states,
        &[("app.conf.j2", "v3 greeting={{ pillar['greeting'] }}\n")],
        "v3",
    );
    f.reconfigure("", &[("HOME", &stranger_dir)]);
    let (code, remotes) = f.update();
    assert_eq!(code, Some(1), "{remotes:#}");
    let error = remotes[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("the ssh host key of 127.0.0.1")
            && error.contains(&server.host_key_fingerprint())
            && error.contains(&format!("{stranger_dir}/.ssh/known_hosts"))
            && error.contains("ssl_verify: False"),
        "{remotes:#}\n{}",
        server.host_key_fingerprint()
    );
    assert_eq!(
        remotes[0]["saltenvs"]["base"],
        states2.as_str(),
        "{remotes:#}"
    );
    assert!(
        remotes[1]["last_error"].is_string(),
        "git_pillar too: {remotes:#}"
    );
    f.apply();
    assert_eq!(f.app_conf(), "v2 greeting=pushed\n");

    // ssl_verify: False accepts any host key, as Salt's pygit2 provider.
    f.reconfigure(
        "gitfs_ssl_verify: False\ngit_pillar_ssl_verify: False\n",
        &[("HOME", &stranger_dir)],
    );
    let (code, remotes) = f.update();
    assert_eq!(code, Some(0), "{remotes:#}\n{}", f.master.log());
    assert_eq!(
        remotes[0]["saltenvs"]["base"],
        states3.as_str(),
        "{remotes:#}"
    );
    f.apply();
    assert_eq!(f.app_conf(), "v3 greeting=pushed\n");

    f.assert_never_shown(PASSPHRASE);
}

#[test]
fn a_refused_ssh_key_and_a_wrong_passphrase_are_errors_naming_the_key() {
    const WRONG: &str = "pp-81f0aa3c-wrong";
    let keys = tempfile::tempdir().unwrap();
    let (allowed, allowed_pub) = ssh_key(keys.path(), "allowed", "");
    let (stranger, stranger_pub) = ssh_key(keys.path(), "stranger", "");
    let (protected, protected_pub) = ssh_key(keys.path(), "protected", "pp-right");
    let server = sshd(&[&allowed_pub, &protected_pub]);
    let repos = tempfile::tempdir().unwrap();
    // One repository each: remotes with one URL would share a cache.
    let url = |name: &str| {
        let dir = repos.path().join(name);
        init_repo(&dir, &[("top.sls", TOP)]);
        server.url(&dir)
    };
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/known_hosts"),
        server.known_hosts_line(),
    )
    .unwrap();
    let home_dir = home.path().display().to_string();
    let master = Master::start_with_roots_env(
        "127.0.0.1",
        &[],
        "",
        &format!(
            "fileserver_backend: [git]\ngitfs_update_interval: 3600\ngitfs_remotes:\n\
             - {}:\n    - name: allowed\n    - pubkey: {}\n    - privkey: {}\n\
             - {}:\n    - name: stranger\n    - pubkey: {}\n    - privkey: {}\n\
             - {}:\n    - name: protected\n    - pubkey: {}\n    - privkey: {}\n    \
             - passphrase: {WRONG}\n",
            url("allowed"),
            allowed_pub.display(),
            allowed.display(),
            url("stranger"),
            stranger_pub.display(),
            stranger.display(),
            url("protected"),
            protected_pub.display(),
            protected.display(),
        ),
        &[("HOME", &home_dir)],
    );
    let (code, v) = master.json(&["fileserver", "update"]);
    assert_eq!(code, Some(1), "{v:#}");
    let remotes = &v["remotes"];
    assert_eq!(
        remotes[0]["last_error"],
        Value::Null,
        "{v:#}\n{}",
        server.log()
    );
    assert!(remotes[0]["saltenvs"]["base"].is_string(), "{v:#}");
    assert_eq!(remotes[1]["name"], "stranger", "{v:#}");
    assert!(
        remotes[1]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(&format!(
                "the remote refused the key {} for user \"{}\", or it needs a passphrase",
                stranger.display(),
                server.user
            ))),
        "{v:#}"
    );
    assert_eq!(remotes[1]["saltenvs"], serde_json::json!({}), "{v:#}");
    assert_eq!(remotes[2]["name"], "protected", "{v:#}");
    assert!(
        remotes[2]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(&format!(
                "the remote refused the key {}",
                protected.display()
            )) && e.contains("or its passphrase is wrong")),
        "{v:#}"
    );
    assert!(!v.to_string().contains(WRONG), "{v:#}");
    assert!(!master.log().contains(WRONG), "{}", master.log());
}
