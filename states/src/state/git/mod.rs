//! `git`: `git.latest` and `git.config_set`/`git.config_unset`
//! (salt/states/git.py), with libgit2 in-process instead of the git command
//! line.
//!
//! `check` reads the target checkout and asks the remote for its refs
//! (`ls-remote`: a connection, no download), and from that works out
//! everything Salt's test mode reports. `apply` fetches, clones, resets and
//! checks out.
//!
//! `user`: Salt runs git as that user. libgit2 runs inside the minion, so
//! Brine does the work as the minion's user and then gives the whole
//! checkout to `user` (and its primary group), as `chown -hR` would; ssh keys
//! default to that user's `~/.ssh/id_*`.
mod apply;
mod config;
mod latest;
mod local;
mod messages;
mod opts;
mod remote;
mod update;
mod url;

use super::{Args, Check, HostRead, StateError, StateModule};

pub struct Git;

impl StateModule for Git {
    fn name(&self) -> &'static str {
        "git"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::GIT
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "latest" => latest::check(args, host),
            "config_set" => config::config_set(args, host),
            "config_unset" => config::config_unset(args, host),
            other => Err(StateError::args(format!(
                "git.{other} is not a state function (Brine has: {})",
                super::signatures::names(super::signatures::tables::GIT).join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
