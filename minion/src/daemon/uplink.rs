//! The minion's side of its current session, shared with job threads: a job
//! that outlives a reconnect keeps asking through whichever link is up.
use std::sync::Mutex;
use std::time::Duration;

use transport::link::LinkTx;
use transport::rpc::Pending;
use transport::wire::{MasterMsg, MinionMsg};

/// How long a job waits for the master to answer a file or template request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Uplink {
    tx: Mutex<Option<LinkTx>>,
    pub replies: Pending<MasterMsg>,
}

impl Uplink {
    pub fn set(&self, tx: Option<LinkTx>) {
        *self.tx.lock().unwrap() = tx;
    }

    pub fn is_connected(&self) -> bool {
        self.tx.lock().unwrap().is_some()
    }

    fn current(&self) -> Result<LinkTx, String> {
        self.tx
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| "not connected to the master".to_string())
    }

    pub async fn send(&self, msg: &MinionMsg) -> Result<(), String> {
        self.current()?.send(msg).await.map_err(|e| e.to_string())
    }

    pub fn blocking_send(&self, msg: &MinionMsg) -> Result<(), String> {
        self.current()?
            .blocking_send(msg)
            .map_err(|e| e.to_string())
    }

    /// Sends the request `make(req)` and waits for the master's answer.
    pub fn request(&self, make: impl FnOnce(u64) -> MinionMsg) -> Result<MasterMsg, String> {
        let (req, rx) = self.replies.register();
        self.blocking_send(&make(req))?;
        self.replies
            .wait(req, rx, REQUEST_TIMEOUT)
            .map_err(|e| format!("the master: {e}"))
    }

    /// Routes an answer to the request waiting for it.
    pub fn answer(&self, msg: MasterMsg) {
        let req = match &msg {
            MasterMsg::Fetched { req, .. }
            | MasterMsg::Rendered { req, .. }
            | MasterMsg::Listed { req, .. } => *req,
            _ => return,
        };
        if !self.replies.complete(req, msg) {
            tracing::debug!(req, "an answer nobody waits for (late or unknown)");
        }
    }
}
