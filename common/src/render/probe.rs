//! Template calls that read the host being configured.
//!
//! In Salt, `salt['cmd.run']`, `salt['file.file_exists']` and `salt['user.info']`
//! run on the minion while its states render. The renderer never answers these
//! itself: masterless mode passes a probe that reads this host, and the master
//! passes one that asks the minion being rendered for, over its session. On
//! the minion both are answered by the execution functions of the same names
//! (`states::exec`), so a template and `master run` get the same answer.
use crate::data::Value;

/// Why a probe could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("host probe unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

/// Output of a command run for a template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmdOutput {
    pub stdout: String,
    pub stderr: String,
    pub retcode: i32,
}

/// Options of a `cmd.*` call a template may pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmdOptions {
    pub cwd: Option<String>,
    pub shell: Option<String>,
    pub env: Vec<(String, String)>,
    /// `python_shell=False` in Salt: split the command into argv, no shell.
    pub no_shell: bool,
}

/// The host-reading calls a template can make.
pub trait HostProbe: Send + Sync {
    fn cmd(&self, command: &str, options: &CmdOptions) -> Result<CmdOutput, ProbeError>;
    fn file_exists(&self, path: &str) -> Result<bool, ProbeError>;
    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError>;
    /// Salt's `user.info`: a map, empty when the user does not exist.
    fn user_info(&self, name: &str) -> Result<Value, ProbeError>;
    /// Salt's `cmd.has_exec`: whether `name` is an executable on the minion's PATH.
    fn has_exec(&self, name: &str) -> Result<bool, ProbeError>;
    /// The mine `salt['mine.get']` reads for this render, if it has one.
    fn mine(&self) -> Option<&dyn super::mine::MineSource> {
        None
    }
}

/// A probe for contexts with no host to ask (e.g. rendering for display only):
/// every call fails with a clear message rather than reading the wrong host.
pub struct NoHost;

impl HostProbe for NoHost {
    fn cmd(&self, command: &str, _: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        Err(ProbeError::Unavailable(format!("cmd.run {command:?}")))
    }
    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        Err(ProbeError::Unavailable(format!(
            "file.file_exists {path:?}"
        )))
    }
    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        Err(ProbeError::Unavailable(format!(
            "file.directory_exists {path:?}"
        )))
    }
    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        Err(ProbeError::Unavailable(format!("user.info {name:?}")))
    }
    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        Err(ProbeError::Unavailable(format!("cmd.has_exec {name:?}")))
    }
}
