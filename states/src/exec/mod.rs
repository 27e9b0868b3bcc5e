//! Execution functions (`test.ping`, `cmd.run`, `state.apply`, ...): one
//! table, [`FUNCTIONS`], in the shape of mini-redis's commands. A function's
//! name is looked up once, here, and its `(args, kwargs)` bound with Python's
//! call rules into a typed [`ExecCall`]; the entry says whether the call only
//! reads the host, whether the master answers it from its compile, and whether
//! its return is a state report.
//!
//! Running a call goes through the state engine's host views: reads through
//! [`HostRead`] (so `file.read` reads under the state root), anything that may
//! change the host through [`HostWrite`]. The minion's jobs, the master's
//! `run`, and the template probes (`salt['cmd.run']`, `file.file_exists`,
//! `user.info`, `cmd.has_exec`) all parse and run calls here.
use std::path::Path;
use std::sync::Arc;

use common::data::{Map, Value};

use crate::state::{HostRead, HostWrite, Sources, StateError};

pub mod args;
mod cmd;
mod cmd_script;
mod cp;
mod disk;
mod file;
mod file_replace;
mod grains;
mod group;
mod master;
mod network;
mod pkg;
mod saltutil;
mod service;
mod status;
mod sys;
mod test;
mod user;

pub use args::{Bound, Param};
pub use cmd::{CmdCall, CmdOutput};
pub use cmd_script::ScriptCall;
pub use cp::GetFile;
pub use file_replace::ReplaceCall;
pub use grains::{read_file as read_grains_file, GrainsWrite};
pub use master::MasterCall;
pub use pkg::{PkgCall, Upgrade};
pub use service::{ServiceAction, UnitCall};
pub use user::user_info_from;

/// Why a call could not be made or failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecError {
    /// Salt's words (sys.list_functions lists the ones Brine has).
    #[error("'{0}' is not available.")]
    UnknownFunction(String),
    #[error("{function} takes no argument named '{argument}'")]
    UnknownArgument {
        function: &'static str,
        argument: String,
    },
    #[error("{function} is missing its argument '{argument}'")]
    MissingArgument {
        function: &'static str,
        argument: String,
    },
    #[error("{function} got '{argument}' both by position and by name")]
    DuplicateArgument {
        function: &'static str,
        argument: String,
    },
    #[error("{function} takes at most {takes} positional arguments, {given} given")]
    TooManyArguments {
        function: &'static str,
        takes: usize,
        given: usize,
    },
    #[error("{function}: Brine does not implement the argument '{argument}'")]
    UnsupportedArgument {
        function: &'static str,
        argument: String,
    },
    #[error("{function}: argument '{argument}': {reason}")]
    BadArgument {
        function: &'static str,
        argument: String,
        reason: String,
    },
    #[error("{0} is answered by the master, not run on a minion")]
    AnsweredByMaster(&'static str),
    #[error("{0}")]
    Failed(String),
}

impl From<StateError> for ExecError {
    fn from(e: StateError) -> Self {
        ExecError::Failed(e.to_string())
    }
}

/// Whether running a function may change the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Cheap to ask again and records no change: the minion's outbox keeps
    /// its result without an fsync.
    ReadOnly,
    /// Its result must survive a power loss until the master has it.
    ChangesHost,
}

/// Who answers a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnsweredBy {
    Minion,
    /// The master, from its compile for the minion (pillar, lowstate), or by
    /// sending the compiled chunks as an apply.
    Master,
}

/// One row of the table.
pub struct ExecFunction {
    pub name: &'static str,
    /// Salt's parameters in Salt's order.
    pub params: &'static [Param],
    pub access: Access,
    pub answered_by: AnsweredBy,
    /// The return is a state run's report (the CLI prints it as highstate).
    pub state_report: bool,
    pub summary: &'static str,
    parse: fn(&Bound) -> Result<ExecCall, ExecError>,
}

/// A typed call, its arguments read and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecCall {
    TestPing,
    TestEcho {
        text: String,
    },
    TestVersion,
    GrainsItems,
    GrainsGet {
        key: String,
        default: Value,
        delimiter: String,
    },
    Cmd(CmdCall),
    CmdHasExec {
        cmd: String,
    },
    Service {
        action: ServiceAction,
        name: String,
    },
    PkgVersion {
        name: String,
    },
    PkgInstall {
        name: String,
    },
    Pkg(PkgCall),
    Units(UnitCall),
    CpGetFile(GetFile),
    GrainsWrite(GrainsWrite),
    FileRead {
        path: String,
    },
    FileExists {
        path: String,
    },
    DirectoryExists {
        path: String,
    },
    UserInfo {
        name: String,
    },
    CmdScript(ScriptCall),
    FileStats {
        path: String,
        hash_type: Option<String>,
        follow_symlinks: bool,
    },
    FileGetHash {
        path: String,
        form: String,
    },
    FileReplace(ReplaceCall),
    UserListUsers,
    GroupInfo {
        name: String,
    },
    DiskUsage,
    StatusUptime,
    StatusLoadavg,
    NetworkInterfaces,
    NetworkIpAddrs {
        interfaces: Option<Vec<String>>,
        include_loopback: bool,
        cidr: Option<network::Cidr>,
    },
    ListFunctions,
    Doc,
    SaltutilRunning,
    SaltutilKillJob {
        jid: String,
    },
    Master(MasterCall),
}

/// Every execution function Brine has, by Salt's names.
pub static FUNCTIONS: &[ExecFunction] = &[
    test::PING,
    test::ECHO,
    test::VERSION,
    grains::ITEMS,
    grains::GET,
    cmd::RUN,
    cmd::RUN_ALL,
    cmd::HAS_EXEC,
    service::START,
    service::STOP,
    service::RESTART,
    service::RELOAD,
    service::STATUS,
    pkg::VERSION,
    pkg::INSTALL,
    file::READ,
    file::FILE_EXISTS,
    file::DIRECTORY_EXISTS,
    user::INFO,
    network::IP_ADDRS,
    cmd::RUN_STDOUT,
    cmd::RETCODE,
    cmd_script::SCRIPT,
    file::STATS,
    file::GET_HASH,
    file_replace::REPLACE,
    user::LIST_USERS,
    group::INFO,
    disk::USAGE,
    status::UPTIME,
    status::LOADAVG,
    network::INTERFACES,
    sys::LIST_FUNCTIONS,
    sys::DOC,
    master::APPLY,
    master::SLS,
    master::HIGHSTATE,
    master::SHOW_LOWSTATE,
    master::PILLAR_ITEMS,
    master::REFRESH_PILLAR,
    pkg::LIST_PKGS,
    pkg::LIST_UPGRADES,
    pkg::UPGRADE,
    pkg::REMOVE,
    pkg::REFRESH_DB,
    service::ENABLE,
    service::DISABLE,
    service::AVAILABLE,
    service::GET_ALL,
    cp::GET_FILE,
    cp::LIST_STATES,
    cp::LIST_MASTER,
    grains::SETVAL,
    grains::DELVAL,
    master::SINGLE,
    master::SLS_ID,
    master::SHOW_SLS,
    saltutil::RUNNING,
    saltutil::KILL_JOB,
];

/// The table's row for `name`.
pub fn lookup(name: &str) -> Result<&'static ExecFunction, ExecError> {
    FUNCTIONS
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| ExecError::UnknownFunction(name.to_string()))
}

/// A parsed call with its row of the table.
#[derive(Clone)]
pub struct Call {
    pub function: &'static ExecFunction,
    pub call: ExecCall,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple(self.function.name).field(&self.call).finish()
    }
}

/// What a minion-side call may read besides the host.
pub struct ExecEnv<'a> {
    /// The host, under the run's state root.
    pub host: &'a HostRead,
    pub grains: &'a Value,
    /// The minion's `grains` file (beside its config), which
    /// `grains.setval`/`delval` write; `None` where there is no minion.
    pub grains_file: Option<&'a Path>,
}

impl Call {
    /// `fun(*args, **kwargs)` as Salt's CLI or a template passes it.
    pub fn parse(
        fun: &str,
        args: &[Value],
        kwargs: &Map<String, Value>,
    ) -> Result<Call, ExecError> {
        let function = lookup(fun)?;
        let bound = Bound::bind(function.name, function.params, args, kwargs)?;
        Ok(Call {
            function,
            call: (function.parse)(&bound)?,
        })
    }

    pub fn read_only(&self) -> bool {
        self.function.access == Access::ReadOnly
    }

    /// Runs a minion-side call. A host-changing one gets a [`HostWrite`]
    /// made here, the one place outside the executor that makes one.
    pub fn run(&self, env: &ExecEnv) -> Result<Value, ExecError> {
        let host = env.host;
        let write = || HostWrite::new(host.clone());
        match &self.call {
            ExecCall::TestPing => Ok(Value::Bool(true)),
            ExecCall::TestEcho { text } => Ok(Value::String(text.clone())),
            ExecCall::TestVersion => Ok(Value::String(env!("CARGO_PKG_VERSION").into())),
            ExecCall::GrainsItems => Ok(env.grains.clone()),
            ExecCall::GrainsGet {
                key,
                default,
                delimiter,
            } => Ok(grains::get(env.grains, key, default, delimiter)),
            ExecCall::Cmd(c) => c.run(&write()).map(|out| c.output(out)),
            ExecCall::CmdHasExec { cmd } => cmd::has_exec(host, cmd).map(Value::Bool),
            ExecCall::Service { action, name } => match action {
                ServiceAction::Status => service::status(host, name),
                other => service::change(&write(), *other, name),
            },
            ExecCall::PkgVersion { name } => pkg::version(host, name).map(Value::String),
            ExecCall::PkgInstall { name } => pkg::install(&write(), name),
            ExecCall::Pkg(c) => c.run(host, write),
            ExecCall::Units(c) => c.run(host, write),
            ExecCall::CpGetFile(c) => c.run(host, write),
            ExecCall::GrainsWrite(c) => c.run(env.grains, env.grains_file),
            ExecCall::FileRead { path } => file::read(host, path).map(Value::String),
            ExecCall::FileExists { path } => file::file_exists(host, path).map(Value::Bool),
            ExecCall::DirectoryExists { path } => {
                file::directory_exists(host, path).map(Value::Bool)
            }
            ExecCall::UserInfo { name } => user::info(host, name),
            ExecCall::NetworkIpAddrs {
                interfaces,
                include_loopback,
                cidr,
            } => network::ip_addrs(interfaces.as_deref(), *include_loopback, *cidr),
            ExecCall::CmdScript(c) => c.run(&write()),
            ExecCall::FileStats {
                path,
                hash_type,
                follow_symlinks,
            } => file::stats(host, path, hash_type.as_deref(), *follow_symlinks),
            ExecCall::FileGetHash { path, form } => {
                file::get_hash(host, path, form).map(Value::String)
            }
            ExecCall::FileReplace(c) => c.run(&write()),
            ExecCall::UserListUsers => user::list_users(host),
            ExecCall::GroupInfo { name } => group::info(host, name),
            ExecCall::DiskUsage => disk::usage(),
            ExecCall::StatusUptime => status::uptime(host),
            ExecCall::StatusLoadavg => status::loadavg(),
            ExecCall::NetworkInterfaces => network::interfaces(host),
            ExecCall::ListFunctions => Ok(sys::list_functions()),
            ExecCall::Doc => Ok(sys::doc()),
            ExecCall::SaltutilRunning | ExecCall::SaltutilKillJob { .. } => {
                Err(ExecError::Failed(format!(
                    "{} is answered by the minion daemon, which knows its running jobs",
                    self.function.name
                )))
            }
            ExecCall::Master(_) => Err(ExecError::AnsweredByMaster(self.function.name)),
        }
    }
}

/// Parses `fun(*args, **kwargs)` and runs it on the host under `root`, with
/// no file server: what a minion's job and a template's probe both do.
pub fn run_at(
    root: &Path,
    grains: &Value,
    fun: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let call = Call::parse(fun, args, kwargs)?;
    let host = HostRead::new(root.to_path_buf(), Arc::new(NoSources));
    call.run(&ExecEnv {
        host: &host,
        grains,
        grains_file: None,
    })
}

/// For calls that fetch nothing from a file server: any `salt://` asked for
/// is an error naming it. A local absolute path (`cmd.script
/// source=/srv/x.sh`) is read as it is, as Salt's `cp.cache_file` does.
pub struct NoSources;

impl Sources for NoSources {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
        if url.starts_with('/') {
            return std::fs::read(url)
                .map_err(|e| StateError::host(format!("cannot read source {url}: {e}")));
        }
        Err(no_file_server(url))
    }
    fn render(&self, url: &str, _: &Map<String, Value>) -> Result<String, StateError> {
        Err(no_file_server(url))
    }
    fn list(&self, url: &str) -> Result<Vec<String>, StateError> {
        Err(no_file_server(url))
    }
}

fn no_file_server(url: &str) -> StateError {
    StateError::host(format!("{url}: an execution function has no file server"))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_host;
#[cfg(test)]
mod tests_pkg;
#[cfg(test)]
mod tests_salt;
