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

mod boot;
mod exec;
mod process;
mod proxy;

use std::fmt;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use process::clip_tail;
use proxy::Proxy;

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

impl Options {
    /// The defaults, with a network namespace of the container's own.
    pub fn private_network() -> Self {
        Options {
            private_network: true,
            ..Options::default()
        }
    }
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
