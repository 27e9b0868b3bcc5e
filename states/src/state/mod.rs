//! State modules: one file per module, all behind [`StateModule`].
//!
//! A state function is split in two so that a dry run cannot touch the host by
//! construction: [`StateModule::check`] gets only a [`HostRead`] and works out
//! what would change; the executor applies the returned [`Apply`] with a
//! [`HostWrite`], which it creates only when not in test mode.
//!
//! Adding a state function: implement it in its module's file and list it,
//! with the arguments it reads, in that module's table in
//! [`signatures::tables`]; adding a module: one file here, its table, and one
//! line in [`registry`].
pub(crate) mod accounts;
pub mod alias;
pub mod alternatives;
pub mod archive;
mod args;
mod atomic_file;
pub mod cmd;
pub mod cron;
pub mod debconf;
pub mod file;
pub mod gem;
pub mod git;
pub mod group;
mod host;
mod host_fs;
pub mod hosts;
#[cfg(test)]
mod http_sources_tests;
pub mod ini;
mod job_control;
pub mod locale;
pub mod module;
pub mod mount;
pub mod npm;
pub mod pip;
pub mod pkg;
pub mod pkgrepo;
#[cfg(test)]
mod salt_differential;
#[cfg(test)]
mod salt_oracle;
pub mod service;
pub mod signatures;
pub mod source_hash;
pub(crate) mod sources;
pub mod ssh_auth;
pub mod ssh_known_hosts;
pub mod sysctl;
pub mod test;
#[cfg(test)]
pub(crate) mod testutil;
mod text_file;
pub mod timezone;
pub mod user;
pub mod virtualenv;

use common::data::{Map, Value};

pub use args::Args;
pub use atomic_file::DeferDirSyncs;
pub(crate) use atomic_file::{existing_meta, Meta};
pub use host::{CmdRun, Exec, Exited, HostRead, HostWrite, Sources};
pub use job_control::JobControl;
pub use signatures::{unknown_args, Signature};
pub use sources::LocalSources;

/// Why a state could not be checked or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateError {
    /// A bad or missing argument: the state tree's fault.
    #[error("{0}")]
    Args(String),
    /// The host refused (I/O error, a command failed, …).
    #[error("{0}")]
    Host(String),
}

impl StateError {
    pub fn args(msg: impl Into<String>) -> Self {
        StateError::Args(msg.into())
    }
    pub fn host(msg: impl Into<String>) -> Self {
        StateError::Host(msg.into())
    }
}

impl From<std::io::Error> for StateError {
    fn from(e: std::io::Error) -> Self {
        StateError::Host(e.to_string())
    }
}

/// What a check found.
pub enum Check {
    /// Already as asked: nothing to do. `test_comment` replaces `comment` in a
    /// dry run where Salt words it differently.
    Clean {
        comment: String,
        test_comment: Option<String>,
    },
    /// Would change the host: `changes` is what Salt shows (a file's `diff`,
    /// a package's `{old, new}`, …), `comment` is the test-mode comment, and
    /// `apply` does it.
    Change {
        changes: Map<String, Value>,
        comment: String,
        apply: Box<dyn Apply>,
    },
    /// A result that is the same with or without test mode because nothing on
    /// the host is involved (the `test` module's `mod_watch`).
    Reported {
        result: bool,
        comment: String,
        changes: Map<String, Value>,
    },
    /// Cannot be done, decided without touching the host (e.g. a missing source).
    Fail {
        comment: String,
        test_comment: Option<String>,
    },
}

impl Check {
    pub fn clean(comment: impl Into<String>) -> Self {
        Check::Clean {
            comment: comment.into(),
            test_comment: None,
        }
    }
    pub fn fail(comment: impl Into<String>) -> Self {
        Check::Fail {
            comment: comment.into(),
            test_comment: None,
        }
    }
    pub fn change(
        changes: Map<String, Value>,
        comment: impl Into<String>,
        apply: impl Apply + 'static,
    ) -> Self {
        Check::Change {
            changes,
            comment: comment.into(),
            apply: Box::new(apply),
        }
    }
}

/// The second half of a state function: make the change.
pub trait Apply: Send {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError>;
}

/// What applying did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    pub result: bool,
    pub comment: String,
    /// Replaces the checked changes when the apply learned more (e.g. a pid).
    pub changes: Option<Map<String, Value>>,
}

impl Applied {
    pub fn ok(comment: impl Into<String>) -> Self {
        Applied {
            result: true,
            comment: comment.into(),
            changes: None,
        }
    }
    pub fn ok_with(comment: impl Into<String>, changes: Map<String, Value>) -> Self {
        Applied {
            result: true,
            comment: comment.into(),
            changes: Some(changes),
        }
    }
    pub fn failed(comment: impl Into<String>, changes: Map<String, Value>) -> Self {
        Applied {
            result: false,
            comment: comment.into(),
            changes: Some(changes),
        }
    }
}

/// An `Apply` from a closure, for simple state functions.
pub struct ApplyFn<F>(pub F);

impl<F> Apply for ApplyFn<F>
where
    F: FnOnce(&HostWrite) -> Result<Applied, StateError> + Send,
{
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        (self.0)(host)
    }
}

/// One state module (`file`, `pkg`, …).
pub trait StateModule: Send + Sync {
    /// The module name as SLS files use it.
    fn name(&self) -> &'static str;
    /// Its state functions and the arguments each accepts.
    fn signatures(&self) -> &'static [Signature];
    /// The signature of `fun`; `None`: the module has no such function.
    fn signature(&self, fun: &str) -> Option<&'static Signature> {
        self.signatures().iter().find(|s| s.name == fun)
    }
    /// Works out what `fun` would change. Must only read the host.
    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError>;
    /// Whether this module has a `mod_watch` (Salt turns `watch` into
    /// `require` for modules without one).
    fn watchable(&self) -> bool {
        false
    }
    /// What `mod_watch` reads besides the watching function's own arguments
    /// (the executor's `sfun`, service's `reload`, …).
    fn mod_watch_signature(&self) -> Option<&'static Signature> {
        None
    }
    /// Salt's `mod_watch`: what a watcher does when something it watches
    /// changed (service: restart; cmd: run). `None`: the module has none, and
    /// the executor reports the watch as not applicable.
    fn mod_watch(
        &self,
        _fun: &str,
        _args: &Args,
        _host: &HostRead,
    ) -> Option<Result<Check, StateError>> {
        None
    }
}

/// Every state module Brine has.
pub fn registry() -> Vec<Box<dyn StateModule>> {
    vec![
        Box::new(test::Test),
        Box::new(alternatives::Alternatives),
        Box::new(git::Git),
        Box::new(archive::Archive),
        Box::new(cmd::Cmd),
        Box::new(cron::Cron),
        Box::new(group::GroupState),
        Box::new(ssh_auth::SshAuth),
        Box::new(sysctl::Sysctl),
        Box::new(user::User),
        Box::new(pkg::Pkg),
        Box::new(pkgrepo::PkgRepo),
        Box::new(service::Service),
        Box::new(file::File),
        Box::new(module::Module),
        Box::new(pip::Pip),
        Box::new(virtualenv::Virtualenv),
        Box::new(hosts::Host),
        Box::new(alias::Alias),
        Box::new(ini::Ini),
        Box::new(ssh_known_hosts::SshKnownHosts),
        Box::new(timezone::Timezone),
        Box::new(locale::Locale),
        Box::new(mount::Mount),
        Box::new(gem::Gem),
        Box::new(npm::Npm),
        Box::new(debconf::Debconf),
    ]
}

/// Builds a `changes` map from pairs.
pub fn changes<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
