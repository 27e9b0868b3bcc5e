//! Core grains, computed natively the way Salt 3007's `salt/grains/core.py`
//! (plus `extra.py` and `minion_process.py`) computes them on Linux.
//!
//! Salt shells out for some grains (`ip addr show`, `dpkg --print-architecture`,
//! `systemd-detect-virt`, ...). Brine never spawns a process: each of those is
//! replaced by reading the same kernel or file-system source the tool reads
//! (netlink, the ELF header of dpkg, /proc and /sys). Where Salt's answer
//! depends on whether such a tool is installed, we still look the tool up on
//! `PATH` (a few `stat` calls) so the answer follows the same branch.
//!
//! Two entry points:
//! - [`detect_under`] reads only files below a root directory, so it can run on
//!   fixture trees (os-release, lsb-release, cpuinfo, meminfo, machine-id, ...).
//! - [`detect`] is `detect_under("/")` plus what only the live host can answer:
//!   uname, hostname/FQDN and the minion id, interfaces, CPUID, the process's
//!   user and environment.

mod arch;
mod cpu;
mod host;
mod init;
mod mem;
mod net;
mod os;
mod osrelease;
mod systemd_virt;
mod util;
mod virt;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_salt;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use host::generate_minion_id;

/// Where grains are read from: a root directory, and whether the live host
/// (syscalls, CPUID, environment) may be consulted too.
pub(crate) struct Ctx {
    root: PathBuf,
    live: bool,
}

impl Ctx {
    /// `abs` is an absolute host path such as `/etc/os-release`; the result is
    /// that path below the root.
    pub(crate) fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// A file's text (lossy UTF-8), or None when it cannot be read.
    pub(crate) fn read(&self, abs: &str) -> Option<String> {
        let bytes = std::fs::read(self.path(abs)).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub(crate) fn exists(&self, abs: &str) -> bool {
        self.path(abs).exists()
    }

    pub(crate) fn is_file(&self, abs: &str) -> bool {
        self.path(abs).is_file()
    }

    pub(crate) fn is_dir(&self, abs: &str) -> bool {
        self.path(abs).is_dir()
    }
}

/// This host's grains.
pub fn detect() -> Map<String, Value> {
    let ctx = Ctx {
        root: PathBuf::from("/"),
        live: true,
    };
    let mut grains = Map::new();

    // Network grains first, as Salt's id generation needs the IPv4 list.
    let ifaces = net::interfaces(&ctx);
    let names = host::names(ifaces.as_ref());
    grains.insert("localhost".into(), names.localhost.into());
    grains.insert("fqdn".into(), names.fqdn.into());
    grains.insert("host".into(), names.host.into());
    grains.insert("domain".into(), names.domain.into());
    set_id(&mut grains, &names.id);
    net::insert_grains(&mut grains, ifaces.as_ref());

    let uname = host::uname();
    os_data(&ctx, uname.as_ref(), &mut grains);

    // salt/grains/core.py: machine_id, path; extra.py: shell.
    insert_machine_id(&ctx, &mut grains);
    let path = std::env::var("PATH").unwrap_or_default();
    grains.insert("path".into(), path.trim().into());
    let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
    grains.insert("shell".into(), shell.into());
    host::insert_process_grains(&mut grains);
    grains.insert("brineversion".into(), env!("CARGO_PKG_VERSION").into());
    grains
}

/// Grains readable from files below `root` only (no syscalls about the live
/// host except plain file reads): kernel identity from `/proc/sys/kernel`,
/// OS/distribution, CPU, memory, init system, virtualisation hints and
/// machine-id.
pub fn detect_under(root: &Path) -> Map<String, Value> {
    let ctx = Ctx {
        root: root.to_path_buf(),
        live: false,
    };
    let mut grains = Map::new();
    let uname = host::uname_from_proc(&ctx);
    os_data(&ctx, Some(&uname), &mut grains);
    insert_machine_id(&ctx, &mut grains);
    grains
}

/// Salt's `server_id` grain: the SHA-256 of the minion id, taken as a big
/// integer, modulo 2**31. The low 31 bits of the digest are exactly that.
/// Callers that override `id` must recompute it with this.
pub fn server_id(id: &str) -> i64 {
    let digest = common::digest::sha256(id.as_bytes());
    let low = u32::from_be_bytes([digest[28], digest[29], digest[30], digest[31]]);
    i64::from(low & 0x7fff_ffff)
}

/// Sets `id` (and the `server_id` derived from it), as a configured minion id
/// would in Salt.
pub fn set_id(grains: &mut Map<String, Value>, id: &str) {
    grains.insert("id".into(), id.into());
    grains.insert("server_id".into(), server_id(id).into());
}

/// The kernel identity (Python's `platform.uname()`).
pub(crate) struct Uname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
}

/// salt.grains.core.os_data for Linux, in Salt's key order.
fn os_data(ctx: &Ctx, uname: Option<&Uname>, grains: &mut Map<String, Value>) {
    if let Some(u) = uname {
        // Under a fixture root these come from /proc/sys/kernel files, which
        // may be absent; an unknown value is left out rather than made up.
        for (key, value) in [
            ("kernel", &u.sysname),
            ("nodename", &u.nodename),
            ("kernelrelease", &u.release),
            ("kernelversion", &u.version),
            ("cpuarch", &u.machine),
        ] {
            if !value.is_empty() {
                grains.insert(key.into(), value.clone().into());
            }
        }
    }
    let cpuarch = uname.map(|u| u.machine.as_str()).unwrap_or("");

    grains.insert("init".into(), init::init_system(ctx).into());
    let dist = os::linux_distribution_data(ctx);
    for (k, v) in &dist {
        grains.insert(k.clone(), v.clone());
    }
    let cpuinfo = ctx.read("/proc/cpuinfo");
    cpu::insert_grains(cpuinfo.as_deref(), grains);

    let family = dist.get("os_family").and_then(Value::as_str).unwrap_or("");
    if let Some(arch) = arch::osarch(ctx, family, cpuarch) {
        grains.insert("osarch".into(), arch.into());
    }
    mem::insert_grains(ctx.read("/proc/meminfo").as_deref(), grains);

    let (virtual_, subtype) = virt::virtual_grains(ctx, uname, cpuinfo.as_deref());
    grains.insert("virtual".into(), virtual_.into());
    if let Some(st) = subtype {
        grains.insert("virtual_subtype".into(), st.into());
    }

    let osrelease = dist.get("osrelease").and_then(Value::as_str).unwrap_or("");
    if !osrelease.is_empty() {
        let os_name = dist.get("os").and_then(Value::as_str).unwrap_or("");
        let fullname = dist.get("osfullname").and_then(Value::as_str).unwrap_or("");
        for (k, v) in os::osrelease_data(os_name, fullname, osrelease) {
            grains.insert(k, v);
        }
    }
}

/// salt.utils.platform.get_machine_identifier: the first of the two files
/// that exists, stripped.
fn insert_machine_id(ctx: &Ctx, grains: &mut Map<String, Value>) {
    for loc in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
        if ctx.exists(loc) {
            if let Some(text) = ctx.read(loc) {
                grains.insert("machine_id".into(), util::py_strip(&text).into());
            }
            return;
        }
    }
}
