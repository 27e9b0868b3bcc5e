//! `ipcidr` targets (`S@`): Python's `ipaddress` parsing rules, which are
//! stricter than Rust's std parsers in some places (no leading zeros in IPv4
//! octets, `strict=True` networks reject host bits) and looser in others
//! (IPv4 netmask/hostmask prefixes, IPv6 `%scope` suffixes), so they are
//! reimplemented here from CPython 3.11's `ipaddress.py`.
use super::TargetError;
use crate::data::Value;

/// A parsed `S@`/`ipcidr` target.
#[derive(Debug, Clone)]
pub(crate) enum CidrTarget {
    /// A single address: Salt tests `str(address) in grains[proto]`.
    Address {
        v6: bool,
        text: String,
    },
    Network {
        v6: bool,
        network: u128,
        mask: u128,
    },
}

impl CidrTarget {
    /// `ipaddress.ip_address(tgt)`, else `ipaddress.ip_network(tgt)` (strict).
    pub(crate) fn parse(target: &str) -> Result<CidrTarget, TargetError> {
        if let Some(v4) = parse_v4(target) {
            return Ok(CidrTarget::Address {
                v6: false,
                text: format_v4(v4),
            });
        }
        if let Some((v6, scope)) = parse_v6_with_scope(target) {
            let mut text = format_v6(v6);
            if let Some(scope) = scope {
                text.push('%');
                text.push_str(scope);
            }
            return Ok(CidrTarget::Address { v6: true, text });
        }
        parse_network(target).ok_or_else(|| TargetError::BadCidr(target.to_string()))
    }

    pub(crate) fn matches(&self, grains: &Value) -> bool {
        let v6 = match self {
            CidrTarget::Address { v6, .. } | CidrTarget::Network { v6, .. } => *v6,
        };
        let Some(addrs) = grains.get(if v6 { "ipv6" } else { "ipv4" }) else {
            return false;
        };
        match self {
            // `str(tgt) in grains[proto]`: membership for a list, substring
            // for a string, key lookup for a dict.
            CidrTarget::Address { text, .. } => match addrs {
                Value::Array(items) => items.iter().any(|i| i.as_str() == Some(text)),
                Value::String(s) => s.contains(text.as_str()),
                Value::Object(map) => map.contains_key(text),
                _ => false,
            },
            // `salt.utils.network.in_subnet`: a non-list value is one address.
            // An unparsable grain address makes Salt raise; here it just does
            // not match.
            CidrTarget::Network { network, mask, .. } => {
                let inside = |item: &Value| {
                    item.as_str()
                        .and_then(parse_address)
                        .is_some_and(|(is6, ip)| is6 == v6 && ip & mask == *network)
                };
                match addrs {
                    Value::Array(items) => items.iter().any(inside),
                    other => inside(other),
                }
            }
        }
    }
}

/// `ipaddress.ip_address` on a grain value: (is IPv6, address bits).
fn parse_address(s: &str) -> Option<(bool, u128)> {
    if let Some(v4) = parse_v4(s) {
        return Some((false, u128::from(v4)));
    }
    parse_v6_with_scope(s).map(|(v6, _)| (true, v6))
}

/// `IPv4Address._ip_int_from_string`: exactly four decimal octets, at most
/// three digits each, no leading zeros, each at most 255.
fn parse_v4(s: &str) -> Option<u32> {
    let mut parts = s.split('.');
    let mut value: u32 = 0;
    for _ in 0..4 {
        let octet = parts.next()?;
        let b = octet.as_bytes();
        if b.is_empty() || b.len() > 3 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if b.len() > 1 && b[0] == b'0' {
            return None;
        }
        let n: u32 = octet.parse().ok()?;
        if n > 255 {
            return None;
        }
        value = value << 8 | n;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(value)
}

/// `IPv6Address(str)`: an optional `%scope` suffix, then the address.
fn parse_v6_with_scope(s: &str) -> Option<(u128, Option<&str>)> {
    if s.contains('/') {
        return None;
    }
    let (addr, scope) = match s.split_once('%') {
        None => (s, None),
        Some((_, scope)) if scope.is_empty() || scope.contains('%') => return None,
        Some((addr, scope)) => (addr, Some(scope)),
    };
    Some((parse_v6(addr)?, scope))
}

/// `IPv6Address._ip_int_from_string`, including its `::` bookkeeping and the
/// embedded dotted IPv4 tail.
fn parse_v6(s: &str) -> Option<u128> {
    if s.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = s.split(':').map(str::to_string).collect();
    if parts.len() < 3 {
        return None;
    }
    if parts.last()?.contains('.') {
        let v4 = parse_v4(&parts.pop()?)?;
        parts.push(format!("{:x}", v4 >> 16));
        parts.push(format!("{:x}", v4 & 0xffff));
    }
    if parts.len() > 9 {
        return None;
    }
    let n = parts.len();
    let mut skip = None;
    for (i, part) in parts.iter().enumerate().take(n - 1).skip(1) {
        if part.is_empty() {
            if skip.is_some() {
                return None;
            }
            skip = Some(i);
        }
    }
    let (hi, lo, skipped) = match skip {
        Some(at) => {
            let mut hi = at;
            let mut lo = n - at - 1;
            if parts[0].is_empty() {
                hi -= 1;
                if hi != 0 {
                    return None;
                }
            }
            if parts[n - 1].is_empty() {
                lo -= 1;
                if lo != 0 {
                    return None;
                }
            }
            let skipped = 8usize.checked_sub(hi + lo).filter(|s| *s >= 1)?;
            (hi, lo, skipped)
        }
        None => {
            if n != 8 || parts[0].is_empty() || parts[n - 1].is_empty() {
                return None;
            }
            (n, 0, 0)
        }
    };
    let hextet = |p: &str| -> Option<u128> {
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(p, 16).ok()
    };
    let mut value: u128 = 0;
    for part in &parts[..hi] {
        value = value << 16 | hextet(part)?;
    }
    value = value.checked_shl(16 * skipped as u32).unwrap_or(0);
    for part in &parts[n - lo..] {
        value = value << 16 | hextet(part)?;
    }
    Some(value)
}

fn format_v4(v: u32) -> String {
    let b = v.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// `str(IPv6Address)` in Python 3.11: the longest run (first on ties) of two
/// or more zero hextets becomes `::`; an IPv4-mapped tail stays hexadecimal.
fn format_v6(v: u128) -> String {
    let hextets: Vec<String> = (0..8)
        .map(|i| format!("{:x}", (v >> (112 - 16 * i)) & 0xffff))
        .collect();
    let (mut best_start, mut best_len) = (0, 0);
    let (mut start, mut len) = (0, 0);
    for (i, h) in hextets.iter().enumerate() {
        if h == "0" {
            if len == 0 {
                start = i;
            }
            len += 1;
            if len > best_len {
                best_len = len;
                best_start = start;
            }
        } else {
            len = 0;
        }
    }
    if best_len < 2 {
        return hextets.join(":");
    }
    let head = hextets[..best_start].join(":");
    let tail = hextets[best_start + best_len..].join(":");
    format!("{head}::{tail}")
}

/// `ipaddress.ip_network(s)` with `strict=True`.
fn parse_network(s: &str) -> Option<CidrTarget> {
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() > 2 {
        return None;
    }
    let prefix_text = parts.get(1).copied();
    if let Some(addr) = parse_v4(parts[0]) {
        let prefix = match prefix_text {
            None => 32,
            Some(p) => prefix_len(p, 32).or_else(|| v4_mask_prefix(p))?,
        };
        return network(false, u128::from(addr), prefix, 32);
    }
    let (addr, _scope) = parse_v6_with_scope(parts[0])?;
    let prefix = match prefix_text {
        None => 128,
        Some(p) => prefix_len(p, 128)?,
    };
    network(true, addr, prefix, 128)
}

fn network(v6: bool, addr: u128, prefix: u32, bits: u32) -> Option<CidrTarget> {
    let all = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let host = if prefix >= bits { 0 } else { all >> prefix };
    let mask = all & !host;
    if addr & mask != addr {
        // "has host bits set" under strict=True.
        return None;
    }
    Some(CidrTarget::Network {
        v6,
        network: addr,
        mask,
    })
}

/// `_prefix_from_prefix_string`: ASCII digits (leading zeros allowed) within range.
fn prefix_len(p: &str, max: u32) -> Option<u32> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = p.trim_start_matches('0');
    if trimmed.len() > 3 {
        return None;
    }
    let n: u32 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().ok()?
    };
    (n <= max).then_some(n)
}

/// `_prefix_from_ip_string`: a dotted netmask (`255.255.255.0`) or hostmask
/// (`0.0.0.255`) turned into a prefix length.
fn v4_mask_prefix(p: &str) -> Option<u32> {
    let ip = parse_v4(p)?;
    let from_int = |v: u32| -> Option<u32> {
        let trailing = if v == 0 { 32 } else { v.trailing_zeros() };
        let prefix = 32 - trailing;
        let leading = if trailing == 32 { 0 } else { v >> trailing };
        let ones = if prefix == 0 {
            0
        } else {
            u32::MAX >> (32 - prefix)
        };
        (leading == ones).then_some(prefix)
    };
    from_int(ip).or_else(|| from_int(!ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_canonical_forms() {
        // str(ipaddress.ip_address(x)) in CPython 3.11.
        let table = [
            ("10.1.2.3", "10.1.2.3"),
            ("2001:0db8:0000:0000:0000:0000:0000:0010", "2001:db8::10"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
            ("::ffff:10.1.2.3", "::ffff:a01:203"),
            ("FE80::1%eth0", "fe80::1%eth0"),
        ];
        for (input, expected) in table {
            match CidrTarget::parse(input) {
                Ok(CidrTarget::Address { text, .. }) => assert_eq!(text, expected, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejected_like_python() {
        // ipaddress.ip_address and ip_network both raise ValueError for these.
        for bad in [
            "",
            "bogus",
            "010.1.2.3",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.4/33",
            "10.1.2.3/24",
            "1.2.3.4/",
            "1.2.3.4/a",
            "1.2.3.4/1/2",
            "1.2.3.0/255.0.255.0",
            "::1::",
            "1:2:3:4:5:6:7:8:9",
            ":1:2:3:4:5:6:7",
            "12345::",
            "fe80::%",
            "::/129",
            "2001:db8::1/64",
            "1.2.3.4 ",
            "١.2.3.4",
        ] {
            assert!(
                CidrTarget::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        for good in [
            "10.0.0.0/8",
            "10.0.0.0/008",
            "10.1.2.0/255.255.255.0",
            "10.1.2.0/0.0.0.255",
            "0.0.0.0/0",
            "0.0.0.0/0.0.0.0",
            "::/0",
            "2001:db8::/32",
            "fe80::%eth0/64",
            "1:2:3:4:5:6:1.2.3.4",
            "1::1.2.3.4",
        ] {
            assert!(CidrTarget::parse(good).is_ok(), "{good:?} should parse");
        }
    }
}
