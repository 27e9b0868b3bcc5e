//! Readers for the distribution description files, each parsed exactly the
//! way the Python code Salt calls parses it:
//! - os-release as Python 3.11's `platform.freedesktop_os_release` (which Salt
//!   uses for its os grains),
//! - os-release again as the `distro` 1.9 package does (POSIX shlex; Salt uses
//!   `distro` for a few fallbacks),
//! - `/etc/lsb-release` as `salt.grains.core._parse_lsb_release`,
//! - distro release files (`/etc/redhat-release`, ...) as `distro` does.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::util::py_lines;
use super::Ctx;

/// `platform.freedesktop_os_release()` below the root: the first of
/// /etc/os-release and /usr/lib/os-release that can be opened, with the
/// spec's defaults for NAME, ID and PRETTY_NAME. None when neither opens.
pub(crate) fn freedesktop_os_release(ctx: &Ctx) -> Option<HashMap<String, String>> {
    let text = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| ctx.read(p))?;
    Some(parse_os_release(&text))
}

/// Python's `platform._parse_os_release`:
/// `^(?P<name>[a-zA-Z0-9_]+)=(?P<quote>["']?)(?P<value>.*)(?P=quote)$`, then
/// backslash-unescaping of `\ $ " ' backtick`.
pub(crate) fn parse_os_release(text: &str) -> HashMap<String, String> {
    let mut info: HashMap<String, String> =
        [("NAME", "Linux"), ("ID", "linux"), ("PRETTY_NAME", "Linux")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    for line in py_lines(text) {
        let Some((name, rest)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        // The regex prefers a matching pair of quotes; without one the quote
        // group is empty and the value is taken verbatim.
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) if rest.len() >= 2 && rest.ends_with(q) => {
                &rest[1..rest.len() - 1]
            }
            _ => rest,
        };
        info.insert(name.to_string(), unescape(value));
    }
    info
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if matches!(n, '\\' | '$' | '"' | '\'' | '`') {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// `_parse_lsb_release`: `DISTRIB_{ID,RELEASE,CODENAME,DESCRIPTION}` lines
/// into `lsb_distrib_*`, in file order.
pub(crate) fn parse_lsb_release(ctx: &Ctx) -> Vec<(String, String)> {
    static LSB: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"^(DISTRIB_(?:ID|RELEASE|CODENAME|DESCRIPTION))=(?:'|")?([\w\s\.\-_]+)(?:'|")?"#,
        )
        .expect("static regex")
    });
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(text) = ctx.read("/etc/lsb-release") else {
        return out;
    };
    for line in py_lines(&text) {
        if let Some(c) = LSB.captures(line) {
            let key = format!("lsb_{}", c[1].to_lowercase());
            let val = c[2].trim_end().to_string();
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = val,
                None => out.push((key, val)),
            }
        }
    }
    out
}

/// What Salt gets from the `distro` package (`salt.utils.platform.linux_distribution`):
/// os-release parsed with shlex, the distro release file, /etc/debian_version.
/// The `lsb_release -a` and `uname -rs` sources are left out: they need a
/// subprocess, and `distro` only consults them as low-priority fallbacks.
pub(crate) struct Distro {
    os_release: HashMap<String, String>,
    release_file: HashMap<String, String>,
    debian_version: String,
}

impl Distro {
    pub(crate) fn load(ctx: &Ctx) -> Self {
        let etc = ctx.path("/etc/os-release");
        let usr = ctx.path("/usr/lib/os-release");
        let file = if etc.is_file() || !usr.is_file() {
            etc
        } else {
            usr
        };
        let os_release = if file.is_file() {
            std::fs::read(&file)
                .map(|b| distro_parse_os_release(&String::from_utf8_lossy(&b)))
                .unwrap_or_default()
        } else {
            HashMap::new()
        };
        let debian_version = ctx
            .read("/etc/debian_version")
            .map(|t| {
                py_lines(&t)
                    .first()
                    .map(|l| l.trim_end().to_string())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        Distro {
            os_release,
            release_file: distro_release_info(ctx),
            debian_version,
        }
    }

    fn osr(&self, key: &str) -> &str {
        self.os_release.get(key).map(String::as_str).unwrap_or("")
    }

    fn rel(&self, key: &str) -> &str {
        self.release_file.get(key).map(String::as_str).unwrap_or("")
    }

    /// `distro.name()`.
    pub(crate) fn name(&self) -> String {
        let n = self.osr("name");
        if !n.is_empty() {
            return n.to_string();
        }
        self.rel("name").to_string()
    }

    /// `distro.id()`.
    fn id(&self) -> String {
        let norm = |s: &str| {
            let s = s.to_lowercase().replace(' ', "_");
            match s.as_str() {
                "ol" => "oracle".to_string(),
                "opensuse-leap" => "opensuse".to_string(),
                _ => s,
            }
        };
        let id = self.osr("id");
        if !id.is_empty() {
            return norm(id);
        }
        let id = self.rel("id").to_lowercase().replace(' ', "_");
        if id == "redhat" {
            "rhel".into()
        } else {
            id
        }
    }

    /// `distro.version(best=True)`: of the candidates in priority order, the
    /// last one with the most dots.
    pub(crate) fn version_best(&self) -> String {
        let mut versions = vec![
            self.osr("version_id").to_string(),
            self.rel("version_id").to_string(),
            parse_distro_release_content(self.osr("pretty_name"))
                .get("version_id")
                .cloned()
                .unwrap_or_default(),
        ];
        if self.id() == "debian"
            || self
                .osr("id_like")
                .split_whitespace()
                .any(|l| l == "debian")
        {
            versions.push(self.debian_version.clone());
        }
        let mut version = String::new();
        for v in versions {
            if v.matches('.').count() > version.matches('.').count() || version.is_empty() {
                version = v;
            }
        }
        version
    }

    /// `distro.codename()`: os-release's (possibly empty) codename if it has
    /// one at all, else the release file's.
    pub(crate) fn codename(&self) -> String {
        match self.os_release.get("codename") {
            Some(c) => c.clone(),
            None => self.rel("codename").to_string(),
        }
    }
}

/// `distro`'s os-release parser: POSIX shlex tokens, `key=value` ones kept
/// (keys lowercased), then the codename derived from VERSION /
/// VERSION_CODENAME / UBUNTU_CODENAME.
fn distro_parse_os_release(text: &str) -> HashMap<String, String> {
    static CODENAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\((\D+)\)|,\s*(\D+)").expect("static regex"));
    let mut props = HashMap::new();
    for token in shlex_split(text) {
        if let Some((k, v)) = token.split_once('=') {
            props.insert(k.to_lowercase(), v.to_string());
        }
    }
    if let Some(version) = props.get("version") {
        if let Some(c) = CODENAME.captures(version) {
            let codename = c
                .get(1)
                .or_else(|| c.get(2))
                .map(|m| m.as_str().to_string());
            if let Some(codename) = codename {
                props.insert("codename".into(), codename.clone());
                props.insert("release_codename".into(), codename);
            }
        }
    }
    if let Some(vc) = props.get("version_codename").cloned() {
        props.insert("codename".into(), vc);
    } else if let Some(uc) = props.get("ubuntu_codename").cloned() {
        props.insert("codename".into(), uc);
    }
    props
}

/// `shlex.shlex(text, posix=True)` with `whitespace_split = True`, as
/// `distro` reads os-release: `#` starts a comment. Where Python raises (an
/// unclosed quote) `distro` fails and Salt goes without these values, so no
/// tokens.
fn shlex_split(text: &str) -> Vec<String> {
    common::shlex::split_comments(text).unwrap_or_default()
}

/// `distro`'s `_distro_release_info` without an explicit file: the first
/// `/etc/*[-_](release|version)` regular file (sorted, some ignored) whose
/// first line parses.
fn distro_release_info(ctx: &Ctx) -> HashMap<String, String> {
    static BASENAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\w+)[-_](release|version)$").expect("static regex"));
    const IGNORE: [&str; 9] = [
        "debian_version",
        "lsb-release",
        "oem-release",
        "os-release",
        "system-release",
        "plesk-release",
        "iredmail-release",
        "board-release",
        "ec2_version",
    ];
    let etc = ctx.path("/etc");
    let Ok(entries) = std::fs::read_dir(&etc) else {
        return HashMap::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !IGNORE.contains(&n.as_str()) && etc.join(n).is_file())
        .collect();
    names.sort();
    for name in names {
        let Some(m) = BASENAME.captures(&name) else {
            continue;
        };
        let Ok(bytes) = std::fs::read(etc.join(&name)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let first = text.split_inclusive('\n').next().unwrap_or("");
        let mut info = parse_distro_release_content(first);
        if !info.contains_key("name") {
            continue;
        }
        info.insert("id".into(), m[1].to_string());
        if info
            .get("name")
            .is_some_and(|n| n.to_lowercase().contains("cloudlinux"))
        {
            info.insert("id".into(), "cloudlinux".into());
        }
        return info;
    }
    HashMap::new()
}

/// `distro`'s `_parse_distro_release_content`: "Name release 1.2 (Codename)"
/// matched right to left.
fn parse_distro_release_content(line: &str) -> HashMap<String, String> {
    static REVERSED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:[^)]*\)(.*)\()? *(?:STL )?([\d.+\-a-z]*\d) *(?:esaeler *)?(.+)")
            .expect("static regex")
    });
    let rev = |s: &str| s.chars().rev().collect::<String>();
    let reversed = rev(line.trim());
    let mut info = HashMap::new();
    if let Some(c) = REVERSED.captures(&reversed) {
        info.insert("name".into(), rev(c.get(3).map_or("", |m| m.as_str())));
        if let Some(v) = c.get(2).filter(|m| !m.as_str().is_empty()) {
            info.insert("version_id".into(), rev(v.as_str()));
        }
        if let Some(v) = c.get(1).filter(|m| !m.as_str().is_empty()) {
            info.insert("codename".into(), rev(v.as_str()));
        }
    } else if !line.is_empty() {
        info.insert("name".into(), line.trim().to_string());
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes_and_escapes() {
        let info = parse_os_release(
            "NAME=\"Foo \\\"Bar\\\"\"\nID=foo\nVERSION='1 (x)'\nBAD=\"unclosed\n # comment\nX-Y=1\n",
        );
        assert_eq!(info["NAME"], "Foo \"Bar\"");
        assert_eq!(info["ID"], "foo");
        assert_eq!(info["VERSION"], "1 (x)");
        assert_eq!(info["BAD"], "\"unclosed");
        assert_eq!(info["PRETTY_NAME"], "Linux");
        assert!(!info.contains_key("X-Y"));
    }

    #[test]
    fn release_file_content() {
        let i = parse_distro_release_content("Red Hat Enterprise Linux release 9.4 (Plow)\n");
        assert_eq!(i["name"], "Red Hat Enterprise Linux");
        assert_eq!(i["version_id"], "9.4");
        assert_eq!(i["codename"], "Plow");
        let i = parse_distro_release_content("CentOS Stream release 9");
        assert_eq!(i["name"], "CentOS Stream");
        assert_eq!(i["version_id"], "9");
        assert!(!i.contains_key("codename"));
    }

    #[test]
    fn shlex_like_python() {
        assert_eq!(
            shlex_split("A=\"x y\" B='z' C=w#c\nD=a\\ b"),
            vec!["A=x y", "B=z", "C=w", "D=a b"]
        );
    }
}
