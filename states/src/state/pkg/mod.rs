//! `pkg` on Debian/Ubuntu (`salt/states/pkg.py` over `salt/modules/aptpkg.py`):
//! `installed`, `latest`, `removed`, `purged`, with Salt's comments and
//! `changes` (`{name: {old, new}}`).
//!
//! Faster than Salt by construction: the installed set is read from dpkg's
//! status file (no process), candidates come from one `apt-cache policy` for
//! all names (only when something is not already as asked), and a whole
//! `pkgs` list is one `apt-get install` transaction.
//!
//! Version specs: exact (`1.22.1-9`), globs (`1.22*`), comparisons
//! (`>=1.2`, `<2`, `!=1.3`) and lists of them (`>=1.2, <2`), plus `latest`.
//! apt only takes `name=version`, so a glob or comparison is resolved here to
//! the newest matching version apt knows. Not supported: `sources` (.deb
//! files), `reinstall`, `pkg_verify`, wildcard names in removed/purged.
pub(crate) mod apt;
pub(crate) mod dpkg;
mod hold;
mod installed;
mod latest;
mod removed;
pub(crate) mod request;
pub(crate) mod version;

use std::collections::BTreeMap;

use common::data::{Map, Value};
use serde_json::json;

use super::{Args, Check, HostRead, StateError};
use removed::Action;

pub struct Pkg;

impl super::StateModule for Pkg {
    fn name(&self) -> &'static str {
        "pkg"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::PKG
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "installed" => installed::check(args, host),
            "latest" => latest::check(args, host),
            "removed" => removed::check(Action::Remove, args, host),
            "purged" => removed::check(Action::Purge, args, host),
            other => Err(StateError::args(format!(
                "pkg.{other} is not a state function"
            ))),
        }
    }
}

// What the state functions' apply halves share.

/// Salt's `salt.utils.data.compare_dicts`, keys sorted.
pub(crate) fn compare_dicts(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Map<String, Value> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let o = old.get(k).cloned().unwrap_or_default();
            let n = new.get(k).cloned().unwrap_or_default();
            (k.clone(), json!({"old": o, "new": n}))
        })
        .collect()
}

/// Salt's `CommandExecutionError(msg, info={"errors": [...]})` as a state
/// comment (the nested outputter's form).
pub(super) fn problem(msg: &str, stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let body = text.trim_end().lines().collect::<Vec<_>>().join("\n      ");
    format!("{msg}. Additional info follows:\n\nerrors:\n    - {body}")
}

/// apt acts on this host's dpkg, not on a context root: applying under
/// another root would change the wrong system.
pub(crate) fn require_real_root(host: &HostRead) -> Result<(), StateError> {
    if host.root() != std::path::Path::new("/") {
        return Err(StateError::host(format!(
            "pkg states install with apt-get on this host; they cannot be applied under the root {}",
            host.root().display()
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::state::{Sources, StateError};
    use common::data::{Map, Value};

    /// No salt:// sources: pkg never fetches any.
    pub struct NoSources;

    impl Sources for NoSources {
        fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
            Err(StateError::host(format!("no sources in this test: {url}")))
        }
        fn render(&self, url: &str, _: &Map<String, Value>) -> Result<String, StateError> {
            Err(StateError::host(format!("no sources in this test: {url}")))
        }
        fn list(&self, url: &str) -> Result<Vec<String>, StateError> {
            Err(StateError::host(format!("no sources in this test: {url}")))
        }
    }
}

#[cfg(test)]
mod tests;
