//! Interface grains (`ipv4`, `ipv6`, `ip_interfaces`, `ip4_interfaces`,
//! `ip6_interfaces`, `hwaddr_interfaces`).
//!
//! Salt runs `ip link show` + `ip addr show` and parses the text
//! (salt.utils.network._interfaces_ip). We ask the kernel the same two
//! rtnetlink dump questions `ip` asks and format the answers the way `ip`
//! prints them, so the strings, their order (kernel dump order) and the
//! primary/secondary split come out identical.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use super::Ctx;

/// One interface as Salt's parser sees it.
pub(crate) struct Iface {
    name: String,
    /// Primary IPv4 addresses, as `ip` prints them.
    inet: Vec<String>,
    inet6: Vec<String>,
    /// Secondary IPv4 addresses (`ip` never marks IPv6 ones "secondary").
    secondary: Vec<String>,
    hwaddr: Option<String>,
}

pub(crate) struct Interfaces(Vec<Iface>);

impl Interfaces {
    /// `salt.utils.network.ip_addrs(include_loopback=True)`: all IPv4
    /// addresses, deduplicated and sorted numerically.
    pub(crate) fn ipv4_sorted(&self) -> Vec<Ipv4Addr> {
        let mut v: Vec<Ipv4Addr> = self
            .0
            .iter()
            .flat_map(|i| i.inet.iter().chain(&i.secondary))
            .filter_map(|a| a.parse().ok())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn ipv6_sorted(&self) -> Vec<Ipv6Addr> {
        let mut v: Vec<Ipv6Addr> = self
            .0
            .iter()
            .flat_map(|i| i.inet6.iter())
            .filter_map(|a| a.parse().ok())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// The interfaces as Salt would see them. Salt needs `ip` (or `ifconfig`)
/// on PATH; without either it reports no interfaces, and so do we. (With
/// only `ifconfig`, Salt's parse differs in corner cases such as alias
/// labels; we report the `ip` view.)
pub(crate) fn interfaces(ctx: &Ctx) -> Option<Interfaces> {
    if ctx.which("ip").is_none() && ctx.which("ifconfig").is_none() {
        return None;
    }
    netlink::dump_interfaces()
}

pub(crate) fn insert_grains(grains: &mut Map<String, Value>, ifaces: Option<&Interfaces>) {
    let empty = Interfaces(Vec::new());
    let ifaces = ifaces.unwrap_or(&empty);
    let mut ip = Map::new();
    let mut ip4 = Map::new();
    let mut ip6 = Map::new();
    let mut hw = Map::new();
    for i in &ifaces.0 {
        let strs = |v: &mut dyn Iterator<Item = &String>| {
            Value::Array(v.map(|s| Value::from(s.as_str())).collect())
        };
        ip.insert(
            i.name.clone(),
            strs(&mut i.inet.iter().chain(&i.inet6).chain(&i.secondary)),
        );
        ip4.insert(i.name.clone(), strs(&mut i.inet.iter().chain(&i.secondary)));
        ip6.insert(i.name.clone(), strs(&mut i.inet6.iter()));
        if let Some(h) = &i.hwaddr {
            hw.insert(i.name.clone(), h.clone().into());
        }
    }
    let v4: Vec<Value> = ifaces
        .ipv4_sorted()
        .iter()
        .map(|a| a.to_string().into())
        .collect();
    let v6: Vec<Value> = ifaces
        .ipv6_sorted()
        .iter()
        .map(|a| python_ipv6_str(a).into())
        .collect();
    grains.insert("hwaddr_interfaces".into(), hw.into());
    grains.insert("ip4_interfaces".into(), ip4.into());
    grains.insert("ip6_interfaces".into(), ip6.into());
    grains.insert("ipv4".into(), v4.into());
    grains.insert("ipv6".into(), v6.into());
    grains.insert("ip_interfaces".into(), ip.into());
}

/// `str(ipaddress.IPv6Address)` (Python 3.10/3.11): lowercase hex groups,
/// the first longest run of two or more zero groups compressed, no dotted
/// IPv4 tail.
pub(crate) fn python_ipv6_str(a: &Ipv6Addr) -> String {
    let seg = a.segments();
    let (mut best_start, mut best_len) = (None, 0usize);
    let (mut cur_start, mut cur_len) = (None, 0usize);
    for (i, s) in seg.iter().enumerate() {
        if *s == 0 {
            cur_len += 1;
            if cur_start.is_none() {
                cur_start = Some(i);
            }
            if cur_len > best_len {
                best_len = cur_len;
                best_start = cur_start;
            }
        } else {
            cur_len = 0;
            cur_start = None;
        }
    }
    let hex: Vec<String> = seg.iter().map(|s| format!("{s:x}")).collect();
    match best_start {
        Some(start) if best_len > 1 => {
            let end = start + best_len;
            format!("{}::{}", hex[..start].join(":"), hex[end..].join(":"))
        }
        _ => hex.join(":"),
    }
}

/// Whether Salt's header regex `^\d*:\s+([\w.\-]+)(?:@)?([\w.\-]+)?:\s+<` would
/// accept the name; interfaces it cannot parse are dropped by Salt.
fn salt_parsable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-')
}

mod netlink {
    //! Minimal rtnetlink client: RTM_GETLINK and RTM_GETADDR dumps.

    use std::collections::HashMap;
    use std::ffi::CStr;

    use super::{salt_parsable_name, Iface, Interfaces};

    const RTM_NEWLINK: u16 = 16;
    const RTM_GETLINK: u16 = 18;
    const RTM_NEWADDR: u16 = 20;
    const RTM_GETADDR: u16 = 22;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_DUMP: u16 = 0x300;

    const IFLA_ADDRESS: u16 = 1;
    const IFLA_BROADCAST: u16 = 2;
    const IFLA_IFNAME: u16 = 3;
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    const IFA_FLAGS: u16 = 8;
    const IFA_F_SECONDARY: u32 = 1;
    const IFF_POINTOPOINT: u32 = 0x10;

    struct Socket(libc::c_int);

    impl Drop for Socket {
        fn drop(&mut self) {
            // SAFETY: the fd is owned by this struct.
            unsafe { libc::close(self.0) };
        }
    }

    fn u16_at(b: &[u8], o: usize) -> Option<u16> {
        Some(u16::from_ne_bytes(b.get(o..o + 2)?.try_into().ok()?))
    }
    fn u32_at(b: &[u8], o: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?))
    }
    fn align4(n: usize) -> usize {
        (n + 3) & !3
    }

    /// Sends one dump request and returns the payloads of the `want`-typed
    /// replies, in kernel order.
    fn dump(
        sock: &Socket,
        req_type: u16,
        want: u16,
        seq: u32,
        body_len: usize,
    ) -> Option<Vec<Vec<u8>>> {
        let len = 16 + body_len;
        let mut req = vec![0u8; len];
        req[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
        req[4..6].copy_from_slice(&req_type.to_ne_bytes());
        req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        req[8..12].copy_from_slice(&seq.to_ne_bytes());
        // Body: family AF_UNSPEC and zeroes.
        // SAFETY: sockaddr_nl is plain data; zeroed means "the kernel".
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: req and addr are valid for the given lengths.
        let sent = unsafe {
            libc::sendto(
                sock.0,
                req.as_ptr().cast(),
                req.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return None;
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            // SAFETY: buf is writable for its length.
            let n = unsafe { libc::recv(sock.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                return None;
            }
            let data = &buf[..n as usize];
            let mut off = 0;
            while off + 16 <= data.len() {
                let mlen = u32_at(data, off)? as usize;
                let mtype = u16_at(data, off + 4)?;
                let mseq = u32_at(data, off + 8)?;
                if mlen < 16 || off + mlen > data.len() {
                    return None;
                }
                if mseq == seq {
                    match mtype {
                        NLMSG_DONE => return Some(out),
                        NLMSG_ERROR => return None,
                        t if t == want => out.push(data[off + 16..off + mlen].to_vec()),
                        _ => {}
                    }
                }
                off += align4(mlen);
            }
        }
    }

    /// (type, payload) of each rtattr in `b`.
    fn attrs(b: &[u8]) -> Vec<(u16, &[u8])> {
        let mut out = Vec::new();
        let mut off = 0;
        while off + 4 <= b.len() {
            let (Some(len), Some(ty)) = (u16_at(b, off), u16_at(b, off + 2)) else {
                break;
            };
            let len = len as usize;
            if len < 4 || off + len > b.len() {
                break;
            }
            out.push((ty & 0x3fff, &b[off + 4..off + len]));
            off += align4(len);
        }
        out
    }

    /// iproute2's `ll_addr_n2a`: tunnels show their IP endpoint, everything
    /// else colon-separated hex.
    fn ll_addr(addr: &[u8], ifi_type: u16) -> String {
        const ARPHRD_TUNNEL: u16 = 768;
        const ARPHRD_TUNNEL6: u16 = 769;
        const ARPHRD_SIT: u16 = 776;
        const ARPHRD_IPGRE: u16 = 778;
        const ARPHRD_IP6GRE: u16 = 823;
        if addr.len() == 4 && matches!(ifi_type, ARPHRD_TUNNEL | ARPHRD_SIT | ARPHRD_IPGRE) {
            return std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string();
        }
        if addr.len() == 16 && matches!(ifi_type, ARPHRD_TUNNEL6 | ARPHRD_IP6GRE) {
            if let Ok(b) = <[u8; 16]>::try_from(addr) {
                return inet_ntop6(&b);
            }
        }
        addr.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    unsafe extern "C" {
        // Declared here because the libc crate does not export it for Linux.
        fn inet_ntop(
            af: libc::c_int,
            src: *const libc::c_void,
            dst: *mut libc::c_char,
            size: libc::socklen_t,
        ) -> *const libc::c_char;
    }

    /// glibc's IPv6 text form, which is what `ip` prints.
    fn inet_ntop6(addr: &[u8; 16]) -> String {
        let mut buf = [0 as libc::c_char; 64];
        // SAFETY: addr is 16 bytes, buf is 64 bytes (INET6_ADDRSTRLEN is 46).
        let p = unsafe {
            inet_ntop(
                libc::AF_INET6,
                addr.as_ptr().cast(),
                buf.as_mut_ptr(),
                buf.len() as libc::socklen_t,
            )
        };
        if p.is_null() {
            return std::net::Ipv6Addr::from(*addr).to_string();
        }
        // SAFETY: on success buf holds a NUL-terminated string.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    pub(super) fn dump_interfaces() -> Option<Interfaces> {
        // SAFETY: plain socket(2) call; the fd is owned by Socket.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return None;
        }
        let sock = Socket(fd);

        let mut ifaces: Vec<Iface> = Vec::new();
        let mut by_index: HashMap<i32, usize> = HashMap::new();
        for msg in dump(&sock, RTM_GETLINK, RTM_NEWLINK, 1, 16)? {
            if msg.len() < 16 {
                continue;
            }
            let ifi_type = u16_at(&msg, 2)?;
            let index = u32_at(&msg, 4)? as i32;
            let flags = u32_at(&msg, 8)?;
            let mut name = None;
            let mut address = None;
            let mut broadcast = false;
            for (ty, data) in attrs(&msg[16..]) {
                match ty {
                    IFLA_IFNAME => {
                        let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
                        name = Some(String::from_utf8_lossy(&data[..end]).into_owned());
                    }
                    IFLA_ADDRESS => address = Some(ll_addr(data, ifi_type)),
                    IFLA_BROADCAST => broadcast = true,
                    _ => {}
                }
            }
            let Some(name) = name.filter(|n| salt_parsable_name(n)) else {
                continue;
            };
            // `ip` prints "link/<type> <addr> brd <bcast>"; Salt takes the
            // second word, which is "brd"/"peer" when there is no address.
            let hwaddr = address.or_else(|| {
                broadcast.then(|| {
                    if flags & IFF_POINTOPOINT != 0 {
                        "peer".to_string()
                    } else {
                        "brd".to_string()
                    }
                })
            });
            by_index.insert(index, ifaces.len());
            ifaces.push(Iface {
                name,
                inet: Vec::new(),
                inet6: Vec::new(),
                secondary: Vec::new(),
                hwaddr,
            });
        }

        for msg in dump(&sock, RTM_GETADDR, RTM_NEWADDR, 2, 8)? {
            if msg.len() < 8 {
                continue;
            }
            let family = i32::from(msg[0]);
            let mut flags = u32::from(msg[2]);
            let index = u32_at(&msg, 4)? as i32;
            let Some(&slot) = by_index.get(&index) else {
                continue;
            };
            let mut local = None;
            let mut address = None;
            for (ty, data) in attrs(&msg[8..]) {
                match ty {
                    IFA_LOCAL => local = Some(data),
                    IFA_ADDRESS => address = Some(data),
                    IFA_FLAGS => flags = u32_at(data, 0).unwrap_or(flags),
                    _ => {}
                }
            }
            // `ip` shows IFA_LOCAL, falling back to IFA_ADDRESS.
            let Some(raw) = local.or(address) else {
                continue;
            };
            let iface = &mut ifaces[slot];
            match family {
                libc::AF_INET => {
                    let Ok(b) = <[u8; 4]>::try_from(raw) else {
                        continue;
                    };
                    let text = std::net::Ipv4Addr::from(b).to_string();
                    if flags & IFA_F_SECONDARY != 0 {
                        iface.secondary.push(text);
                    } else {
                        iface.inet.push(text);
                    }
                }
                libc::AF_INET6 => {
                    let Ok(b) = <[u8; 16]>::try_from(raw) else {
                        continue;
                    };
                    iface.inet6.push(inet_ntop6(&b));
                }
                _ => {}
            }
        }
        Some(Interfaces(ifaces))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_text_like_python() {
        let f = |s: &str| python_ipv6_str(&s.parse().expect("literal"));
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("fe80::fc:ff:fe00:1"), "fe80::fc:ff:fe00:1");
        assert_eq!(f("fd00::2"), "fd00::2");
        assert_eq!(f("::"), "::");
        assert_eq!(f("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
        assert_eq!(f("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
        assert_eq!(f("::ffff:1.2.3.4"), "::ffff:102:304");
        assert_eq!(f("1::"), "1::");
    }

    #[test]
    fn names_salt_can_parse() {
        assert!(salt_parsable_name("eth0"));
        assert!(salt_parsable_name("br-1a2b.100"));
        assert!(!salt_parsable_name("wg+0"));
    }
}
