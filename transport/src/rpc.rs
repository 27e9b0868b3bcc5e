//! Requests answered over a session by the other side, waited on by blocking
//! code: the renderer's host probe on the master (answered by the minion) and
//! a job's file fetches on the minion (answered by the master). Both run in
//! blocking threads, so the wait is a plain channel with a deadline.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Mutex;
use std::time::Duration;

/// Requests in flight, by number.
pub struct Pending<T> {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, SyncSender<T>>>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            next: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RpcError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the connection closed before an answer came")]
    Closed,
}

impl<T> Pending<T> {
    /// A new request number and where its answer will arrive.
    pub fn register(&self) -> (u64, Receiver<T>) {
        let req = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = sync_channel(1);
        self.waiting.lock().unwrap().insert(req, tx);
        (req, rx)
    }

    /// Delivers an answer; `false` when nobody waits for `req` (late, or a
    /// number the peer made up).
    pub fn complete(&self, req: u64, answer: T) -> bool {
        match self.waiting.lock().unwrap().remove(&req) {
            Some(tx) => tx.try_send(answer).is_ok(),
            None => false,
        }
    }

    /// Waits for the answer to `req`, forgetting it on timeout.
    pub fn wait(&self, req: u64, rx: Receiver<T>, timeout: Duration) -> Result<T, RpcError> {
        let out = rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => RpcError::Timeout(timeout),
            RecvTimeoutError::Disconnected => RpcError::Closed,
        });
        self.waiting.lock().unwrap().remove(&req);
        out
    }

    /// Fails every request in flight (the connection is gone).
    pub fn close_all(&self) {
        self.waiting.lock().unwrap().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_reach_their_waiter_and_strays_are_dropped() {
        let p: Pending<u32> = Pending::default();
        let (a, rx_a) = p.register();
        let (b, rx_b) = p.register();
        assert_ne!(a, b);
        assert!(p.complete(b, 2));
        assert!(!p.complete(999, 9));
        assert_eq!(p.wait(b, rx_b, Duration::from_secs(1)), Ok(2));
        assert_eq!(
            p.wait(a, rx_a, Duration::from_millis(10)),
            Err(RpcError::Timeout(Duration::from_millis(10)))
        );
        // Too late: forgotten.
        assert!(!p.complete(a, 1));
        let (c, rx_c) = p.register();
        p.close_all();
        assert_eq!(
            p.wait(c, rx_c, Duration::from_secs(1)),
            Err(RpcError::Closed)
        );
    }
}
