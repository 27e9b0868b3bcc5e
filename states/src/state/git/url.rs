//! Checks on the values that name remotes and revisions.
//!
//! URLs and revs come from state files and pillar, which a minion does not
//! control but an attacker who can edit pillar might (CVE-2025-22237 class):
//! a value beginning with `-` is an option to the git command line, and a
//! newline or NUL splits a config entry. libgit2 takes no command line, but
//! the values are also written to `.git/config`, so they are refused here
//! before anything is touched.
use super::super::StateError;

/// The transports Brine accepts, as Salt documents them.
const SCHEMES: &[&str] = &["https://", "http://", "ssh://", "git://", "file://"];

/// Refuses values that could be read as an option or split a line.
fn plain(what: &str, value: &str) -> Result<(), StateError> {
    if value.starts_with('-') {
        return Err(StateError::args(format!(
            "{what} {value:?} must not begin with '-'"
        )));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(StateError::args(format!(
            "{what} {value:?} must not contain control characters (NUL, newline, ...)"
        )));
    }
    Ok(())
}

/// A remote address: `https://`, `http://`, `ssh://`, `git://`, `file://`,
/// an absolute local path, or scp-like `[user@]host:path`.
pub fn check_url(url: &str) -> Result<(), StateError> {
    if url.is_empty() {
        return Err(StateError::args("the repository URL ('name') is empty"));
    }
    plain("repository URL", url)?;
    if let Some(scheme) = SCHEMES.iter().find(|s| url.starts_with(**s)) {
        let rest = &url[scheme.len()..];
        // `ssh://-oProxyCommand=…@host` style: the host part must not look like an option.
        let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        if host.starts_with('-') || rest.starts_with('-') {
            return Err(StateError::args(format!(
                "repository URL {url:?}: the host must not begin with '-'"
            )));
        }
        if *scheme != "file://" && rest.split('/').next().is_none_or(str::is_empty) {
            return Err(StateError::args(format!(
                "repository URL {url:?} has no host"
            )));
        }
        return Ok(());
    }
    if url.starts_with('/') {
        return Ok(());
    }
    let first_slash = url.find('/').unwrap_or(url.len());
    if url[..first_slash].ends_with(':') && url[first_slash..].starts_with("//") {
        return Err(StateError::args(format!(
            "unsupported repository URL {url:?}: use https://, http://, ssh://, git://, file://, an absolute path or user@host:path"
        )));
    }
    // git's rule: a ':' before the first '/' makes it scp-like, `host:path`.
    // Anything else with `::` (`ext::…`, `fd::…`) is a remote helper: refused.
    if let Some((host, path)) = url.split_once(':') {
        let host_name = host.rsplit_once('@').map_or(host, |(_, h)| h);
        if !host.contains('/')
            && !path.starts_with(':')
            && !host_name.is_empty()
            && !host_name.starts_with('-')
            && !path.is_empty()
        {
            return Ok(());
        }
    }
    Err(StateError::args(format!(
        "unsupported repository URL {url:?}: use https://, http://, ssh://, git://, file://, an absolute path or user@host:path"
    )))
}

/// A revision (`rev`): a branch, a tag, a commit id or `HEAD`.
pub fn check_rev(rev: &str) -> Result<(), StateError> {
    plain("rev", rev)?;
    if rev == "HEAD" || is_hex(rev) {
        return Ok(());
    }
    if !git2::Reference::is_valid_name(&format!("refs/heads/{rev}")) {
        return Err(StateError::args(format!(
            "rev {rev:?} is not a valid branch, tag or commit name"
        )));
    }
    Ok(())
}

/// A local branch name (`branch`).
pub fn check_branch(branch: &str) -> Result<(), StateError> {
    plain("branch", branch)?;
    if !git2::Branch::name_is_valid(branch).unwrap_or(false) {
        return Err(StateError::args(format!(
            "branch {branch:?} is not a valid branch name"
        )));
    }
    Ok(())
}

/// A remote name (`remote`).
pub fn check_remote_name(remote: &str) -> Result<(), StateError> {
    plain("remote", remote)?;
    if !git2::Remote::is_valid_name(remote) {
        return Err(StateError::args(format!(
            "remote {remote:?} is not a valid remote name"
        )));
    }
    Ok(())
}

/// Up to 40 hex digits: what Salt takes to be a commit id.
pub fn is_hex(rev: &str) -> bool {
    !rev.is_empty() && rev.len() <= 40 && rev.chars().all(|c| c.is_ascii_hexdigit())
}

/// The URL with any `user:password@` hidden, as Salt's
/// `redact_http_basic_auth` shows it.
pub fn redact(url: &str) -> String {
    for scheme in ["https://", "http://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            if let Some((_, host)) = rest.rsplit_once('@') {
                return format!("{scheme}<redacted>@{host}");
            }
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_urls() {
        for url in [
            "https://example.com/a/b.git",
            "http://example.com/x",
            "ssh://git@example.com/repo.git",
            "ssh://example.com:2222/repo.git",
            "git://example.com/repo.git",
            "file:///srv/repo.git",
            "/srv/repo.git",
            "git@github.com:user/repo.git",
            "example.com:repo.git",
        ] {
            assert!(check_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn refused_urls() {
        for url in [
            "",
            "-uhttps://x",
            "--upload-pack=touch /tmp/pwn",
            "https://example.com/\nrepo",
            "https://example.com/\0",
            "ext::sh -c touch% /tmp/pwn",
            "fd::17",
            "ssh://-oProxyCommand=sh/repo",
            "ssh://user@-oProxyCommand=sh/repo",
            "-oProxyCommand=sh:repo",
            "ftp://example.com/repo",
            "relative/path",
            "https:///nohost",
        ] {
            assert!(check_url(url).is_err(), "{url:?}");
        }
    }

    #[test]
    fn revs_and_names() {
        for rev in ["HEAD", "main", "v1.0", "feature/x", "abc123", "release-1.2"] {
            assert!(check_rev(rev).is_ok(), "{rev}");
        }
        for rev in ["-b", "--upload-pack=x", "a\nb", "a..b", "a b", "x\0"] {
            assert!(check_rev(rev).is_err(), "{rev:?}");
        }
        assert!(check_branch("dev").is_ok());
        assert!(check_branch("-f").is_err());
        assert!(check_remote_name("origin").is_ok());
        assert!(check_remote_name("-x").is_err());
        assert!(check_remote_name("a b").is_err());
    }

    #[test]
    fn redacts_basic_auth() {
        assert_eq!(
            redact("https://u:p@example.com/r.git"),
            "https://<redacted>@example.com/r.git"
        );
        assert_eq!(redact("git@host:r.git"), "git@host:r.git");
    }
}
