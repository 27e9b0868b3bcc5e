//! apt: candidate versions from one `apt-cache policy` call, and the argv of
//! the one `apt-get` transaction a state runs.
use std::collections::BTreeMap;

use crate::state::{CmdRun, HostRead, HostWrite, StateError};

/// What `apt-cache policy` says about one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub installed: Option<String>,
    pub candidate: Option<String>,
    /// Every version in the version table, newest first as apt prints them.
    pub versions: Vec<String>,
}

/// Parses `apt-cache policy` output into name → policy. Package headers are
/// the unindented `name:` lines; in the version table a version line is
/// indented five columns (or marked ` *** `), its sources eight.
pub fn parse_policy(text: &str) -> BTreeMap<String, Policy> {
    let mut out: BTreeMap<String, Policy> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            current = line.strip_suffix(':').map(str::to_string);
            if let Some(name) = &current {
                out.entry(name.clone()).or_default();
            }
            continue;
        }
        let Some(policy) = current.as_ref().and_then(|n| out.get_mut(n)) else {
            continue;
        };
        let trimmed = line.trim();
        let none_is_none = |v: &str| (v != "(none)" && !v.is_empty()).then(|| v.to_string());
        if let Some(v) = trimmed.strip_prefix("Installed:") {
            policy.installed = none_is_none(v.trim());
        } else if let Some(v) = trimmed.strip_prefix("Candidate:") {
            policy.candidate = none_is_none(v.trim());
        } else if trimmed.starts_with("Version table:") {
        } else if let Some(rest) = trimmed.strip_prefix("***") {
            if let Some(v) = rest.split_whitespace().next() {
                policy.versions.push(v.to_string());
            }
        } else if line.len() - line.trim_start().len() <= 5 {
            if let Some(v) = trimmed.split_whitespace().next() {
                policy.versions.push(v.to_string());
            }
        }
    }
    out
}

/// `-o` options that point apt at the context root's dpkg database, so what
/// apt calls installed agrees with what we read there.
pub(crate) fn root_options(host: &HostRead) -> Result<Vec<String>, StateError> {
    if host.root() == std::path::Path::new("/") {
        return Ok(Vec::new());
    }
    let status = host.path(super::dpkg::STATUS_FILE)?;
    Ok(vec![
        "-o".into(),
        format!("Dir::State::status={}", status.display()),
    ])
}

/// The argv of `apt-cache policy` for `names` (one call for them all).
pub fn policy_argv(
    host: &HostRead,
    names: &[String],
    fromrepo: Option<&str>,
) -> Result<Vec<String>, StateError> {
    let mut argv: Vec<String> = vec!["apt-cache".into(), "-q".into()];
    argv.extend(root_options(host)?);
    if let Some(repo) = fromrepo {
        argv.extend(["-o".into(), format!("APT::Default-Release={repo}")]);
    }
    argv.extend(["policy".into(), "--".into()]);
    argv.extend(names.iter().cloned());
    Ok(argv)
}

/// Runs `apt-cache policy` once for all `names`.
pub fn policy(
    host: &HostRead,
    names: &[String],
    fromrepo: Option<&str>,
) -> Result<BTreeMap<String, Policy>, StateError> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let argv = policy_argv(host, names, fromrepo)?;
    let out = host.query(&argv.iter().map(String::as_str).collect::<Vec<_>>())?;
    if out.retcode != 0 {
        return Err(StateError::host(format!(
            "apt-cache policy failed: {}",
            out.stderr.trim()
        )));
    }
    Ok(parse_policy(&out.stdout))
}

/// Environment for apt-get and dpkg, as Salt's `DPKG_ENV_VARS`.
pub const ENV: &[(&str, &str)] = &[
    ("APT_LISTBUGS_FRONTEND", "none"),
    ("APT_LISTCHANGES_FRONTEND", "none"),
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("UCF_FORCE_CONFFOLD", "1"),
];

/// Options of one `apt-get install` transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Install {
    /// `name` or `name=version`, already validated.
    pub targets: Vec<String>,
    pub fromrepo: Option<String>,
    pub skip_verify: bool,
    pub install_recommends: Option<bool>,
    /// Some target is older than what is installed.
    pub allow_downgrades: bool,
}

/// apt waits this long for another apt/dpkg to let go of its lock, where
/// Salt retried "Could not get lock" up to ten times.
pub(crate) const LOCK_TIMEOUT: &str = "DPkg::Lock::Timeout=300";

impl Install {
    pub fn argv(&self) -> Vec<String> {
        let mut argv: Vec<String> = ["apt-get", "-q", "-y", "-o", LOCK_TIMEOUT]
            .iter()
            .map(|s| s.to_string())
            .collect();
        argv.extend(
            [
                "-o",
                "DPkg::Options::=--force-confold",
                "-o",
                "DPkg::Options::=--force-confdef",
            ]
            .map(String::from),
        );
        match self.install_recommends {
            Some(false) => argv.push("--no-install-recommends".into()),
            Some(true) => argv.push("--install-recommends".into()),
            None => {}
        }
        if self.allow_downgrades {
            argv.push("--allow-downgrades".into());
        }
        if self.skip_verify {
            argv.push("--allow-unauthenticated".into());
        }
        if let Some(repo) = &self.fromrepo {
            argv.extend(["-t".into(), repo.clone()]);
        }
        argv.extend(["install".into(), "--".into()]);
        argv.extend(self.targets.iter().cloned());
        argv
    }
}

/// `apt-get remove|purge` of the given packages.
pub fn remove_argv(action: &str, targets: &[String]) -> Vec<String> {
    let mut argv: Vec<String> = ["apt-get", "-q", "-y", "-o", LOCK_TIMEOUT, action, "--"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.extend(targets.iter().cloned());
    argv
}

/// `apt-mark hold|unhold` of the given packages.
pub fn mark_argv(action: &str, names: &[String]) -> Vec<String> {
    let mut argv: Vec<String> = vec!["apt-mark".into(), action.into(), "--".into()];
    argv.extend(names.iter().cloned());
    argv
}

pub const UPDATE_ARGV: &[&str] = &["apt-get", "-q", "-o", LOCK_TIMEOUT, "update"];

/// Runs an apt command with dpkg's environment.
pub fn run(host: &HostWrite, argv: &[String]) -> Result<CmdRun, StateError> {
    host.run(
        &argv.iter().map(String::as_str).collect::<Vec<_>>(),
        ENV,
        None,
    )
}

/// `apt-get update`; Salt's `pkg.refresh_db` raises with apt's stderr.
pub fn refresh(host: &HostWrite) -> Result<(), StateError> {
    let out = host.run(UPDATE_ARGV, ENV, None)?;
    if out.retcode != 0 {
        return Err(StateError::host(out.stderr.trim().to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "\
nginx:
  Installed: (none)
  Candidate: 1.22.1-9+deb12u7
  Version table:
     1.22.1-9+deb12u7 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
     1.22.1-9+deb12u6 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
bash:
  Installed: 5.2.15-2+b8
  Candidate: 5.2.15-2+b13
  Version table:
     5.2.15-2+b13 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
 *** 5.2.15-2+b8 100
        100 /var/lib/dpkg/status
libc6:i386:
  Installed: (none)
  Candidate: 2.36-9+deb12u7
  Version table:
     2.36-9+deb12u7 500
        500 http://deb.debian.org/debian bookworm/main i386 Packages
mail-transport-agent:
  Installed: (none)
  Candidate: (none)
  Version table:
";

    #[test]
    fn parses_candidates_and_version_tables() {
        let p = parse_policy(POLICY);
        assert_eq!(p.len(), 4);
        let nginx = &p["nginx"];
        assert_eq!(nginx.installed, None);
        assert_eq!(nginx.candidate.as_deref(), Some("1.22.1-9+deb12u7"));
        assert_eq!(nginx.versions, vec!["1.22.1-9+deb12u7", "1.22.1-9+deb12u6"]);
        let bash = &p["bash"];
        assert_eq!(bash.installed.as_deref(), Some("5.2.15-2+b8"));
        assert_eq!(bash.versions, vec!["5.2.15-2+b13", "5.2.15-2+b8"]);
        assert_eq!(p["libc6:i386"].candidate.as_deref(), Some("2.36-9+deb12u7"));
        assert_eq!(p["mail-transport-agent"].candidate, None);
        assert!(p["mail-transport-agent"].versions.is_empty());
    }

    #[test]
    fn install_is_one_noninteractive_transaction() {
        let cmd = Install {
            targets: vec!["nginx".into(), "curl=7.88.1-10".into()],
            fromrepo: Some("bookworm-backports".into()),
            skip_verify: true,
            install_recommends: Some(false),
            allow_downgrades: true,
        };
        assert_eq!(
            cmd.argv(),
            [
                "apt-get",
                "-q",
                "-y",
                "-o",
                "DPkg::Lock::Timeout=300",
                "-o",
                "DPkg::Options::=--force-confold",
                "-o",
                "DPkg::Options::=--force-confdef",
                "--no-install-recommends",
                "--allow-downgrades",
                "--allow-unauthenticated",
                "-t",
                "bookworm-backports",
                "install",
                "--",
                "nginx",
                "curl=7.88.1-10"
            ]
        );
        assert_eq!(
            Install {
                targets: vec!["nginx".into()],
                ..Default::default()
            }
            .argv()
            .last()
            .map(String::as_str),
            Some("nginx")
        );
        assert!(ENV.contains(&("DEBIAN_FRONTEND", "noninteractive")));
    }

    #[test]
    fn remove_and_mark_end_options_before_names() {
        assert_eq!(
            remove_argv("purge", &["nginx".into()]),
            [
                "apt-get",
                "-q",
                "-y",
                "-o",
                "DPkg::Lock::Timeout=300",
                "purge",
                "--",
                "nginx"
            ]
        );
        assert_eq!(
            mark_argv("hold", &["a".into(), "b".into()]),
            ["apt-mark", "hold", "--", "a", "b"]
        );
    }

    #[test]
    fn policy_of_this_host() {
        // apt-cache on this Debian host: bash is installed; one call for two names.
        let host = HostRead::new(
            std::path::PathBuf::from("/"),
            std::sync::Arc::new(crate::state::pkg::tests_support::NoSources),
        );
        if host.query(&["apt-cache", "--version"]).is_err() {
            return; // not a Debian host
        }
        let p = policy(
            &host,
            &["bash".into(), "no-such-package-brine".into()],
            None,
        )
        .unwrap();
        assert!(p["bash"].installed.is_some());
        assert!(!p.contains_key("no-such-package-brine"));
    }
}
