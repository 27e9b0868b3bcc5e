//! dpkg's database, read straight from `/var/lib/dpkg/status` (under the
//! context root) instead of one `dpkg-query` per package.
use std::collections::BTreeMap;

use crate::state::{HostRead, StateError};

pub const STATUS_FILE: &str = "/var/lib/dpkg/status";

/// One stanza of the status file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub package: String,
    pub arch: String,
    pub version: String,
    /// The selection: install, hold, deinstall, purge, unknown.
    pub want: String,
    /// not-installed, config-files, half-installed, unpacked,
    /// half-configured, triggers-awaited, triggers-pending, installed.
    pub status: String,
}

impl Entry {
    /// Fully there: configured (pending triggers do not make it broken).
    pub fn is_healthy(&self) -> bool {
        matches!(
            self.status.as_str(),
            "installed" | "triggers-awaited" | "triggers-pending"
        )
    }

    /// Files on disk, whether configured or not (what `apt-get remove` acts on).
    pub fn is_present(&self) -> bool {
        self.is_healthy()
            || matches!(
                self.status.as_str(),
                "half-installed" | "unpacked" | "half-configured"
            )
    }
}

/// The parsed status file.
#[derive(Debug, Clone, Default)]
pub struct Db {
    entries: Vec<Entry>,
    native_arch: String,
}

impl Db {
    /// Reads the status file under the host's root.
    pub fn read(host: &HostRead) -> Result<Db, StateError> {
        let path = host.path(STATUS_FILE)?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            StateError::host(format!(
                "cannot read dpkg's database {}: {e} (is this a Debian/Ubuntu host?)",
                path.display()
            ))
        })?;
        Ok(Db::parse(&text, &native_arch(host)?))
    }

    /// Parses status-file text. Unknown fields and continuation lines are
    /// skipped; a stanza without `Package` is ignored.
    pub fn parse(text: &str, native_arch: &str) -> Db {
        let mut entries = Vec::new();
        for stanza in text.split("\n\n") {
            let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
            for line in stanza.lines() {
                if line.starts_with([' ', '\t']) {
                    continue;
                }
                if let Some((key, value)) = line.split_once(':') {
                    fields.insert(key.trim(), value.trim());
                }
            }
            let Some(package) = fields.get("Package").filter(|p| !p.is_empty()) else {
                continue;
            };
            let mut status = fields
                .get("Status")
                .copied()
                .unwrap_or("")
                .split_whitespace();
            let want = status.next().unwrap_or("unknown").to_string();
            let state = status.nth(1).unwrap_or("not-installed").to_string();
            entries.push(Entry {
                package: package.to_string(),
                arch: fields
                    .get("Architecture")
                    .copied()
                    .unwrap_or("")
                    .to_string(),
                version: fields.get("Version").copied().unwrap_or("").to_string(),
                want,
                status: state,
            });
        }
        Db {
            entries,
            native_arch: native_arch.to_string(),
        }
    }

    /// The name Salt lists a package under: `name`, or `name:arch` for a
    /// foreign architecture (multi-arch), as `pkg.list_pkgs` does.
    pub fn key(&self, e: &Entry) -> String {
        if e.arch.is_empty() || e.arch == "all" || e.arch == self.native_arch {
            e.package.clone()
        } else {
            format!("{}:{}", e.package, e.arch)
        }
    }

    /// Strips the native (or `all`/`any`) architecture from a name, as
    /// Salt's `pkg.normalize_name`.
    pub fn normalize(&self, name: &str) -> String {
        match name.rsplit_once(':') {
            Some((base, arch)) if arch == self.native_arch || arch == "all" || arch == "any" => {
                base.to_string()
            }
            _ => name.to_string(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.is_present() && self.key(e) == key)
            .or_else(|| self.entries.iter().find(|e| self.key(e) == key))
    }

    /// Salt's `pkg.list_pkgs` (installed and purge-desired, name → version):
    /// the view `changes` are computed from.
    pub fn installed(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|e| e.is_present() && !e.version.is_empty())
            .filter(|e| matches!(e.want.as_str(), "install" | "hold" | "purge"))
            .map(|e| (self.key(e), e.version.clone()))
            .collect()
    }

    /// Salt's `pkg.list_pkgs(removed=True)`: deselected packages whose
    /// configuration files (at least) are still there.
    pub fn removed(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|e| e.want == "deinstall" && !e.version.is_empty())
            .filter(|e| e.status != "not-installed")
            .map(|e| (self.key(e), e.version.clone()))
            .collect()
    }

    /// Salt's `pkg.list_pkgs(purge_desired=True)`: selected for purge but
    /// still installed (something else needs them).
    pub fn purge_desired(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|e| e.want == "purge" && e.status == "installed" && !e.version.is_empty())
            .map(|e| (self.key(e), e.version.clone()))
            .collect()
    }

    /// Installed, configured and selected for install/hold: nothing for
    /// `pkg.installed` to do (a half-installed package is reinstalled).
    pub fn satisfied_version(&self, key: &str) -> Option<&str> {
        self.get(key)
            .filter(|e| e.is_healthy() && matches!(e.want.as_str(), "install" | "hold"))
            .map(|e| e.version.as_str())
    }

    /// Whether the package's selection is `hold`.
    pub fn is_held(&self, key: &str) -> bool {
        self.get(key).is_some_and(|e| e.want == "hold")
    }

    /// The package's selection, if dpkg knows it at all.
    pub fn selection(&self, key: &str) -> Option<&str> {
        self.get(key).map(|e| e.want.as_str())
    }
}

/// dpkg's native architecture: from the build target where that is
/// unambiguous, else asked of dpkg once.
pub fn native_arch(host: &HostRead) -> Result<String, StateError> {
    let known = match std::env::consts::ARCH {
        "x86_64" => Some("amd64"),
        "x86" => Some("i386"),
        "aarch64" => Some("arm64"),
        "s390x" => Some("s390x"),
        "riscv64" => Some("riscv64"),
        _ => None,
    };
    if let Some(arch) = known {
        return Ok(arch.to_string());
    }
    let out = host.query(&["dpkg", "--print-architecture"])?;
    match out.stdout.trim() {
        "" => Err(StateError::host(format!(
            "dpkg --print-architecture failed: {}",
            out.stderr.trim()
        ))),
        arch => Ok(arch.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real stanzas (trimmed descriptions) covering every case we read.
    pub const FIXTURE: &str = "\
Package: bash
Essential: yes
Status: install ok installed
Priority: required
Section: shells
Installed-Size: 7163
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 5.2.15-2+b8
Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.
 .
 Continuation: lines like this are not fields.

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries

Package: libc6
Status: install ok installed
Architecture: i386
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries

Package: tzdata
Status: hold ok installed
Architecture: all
Version: 2024a-0+deb12u1
Description: time zone and daylight-saving time data

Package: nginx-common
Status: install reinstreq half-installed
Architecture: all
Version: 1.22.1-9
Description: small, powerful, scalable web/proxy server - common files

Package: nginx
Status: deinstall ok config-files
Architecture: amd64
Version: 1.22.1-9
Conffiles:
 /etc/nginx/nginx.conf 0123456789abcdef0123456789abcdef
Description: small, powerful, scalable web/proxy server

Package: curl
Status: purge ok not-installed
Architecture: amd64

Package: vim
Status: install ok triggers-pending
Architecture: amd64
Version: 2:9.0.1378-2
Description: Vi IMproved - enhanced vi editor
";

    #[test]
    fn parses_multiarch_hold_half_installed_and_removed() {
        let db = Db::parse(FIXTURE, "amd64");
        let installed = db.installed();
        assert_eq!(
            installed.get("bash").map(String::as_str),
            Some("5.2.15-2+b8")
        );
        assert_eq!(
            installed.get("libc6").map(String::as_str),
            Some("2.36-9+deb12u7")
        );
        assert_eq!(
            installed.get("libc6:i386").map(String::as_str),
            Some("2.36-9+deb12u7")
        );
        assert_eq!(
            installed.get("tzdata").map(String::as_str),
            Some("2024a-0+deb12u1")
        );
        assert_eq!(
            installed.get("vim").map(String::as_str),
            Some("2:9.0.1378-2")
        );
        // Half-installed is listed (its files are there), as Salt lists it…
        assert!(installed.contains_key("nginx-common"));
        // …but does not satisfy pkg.installed: apt-get install repairs it.
        assert_eq!(db.satisfied_version("nginx-common"), None);
        assert_eq!(db.satisfied_version("vim"), Some("2:9.0.1378-2"));
        assert!(!installed.contains_key("nginx"));
        assert!(!installed.contains_key("curl"));
        assert_eq!(
            db.removed().into_iter().collect::<Vec<_>>(),
            vec![("nginx".to_string(), "1.22.1-9".to_string())]
        );
        assert!(db.is_held("tzdata"));
        assert!(!db.is_held("bash"));
        assert_eq!(db.selection("curl"), Some("purge"));
        assert_eq!(db.selection("nosuch"), None);
    }

    #[test]
    fn normalizes_native_arch_only() {
        let db = Db::parse(FIXTURE, "amd64");
        assert_eq!(db.normalize("bash:amd64"), "bash");
        assert_eq!(db.normalize("tzdata:all"), "tzdata");
        assert_eq!(db.normalize("libc6:i386"), "libc6:i386");
        assert_eq!(db.normalize("nginx"), "nginx");
    }

    #[test]
    fn this_hosts_database_reads() {
        // The real status file of this Debian host: bash is essential.
        let host = HostRead::new(
            std::path::PathBuf::from("/"),
            std::sync::Arc::new(crate::state::pkg::tests_support::NoSources),
        );
        if !std::path::Path::new(STATUS_FILE).exists() {
            return; // not a Debian host
        }
        let db = Db::read(&host).unwrap();
        let bash = db.satisfied_version("bash").expect("bash is installed");
        let out = std::process::Command::new("dpkg-query")
            .args(["-W", "-f", "${Version}", "bash"])
            .output()
            .unwrap();
        assert_eq!(bash, String::from_utf8_lossy(&out.stdout));
        assert!(db.installed().len() > 50);
    }
}
