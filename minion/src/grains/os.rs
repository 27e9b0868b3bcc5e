//! OS and distribution grains (`os`, `os_family`, `osfullname`, `osrelease`,
//! `oscodename`, `lsb_distrib_*`, `osrelease_info`, `osmajorrelease`,
//! `osfinger`), following salt/grains/core.py 3007.
//!
//! Salt first tries `import lsb_release`; that Debian system module is never
//! importable from Salt's onedir/venv Python, so `lsb_has_error` is always
//! true and every distribution goes through `_legacy_linux_distribution_data`
//! (which, e.g., recomputes `os_family` from `_OS_FAMILY_MAP` and fills the
//! `lsb_distrib_*` grains from os-release). This module follows that path.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::osrelease::{freedesktop_os_release, parse_lsb_release, Distro};
use super::util::{is_digits, py_int};
use super::Ctx;

/// `_OS_NAME_MAP`: first ten characters (no spaces, lowercased) of the
/// distribution name to Salt's traditional `os` grain.
const OS_NAME_MAP: &[(&str, &str)] = &[
    ("redhatente", "RedHat"),
    ("gentoobase", "Gentoo"),
    ("archarm", "Arch ARM"),
    ("arch", "Arch"),
    ("debian", "Debian"),
    ("Junos", "Junos"),
    ("raspbian", "Raspbian"),
    ("fedoraremi", "Fedora"),
    ("chapeau", "Chapeau"),
    ("korora", "Korora"),
    ("amazonami", "Amazon"),
    ("alt", "ALT"),
    ("enterprise", "OEL"),
    ("oracleserv", "OEL"),
    ("cloudserve", "CloudLinux"),
    ("cloudlinux", "CloudLinux"),
    ("almalinux", "AlmaLinux"),
    ("pidora", "Fedora"),
    ("scientific", "ScientificLinux"),
    ("synology", "Synology"),
    ("nilrt", "NILinuxRT"),
    ("poky", "Poky"),
    ("manjaro", "Manjaro"),
    ("manjarolin", "Manjaro"),
    ("univention", "Univention"),
    ("antergos", "Antergos"),
    ("sles", "SUSE"),
    ("void", "Void"),
    ("slesexpand", "RES"),
    ("linuxmint", "Mint"),
    ("neon", "KDE neon"),
    ("pop", "Pop"),
    ("rocky", "Rocky"),
    ("alibabaclo", "Alinux"),
    ("mendel", "Mendel"),
];

/// `_ID_AND_NAME_TO_OS_NAME_MAP`.
const ID_AND_NAME_MAP: &[(&str, &str, &str)] = &[
    ("astra", "Astra Linux (Orel)", "AstraLinuxCE"),
    ("astra", "Astra Linux (Smolensk)", "AstraLinuxSE"),
    ("pop", "Pop!_OS", "Pop"),
];

/// `_OS_FAMILY_MAP`: `os` grain to `os_family` (default: the `os` itself).
const OS_FAMILY_MAP: &[(&str, &str)] = &[
    ("Ubuntu", "Debian"),
    ("Fedora", "RedHat"),
    ("Chapeau", "RedHat"),
    ("Korora", "RedHat"),
    ("FedBerry", "RedHat"),
    ("CentOS", "RedHat"),
    ("CentOS Stream", "RedHat"),
    ("GoOSe", "RedHat"),
    ("Scientific", "RedHat"),
    ("Amazon", "RedHat"),
    ("CloudLinux", "RedHat"),
    ("AlmaLinux", "RedHat"),
    ("OVS", "RedHat"),
    ("OEL", "RedHat"),
    ("XCP", "RedHat"),
    ("XCP-ng", "RedHat"),
    ("XenServer", "RedHat"),
    ("RES", "RedHat"),
    ("Sangoma", "RedHat"),
    ("VMware Photon OS", "RedHat"),
    ("Mandrake", "Mandriva"),
    ("Mint", "Debian"),
    ("VMwareESX", "VMware"),
    ("Bluewhite64", "Bluewhite"),
    ("Slamd64", "Slackware"),
    ("SLES", "Suse"),
    ("SUSE Enterprise Server", "Suse"),
    ("SUSE  Enterprise Server", "Suse"),
    ("SLED", "Suse"),
    ("openSUSE", "Suse"),
    ("SUSE", "Suse"),
    ("openSUSE Leap", "Suse"),
    ("openSUSE Tumbleweed", "Suse"),
    ("SLES_SAP", "Suse"),
    ("Arch ARM", "Arch"),
    ("Manjaro", "Arch"),
    ("Manjaro ARM", "Arch"),
    ("Antergos", "Arch"),
    ("EndeavourOS", "Arch"),
    ("ALT", "RedHat"),
    ("Trisquel", "Debian"),
    ("GCEL", "Debian"),
    ("Linaro", "Debian"),
    ("elementary OS", "Debian"),
    ("elementary", "Debian"),
    ("Univention", "Debian"),
    ("ScientificLinux", "RedHat"),
    ("Raspbian", "Debian"),
    ("Devuan", "Debian"),
    ("antiX", "Debian"),
    ("Kali", "Debian"),
    ("Parrot OS", "Debian"),
    ("neon", "Debian"),
    ("Cumulus", "Debian"),
    ("Deepin", "Debian"),
    ("NILinuxRT", "NILinuxRT"),
    ("KDE neon", "Debian"),
    ("Void", "Void"),
    ("IDMS", "Debian"),
    ("Funtoo", "Gentoo"),
    ("TurnKey", "Debian"),
    ("Pop", "Debian"),
    ("Rocky", "RedHat"),
    ("AstraLinuxCE", "Debian"),
    ("AstraLinuxSE", "Debian"),
    ("Alinux", "RedHat"),
    ("Mendel", "Debian"),
    ("OSMC", "Debian"),
];

fn os_family_of(os: &str) -> String {
    OS_FAMILY_MAP
        .iter()
        .find(|(k, _)| *k == os)
        .map_or(os, |(_, v)| v)
        .to_string()
}

/// `_derive_os_grain`.
pub(crate) fn derive_os_grain(osfullname: &str, os_id: Option<&str>) -> String {
    static REPLACE_LINUX: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\W(?:gnu/)?linux").expect("static regex"));
    if let Some(id) = os_id {
        if let Some((_, _, os)) = ID_AND_NAME_MAP
            .iter()
            .find(|(i, n, _)| *i == id && *n == osfullname)
        {
            return os.to_string();
        }
    }
    let distroname = REPLACE_LINUX.replace_all(osfullname, "");
    let distroname = distroname.trim();
    let shortname: String = distroname
        .replace(' ', "")
        .to_lowercase()
        .chars()
        .take(10)
        .collect();
    OS_NAME_MAP
        .iter()
        .find(|(k, _)| *k == shortname)
        .map_or(distroname, |(_, v)| v)
        .to_string()
}

/// `_family_id` + `_prettify_os_family`.
fn os_release_family(os_id: &str, id_like: Option<&str>) -> String {
    let family_id = match id_like {
        Some(like) if !like.is_empty() => {
            let ids: Vec<&str> = std::iter::once(os_id)
                .chain(like.split_whitespace())
                .collect();
            if ids.contains(&"debian") || ids.contains(&"ubuntu") {
                "debian"
            } else {
                ids.last().copied().unwrap_or(os_id)
            }
        }
        _ => os_id,
    };
    if family_id == "fedora" {
        return "RedHat".into();
    }
    // str.capitalize(): first character upper, the rest lower.
    let mut chars = family_id.chars();
    match chars.next() {
        Some(f) => f
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// `_VERSION_RE`-based codename quirk for AlmaLinux and Rocky.
fn quirks_for_oscodename(osr: &HashMap<String, String>) -> Option<String> {
    static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\d[\d.+\-a-z]* \((?P<codename>.+)\)").expect("static regex")
    });
    let id = osr.get("ID").map(String::as_str).unwrap_or("");
    if id == "astra" {
        return osr.get("VARIANT_ID").cloned();
    }
    if id == "almalinux" || id == "rocky" {
        let version = osr.get("VERSION").map(String::as_str).unwrap_or("");
        return VERSION_RE
            .captures(version)
            .map(|c| c["codename"].to_string());
    }
    None
}

/// Python's `a or b` where `a` is an optional string.
fn or_nonempty(a: Option<&String>, b: Option<String>) -> Option<String> {
    match a {
        Some(s) if !s.is_empty() => Some(s.clone()),
        _ => b,
    }
}

fn get<'a>(g: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    g.get(k).and_then(Value::as_str)
}

/// `_linux_distribution_data` with `lsb_has_error == True` (see module doc).
pub(crate) fn linux_distribution_data(ctx: &Ctx) -> Map<String, Value> {
    let mut grains = Map::new();
    for (k, v) in parse_lsb_release(ctx) {
        grains.insert(k, v.into());
    }
    let os_release = freedesktop_os_release(ctx);
    if let Some(osr) = &os_release {
        // _os_release_to_grains. Only `os` and `osfullname` survive the legacy
        // code below, but the keys are inserted here first, which fixes their
        // position in Salt's (insertion-ordered) grains dict.
        let name = osr.get("NAME").map(String::as_str).unwrap_or("");
        let id = osr.get("ID").map(String::as_str).unwrap_or("");
        grains.insert("os".into(), derive_os_grain(name, Some(id)).into());
        grains.insert(
            "os_family".into(),
            os_release_family(id, osr.get("ID_LIKE").map(String::as_str)).into(),
        );
        let codename = or_nonempty(osr.get("VERSION_CODENAME"), quirks_for_oscodename(osr));
        grains.insert(
            "oscodename".into(),
            codename.map_or(Value::Null, Value::from),
        );
        grains.insert("osfullname".into(), name.trim().into());
        // Salt would add osrelease (VERSION_ID or the Mendel quirk) here and
        // delete it right away ("Let the legacy code define osrelease"), so
        // it is left out; the legacy code takes VERSION_ID via
        // lsb_distrib_release instead.
    }
    legacy_linux_distribution_data(ctx, &mut grains, os_release.as_ref());
    grains
}

/// `_legacy_linux_distribution_data` with `lsb_has_error == True`.
fn legacy_linux_distribution_data(
    ctx: &Ctx,
    grains: &mut Map<String, Value>,
    os_release: Option<&HashMap<String, String>>,
) {
    let description = get(grains, "lsb_distrib_description").unwrap_or("");
    if description.to_lowercase().starts_with("antergos") {
        grains.insert("osfullname".into(), "Antergos Linux".into());
    } else if !grains.contains_key("lsb_distrib_id") {
        // Salt also knows /etc/SuSE-release, /etc/altlinux-release,
        // /etc/centos-release and Synology files, but only consults them when
        // there is no os-release at all (pre-2012 distributions); those are
        // not covered.
        if let Some(osr) = os_release {
            lsb_from_os_release(grains, osr);
        }
    }

    // `distro` data is only needed for fallbacks; loading it lists /etc.
    let distro_cell = std::cell::OnceCell::new();
    let distro = || distro_cell.get_or_init(|| Distro::load(ctx));
    // salt.utils.platform.linux_distribution strips quotes off each value.
    let unquote = |s: String| s.trim_matches('"').trim_matches('\'').to_string();

    if !grains.contains_key("osfullname") {
        let lsb_id = get(grains, "lsb_distrib_id").map(str::to_string);
        let full = if lsb_id
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .starts_with("nilrt")
        {
            "nilrt".to_string()
        } else {
            lsb_id
                .unwrap_or_else(|| unquote(distro().name()))
                .trim()
                .to_string()
        };
        grains.insert("osfullname".into(), full.into());
    }

    // CentOS 7/8 os-release lack the minor version; Salt drops the
    // os-release one so that the release file's is used.
    let codename = get(grains, "lsb_distrib_codename").unwrap_or("");
    if ["CentOS Linux 7", "CentOS Linux 8"]
        .iter()
        .any(|c| codename.contains(c))
    {
        grains.shift_remove("lsb_distrib_release");
    }
    let osrelease = match get(grains, "lsb_distrib_release") {
        Some(r) => r.trim().to_string(),
        None => unquote(distro().version_best()).trim().to_string(),
    };
    grains.insert("osrelease".into(), osrelease.into());

    // Rocky, AlmaLinux and AstraLinuxSE carry the codename in parentheses.
    let os = get(grains, "os").unwrap_or("").to_string();
    let codename = get(grains, "lsb_distrib_codename")
        .unwrap_or("")
        .to_string();
    if !codename.is_empty()
        && ["Rocky", "AlmaLinux", "AstraLinuxSE"]
            .iter()
            .any(|o| os.contains(o))
    {
        if let Some((_, after)) = codename.split_once('(') {
            let inner = after.split_once(')').map_or(after, |(i, _)| i);
            let new = if os == "AstraLinuxSE" {
                inner.split_whitespace().next().unwrap_or("").to_lowercase()
            } else {
                inner.to_string()
            };
            grains.insert("lsb_distrib_codename".into(), new.into());
        }
    }

    let lsb_codename = get(grains, "lsb_distrib_codename")
        .unwrap_or("")
        .trim()
        .to_string();
    let mut oscodename = if lsb_codename.is_empty() {
        unquote(distro().codename())
    } else {
        lsb_codename
    };
    if oscodename.contains("Red Hat") {
        oscodename = unquote(distro().codename());
    }
    grains.insert("oscodename".into(), oscodename.into());

    if !grains.contains_key("os") {
        let full = get(grains, "osfullname").unwrap_or("").to_string();
        grains.insert("os".into(), derive_os_grain(&full, None).into());
    }
    let os = get(grains, "os").unwrap_or("").to_string();
    grains.insert("os_family".into(), os_family_of(&os).into());
}

/// The os-release branch of the legacy code: `lsb_distrib_*` from
/// os-release, plus SUSE's CPE handling and Mendel's release quirk.
fn lsb_from_os_release(grains: &mut Map<String, Value>, osr: &HashMap<String, String>) {
    if let Some(name) = osr.get("NAME") {
        grains.insert("lsb_distrib_id".into(), name.trim().into());
    }
    if let Some(v) = osr.get("VERSION_ID") {
        grains.insert("lsb_distrib_release".into(), v.clone().into());
    }
    if let Some(c) = osr.get("VERSION_CODENAME") {
        grains.insert("lsb_distrib_codename".into(), c.clone().into());
    } else if let Some(p) = osr.get("PRETTY_NAME") {
        grains.insert("lsb_distrib_codename".into(), p.clone().into());
    }
    if let Some(cpe_name) = osr.get("CPE_NAME") {
        // A broken CPE_NAME only makes Salt log an error.
        if let Some(cpe) = parse_cpe_name(cpe_name) {
            let vendor = cpe.vendor.clone().unwrap_or_default();
            if ["suse", "opensuse"].contains(&vendor.to_lowercase().as_str()) {
                grains.insert("os".into(), "SUSE".into());
                if osr.get("NAME").map(String::as_str) == Some("openSUSE Leap") {
                    grains.insert("osfullname".into(), "Leap".into());
                } else if osr.get("VERSION").map(String::as_str) == Some("Tumbleweed") {
                    grains.insert("osfullname".into(), "Tumbleweed".into());
                }
                if let Some(v) = cpe.version.filter(|v| !v.is_empty()) {
                    if vendor == "opensuse" {
                        grains.insert("lsb_distrib_release".into(), v.into());
                    }
                }
            }
        }
    }
    if osr.get("ID").map(|s| s.trim()) == Some("mendel") {
        let pretty = osr.get("PRETTY_NAME").map(String::as_str).unwrap_or("");
        if let Some(r) = pretty.split_whitespace().nth(2) {
            grains.insert("lsb_distrib_release".into(), r.into());
        }
    }
}

struct Cpe {
    vendor: Option<String>,
    version: Option<String>,
}

/// `_parse_cpe_name`, reduced to the fields the caller uses. None where Salt
/// returns an empty dict.
fn parse_cpe_name(cpe: &str) -> Option<Cpe> {
    let parts: Vec<&str> = cpe.split(':').collect();
    if parts.len() <= 4 || parts[0] != "cpe" {
        return None;
    }
    let star = |s: &str| (s != "*").then(|| s.to_string());
    if parts[1].starts_with('/') {
        Some(Cpe {
            vendor: Some(parts[2].to_string()),
            version: Some(parts[4].to_string()),
        })
    } else if parts[1] == "2.3" && (parts.len() == 6 || (parts.len() > 7 && parts.len() <= 13)) {
        Some(Cpe {
            vendor: star(parts[3]),
            version: star(parts[5]),
        })
    } else {
        None
    }
}

/// `_osrelease_data`: `osrelease_info` (numeric parts as ints),
/// `osmajorrelease` and `osfinger`.
pub(crate) fn osrelease_data(os: &str, osfullname: &str, osrelease: &str) -> Vec<(String, Value)> {
    let info: Vec<Value> = osrelease
        .split('.')
        .map(|p| match p.parse::<i64>() {
            Ok(n) if is_digits(p) => Value::from(n),
            _ => Value::from(p),
        })
        .collect();
    let mut out = vec![("osrelease_info".to_string(), Value::Array(info.clone()))];
    let major = match &info[0] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => py_int(s),
        _ => None,
    };
    if let Some(m) = major {
        out.push(("osmajorrelease".into(), m.into()));
    }
    let os_name = if ["Debian", "FreeBSD", "OpenBSD", "NetBSD", "Mac", "Raspbian"].contains(&os) {
        os
    } else {
        osfullname
    };
    let version = if os == "Ubuntu" || os == "Pop" {
        osrelease.to_string()
    } else {
        match &info[0] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    };
    out.push(("osfinger".into(), format!("{os_name}-{version}").into()));
    out
}
