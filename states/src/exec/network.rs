//! `network.*`: the host's interfaces and addresses, read live from the
//! kernel (`getifaddrs`), in the shapes of Salt's `network.ip_addrs` and
//! `network.interfaces`.
use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};

use common::data::{Map, Value};
use serde_json::json;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};
use crate::state::HostRead;

pub const IP_ADDRS: ExecFunction = ExecFunction {
    name: "network.ip_addrs",
    params: &[
        Param::optional("interface"),
        Param::optional("include_loopback"),
        Param::optional("cidr"),
        Param::unsupported("type"),
    ],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "the host's IPv4 addresses (no loopback unless asked), sorted",
    parse: |a| {
        let cidr = match a.opt_str("cidr") {
            None => None,
            Some(text) => Some(parse_cidr(&text).ok_or_else(|| ExecError::BadArgument {
                function: "network.ip_addrs",
                argument: "cidr".into(),
                reason: "not an IPv4 network such as 10.0.0.0/8".into(),
            })?),
        };
        Ok(ExecCall::NetworkIpAddrs {
            interfaces: match a.get("interface") {
                None => None,
                Some(_) => Some(a.names("interface")?),
            },
            include_loopback: a.bool("include_loopback").unwrap_or(false),
            cidr,
        })
    },
};

/// An IPv4 network: its address and prefix length.
pub type Cidr = (Ipv4Addr, u8);

/// `a.b.c.d/n` as Python's `ipaddress.ip_network` (strict) takes it.
fn parse_cidr(text: &str) -> Option<Cidr> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok()?),
        None => (text, 32),
    };
    let addr: Ipv4Addr = addr.parse().ok()?;
    if len > 32 || u32::from(addr) & !mask(len) != 0 {
        return None;
    }
    Some((addr, len))
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

/// Salt's `ip_addrs`: every IPv4 address of the matching interfaces
/// (fnmatch patterns), loopback left out unless asked, deduplicated and
/// sorted as addresses (numerically), within `cidr` when given.
pub fn ip_addrs(
    interfaces: Option<&[String]>,
    include_loopback: bool,
    cidr: Option<Cidr>,
) -> Result<Value, ExecError> {
    let mut found = BTreeSet::new();
    for (name, addr) in ipv4_by_interface()? {
        let wanted =
            interfaces.is_none_or(|pats| pats.iter().any(|p| common::target::fnmatch(&name, p)));
        if !wanted || (addr.is_loopback() && !include_loopback) {
            continue;
        }
        if let Some((net, len)) = cidr {
            if u32::from(addr) & mask(len) != u32::from(net) {
                continue;
            }
        }
        found.insert(addr);
    }
    Ok(Value::Array(
        found
            .into_iter()
            .map(|a| Value::String(a.to_string()))
            .collect(),
    ))
}

/// Every (interface, IPv4 address) pair the kernel lists.
fn ipv4_by_interface() -> Result<Vec<(String, Ipv4Addr)>, ExecError> {
    Ok(if_addrs()?
        .into_iter()
        .filter_map(|a| match a.family {
            Family::Inet { address, .. } => Some((a.name, address)),
            _ => None,
        })
        .collect())
}

pub const INTERFACES: ExecFunction = ExecFunction {
    name: "network.interfaces",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "each interface's hwaddr, up, inet and inet6 addresses",
    parse: |_| Ok(ExecCall::NetworkInterfaces),
};

/// Salt's `network.interfaces` as it parses `ip link show` and `ip addr
/// show`: per interface `up`, `hwaddr` (when it has a link address), and
/// `inet` / `inet6` lists (only when it has such addresses). getifaddrs
/// does not tell an address's `secondary` flag, so Brine lists secondary
/// IPv4 addresses under `inet`. A link's `parent` (`veth0@if5`) is `ip`'s.
pub fn interfaces(host: &HostRead) -> Result<Value, ExecError> {
    let parents = parents(host);
    let mut out: Map<String, Value> = Map::new();
    let entry = |out: &mut Map<String, Value>, name: &str| -> Map<String, Value> {
        match out.remove(name) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        }
    };
    for a in if_addrs()? {
        // An IPv4 address's entry is named by its label (`eth0:1`).
        let iface = a.name.split(':').next().unwrap_or(&a.name).to_string();
        let mut data = entry(&mut out, &iface);
        let up = data.get("up").and_then(Value::as_bool).unwrap_or(false);
        data.insert("up".into(), Value::Bool(up || a.up));
        match a.family {
            Family::Link { hwaddr } => {
                if let Some(parent) = parents.get(&iface) {
                    data.insert("parent".into(), Value::String(parent.clone()));
                }
                if let Some(hw) = hwaddr {
                    data.insert("hwaddr".into(), Value::String(hw));
                }
            }
            Family::Inet {
                address,
                netmask,
                broadcast,
            } => push(
                &mut data,
                "inet",
                json!({
                    "address": address.to_string(),
                    "netmask": netmask.to_string(),
                    "broadcast": broadcast.map(|b| b.to_string()),
                    "label": a.name,
                }),
            ),
            Family::Inet6 { address, prefixlen } => push(
                &mut data,
                "inet6",
                json!({
                    "address": address.to_string(),
                    "prefixlen": prefixlen.to_string(),
                    "scope": scope6(&address),
                }),
            ),
        }
        out.insert(iface, Value::Object(data));
    }
    Ok(Value::Object(out))
}

/// Each link's `parent` as Salt reads it from `ip link show`'s
/// `NAME@PARENT:` (the lower device, `ifN` in another network namespace,
/// `NONE`): getifaddrs does not say, and only `ip` knows which netns a
/// peer index is in. No `ip`, no parents, as Salt's ifconfig fallback.
fn parents(host: &HostRead) -> HashMap<String, String> {
    let Ok(out) = host.query(&["ip", "-o", "link", "show"]) else {
        return HashMap::new();
    };
    out.stdout
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once(": ")?;
            let (name, _) = rest.split_once(": ")?;
            let (iface, parent) = name.split_once('@')?;
            Some((iface.to_string(), parent.to_string()))
        })
        .collect()
}

fn push(data: &mut Map<String, Value>, key: &str, item: Value) {
    match data.get_mut(key) {
        Some(Value::Array(items)) => items.push(item),
        _ => {
            data.insert(key.into(), Value::Array(vec![item]));
        }
    }
}

/// The scope `ip` prints for an IPv6 address the kernel gave no other.
fn scope6(a: &Ipv6Addr) -> &'static str {
    let first = a.segments()[0];
    if a.is_loopback() {
        "host"
    } else if first & 0xffc0 == 0xfe80 {
        "link"
    } else if first & 0xffc0 == 0xfec0 {
        "site"
    } else {
        "global"
    }
}

/// One entry of getifaddrs.
struct IfAddr {
    /// The interface, or an IPv4 address's label.
    name: String,
    up: bool,
    family: Family,
}

enum Family {
    /// The link itself (AF_PACKET): its hardware address, when it has one.
    Link {
        hwaddr: Option<String>,
    },
    Inet {
        address: Ipv4Addr,
        netmask: Ipv4Addr,
        broadcast: Option<Ipv4Addr>,
    },
    Inet6 {
        address: Ipv6Addr,
        prefixlen: u32,
    },
}

/// Every entry the kernel lists, links first (in interface order), then
/// IPv4, then IPv6 addresses.
fn if_addrs() -> Result<Vec<IfAddr>, ExecError> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(ExecError::Failed(format!(
            "cannot list the network interfaces: {}",
            std::io::Error::last_os_error()
        )));
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, alive
        // until freeifaddrs; its name is a NUL-terminated string, and each
        // address is the sockaddr type its family says.
        unsafe {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() {
                continue;
            }
            let v4 = |p: *const libc::sockaddr| {
                (!p.is_null()).then(|| {
                    let sin = &*(p as *const libc::sockaddr_in);
                    Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))
                })
            };
            let v6 = |p: *const libc::sockaddr| {
                (!p.is_null())
                    .then(|| Ipv6Addr::from((*(p as *const libc::sockaddr_in6)).sin6_addr.s6_addr))
            };
            let flags = ifa.ifa_flags;
            let family = match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_PACKET => {
                    let ll = &*(ifa.ifa_addr as *const libc::sockaddr_ll);
                    let len = usize::from(ll.sll_halen).min(ll.sll_addr.len());
                    let hwaddr = (len > 0).then(|| {
                        ll.sll_addr[..len]
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(":")
                    });
                    Family::Link { hwaddr }
                }
                libc::AF_INET => Family::Inet {
                    address: v4(ifa.ifa_addr).unwrap_or(Ipv4Addr::UNSPECIFIED),
                    netmask: v4(ifa.ifa_netmask).unwrap_or(Ipv4Addr::BROADCAST),
                    broadcast: if flags & libc::IFF_BROADCAST as u32 != 0 {
                        v4(ifa.ifa_ifu)
                    } else {
                        None
                    },
                },
                libc::AF_INET6 => Family::Inet6 {
                    address: v6(ifa.ifa_addr).unwrap_or(Ipv6Addr::UNSPECIFIED),
                    prefixlen: v6(ifa.ifa_netmask).map_or(128, |m| u128::from(m).leading_ones()),
                },
                _ => continue,
            };
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                .to_string_lossy()
                .into_owned();
            out.push(IfAddr {
                name,
                up: flags & libc::IFF_UP as u32 != 0,
                family,
            });
        }
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_when_asked_and_sorted_as_addresses() {
        let all = ip_addrs(None, true, None).unwrap();
        let all: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(all.contains(&"127.0.0.1"), "{all:?}");
        let lo = ip_addrs(Some(&["l*".to_string()]), true, None).unwrap();
        assert!(lo.as_array().unwrap().contains(&Value::from("127.0.0.1")));
        let plain = ip_addrs(None, false, None).unwrap();
        assert!(!plain
            .as_array()
            .unwrap()
            .contains(&Value::from("127.0.0.1")));
        let in_lo = ip_addrs(None, true, parse_cidr("127.0.0.0/8")).unwrap();
        assert_eq!(in_lo, serde_json::json!(["127.0.0.1"]));
        let mut sorted: Vec<Ipv4Addr> = all.iter().map(|a| a.parse().unwrap()).collect();
        sorted.sort();
        let again: Vec<String> = sorted.iter().map(|a| a.to_string()).collect();
        assert_eq!(all, again);
    }

    #[test]
    fn cidr_is_checked_as_python_checks_it() {
        assert_eq!(
            parse_cidr("10.0.0.0/8"),
            Some((Ipv4Addr::new(10, 0, 0, 0), 8))
        );
        assert_eq!(parse_cidr("10.0.0.1/8"), None);
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("fe80::/10"), None);
        assert_eq!(
            parse_cidr("10.1.2.3"),
            Some((Ipv4Addr::new(10, 1, 2, 3), 32))
        );
    }
}
