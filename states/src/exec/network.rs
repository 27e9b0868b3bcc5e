//! `network.*`: the host's addresses, read live from the kernel
//! (`getifaddrs`), as Salt's `network.ip_addrs` reads them.
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::data::Value;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};

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
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(ExecError::Failed(format!(
            "network.ip_addrs: cannot list the interfaces: {}",
            std::io::Error::last_os_error()
        )));
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, alive
        // until freeifaddrs; its name is a NUL-terminated string and an
        // AF_INET address is a sockaddr_in.
        unsafe {
            let ifa = &*cur;
            if !ifa.ifa_addr.is_null() && i32::from((*ifa.ifa_addr).sa_family) == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                let addr = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                    .to_string_lossy()
                    .into_owned();
                out.push((name, addr));
            }
            cur = ifa.ifa_next;
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
