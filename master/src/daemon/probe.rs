//! The host probe the master renders with: every `salt['cmd.run']`,
//! `file.file_exists`, `user.info` a template calls is asked of the minion
//! being rendered for, over its own session, never of the master's host.
use std::sync::Arc;
use std::time::Duration;

use common::data::Value;
use common::render::{CmdOptions, CmdOutput, HostProbe, ProbeError};
use transport::rpc::Pending;
use transport::wire::{MasterMsg, ProbeCall};

use crate::listener::MinionPeer;

/// How long a template waits for the minion to answer one probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

pub type ProbeReplies = Pending<Result<Value, String>>;

pub struct RemoteProbe {
    pub peer: Arc<MinionPeer>,
    pub replies: Arc<ProbeReplies>,
}

impl RemoteProbe {
    fn ask(&self, call: ProbeCall) -> Result<Value, ProbeError> {
        let (req, rx) = self.replies.register();
        self.peer
            .send(&MasterMsg::Probe { req, call })
            .map_err(|e| ProbeError::Unavailable(format!("the minion's session: {e}")))?;
        self.replies
            .wait(req, rx, PROBE_TIMEOUT)
            .map_err(|e| ProbeError::Unavailable(format!("the minion: {e}")))?
            .map_err(ProbeError::Failed)
    }

    fn ask_bool(&self, call: ProbeCall) -> Result<bool, ProbeError> {
        match self.ask(call)? {
            Value::Bool(b) => Ok(b),
            other => Err(ProbeError::Failed(format!(
                "expected true or false, got {other}"
            ))),
        }
    }
}

impl HostProbe for RemoteProbe {
    fn cmd(&self, command: &str, o: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        let v = self.ask(ProbeCall::Cmd {
            command: command.to_string(),
            cwd: o.cwd.clone(),
            shell: o.shell.clone(),
            env: o.env.clone(),
            no_shell: o.no_shell,
        })?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Ok(CmdOutput {
            stdout: text("stdout"),
            stderr: text("stderr"),
            retcode: v.get("retcode").and_then(Value::as_i64).unwrap_or(1) as i32,
        })
    }
    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        self.ask_bool(ProbeCall::FileExists(path.to_string()))
    }
    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        self.ask_bool(ProbeCall::DirectoryExists(path.to_string()))
    }
    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        self.ask(ProbeCall::UserInfo(name.to_string()))
    }
    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        self.ask_bool(ProbeCall::HasExec(name.to_string()))
    }
}
