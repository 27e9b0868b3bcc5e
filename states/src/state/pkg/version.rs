//! Debian version ordering (deb-version(7), as `dpkg --compare-versions`) and
//! the version specs Salt's pkg states accept (`1.22.1-9`, `1.22*`, `>=1.2`,
//! `>=1.2, <2.0`), evaluated the way `salt/states/pkg.py` does.
use std::cmp::Ordering;

use common::target::fnmatch;

/// Compares two Debian versions: epoch, then upstream, then revision, each
/// with dpkg's alternating non-digit/digit rule (`~` sorts before anything).
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

/// `epoch:upstream-revision`; a missing epoch is 0, a missing revision "".
fn split(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// The weight dpkg gives a byte in a non-digit run (`None` is the end).
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

fn strip_epoch(v: &str) -> &str {
    match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => rest,
        _ => v,
    }
}

/// A comparison operator of a version condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
}

/// One `<op><version>` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub op: Op,
    pub version: String,
}

impl Cond {
    /// Salt's `_fulfills_version_spec`: `==` also matches as a glob, and the
    /// epoch is ignored unless asked for or the condition names one.
    fn matches(&self, installed: &str, ignore_epoch: Option<bool>) -> bool {
        let ignore = ignore_epoch
            .unwrap_or(matches!(self.op, Op::Eq | Op::Ne) && !self.version.contains(':'));
        let (have, want) = if ignore {
            (strip_epoch(installed), strip_epoch(&self.version))
        } else {
            (installed, self.version.as_str())
        };
        if self.op == Op::Eq && (fnmatch(installed, &self.version) || fnmatch(have, want)) {
            return true;
        }
        let ord = compare(have, want);
        match self.op {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Ge => ord != Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Lt => ord == Ordering::Less,
        }
    }
}

/// A version spec: conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub raw: String,
    pub conds: Vec<Cond>,
}

impl Spec {
    /// Parses Salt's forms. `<>` and `<=>` (which Salt silently never
    /// matches) are refused; `>>`/`<<` are read as Debian's strict `>`/`<`.
    pub fn parse(raw: &str) -> Result<Spec, String> {
        let mut conds = Vec::new();
        for part in raw.trim().split(',') {
            let part = part.trim();
            let ops: [(&str, Option<Op>); 11] = [
                ("<=>", None),
                ("==", Some(Op::Eq)),
                ("!=", Some(Op::Ne)),
                (">=", Some(Op::Ge)),
                ("<=", Some(Op::Le)),
                (">>", Some(Op::Gt)),
                ("<<", Some(Op::Lt)),
                ("<>", None),
                (">", Some(Op::Gt)),
                ("<", Some(Op::Lt)),
                ("=", Some(Op::Eq)),
            ];
            let (op, rest) = ops
                .iter()
                .find_map(|(text, op)| part.strip_prefix(text).map(|rest| (*op, rest)))
                .unwrap_or((Some(Op::Eq), part));
            let op = op.ok_or_else(|| {
                format!("unsupported version comparison in {raw:?}: use ==, !=, >=, <=, > or <")
            })?;
            // Salt allows one space between the operator and the version.
            let version = rest.strip_prefix(' ').unwrap_or(rest).to_string();
            if version.is_empty()
                || version.contains(['<', '>', '='])
                || version.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(format!("invalid version specification {raw:?}"));
            }
            conds.push(Cond { op, version });
        }
        Ok(Spec {
            raw: raw.trim().to_string(),
            conds,
        })
    }

    /// Whether an installed version satisfies every condition.
    pub fn satisfied_by(&self, installed: &str, ignore_epoch: Option<bool>) -> bool {
        self.conds
            .iter()
            .all(|c| c.matches(installed, ignore_epoch))
    }

    /// Whether any condition compares (`>`, `<`, …) rather than pins.
    pub fn has_comparison(&self) -> bool {
        self.conds.iter().any(|c| c.op != Op::Eq)
    }

    /// The newest of `available` that satisfies the spec: the version to
    /// hand apt (which takes only exact `name=version`).
    pub fn pick<'a>(&self, available: &'a [String], ignore_epoch: Option<bool>) -> Option<&'a str> {
        available
            .iter()
            .filter(|v| self.satisfied_by(v, ignore_epoch))
            .max_by(|a, b| compare(a, b))
            .map(String::as_str)
    }

    /// Normal form for messages (`>=1.2, <2`).
    #[allow(dead_code)] // used by tests and error messages
    pub fn normal(&self) -> String {
        self.conds
            .iter()
            .map(|c| format!("{}{}", c.op.as_str(), c.version))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_as_dpkg_does() {
        // Pairs from dpkg's own test suite and real Debian versions.
        let less = [
            ("1.0", "1.1"),
            ("1.0~rc1", "1.0"),
            ("1.0~~", "1.0~"),
            ("1.0-1", "1.0-2"),
            ("1.0", "1.0-0.1"),
            ("1.22.1-9", "1.22.1-9+deb12u1"),
            ("1.22.1-9+deb12u6", "1.22.1-9+deb12u7"),
            ("5.2.15-2+b8", "5.2.15-2+b13"),
            ("2.36-9+deb12u7", "2.36-9+deb12u14"),
            ("9.9", "1:0.1"),
            ("1.2a", "1.2b"),
            ("1.2", "1.2a"),
            ("1.2a+", "1.2+"),
            ("0.9", "0.10"),
        ];
        for (a, b) in less {
            assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(compare(b, a), Ordering::Greater, "{b} > {a}");
        }
        for (a, b) in [
            ("1.0", "1.00"),
            ("0:1.0", "1.0"),
            ("1.0-0", "1.0"),
            ("1.01", "1.1"),
        ] {
            assert_eq!(compare(a, b), Ordering::Equal, "{a} == {b}");
        }
    }

    #[test]
    fn agrees_with_this_hosts_dpkg() {
        let versions = [
            "1.0",
            "1.0~rc1",
            "1:0.9",
            "1.0-1",
            "1.0+b1",
            "1.0a",
            "1.0.1",
            "2.36-9+deb12u14",
            "2.36-9+deb12u7",
            "0~20230101",
            "1.2+",
            "1.2a+",
            "10",
            "9.9.9",
        ];
        for a in versions {
            for b in versions {
                let Ok(out) = std::process::Command::new("dpkg")
                    .args(["--compare-versions", a, "lt", b])
                    .status()
                else {
                    return; // no dpkg here
                };
                assert_eq!(out.success(), compare(a, b) == Ordering::Less, "{a} < {b}");
            }
        }
    }

    #[test]
    fn specs_parse_as_salt_splits_them() {
        let s = Spec::parse(">=1.2.3-4, <2.3.4-5, !=1.2.4-1").unwrap();
        assert_eq!(s.normal(), ">=1.2.3-4, <2.3.4-5, !=1.2.4-1");
        assert_eq!(Spec::parse("1.22*").unwrap().conds[0].op, Op::Eq);
        assert_eq!(Spec::parse("=1.2").unwrap().normal(), "==1.2");
        assert_eq!(Spec::parse("> 1.2").unwrap().normal(), ">1.2");
        assert_eq!(Spec::parse(">>1.2").unwrap().normal(), ">1.2");
        assert!(Spec::parse("<>1.2").is_err());
        assert!(Spec::parse("<=>1.2").is_err());
        assert!(Spec::parse(">=").is_err());
        assert!(Spec::parse("1.2 3").is_err());
    }

    #[test]
    fn exact_glob_and_comparisons_match_as_salt() {
        let v = "1.22.1-9+deb12u7";
        let yes = |s: &str| Spec::parse(s).unwrap().satisfied_by(v, None);
        assert!(yes("1.22.1-9+deb12u7"));
        assert!(yes("1.22*"));
        assert!(!yes("1.23*"));
        assert!(yes(">=1.22"));
        assert!(yes(">=1.22, <1.23"));
        assert!(!yes(">=1.22, <1.22.1"));
        assert!(yes("!=1.22.1-9"));
        assert!(!yes("<1.0"));
        // An epoch in the installed version is ignored for == unless named.
        let e = Spec::parse("1.2-1").unwrap();
        assert!(e.satisfied_by("2:1.2-1", None));
        assert!(!e.satisfied_by("2:1.2-1", Some(false)));
        assert!(Spec::parse("1.2*").unwrap().satisfied_by("2:1.2-1", None));
        assert!(!Spec::parse("1:1.2-1")
            .unwrap()
            .satisfied_by("2:1.2-1", None));
        // Comparisons keep the epoch: 2:1.0 is newer than 3.0.
        assert!(Spec::parse(">3.0").unwrap().satisfied_by("2:1.0", None));
    }

    #[test]
    fn pick_takes_the_newest_match() {
        let avail: Vec<String> = ["1.22.1-9+deb12u7", "1.22.1-9+deb12u6", "1.18.0-6"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let pick = |s: &str| {
            Spec::parse(s)
                .unwrap()
                .pick(&avail, None)
                .map(str::to_string)
        };
        assert_eq!(pick("1.22*").as_deref(), Some("1.22.1-9+deb12u7"));
        assert_eq!(
            pick("<1.22.1-9+deb12u7").as_deref(),
            Some("1.22.1-9+deb12u6")
        );
        assert_eq!(pick("1.18*").as_deref(), Some("1.18.0-6"));
        assert_eq!(pick(">2"), None);
    }
}
