//! A fleet of real Debian hosts on one machine: `systemd-nspawn` containers with
//! systemd as PID 1, booted from the bookworm tree `scripts/build-rootfs.sh` caches
//! outside the checkout, for the tests of the state engine and the daemons.
//!
//! ```no_run
//! use tests::fleet::{self, Container};
//! if let Some(reason) = fleet::skip_reason() {
//!     eprintln!("skipped: {reason}");
//!     return;
//! }
//! let web = Container::boot("web1").unwrap();
//! web.copy_in(tests::bin("minion"), "/usr/local/bin/minion").unwrap();
//! let out = web.exec(&["minion", "grains", "--out", "json"]);
//! assert!(out.status.success());
//! // Dropping `web` powers it off and leaves nothing behind.
//! ```
//!
//! How a container runs:
//! - `systemd-nspawn -D <rootfs> --boot --volatile=overlay --register=no --keep-unit`:
//!   the rootfs is the read-only lower layer of an overlay whose upper layer is a tmpfs
//!   private to that nspawn, so every container starts pristine, several share one
//!   rootfs, nothing written inside persists or reaches the cache, and no mount or
//!   directory is left on the host whatever happens to the test.
//! - Commands run through `nsenter -t <pid 1> -a` with a clean root environment
//!   ([`CONTAINER_ENV`]).
//! - Each container holds a *slot* (a host-wide number, claimed through an abstract
//!   Unix socket so concurrent test processes never share one and a dead process frees
//!   its slots): it makes the machine name, the veth name, the private addresses and
//!   the [`Container::port`] hints unique.
//! - nspawn is started with `setpriv --pdeathsig TERM` from a thread that lives as long
//!   as the test process, so even a test process killed by SIGKILL (a timeout) gets its
//!   containers shut down; a panicking test unwinds through `Drop`.
//!
//! Networking: by default a container shares the host's network namespace, so it can
//! reach a master on the host at 127.0.0.1 and apt works exactly as on the host, but
//! two services on the same port clash: use [`Container::port`] for per-container
//! ports. With [`Options::private_network`] it gets its own namespace and a veth pair
//! (`10.213.x.y/30`, see [`Container::address`] and [`Container::host_address`]): the
//! host (a master bound to 0.0.0.0) is reachable at `host_address()`, every container
//! can bind port 80, and apt reaches the mirror through a small HTTP proxy the harness
//! runs on the host end of the veth. A private container has no other route out
//! (no NAT) and no DNS (names fail at once; use addresses). Installing a package
//! whose postinst starts a server on a fixed port (nginx on 80) in host-network
//! containers clashes with any other such container or host service, tests running
//! in parallel included: boot those with a private network.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Where `scripts/build-rootfs.sh` caches the rootfs unless `BRINE_ROOTFS` says otherwise.
pub const DEFAULT_ROOTFS: &str = "/var/cache/brine/rootfs-bookworm";
/// The file `build-rootfs.sh` writes last into a complete rootfs.
pub const STAMP: &str = ".brine-rootfs";
/// How long [`Container::boot`] waits for systemd to finish booting.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
/// How long [`Container::exec`] lets a command run before killing it (apt installs
/// on a slow mirror are the long ones).
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(900);
/// How long an orderly poweroff may take before the container is killed.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);
/// The environment commands get inside a container (nothing leaks from the host's).
pub const CONTAINER_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/root"),
    ("USER", "root"),
    ("LOGNAME", "root"),
    ("SHELL", "/bin/sh"),
    ("LANG", "C.UTF-8"),
    ("TERM", "dumb"),
];
/// First port handed out by [`Container::port`].
pub const PORT_BASE: u16 = 20000;
/// Ports per container for [`Container::port`].
pub const PORTS_PER_CONTAINER: u16 = 10;
/// Number of slots, i.e. of containers that can run at once on one host.
const SLOTS: u16 = 1000;
/// How much of nspawn's console output a container keeps for error messages.
const CONSOLE_KEEP: usize = 32 * 1024;

/// Why a fleet operation failed.
#[derive(Debug)]
pub enum FleetError {
    /// Fleet tests cannot run on this host; the same text as [`skip_reason`].
    Unavailable(String),
    /// The container did not boot (the message includes its console output).
    Boot(String),
    /// A command inside the container failed.
    Command {
        container: String,
        argv: Vec<String>,
        status: ExitStatus,
        stdout: String,
        stderr: String,
    },
    /// Anything else: a host command or file operation that failed.
    Io(String),
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FleetError::Unavailable(r) => write!(f, "fleet unavailable: {r}"),
            FleetError::Boot(m) => write!(f, "container boot failed: {m}"),
            FleetError::Io(m) => f.write_str(m),
            FleetError::Command {
                container,
                argv,
                status,
                stdout,
                stderr,
            } => {
                write!(f, "in container {container}: `{}` {status}", argv.join(" "))?;
                if !stderr.trim().is_empty() {
                    write!(f, "\n--- stderr ---\n{}", stderr.trim_end())?;
                }
                if !stdout.trim().is_empty() {
                    write!(f, "\n--- stdout ---\n{}", clip_tail(stdout, 4000))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for FleetError {}

/// The rootfs containers boot from: `$BRINE_ROOTFS`, else [`DEFAULT_ROOTFS`].
pub fn rootfs() -> PathBuf {
    std::env::var_os("BRINE_ROOTFS")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_ROOTFS), PathBuf::from)
}

/// Why fleet tests cannot run here, or `None` when they can. Tests print
/// `skipped: <reason>` and return (see [`skip_or_continue`]); nothing else may
/// make them pass without running.
///
/// `BRINE_FLEET=0` turns the fleet off. Otherwise checks that this is Linux, that
/// we are root, that `systemd-nspawn`, `nsenter`,
/// `setpriv`, `ip` and `tar` are installed (scripts/test-prereqs.sh installs them),
/// and that the rootfs is complete: when it is not, it is built here by
/// scripts/build-rootfs.sh (a few minutes, once per host; concurrent callers wait for
/// one build). The answer is computed once per process.
pub fn skip_reason() -> Option<String> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON.get_or_init(compute_skip_reason).clone()
}

/// `true` when the fleet is usable; otherwise prints `skipped: <reason>` (for the
/// test named `test`) to stderr and returns `false`. Use as
/// `if !fleet::skip_or_continue("name") { return; }`.
pub fn skip_or_continue(test: &str) -> bool {
    match skip_reason() {
        None => true,
        Some(reason) => {
            // Straight to the process's stderr: the test harness captures `eprintln!`
            // of passing tests, and a skip must be seen.
            let _ = writeln!(io::stderr(), "{test}: skipped: {reason}");
            false
        }
    }
}

fn compute_skip_reason() -> Option<String> {
    if std::env::var_os("BRINE_FLEET").is_some_and(|v| v == "0") {
        return Some("disabled by BRINE_FLEET=0".into());
    }
    if !cfg!(target_os = "linux") {
        return Some("fleet tests need Linux (systemd-nspawn)".into());
    }
    match effective_uid() {
        Some(0) => {}
        Some(uid) => return Some(format!("fleet tests need root (running as uid {uid})")),
        None => return Some("cannot tell the effective uid from /proc/self/status".into()),
    }
    for (name, package) in [
        ("systemd-nspawn", "systemd-container"),
        ("nsenter", "util-linux"),
        ("setpriv", "util-linux"),
        ("ip", "iproute2"),
        ("tar", "tar"),
    ] {
        if find_tool(name).is_none() {
            return Some(format!(
                "{name} is not installed (package {package}; run scripts/test-prereqs.sh)"
            ));
        }
    }
    ensure_rootfs().err()
}

/// Builds the rootfs when it is missing or stale (build-rootfs.sh is a quick no-op
/// otherwise), or checks it is complete when the script is not around.
fn ensure_rootfs() -> Result<(), String> {
    let dir = rootfs();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("build-rootfs.sh");
    if script.is_file() {
        if !dir.join(STAMP).is_file() {
            let _ = writeln!(
                io::stderr(),
                "fleet: building the container rootfs {} (a few minutes, once per host)",
                dir.display()
            );
        }
        let out = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!(
                "the container rootfs {} is missing and could not be built ({} {}):\n{}",
                dir.display(),
                script.display(),
                out.status,
                clip_tail(&stderr, 3000)
            ));
        }
        eprint!("{stderr}");
    }
    if dir.join(STAMP).is_file() {
        Ok(())
    } else {
        Err(format!(
            "no complete container rootfs at {} (run scripts/build-rootfs.sh)",
            dir.display()
        ))
    }
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Absolute path of a host tool, searched in `$PATH` and the sbin directories
/// (which a non-login root shell may lack).
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn tool(name: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|| PathBuf::from(name))
}

/// Boots one container per name, all at once; panics if any fails to boot.
pub fn boot_all(names: &[&str], opts: &Options) -> Vec<Container> {
    thread::scope(|s| {
        let boots: Vec<_> = names
            .iter()
            .map(|name| s.spawn(move || Container::boot_with(name, opts)))
            .collect();
        boots
            .into_iter()
            .map(|b| b.join().unwrap().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    })
}

/// How to boot a container.
#[derive(Debug, Clone)]
pub struct Options {
    /// Give the container its own network namespace with a veth pair to the host
    /// (see the module docs). Default: share the host's network.
    pub private_network: bool,
    /// How long to wait for systemd inside to finish booting.
    pub boot_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            private_network: false,
            boot_timeout: BOOT_TIMEOUT,
        }
    }
}

/// A booted Debian bookworm host with systemd as PID 1. Dropping it powers it off
/// (kills it if that takes longer than [`SHUTDOWN_TIMEOUT`]) and waits until nspawn
/// has exited, so nothing of it remains.
pub struct Container {
    name: String,
    machine: String,
    nspawn: Child,
    pid: u32,
    slot: Slot,
    net: Option<PrivateNet>,
    console: Arc<Mutex<String>>,
    boot_time: Duration,
}

struct PrivateNet {
    host_if: String,
    host_ip: Ipv4Addr,
    ip: Ipv4Addr,
    proxy: Option<Proxy>,
}

impl Container {
    /// Boots a container whose hostname is `name`, sharing the host's network;
    /// returns once `systemctl is-system-running` says `running` or `degraded`.
    pub fn boot(name: &str) -> Result<Container, FleetError> {
        Container::boot_with(name, &Options::default())
    }

    /// [`Container::boot`] with options (a private network, another timeout).
    pub fn boot_with(name: &str, opts: &Options) -> Result<Container, FleetError> {
        if let Some(reason) = skip_reason() {
            return Err(FleetError::Unavailable(reason));
        }
        if name.is_empty()
            || name.len() > 63
            || name.starts_with('-')
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(FleetError::Boot(format!(
                "{name:?} is not a valid hostname (letters, digits, '-', '.'; at most 63)"
            )));
        }
        let started = Instant::now();
        let deadline = started + opts.boot_timeout;
        let slot = Slot::claim()?;
        let machine = format!("brine-{}-{}", slot.0, std::process::id());
        let net = opts.private_network.then(|| {
            let (a, b) = (slot.0 / 64, (slot.0 % 64) * 4);
            PrivateNet {
                host_if: format!("vb-brine{}", slot.0),
                host_ip: Ipv4Addr::new(10, 213, a as u8, b as u8 + 1),
                ip: Ipv4Addr::new(10, 213, a as u8, b as u8 + 2),
                proxy: None,
            }
        });

        let mut cmd = match find_tool("setpriv") {
            // The nspawn gets SIGTERM (an orderly poweroff of its container) when the
            // thread that started it ends, which is the spawner thread, i.e. when this
            // process ends however it ends.
            Some(setpriv) => {
                let mut c = Command::new(setpriv);
                c.args(["--pdeathsig", "TERM", "--"])
                    .arg(tool("systemd-nspawn"));
                c
            }
            None => Command::new(tool("systemd-nspawn")),
        };
        cmd.arg("--directory")
            .arg(rootfs())
            .args([
                "--boot",
                "--volatile=overlay",
                "--register=no",
                "--keep-unit",
                "--console=read-only",
            ])
            .arg(format!("--machine={machine}"))
            .arg(format!("--hostname={name}"));
        if let Some(net) = &net {
            // No resolv.conf (the rootfs has none): the host's resolver is out of
            // reach, and with none glibc fails at once instead of timing out.
            cmd.arg(format!("--network-veth-extra={}:host0", net.host_if))
                .arg("--resolv-conf=off");
        }
        cmd.env("TERM", "dumb")
            .env("SYSTEMD_COLORS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut nspawn = spawn_from_long_lived_thread(cmd)
            .map_err(|e| FleetError::Boot(format!("cannot start systemd-nspawn: {e}")))?;
        let console = Arc::new(Mutex::new(String::new()));
        for pipe in [
            nspawn
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            nspawn
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let console = Arc::clone(&console);
            thread::spawn(move || {
                for line in BufReader::new(pipe).split(b'\n').map_while(Result::ok) {
                    let mut c = console.lock().unwrap_or_else(|p| p.into_inner());
                    c.push_str(&String::from_utf8_lossy(&line));
                    c.push('\n');
                    if c.len() > 2 * CONSOLE_KEEP {
                        let cut = c.len() - CONSOLE_KEEP;
                        let cut = (cut..c.len()).find(|&i| c.is_char_boundary(i)).unwrap_or(0);
                        c.drain(..cut);
                    }
                }
            });
        }

        // From here on, Drop cleans up whatever fails.
        let mut container = Container {
            name: name.to_owned(),
            machine,
            nspawn,
            pid: 0,
            slot,
            net,
            console,
            boot_time: Duration::ZERO,
        };
        container.pid = container.wait_for_init(deadline)?;
        if container.net.is_some() {
            container.setup_private_network()?;
        }
        container.wait_until_running(deadline)?;
        if container.net.is_some() {
            container.setup_apt_proxy()?;
        }
        container.boot_time = started.elapsed();
        Ok(container)
    }

    /// The hostname given to [`Container::boot`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The nspawn machine name (unique on the host: `brine-<slot>-<test pid>`).
    pub fn machine(&self) -> &str {
        &self.machine
    }

    /// The host's pid of the container's PID 1 (its systemd).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The host's pid of the systemd-nspawn process.
    pub fn nspawn_pid(&self) -> u32 {
        self.nspawn.id()
    }

    /// This container's host-wide slot number (unique among running containers).
    pub fn slot(&self) -> u16 {
        self.slot.0
    }

    /// A port no other container uses: `PORT_BASE + slot * PORTS_PER_CONTAINER + n`,
    /// for services that would otherwise clash on the shared host network (nginx on
    /// `port(0)` instead of 80). Panics unless `n < PORTS_PER_CONTAINER`.
    pub fn port(&self, n: u16) -> u16 {
        assert!(
            n < PORTS_PER_CONTAINER,
            "port({n}): at most {PORTS_PER_CONTAINER} per container"
        );
        PORT_BASE + self.slot.0 * PORTS_PER_CONTAINER + n
    }

    /// Whether the container has its own network namespace.
    pub fn private_network(&self) -> bool {
        self.net.is_some()
    }

    /// The container's address as the host reaches it: its veth address with a
    /// private network, else 127.0.0.1.
    pub fn address(&self) -> Ipv4Addr {
        self.net.as_ref().map_or(Ipv4Addr::LOCALHOST, |n| n.ip)
    }

    /// The host's address as the container reaches it (where a master on the host
    /// listens): the host end of the veth with a private network, else 127.0.0.1.
    pub fn host_address(&self) -> Ipv4Addr {
        self.net.as_ref().map_or(Ipv4Addr::LOCALHOST, |n| n.host_ip)
    }

    /// The host-side veth interface with a private network.
    pub fn host_interface(&self) -> Option<&str> {
        self.net.as_ref().map(|n| n.host_if.as_str())
    }

    /// Brings the host end of a private container's veth down (`false`: the
    /// container is cut off, as by a pulled cable; nothing inside notices but
    /// lost packets) or up again.
    pub fn set_link(&self, up: bool) -> Result<(), FleetError> {
        let net = self.net.as_ref().ok_or_else(|| {
            FleetError::Io(format!("{} has no private network to cut", self.name))
        })?;
        let state = if up { "up" } else { "down" };
        let mut cmd = Command::new(tool("ip"));
        cmd.args(["link", "set", &net.host_if, state]);
        let out = run_output(cmd, Input::None, Duration::from_secs(30));
        if out.status.success() {
            Ok(())
        } else {
            Err(FleetError::Io(format!(
                "`ip link set {} {state}` failed ({}): {}",
                net.host_if,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// From the start of nspawn until systemd inside said running/degraded.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// What nspawn and the container's console printed so far (the tail).
    pub fn console(&self) -> String {
        self.console
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A command that runs `program` inside the container (through `nsenter -a`, with
    /// [`CONTAINER_ENV`] and `/` as working directory); add arguments, environment
    /// (`.env`) or stdin as with any `Command`. Note that killing it kills `nsenter`,
    /// not necessarily the program inside.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(tool("nsenter"));
        cmd.arg("--target")
            .arg(self.pid.to_string())
            .arg("--all")
            .arg("--")
            .arg(program)
            .env_clear()
            .envs(CONTAINER_ENV.iter().copied())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `argv` inside the container and waits (at most [`EXEC_TIMEOUT`]; then the
    /// command is killed and its stderr says so). A command that cannot be started
    /// gives exit status 127 with the reason on stderr.
    pub fn exec(&self, argv: &[&str]) -> Output {
        self.exec_timeout(argv, EXEC_TIMEOUT)
    }

    /// [`Container::exec`] with another time limit.
    pub fn exec_timeout(&self, argv: &[&str], timeout: Duration) -> Output {
        self.exec_with(argv, Input::None, timeout)
    }

    /// [`Container::exec`] with `input` on the command's stdin.
    pub fn exec_input(&self, argv: &[&str], input: &[u8]) -> Output {
        self.exec_with(argv, Input::Bytes(input.to_vec()), EXEC_TIMEOUT)
    }

    /// Runs `argv` inside; its stdout when it exits 0, else an error with its exit
    /// status, stderr and stdout.
    pub fn exec_ok(&self, argv: &[&str]) -> Result<String, FleetError> {
        let out = self.exec(argv);
        self.check(argv, out)
    }

    /// `sh -c script` inside, as [`Container::exec_ok`].
    pub fn sh(&self, script: &str) -> Result<String, FleetError> {
        self.exec_ok(&["sh", "-c", script])
    }

    /// [`Container::sh`] for a step a test cannot go on without: its stdout,
    /// trimmed; a failure panics with the exit status and output.
    pub fn run(&self, script: &str) -> String {
        self.sh(script)
            .unwrap_or_else(|e| panic!("{e}"))
            .trim()
            .to_string()
    }

    /// Copies the host file or directory `host_path` to `container_path` (absolute)
    /// inside. A file becomes exactly `container_path` (parents created, mode kept,
    /// replaced atomically, so a running binary can be replaced); a directory's
    /// contents are copied into `container_path` (created if needed), files owned
    /// by root.
    pub fn copy_in(
        &self,
        host_path: impl AsRef<Path>,
        container_path: impl AsRef<Path>,
    ) -> Result<(), FleetError> {
        let (host_path, dest) = (host_path.as_ref(), container_path.as_ref());
        let dest_str = dest
            .to_str()
            .filter(|d| d.starts_with('/'))
            .ok_or_else(|| FleetError::Io(format!("copy_in: {dest:?} is not an absolute path")))?;
        let meta = std::fs::metadata(host_path)
            .map_err(|e| FleetError::Io(format!("copy_in: {}: {e}", host_path.display())))?;
        if meta.is_dir() {
            let mut tar = Command::new(tool("tar"))
                .arg("-C")
                .arg(host_path)
                .args(["-cf", "-", "."])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| FleetError::Io(format!("copy_in: cannot run tar: {e}")))?;
            let stream = tar.stdout.take().expect("piped");
            let argv = [
                "sh",
                "-c",
                r#"set -e; mkdir -p "$1"; tar -C "$1" --no-same-owner --no-overwrite-dir -xf -"#,
                "sh",
                dest_str,
            ];
            let out = self.exec_with(&argv, Input::Stdio(stream.into()), EXEC_TIMEOUT);
            let tar_out = tar
                .wait_with_output()
                .map_err(|e| FleetError::Io(format!("copy_in: tar: {e}")))?;
            if !tar_out.status.success() {
                return Err(FleetError::Io(format!(
                    "copy_in: tar -C {} failed ({}): {}",
                    host_path.display(),
                    tar_out.status,
                    String::from_utf8_lossy(&tar_out.stderr)
                )));
            }
            self.check(&argv, out).map(drop)
        } else {
            let file = std::fs::File::open(host_path)
                .map_err(|e| FleetError::Io(format!("copy_in: {}: {e}", host_path.display())))?;
            let mode = format!("{:o}", meta.permissions().mode() & 0o7777);
            self.write_with(dest_str, Input::Stdio(file.into()), &mode)
        }
    }

    /// Writes `contents` to the file `container_path` inside (parents created,
    /// replaced atomically) with `mode` (e.g. `0o644`).
    pub fn write_file(
        &self,
        container_path: &str,
        contents: impl AsRef<[u8]>,
        mode: u32,
    ) -> Result<(), FleetError> {
        if !container_path.starts_with('/') {
            return Err(FleetError::Io(format!(
                "write_file: {container_path:?} is not an absolute path"
            )));
        }
        self.write_with(
            container_path,
            Input::Bytes(contents.as_ref().to_vec()),
            &format!("{mode:o}"),
        )
    }

    /// The contents of the file `container_path` inside.
    pub fn read_file(&self, container_path: &str) -> Result<Vec<u8>, FleetError> {
        let argv = ["cat", "--", container_path];
        let out = self.exec(&argv);
        if out.status.success() {
            Ok(out.stdout)
        } else {
            self.check(&argv, out).map(String::into_bytes)
        }
    }

    fn write_with(&self, dest: &str, input: Input, mode: &str) -> Result<(), FleetError> {
        let argv = [
            "sh",
            "-c",
            r#"set -e; mkdir -p "$(dirname "$1")"; t="$1.brine-copy.$$"; cat >"$t"; chmod "$2" "$t"; mv -fT "$t" "$1""#,
            "sh",
            dest,
            mode,
        ];
        let out = self.exec_with(&argv, input, EXEC_TIMEOUT);
        self.check(&argv, out).map(drop)
    }

    fn check(&self, argv: &[&str], out: Output) -> Result<String, FleetError> {
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Err(FleetError::Command {
            container: self.name.clone(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn exec_with(&self, argv: &[&str], input: Input, timeout: Duration) -> Output {
        let Some((program, args)) = argv.split_first() else {
            return failed_output("exec: empty argv".into());
        };
        let mut cmd = self.command(program);
        cmd.args(args);
        run_output(cmd, input, timeout)
    }

    /// Waits for the container's init: the child of nspawn that is PID 1 of its own
    /// pid namespace and has become systemd.
    fn wait_for_init(&mut self, deadline: Instant) -> Result<u32, FleetError> {
        let nspawn = self.nspawn.id();
        loop {
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                return Err(self.boot_error(&format!(
                    "systemd-nspawn exited ({status}) before the container's systemd started"
                )));
            }
            for pid in children_of(nspawn) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let is_ns_init = status
                    .lines()
                    .find(|l| l.starts_with("NSpid:"))
                    .and_then(|l| l.split_whitespace().last())
                    == Some("1");
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if is_ns_init && matches!(comm.trim(), "systemd" | "init") {
                    return Ok(pid);
                }
            }
            if Instant::now() >= deadline {
                return Err(self.boot_error("the container's systemd did not start in time"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_until_running(&mut self, deadline: Instant) -> Result<(), FleetError> {
        let mut last = String::new();
        loop {
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                return Err(
                    self.boot_error(&format!("systemd-nspawn exited ({status}) during boot"))
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let jobs = self.exec_timeout(
                    &["systemctl", "list-jobs", "--no-pager"],
                    Duration::from_secs(10),
                );
                return Err(self.boot_error(&format!(
                    "systemd did not finish booting in time; `systemctl is-system-running` said {last:?}; \
                     pending jobs:\n{}",
                    String::from_utf8_lossy(&jobs.stdout)
                )));
            }
            let out = self.exec_timeout(&["systemctl", "is-system-running", "--wait"], left);
            let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if state == "running" || state == "degraded" {
                return Ok(());
            }
            last = if state.is_empty() {
                String::from_utf8_lossy(&out.stderr).trim().to_owned()
            } else {
                state
            };
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn setup_private_network(&mut self) -> Result<(), FleetError> {
        let net = self.net.as_ref().expect("private network");
        let (host_if, host_ip, ip) = (net.host_if.clone(), net.host_ip, net.ip);
        let ip_tool = tool("ip");
        let run_ip = |netns_of: Option<u32>, args: &[&str]| -> Result<(), FleetError> {
            let mut cmd = match netns_of {
                Some(pid) => {
                    let mut c = Command::new(tool("nsenter"));
                    c.arg("--target")
                        .arg(pid.to_string())
                        .args(["--net", "--"])
                        .arg(&ip_tool);
                    c
                }
                None => Command::new(&ip_tool),
            };
            cmd.args(args);
            let out = run_output(cmd, Input::None, Duration::from_secs(30));
            if out.status.success() {
                Ok(())
            } else {
                Err(FleetError::Io(format!(
                    "private network of {}: `ip {}` failed ({}): {}",
                    self.name,
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        };
        let (host_cidr, cidr, gw) = (
            format!("{host_ip}/30"),
            format!("{ip}/30"),
            host_ip.to_string(),
        );
        run_ip(None, &["addr", "add", &host_cidr, "dev", &host_if])?;
        run_ip(None, &["link", "set", &host_if, "up"])?;
        let pid = Some(self.pid);
        run_ip(pid, &["link", "set", "lo", "up"])?;
        run_ip(pid, &["addr", "add", &cidr, "dev", "host0"])?;
        run_ip(pid, &["link", "set", "host0", "up"])?;
        run_ip(pid, &["route", "add", "default", "via", &gw])?;
        let proxy = Proxy::start(host_ip).map_err(|e| {
            FleetError::Io(format!(
                "private network of {}: apt proxy on {host_ip}: {e}",
                self.name
            ))
        })?;
        self.net.as_mut().expect("private network").proxy = Some(proxy);
        Ok(())
    }

    /// Points apt inside at the harness's proxy (this file sorts after the host's
    /// settings copied into the rootfs, so it wins).
    fn setup_apt_proxy(&self) -> Result<(), FleetError> {
        let net = self.net.as_ref().expect("private network");
        let port = net.proxy.as_ref().map_or(0, |p| p.port);
        let conf = format!(
            "// Written by the fleet harness: this container has no route out but to the host.\n\
             Acquire::http::Proxy \"http://{h}:{port}/\";\n\
             Acquire::https::Proxy \"http://{h}:{port}/\";\n\
             Acquire::http::Pipeline-Depth \"0\";\n",
            h = net.host_ip
        );
        self.write_file("/etc/apt/apt.conf.d/99zz-brine-fleet-proxy", conf, 0o644)
    }

    fn boot_error(&self, what: &str) -> FleetError {
        FleetError::Boot(format!(
            "{} ({}): {what}\n--- console (tail) ---\n{}",
            self.name,
            self.machine,
            clip_tail(&self.console(), 6000)
        ))
    }

    /// Orderly poweroff (SIGTERM to nspawn makes it ask the container's systemd to
    /// power off), then SIGKILL after [`SHUTDOWN_TIMEOUT`]; waits for nspawn to exit.
    fn teardown(&mut self) {
        if matches!(self.nspawn.try_wait(), Ok(Some(_))) {
            self.release_network();
            return;
        }
        let nspawn = self.nspawn.id();
        signal(nspawn, "TERM");
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.nspawn.try_wait(), Ok(Some(_)) | Err(_)) {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        if matches!(self.nspawn.try_wait(), Ok(None)) {
            eprintln!(
                "fleet: {} did not power off within {SHUTDOWN_TIMEOUT:?}; killing it",
                self.name
            );
            // Killing the namespace's PID 1 kills everything in it; check it still is
            // nspawn's child first (nspawn is alive and unreaped, so its pid is ours).
            if self.pid != 0 && parent_of(self.pid) == Some(nspawn) {
                signal(self.pid, "KILL");
            }
            let _ = self.nspawn.kill();
        }
        let _ = self.nspawn.wait();
        self.release_network();
    }

    /// Kills the container at once, as pulling its power would: SIGKILL to its
    /// PID 1 takes everything inside with it, nothing is flushed or shut down.
    /// Waits until nspawn has exited; dropping the container afterwards only
    /// releases what the harness holds for it.
    pub fn kill(&mut self) {
        if matches!(self.nspawn.try_wait(), Ok(None)) {
            let nspawn = self.nspawn.id();
            // Still nspawn's child, so the pid is the container's PID 1 (nspawn is
            // alive and unreaped).
            if self.pid != 0 && parent_of(self.pid) == Some(nspawn) {
                signal(self.pid, "KILL");
            }
            let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
            while Instant::now() < deadline && matches!(self.nspawn.try_wait(), Ok(None)) {
                thread::sleep(Duration::from_millis(20));
            }
            if matches!(self.nspawn.try_wait(), Ok(None)) {
                let _ = self.nspawn.kill();
            }
            let _ = self.nspawn.wait();
        }
        self.release_network();
    }

    /// Stops the apt proxy and makes sure the veth pair is gone.
    fn release_network(&mut self) {
        if let Some(net) = &mut self.net {
            if let Some(proxy) = net.proxy.take() {
                proxy.stop();
            }
            // The kernel removes the veth pair with the namespace; make sure.
            if Path::new("/sys/class/net").join(&net.host_if).exists() {
                let _ = Command::new(tool("ip"))
                    .args(["link", "del", &net.host_if])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.teardown();
    }
}

impl fmt::Debug for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Container")
            .field("name", &self.name)
            .field("machine", &self.machine)
            .field("pid", &self.pid)
            .field("nspawn_pid", &self.nspawn.id())
            .field("address", &self.address())
            .finish()
    }
}

/// A host-wide slot number, held as the abstract Unix socket `brine-fleet-slot-N`:
/// the kernel frees it when this process exits however it exits, and no file is left.
struct Slot(u16, #[allow(dead_code)] UnixListener);

impl Slot {
    fn claim() -> Result<Slot, FleetError> {
        // Start at a different place per process so a slot just freed by a killed
        // process (whose containers may still be shutting down) is not reused first.
        let start = (std::process::id() % u32::from(SLOTS)) as u16;
        for i in 0..SLOTS {
            let n = (start + i) % SLOTS;
            let addr = UnixAddr::from_abstract_name(format!("brine-fleet-slot-{n}"))
                .map_err(|e| FleetError::Io(format!("slot address: {e}")))?;
            match UnixListener::bind_addr(&addr) {
                Ok(l) => return Ok(Slot(n, l)),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(FleetError::Io(format!("claiming a container slot: {e}"))),
            }
        }
        Err(FleetError::Io(format!(
            "all {SLOTS} container slots are in use"
        )))
    }
}

/// Spawns `cmd` from one thread that lives as long as the process, so that a
/// parent-death signal set up for the child fires at process exit, not when the
/// (test) thread that asked for it ends.
fn spawn_from_long_lived_thread(cmd: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("fleet-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the fleet spawner thread");
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, tx))
        .map_err(|_| io::Error::other("the fleet spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("the fleet spawner thread is gone"))?
}

/// What a command reads on stdin.
enum Input {
    None,
    Bytes(Vec<u8>),
    Stdio(Stdio),
}

/// An `Output` for a command that could not be run: status 127, `why` on stderr.
fn failed_output(why: String) -> Output {
    Output {
        status: ExitStatus::from_raw(127 << 8),
        stdout: Vec::new(),
        stderr: why.into_bytes(),
    }
}

/// Runs `cmd` to completion with `input` on stdin, capturing stdout and stderr;
/// kills it (and its children: nsenter forks the command it runs) after `timeout`.
fn run_output(mut cmd: Command, input: Input, timeout: Duration) -> Output {
    let bytes = match input {
        Input::None => {
            cmd.stdin(Stdio::null());
            None
        }
        Input::Bytes(b) => {
            cmd.stdin(Stdio::piped());
            Some(b)
        }
        Input::Stdio(s) => {
            cmd.stdin(s);
            None
        }
    };
    let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => return failed_output(format!("cannot start {cmd:?}: {e}")),
    };
    // Stdin, stdout and stderr each on their own thread so no pipe can fill up.
    let writer = bytes.and_then(|b| {
        let mut stdin = child.stdin.take()?;
        Some(thread::spawn(move || {
            let _ = stdin.write_all(&b);
        }))
    });
    let drain = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
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
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                for pid in children_of(child.id()) {
                    signal(pid, "KILL");
                }
                let _ = child.kill();
                break child.wait().unwrap_or_else(|_| ExitStatus::from_raw(9));
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return failed_output(format!("waiting for {cmd:?}: {e}")),
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = stdout.join().unwrap_or_default();
    let mut stderr = stderr.join().unwrap_or_default();
    if timed_out {
        stderr.extend_from_slice(format!("\n[fleet: killed after {timeout:?}]\n").as_bytes());
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Sends `sig` (a name, e.g. "TERM") to `pid` with the shell's `kill`.
fn signal(pid: u32, sig: &str) {
    let _ = Command::new("sh")
        .args([
            "-c",
            "kill -s \"$1\" \"$2\" 2>/dev/null",
            "sh",
            sig,
            &pid.to_string(),
        ])
        .stdin(Stdio::null())
        .status();
}

/// The parent pid of `pid`, from /proc.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The pids whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| parent_of(p) == Some(pid))
        .collect()
}

/// The last `max` bytes of `s` (at a char boundary), marked when clipped.
fn clip_tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let cut = (s.len() - max..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    format!("[... {cut} bytes before]\n{}", &s[cut..])
}

/// A minimal HTTP forward proxy on the host end of a private container's veth, so
/// apt inside reaches the mirror: absolute-form requests are forwarded one per
/// connection (`Connection: close`), CONNECT is tunnelled; through the host's own
/// proxy when it has one (`http_proxy` or apt's `Acquire::http::Proxy`).
struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(addr: Ipv4Addr) -> io::Result<Proxy> {
        let listener = TcpListener::bind((addr, 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream_proxy();
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name(format!("fleet-proxy-{addr}"))
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let upstream = upstream.clone();
                            thread::spawn(move || {
                                let _ = proxy_connection(client, upstream.as_deref());
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(25));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(25)),
                    }
                }
            })?;
        Ok(Proxy {
            port,
            stop,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `host:port` of the host's HTTP proxy, if it has one.
fn upstream_proxy() -> Option<String> {
    static UPSTREAM: OnceLock<Option<String>> = OnceLock::new();
    UPSTREAM
        .get_or_init(|| {
            let from_env = ["http_proxy", "HTTP_PROXY"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
            let url = from_env.or_else(|| {
                let out = Command::new("apt-config")
                    .args(["shell", "P", "Acquire::http::Proxy"])
                    .stderr(Stdio::null())
                    .output()
                    .ok()?;
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let v = text
                    .trim()
                    .strip_prefix("P=")?
                    .trim_matches('\'')
                    .to_owned();
                (!v.is_empty() && v != "DIRECT").then_some(v)
            })?;
            let hostport = url.split("://").last()?.split('/').next()?;
            let hostport = hostport.rsplit('@').next()?;
            Some(if hostport.contains(':') {
                hostport.to_owned()
            } else {
                format!("{hostport}:80")
            })
        })
        .clone()
}

fn proxy_connection(mut client: TcpStream, upstream: Option<&str>) -> io::Result<()> {
    let idle = Some(Duration::from_secs(120));
    client.set_read_timeout(idle)?;
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(io::Error::other("request head too long"));
        }
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let rest = buf[head_end..].to_vec();
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("HTTP/1.1"),
    );
    let bad = |client: &mut TcpStream, why: &str| -> io::Result<()> {
        let body = format!("fleet proxy: {why}\n");
        write!(
            client,
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let connect = |hostport: &str| -> io::Result<TcpStream> {
        let addrs: Vec<_> = hostport.to_socket_addrs()?.collect();
        let mut last = io::Error::other(format!("{hostport}: no address"));
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(30)) {
                Ok(s) => {
                    s.set_read_timeout(idle)?;
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    };

    let mut server;
    if method.eq_ignore_ascii_case("CONNECT") {
        if let Some(up) = upstream {
            server = match connect(up) {
                Ok(s) => s,
                Err(e) => return bad(&mut client, &format!("upstream proxy {up}: {e}")),
            };
            server.write_all(&buf)?;
        } else {
            server = match connect(target) {
                Ok(s) => s,
                Err(e) => return bad(&mut client, &format!("{target}: {e}")),
            };
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            server.write_all(&rest)?;
        }
    } else {
        let Some(after) = target.strip_prefix("http://") else {
            return bad(&mut client, "only absolute http:// requests and CONNECT");
        };
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, "/"),
        };
        let hostport = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let mut out = match upstream {
            Some(_) => format!("{method} {target} {version}\r\n"),
            None => format!("{method} {path} {version}\r\n"),
        };
        for line in lines.filter(|l| !l.is_empty()) {
            let name = line.split(':').next().unwrap_or_default().trim();
            if ["connection", "proxy-connection", "keep-alive"]
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
            {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str("Connection: close\r\n\r\n");
        let dest = upstream.unwrap_or(&hostport);
        server = match connect(dest) {
            Ok(s) => s,
            Err(e) => return bad(&mut client, &format!("{dest}: {e}")),
        };
        server.write_all(out.as_bytes())?;
        server.write_all(&rest)?;
    }
    // Shovel both ways until either side is done.
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    let up = thread::spawn(move || {
        let _ = io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    let _ = up.join();
    Ok(())
}
