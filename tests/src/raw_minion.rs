//! A minion session without the minion: the real handshake and the real
//! typed messages (`transport::link`, `transport::wire`), driven by the test, so
//! it can send what `minion serve` never would: `salt://../..`, a digest
//! that is a path, a job id that is not its own. The master cannot tell it
//! from a real minion, which is the point.
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use transport::keys::KeyPair;
use transport::link::{self, LinkOptions, LinkRx, LinkTx};
use transport::wire::{Admission, Claim, Job, MasterMsg, MinionMsg};

pub struct RawMinion {
    rt: Runtime,
    tx: LinkTx,
    rx: LinkRx,
    next_req: u64,
}

impl RawMinion {
    /// Connects to a master's minion port as `id` with a fresh key; returns
    /// the session and the master's admission.
    pub fn connect(port: u16, id: &str) -> Result<(RawMinion, Admission), String> {
        // A worker thread, so the link's writer task sends while the test
        // is not inside `block_on`.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let claim = Claim::Minion { id: id.to_string() };
        let endpoint = format!("tcp://127.0.0.1:{port}");
        let (tx, mut rx) = rt.block_on(async {
            let l = link::connect(&endpoint, &key, &claim, |_| Ok(()), LinkOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((l.tx, l.rx))
        })?;
        let first = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), rx.recv::<MasterMsg>()).await
        });
        let admission = match first {
            Ok(Ok(MasterMsg::Admission(a))) => a,
            other => return Err(format!("no admission: {other:?}")),
        };
        let raw = RawMinion {
            rt,
            tx,
            rx,
            next_req: 1,
        };
        Ok((raw, admission))
    }

    pub fn send(&self, msg: &MinionMsg) -> Result<(), String> {
        self.send_untyped(msg)
    }

    /// Sends any value, sealed: a look-alike of a [`MinionMsg`] can carry
    /// what the typed one cannot (a job id that is not 20 digits).
    pub fn send_untyped<T: serde::Serialize>(&self, msg: &T) -> Result<(), String> {
        self.rt
            .block_on(self.tx.send(msg))
            .map_err(|e| e.to_string())
    }

    /// The next message from the master, or `None` after `limit`.
    pub fn recv(&mut self, limit: Duration) -> Option<MasterMsg> {
        let rx = &mut self.rx;
        self.rt
            .block_on(async { tokio::time::timeout(limit, rx.recv::<MasterMsg>()).await })
            .ok()?
            .ok()
    }

    /// Waits for a job, pinging so the master keeps the session; other
    /// messages are dropped.
    pub fn wait_job(&mut self, limit: Duration) -> Option<Job> {
        let start = Instant::now();
        while start.elapsed() < limit {
            self.send(&MinionMsg::Ping).ok()?;
            if let Some(MasterMsg::Job(job)) = self.recv(Duration::from_secs(1)) {
                return Some(job);
            }
        }
        None
    }

    /// Sends the request `make(req)` and returns the master's answer to that
    /// request number, or an error after `limit` (a master that hangs on a
    /// request fails the test here instead of hanging it).
    pub fn request(
        &mut self,
        make: impl FnOnce(u64) -> MinionMsg,
        limit: Duration,
    ) -> Result<MasterMsg, String> {
        let req = self.next_req;
        self.next_req += 1;
        self.send(&make(req))?;
        let start = Instant::now();
        while let Some(left) = limit.checked_sub(start.elapsed()) {
            match self.recv(left) {
                Some(
                    m @ (MasterMsg::Fetched { req: r, .. }
                    | MasterMsg::Rendered { req: r, .. }
                    | MasterMsg::Listed { req: r, .. }),
                ) if r == req => return Ok(m),
                Some(_) => {}
                None => break,
            }
        }
        Err(format!("no answer to request {req} within {limit:?}"))
    }
}
