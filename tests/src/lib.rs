//! Support for the tests that run Brine's real binaries: finding (and, when
//! missing, building) them, running them with a deadline, and the differential
//! "compat" suite that compares `minion show --local` with recorded Salt output,
//! and the [`fleet`] of systemd-nspawn containers the state engine is tested on.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Path of the workspace binary `name` (`target/<profile>/<name>`), building it
/// first if it is missing.
///
/// Integration tests of one package do not get the binaries of another package
/// built for them, so the first caller runs `$CARGO build -p <name> --bin <name>`
/// into the same target directory and profile as the running test executable
/// (which is `target/<profile>/deps/<test>-<hash>`, so `CARGO_TARGET_DIR` is
/// respected by construction). An existing binary is used as is: run
/// `cargo build -p <name>` first when it may be stale.
///
/// Panics with the reason when the binary cannot be had; see [`try_bin`].
pub fn bin(name: &str) -> PathBuf {
    try_bin(name).unwrap_or_else(|e| panic!("{e}"))
}

/// [`bin`] without the panic, for harnesses that report failures themselves.
/// The outcome is remembered per process so parallel tests build at most once.
pub fn try_bin(name: &str) -> Result<PathBuf, String> {
    static BUILT: Mutex<BTreeMap<String, Result<PathBuf, String>>> = Mutex::new(BTreeMap::new());
    // A panic elsewhere while holding the lock leaves the map usable.
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(outcome) = built.get(name) {
        return outcome.clone();
    }
    let outcome = locate_or_build(name);
    built.insert(name.to_owned(), outcome.clone());
    outcome
}

fn locate_or_build(name: &str) -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the test executable: {e}"))?;
    let mut profile_dir = exe
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", exe.display()))?
        .to_path_buf();
    if profile_dir.file_name().is_some_and(|n| n == "deps") {
        profile_dir.pop();
    }
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        return Ok(path);
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--quiet", "-p", name, "--bin", name]);
    if let Some(target_dir) = profile_dir.parent() {
        cmd.arg("--target-dir").arg(target_dir);
    }
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd
        .output()
        .map_err(|e| format!("{name} binary not built, and running {cargo:?} failed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{name} binary not built: `{cmd:?}` failed ({})\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if !path.is_file() {
        return Err(format!(
            "{name} binary not built: cargo succeeded but {} is missing",
            path.display()
        ));
    }
    Ok(path)
}

pub mod daemons;
pub mod debs;
pub mod events;
pub mod fleet;
pub mod fleet_minion;
pub mod git_remote;
pub mod git_servers;
pub mod gpg_keyring;
pub mod http_server;
pub mod nginx_tree;
pub mod postgres;
pub mod raw_minion;
pub mod sealed;
pub mod zmtp;

/// What a finished child process said.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with stdin closed, capturing both streams; kills it after
/// `timeout`, because a hung binary must fail its test, not the whole run.
pub fn run(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{cmd:?} did not finish within {timeout:?}; killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {cmd:?}: {e}")),
        }
    };
    Ok(Output {
        code: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The differential suite: state trees under `tests/compat/trees`, each with
/// Salt's recorded answers in `expected/`, replayed through Brine's minion.
pub mod compat;

/// `minion apply --local --id web01` on the tree under `d`: `d/salt` and
/// `d/pillar` as the roots, applied under `d/root`, with `words` after.
pub fn apply_local_tree(d: &std::path::Path, words: &[&str]) -> std::process::Output {
    std::process::Command::new(bin("minion"))
        .args(["apply", "--local", "--id", "web01"])
        .arg("--file-root")
        .arg(d.join("salt"))
        .arg("--pillar-root")
        .arg(d.join("pillar"))
        .arg("--root")
        .arg(d.join("root"))
        .args(words)
        .output()
        .unwrap()
}
