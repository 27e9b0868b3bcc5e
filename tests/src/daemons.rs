//! Real `master serve` and `minion serve` processes on loopback, each in its
//! own temp dirs, for end-to-end tests. Every process is killed when its
//! handle drops, so a failing test leaves nothing running.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{bin, run, Output};

/// Two free TCP ports on 127.0.0.1 (free when asked; good enough for tests).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A master with its state tree, config and state under one temp dir.
pub struct Master {
    pub dir: tempfile::TempDir,
    pub ret_port: u16,
    pub operator_port: u16,
    child: Option<Child>,
    /// Environment variables the daemon starts with (besides the test's).
    env: Vec<(String, String)>,
}

impl Master {
    /// Writes `files` (path relative to the master's dir → contents; use
    /// `salt/...` and `pillar/...`) and starts the daemon.
    pub fn start(files: &[(&str, &str)]) -> Master {
        Master::start_with(files, "")
    }

    /// As [`Master::start`], with extra lines for master.yaml.
    pub fn start_with(files: &[(&str, &str)], extra_config: &str) -> Master {
        Master::start_on("127.0.0.1", files, extra_config)
    }

    /// As [`Master::start_with`], listening on `interface` (`0.0.0.0` for
    /// minions in containers with their own network).
    pub fn start_on(interface: &str, files: &[(&str, &str)], extra_config: &str) -> Master {
        let roots = "file_roots:\n  base: [ROOT/salt]\npillar_roots:\n  base: [ROOT/pillar]\n";
        Master::start_with_roots(interface, files, roots, extra_config)
    }

    /// As [`Master::start_on`], with `roots` as the `file_roots` and
    /// `pillar_roots` lines of master.yaml (several saltenvs); `ROOT` in
    /// `roots` and `extra_config` stands for the master's dir.
    pub fn start_with_roots(
        interface: &str,
        files: &[(&str, &str)],
        roots: &str,
        extra_config: &str,
    ) -> Master {
        Master::start_with_roots_env(interface, files, roots, extra_config, &[])
    }

    /// As [`Master::start_with_roots`], the daemon started with `env` set.
    pub fn start_with_roots_env(
        interface: &str,
        files: &[(&str, &str)],
        roots: &str,
        extra_config: &str,
        env: &[(&str, &str)],
    ) -> Master {
        let dir = tempfile::tempdir().unwrap();
        let (ret_port, operator_port) = free_ports();
        for (path, text) in files {
            write(&dir.path().join(path), text);
        }
        let d = dir.path().display().to_string();
        let roots = roots.replace("ROOT", &d);
        let extra_config = extra_config.replace("ROOT", &d);
        write(
            &dir.path().join("master.yaml"),
            &format!(
                "interface: {interface}\nret_port: {ret_port}\noperator_port: {operator_port}\n\
                 {roots}pki_dir: {d}/pki\ncachedir: {d}/cache\ntimeout: 20\n{extra_config}"
            ),
        );
        let mut m = Master {
            dir,
            ret_port,
            operator_port,
            child: None,
            env: Vec::new(),
        };
        m.set_env(env);
        m.restart();
        m
    }

    /// The environment variables the daemon gets from its next
    /// [`Master::restart`] on, instead of the ones it had.
    pub fn set_env(&mut self, env: &[(&str, &str)]) {
        self.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("master.yaml")
    }

    /// Starts (again) the daemon on the same dirs and ports, and waits until
    /// its operator port answers.
    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("master.log"))
            .unwrap();
        let child = Command::new(bin("master"))
            .args(["serve", "--config"])
            .arg(self.config())
            .env("BRINE_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start master");
        self.child = Some(child);
        wait_until(
            Duration::from_secs(20),
            "the master's operator port",
            || self.cli(&["keys", "list"]).code == Some(0),
        );
    }

    /// The daemon's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Resident memory of the daemon in KiB (`VmRSS`), while it runs.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Kills the daemon (SIGKILL: a crash, not a shutdown).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the daemon as `systemctl stop` does (SIGTERM) and returns its
    /// exit code; panics if it is still running after `limit`.
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        terminate(&mut self.child, limit)
    }

    /// Runs an operator command with this master's config.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin("master"));
        cmd.args(args).arg("--config").arg(self.config());
        run(cmd, Duration::from_secs(120)).unwrap()
    }

    /// Starts an operator command with this master's config and leaves it
    /// running (a `master apply` the test kills the master under).
    pub fn spawn_cli(&self, args: &[&str]) -> OperatorCommand {
        let child = Command::new(bin("master"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the operator command");
        OperatorCommand(Some(child))
    }

    /// Freezes the daemon (SIGSTOP): a master that is gone without closing
    /// its connections, as a hung or unplugged host is. Killed on drop all
    /// the same.
    pub fn freeze(&self) {
        let pid = self.pid().expect("the master is running");
        let sent = Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -STOP {pid}");
    }

    /// Runs an operator command with `--out json` and parses its stdout.
    pub fn json(&self, args: &[&str]) -> (Option<i32>, Value) {
        let mut all = args.to_vec();
        all.extend(["--out", "json"]);
        let out = self.cli(&all);
        let v = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "master {args:?}: {e}\nstdout: {}\nstderr: {}\nlog: {}",
                out.stdout,
                out.stderr,
                self.log()
            )
        });
        (out.code, v)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("master.log")).unwrap_or_default()
    }

    /// Ids whose keys are pending.
    pub fn pending(&self) -> Vec<String> {
        let (_, v) = self.json(&["keys", "list"]);
        v["minions_pre"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs `jobs show JID` until it lists `n` returns (within `limit`);
    /// what it showed then.
    pub fn show_when_returned(&self, jid: &str, n: usize, limit: Duration) -> Value {
        let mut shown = Value::Null;
        wait_until(
            limit,
            &format!("jobs show {jid} to list {n} returns"),
            || {
                let (code, v) = self.json(&["jobs", "show", jid]);
                shown = v;
                code == Some(0) && shown["returns"].as_array().is_some_and(|r| r.len() == n)
            },
        );
        shown
    }

    /// Waits until every id in `ids` answers `test.ping`.
    pub fn wait_connected(&self, ids: &[&str]) {
        wait_until(
            Duration::from_secs(30),
            "minions to answer test.ping",
            || {
                let out = self.cli(&[
                    "run",
                    "-L",
                    &ids.join(","),
                    "test.ping",
                    "--out",
                    "json",
                    "-t",
                    "5",
                ]);
                serde_json::from_str::<Value>(&out.stdout)
                    .ok()
                    .is_some_and(|v| ids.iter().all(|id| v[*id] == Value::Bool(true)))
            },
        );
    }

    /// Starts a minion of this master.
    pub fn minion(&self, id: &str) -> Minion {
        Minion::start(id, self.ret_port, "")
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An operator command left running; killed when stopped or dropped.
pub struct OperatorCommand(Option<Child>);

impl OperatorCommand {
    pub fn stop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OperatorCommand {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A minion daemon with its own key, cache and state root.
pub struct Minion {
    pub id: String,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Minion {
    pub fn start(id: &str, master_port: u16, extra_config: &str) -> Minion {
        Minion::start_waiting(id, master_port, 1, extra_config)
    }

    /// As [`Minion::start`], with its own `acceptance_wait_time` (seconds
    /// between tries while its key is pending).
    pub fn start_waiting(
        id: &str,
        master_port: u16,
        acceptance_wait: u64,
        extra_config: &str,
    ) -> Minion {
        let masters = format!("master: 127.0.0.1\nmaster_port: {master_port}\n");
        Minion::start_configured(id, &masters, acceptance_wait, extra_config)
    }

    /// A minion whose `master` lists several masters on loopback, by their
    /// `ret_port`s.
    pub fn start_listing(id: &str, master_ports: &[u16], extra_config: &str) -> Minion {
        let masters: String = master_ports
            .iter()
            .map(|p| format!("  - 127.0.0.1:{p}\n"))
            .collect();
        Minion::start_configured(id, &format!("master:\n{masters}"), 1, extra_config)
    }

    fn start_configured(
        id: &str,
        masters: &str,
        acceptance_wait: u64,
        extra_config: &str,
    ) -> Minion {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::create_dir_all(dir.path().join("root")).unwrap();
        write(
            &dir.path().join("minion.yaml"),
            &format!(
                "id: {id}\n{masters}pki_dir: {d}/pki\n\
                 cachedir: {d}/cache\nstate_root: {d}/root\nacceptance_wait_time: {acceptance_wait}\n\
                 ping_interval: 1\nrandom_reconnect_delay: 2\nrecord_received: {d}/received.jsonl\n\
                 {extra_config}"
            ),
        );
        let mut m = Minion {
            id: id.to_string(),
            dir,
            child: None,
        };
        m.restart();
        m
    }

    pub fn restart(&mut self) {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("minion.log"))
            .unwrap();
        let child = Command::new(bin("minion"))
            .args(["serve", "--config"])
            .arg(self.dir.path().join("minion.yaml"))
            .env("BRINE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start minion");
        self.child = Some(child);
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the daemon as `systemctl stop` does (SIGTERM) and returns its
    /// exit code; panics if it is still running after `limit`.
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        terminate(&mut self.child, limit)
    }

    /// Runs a `minion` command with this minion's config (its id, key and
    /// master), e.g. `apply` through the master.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin("minion"));
        cmd.args(args)
            .arg("--config")
            .arg(self.dir.path().join("minion.yaml"));
        run(cmd, Duration::from_secs(120)).unwrap()
    }

    /// The directory states apply under (the minion's `/`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Every message the master sent this minion, as JSON text.
    pub fn received(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("received.jsonl")).unwrap_or_default()
    }

    /// Job ids this minion started.
    pub fn jobs_started(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("cache/jobs.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with("floor "))
            .map(String::from)
            .collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("minion.log")).unwrap_or_default()
    }
}

impl Drop for Minion {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends SIGTERM to `child` and waits for it to exit (its exit code, `None`
/// if a signal ended it); panics after `limit`, killing it.
fn terminate(child: &mut Option<Child>, limit: Duration) -> Option<i32> {
    let mut c = child.take().expect("the daemon is running");
    let sent = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM {}", c.id());
    let start = Instant::now();
    loop {
        if let Some(status) = c.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > limit {
            let _ = c.kill();
            let _ = c.wait();
            panic!("still running {limit:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `cond` every 100 ms until it holds; panics after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}
