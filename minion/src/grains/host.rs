//! Host identity: uname, hostname/FQDN (`localhost`, `fqdn`, `host`,
//! `domain`), Salt's default minion id, and the minion-process grains
//! (`username`, `groupname`, `pid`, `gid`, `uid`).
//!
//! Name resolution goes through libc's resolver (getaddrinfo,
//! gethostbyaddr_r), i.e. NSS and /etc/hosts, exactly like Python's socket
//! module does for Salt.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::net::Interfaces;
use super::util::py_lines;
use super::{Ctx, Uname};

unsafe extern "C" {
    // glibc and musl both provide it; the libc crate does not declare it.
    fn gethostbyaddr_r(
        addr: *const libc::c_void,
        len: libc::socklen_t,
        family: libc::c_int,
        ret: *mut libc::hostent,
        buf: *mut libc::c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::hostent,
        h_errnop: *mut libc::c_int,
    ) -> libc::c_int;
}

fn cstr_field(bytes: &[libc::c_char]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let raw: Vec<u8> = bytes[..end].iter().map(|b| *b as u8).collect();
    String::from_utf8_lossy(&raw).into_owned()
}

/// `os.uname()`.
pub(crate) fn uname() -> Option<Uname> {
    // SAFETY: utsname is plain old data; uname fills it or fails.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    Some(Uname {
        sysname: cstr_field(&u.sysname),
        nodename: cstr_field(&u.nodename),
        release: cstr_field(&u.release),
        version: cstr_field(&u.version),
        machine: cstr_field(&u.machine),
    })
}

/// The same identity from /proc/sys/kernel below a root (the files uname(2)
/// reports from), for [`super::detect_under`].
pub(crate) fn uname_from_proc(ctx: &Ctx) -> Uname {
    let read = |p: &str| {
        ctx.read(p)
            .map(|s| s.trim_end_matches('\n').to_string())
            .unwrap_or_default()
    };
    Uname {
        sysname: read("/proc/sys/kernel/ostype"),
        nodename: read("/proc/sys/kernel/hostname"),
        release: read("/proc/sys/kernel/osrelease"),
        version: read("/proc/sys/kernel/version"),
        machine: read("/proc/sys/kernel/arch"),
    }
}

/// `socket.gethostname()`.
fn gethostname() -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is writable for its full length.
    if unsafe { libc::gethostname(buf.as_mut_ptr(), buf.len()) } != 0 {
        return String::new();
    }
    cstr_field(&buf)
}

/// getaddrinfo, returning (address, canonical name) per result.
fn getaddrinfo(
    name: &str,
    service: Option<&str>,
    family: i32,
    socktype: i32,
    protocol: i32,
    flags: i32,
) -> Option<Vec<(Option<IpAddr>, String)>> {
    let cname = CString::new(name).ok()?;
    let cserv = service.map(CString::new).transpose().ok()?;
    // SAFETY: zeroed addrinfo is a valid "no hints" value; fields set below.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; res is freed below.
    let rc = unsafe {
        libc::getaddrinfo(
            cname.as_ptr(),
            cserv.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            &hints,
            &mut res,
        )
    };
    if rc != 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut cur = res;
    while !cur.is_null() {
        // SAFETY: cur walks the list getaddrinfo returned.
        let ai = unsafe { &*cur };
        let canon = if ai.ai_canonname.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null canonname is a NUL-terminated string.
            unsafe { CStr::from_ptr(ai.ai_canonname) }
                .to_string_lossy()
                .into_owned()
        };
        out.push((sockaddr_ip(ai.ai_addr), canon));
        cur = ai.ai_next;
    }
    // SAFETY: res came from getaddrinfo.
    unsafe { libc::freeaddrinfo(res) };
    Some(out)
}

fn sockaddr_ip(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the family field tells which sockaddr variant this is.
    unsafe {
        match i32::from((*sa).sa_family) {
            libc::AF_INET => {
                let sin = &*(sa as *const libc::sockaddr_in);
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))))
            }
            libc::AF_INET6 => {
                let sin6 = &*(sa as *const libc::sockaddr_in6);
                Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }
}

/// Python's `socket.gethostbyaddr(name)`: the name is turned into an
/// address (literal, or the first getaddrinfo result), then reverse-resolved.
/// Returns (hostname, aliases).
fn gethostbyaddr(name: &str) -> Option<(String, Vec<String>)> {
    let addr: IpAddr = if let Ok(v4) = name.parse::<Ipv4Addr>() {
        IpAddr::V4(v4)
    } else if let (false, Ok(v6)) = (name.contains('%'), name.parse::<Ipv6Addr>()) {
        IpAddr::V6(v6)
    } else {
        getaddrinfo(name, None, libc::AF_UNSPEC, 0, 0, 0)?
            .into_iter()
            .next()?
            .0?
    };
    let (bytes, family): (Vec<u8>, i32) = match addr {
        IpAddr::V4(a) => (a.octets().to_vec(), libc::AF_INET),
        IpAddr::V6(a) => (a.octets().to_vec(), libc::AF_INET6),
    };
    let mut buflen = 16384usize;
    loop {
        let mut buf = vec![0 as libc::c_char; buflen];
        // SAFETY: hostent is plain data filled by the call.
        let mut he: libc::hostent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::hostent = std::ptr::null_mut();
        let mut herr: libc::c_int = 0;
        // SAFETY: every pointer is valid for the stated lengths.
        let rc = unsafe {
            gethostbyaddr_r(
                bytes.as_ptr().cast(),
                bytes.len() as libc::socklen_t,
                family,
                &mut he,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
                &mut herr,
            )
        };
        if rc == libc::ERANGE && buflen < 1 << 20 {
            buflen *= 4;
            continue;
        }
        if rc != 0 || result.is_null() || he.h_name.is_null() {
            return None;
        }
        // SAFETY: on success h_name and h_aliases point into `buf`.
        let hostname = unsafe { CStr::from_ptr(he.h_name) }
            .to_string_lossy()
            .into_owned();
        let mut aliases = Vec::new();
        if !he.h_aliases.is_null() {
            let mut p = he.h_aliases;
            // SAFETY: h_aliases is a NULL-terminated array of C strings.
            unsafe {
                while !(*p).is_null() {
                    aliases.push(CStr::from_ptr(*p).to_string_lossy().into_owned());
                    p = p.add(1);
                }
            }
        }
        return Some((hostname, aliases));
    }
}

/// Python's `socket.getfqdn(name)`: the reverse-resolved name, or the first
/// alias containing a dot; the input when resolution fails.
fn getfqdn(name: &str) -> String {
    let mut name = name.trim().to_string();
    if name.is_empty() || name == "0.0.0.0" || name == "::" {
        name = gethostname();
    }
    match gethostbyaddr(&name) {
        Some((hostname, aliases)) => std::iter::once(&hostname)
            .chain(aliases.iter())
            .find(|n| n.contains('.'))
            .cloned()
            .unwrap_or(hostname),
        None => name,
    }
}

/// The hostname grains and the default minion id.
pub(crate) struct Names {
    pub localhost: String,
    pub fqdn: String,
    pub host: String,
    pub domain: String,
    pub id: String,
}

/// `hostname()` grains plus `salt.utils.network.generate_minion_id()`.
pub(crate) fn names(ifaces: Option<&Interfaces>) -> Names {
    let hostname = gethostname();
    let fqdn_of_host = getfqdn(&hostname);

    // salt.utils.network.get_fqhostname: the canonical name getaddrinfo
    // reports for the hostname wins over getfqdn().
    let canon = getaddrinfo(
        &hostname,
        Some("0"),
        libc::AF_UNSPEC,
        libc::SOCK_STREAM,
        libc::IPPROTO_TCP,
        libc::AI_CANONNAME,
    )
    .unwrap_or_default()
    .into_iter()
    .map(|(_, c)| c)
    .rfind(|c| !c.is_empty());
    let mut fqdn = canon.unwrap_or_else(|| fqdn_of_host.clone());
    if fqdn.is_empty() {
        fqdn = "localhost.localdomain".into();
    }
    let (host, domain) = match fqdn.split_once('.') {
        Some((h, d)) => (h.to_string(), d.to_string()),
        None => (fqdn.clone(), String::new()),
    };
    let id = minion_id(&hostname, &fqdn_of_host, ifaces);
    Names {
        localhost: hostname,
        fqdn,
        host,
        domain,
        id,
    }
}

/// Salt's default minion id for this host (what it uses when neither the
/// config nor a cached `minion_id` file sets one).
pub fn generate_minion_id() -> String {
    let hostname = gethostname();
    let ifaces = super::net::interfaces(&Ctx {
        root: "/".into(),
        live: true,
    });
    minion_id(&hostname, &getfqdn(&hostname), ifaces.as_ref())
}

/// `generate_minion_id`: the first candidate that does not look like a
/// loopback name. Candidates: getfqdn(hostname), the uname nodename, the
/// hostname, names in /etc/hostname, /etc/nodename and /etc/hosts, then
/// the non-loopback IPv4 addresses.
fn minion_id(hostname: &str, fqdn_of_host: &str, ifaces: Option<&Interfaces>) -> String {
    static LOCALHOST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(?:localhost.*|ip6-.*|127[.]\d|0\.0\.0\.0|::1.*|ipv6-.*|fe00::.*|fe02::.*|1.0.0.*.ip6.arpa)",
        )
        .expect("static regex")
    });
    let usable = |s: &str| !s.is_empty() && !LOCALHOST.is_match(s);
    let node = uname().map(|u| u.nodename).unwrap_or_default();
    for cand in [fqdn_of_host, node.as_str(), hostname] {
        if usable(cand) {
            return cand.to_string();
        }
    }
    // Nothing yet: Salt asks getaddrinfo for the canonical name of "localhost"
    // (always filtered out again), then reads the files.
    let ctx = Ctx {
        root: "/".into(),
        live: true,
    };
    for file in ["/etc/hostname", "/etc/nodename", "/etc/hosts"] {
        let Some(text) = ctx.read(file) else { continue };
        for line in py_lines(&text) {
            let line = line.trim();
            let content = line.split('#').next().unwrap_or("").trim();
            let hst: Vec<&str> = content.split_whitespace().collect();
            let Some(first) = hst.first() else { continue };
            let prefix: String = first.chars().take(4).collect();
            if prefix == "127." || prefix == "::1" || hst.len() == 1 {
                if let Some(name) = hst.iter().find(|h| usable(h)) {
                    return name.to_string();
                }
            }
        }
    }
    if let Some(ifaces) = ifaces {
        if let Some(ip) = ifaces
            .ipv4_sorted()
            .into_iter()
            .find(|ip| !ip.is_loopback())
        {
            return ip.to_string();
        }
    }
    "localhost".into()
}

/// salt/grains/minion_process.py. If the effective uid has no passwd entry,
/// Salt's grain function raises and none of these grains is set.
pub(crate) fn insert_process_grains(grains: &mut Map<String, Value>) {
    // SAFETY: these calls cannot fail.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let Some((username, _)) = passwd_by_uid(euid) else {
        return;
    };
    let groupname = passwd_by_name(&username)
        .and_then(group_name)
        .unwrap_or_default();
    grains.insert("username".into(), username.into());
    grains.insert("groupname".into(), groupname.into());
    grains.insert("pid".into(), std::process::id().into());
    grains.insert("gid".into(), egid.into());
    grains.insert("uid".into(), euid.into());
}

// These grains describe the minion process on the real host, as Salt's
// `pwd.getpwuid` does: through NSS (a directory user counts), not through the
// states' root-aware lookup of account files (`state::accounts`), which is
// about the tree being configured.

/// (name, primary gid) of a uid.
fn passwd_by_uid(uid: libc::uid_t) -> Option<(String, libc::gid_t)> {
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: passwd is plain data filled by the call.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers valid for the given lengths.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pw.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into buf.
    let name = unsafe { CStr::from_ptr(pw.pw_name) }
        .to_string_lossy()
        .into_owned();
    Some((name, pw.pw_gid))
}

/// The primary gid of a user name.
fn passwd_by_name(name: &str) -> Option<libc::gid_t> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: as above.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(pw.pw_gid)
}

fn group_name(gid: libc::gid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 65536];
    // SAFETY: group is plain data filled by the call.
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    let rc = unsafe { libc::getgrgid_r(gid, &mut gr, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || gr.gr_name.is_null() {
        return None;
    }
    // SAFETY: gr_name points into buf.
    Some(
        unsafe { CStr::from_ptr(gr.gr_name) }
            .to_string_lossy()
            .into_owned(),
    )
}
