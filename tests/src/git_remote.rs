//! Real git remotes for tests: `git` in a directory, and `git-daemon`
//! serving a directory's repositories on a loopback (or veth) address.
//! The daemon runs in a process group of its own, killed whole when its
//! handle drops (also when the test fails): git-daemon forks a child per
//! connection, which would outlive a kill of the daemon alone.
use std::net::{IpAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::daemons::wait_until;

/// `git ARGS` in `dir`, which must succeed; its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Brine Test",
            "-c",
            "user.email=test@brine.invalid",
            "-c",
            "init.defaultBranch=master",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new repository at `dir` with `files` committed on `master`.
pub fn init_repo(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    commit(dir, files, "initial");
}

/// Writes `files` (path → text; an empty text removes the file) and
/// commits them on the current branch; the new commit's id.
pub fn commit(dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    for (path, text) in files {
        let p = dir.join(path);
        if text.is_empty() {
            let _ = std::fs::remove_file(&p);
        } else {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        }
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    head(dir)
}

/// The commit the current branch points at.
pub fn head(dir: &Path) -> String {
    git(dir, &["rev-parse", "HEAD"]).trim().to_string()
}

/// git-daemon serving the repositories under `base` (`git://ADDR:PORT/NAME`).
pub struct GitDaemon {
    child: Child,
    pub port: u16,
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        // The whole group: the daemon and any per-connection child.
        // SAFETY: kill(2) with a pid and a signal number; no memory involved.
        unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts git-daemon on `addr` (a free port) for every repository under
/// `base`, and waits until it listens.
pub fn git_daemon(base: &Path, addr: impl Into<IpAddr>) -> GitDaemon {
    let addr = addr.into();
    let port = std::net::TcpListener::bind((addr, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let exec_path = git(base, &["--exec-path"]);
    // git-daemon itself, not `git daemon`, whose child would outlive it.
    let child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
        .arg("--reuseaddr")
        .arg("--export-all")
        .arg(format!("--base-path={}", base.display()))
        .arg(format!("--listen={addr}"))
        .arg(format!("--port={port}"))
        .arg(base)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("git-daemon");
    let daemon = GitDaemon { child, port };
    wait_until(Duration::from_secs(10), "git-daemon to listen", || {
        TcpStream::connect((addr, port)).is_ok()
    });
    daemon
}
