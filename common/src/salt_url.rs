//! `salt://` URLs as they cross a trust boundary: named in state data (which
//! pillar and grains can shape), sent by a minion asking the master for a
//! file, or handed to the local file server.
//!
//! The file server resolves what [`path`] returns under its roots (and
//! refuses symlinks that leave them), so a URL that could only mean
//! something outside the roots is refused here, by name, before any path is
//! built: a `..` component, an absolute path (`salt:///etc/passwd`), NUL or
//! any other control character. Salt's roots backend refuses the same
//! (CVE-2020-11652 and its successors). Nothing is percent-decoded: `%2e%2e`
//! is three literal bytes and a literal file name. `?saltenv=ENV` names the
//! saltenv the file is read from ([`saltenv`]; a label looked up among the
//! configured ones, never a path); other query parts are dropped.

/// Why a URL was refused. The URL is shown escaped (`{:?}`) and cut short,
/// because it is someone else's input headed for a log or a terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaltUrlError {
    #[error("{url} is not a salt:// URL")]
    NotSalt { url: String },
    #[error("salt:// URL {url} refused: {reason}")]
    Refused { url: String, reason: &'static str },
}

use crate::untrusted::shown;

/// The path part of `url` (`salt://a/b.txt?saltenv=base` → `a/b.txt`),
/// refused when it could name anything outside the roots.
pub fn path(url: &str) -> Result<&str, SaltUrlError> {
    let Some(rest) = url.strip_prefix("salt://") else {
        return Err(SaltUrlError::NotSalt { url: shown(url) });
    };
    let path = rest.split('?').next().unwrap_or(rest);
    let refused = |reason| SaltUrlError::Refused {
        url: shown(url),
        reason,
    };
    if url.chars().any(char::is_control) {
        return Err(refused("it contains NUL or another control character"));
    }
    if path.starts_with('/') {
        return Err(refused("the path is absolute"));
    }
    if path.split('/').any(|c| c == "..") {
        return Err(refused("the path has a '..' component"));
    }
    Ok(path)
}

/// The saltenv a URL names in its query (`salt://a?saltenv=prod` → `prod`).
pub fn saltenv(url: &str) -> Option<&str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("saltenv="))
        .filter(|e| !e.is_empty())
}

/// The one spelling of a `salt://` URL read in `default_env` (the saltenv
/// of the state naming it): `salt://path` in `base`, else
/// `salt://path?saltenv=ENV`; a URL's own `?saltenv=` wins. The master's
/// manifest and the executor name a file by this spelling, so a minion
/// finds each env's file under its own key.
pub fn in_env(url: &str, default_env: &str) -> String {
    let env = saltenv(url).unwrap_or(default_env);
    let bare = url.split('?').next().unwrap_or(url);
    if env == "base" {
        bare.to_string()
    } else {
        format!("{bare}?saltenv={env}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saltenv_comes_from_the_query_and_in_env_spells_it_once() {
        assert_eq!(saltenv("salt://a.txt?saltenv=prod"), Some("prod"));
        assert_eq!(saltenv("salt://a.txt?x=1&saltenv=dev"), Some("dev"));
        assert_eq!(saltenv("salt://a.txt"), None);
        assert_eq!(saltenv("salt://a.txt?saltenv="), None);
        assert_eq!(in_env("salt://a.txt", "base"), "salt://a.txt");
        assert_eq!(in_env("salt://a.txt", "prod"), "salt://a.txt?saltenv=prod");
        assert_eq!(in_env("salt://a.txt?saltenv=base", "prod"), "salt://a.txt");
        assert_eq!(
            in_env("salt://a.txt?saltenv=dev", "prod"),
            "salt://a.txt?saltenv=dev"
        );
    }

    #[test]
    fn plain_urls_give_their_path() {
        assert_eq!(path("salt://web/app.conf").unwrap(), "web/app.conf");
        assert_eq!(path("salt://a.txt?saltenv=base").unwrap(), "a.txt");
        // A saltenv is a label, never a path: the query is dropped whole.
        assert_eq!(path("salt://a.txt?saltenv=../../x").unwrap(), "a.txt");
        assert_eq!(path("salt://dir/").unwrap(), "dir/");
        assert_eq!(path("salt://").unwrap(), "");
        // Never decoded: a literal name, looked up (and not found) as such.
        assert_eq!(path("salt://%2e%2e/passwd").unwrap(), "%2e%2e/passwd");
        assert_eq!(path("salt://a..b/c").unwrap(), "a..b/c");
    }

    #[test]
    fn urls_that_leave_the_roots_are_refused_by_name() {
        for (url, why) in [
            ("salt://../../etc/passwd", "'..'"),
            ("salt://a/../../b", "'..'"),
            ("salt://a/..", "'..'"),
            ("salt:///etc/passwd", "absolute"),
            ("salt://a\0b", "control"),
            ("salt://a\nb", "control"),
            ("salt://a?x=\u{1b}[2J", "control"),
        ] {
            let e = path(url).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(why), "{url:?}: {text}");
            assert!(!text.contains('\0') && !text.contains('\n') && !text.contains('\u{1b}'));
        }
        assert!(matches!(
            path("/etc/passwd"),
            Err(SaltUrlError::NotSalt { .. })
        ));
        assert!(matches!(
            path("file:///etc/passwd"),
            Err(SaltUrlError::NotSalt { .. })
        ));
    }

    #[test]
    fn long_input_is_cut_in_errors() {
        let url = format!("salt://../{}", "x".repeat(5000));
        let text = path(&url).unwrap_err().to_string();
        assert!(text.len() < 400, "{}", text.len());
    }
}
