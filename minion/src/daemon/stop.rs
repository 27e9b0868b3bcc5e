//! Stopping `minion serve` (SIGTERM from `systemctl stop`, or SIGINT)
//! without losing a job: no new job is started, the running ones may finish
//! and hand their results to the master, then the session closes.
//!
//! The wait is bounded by `stop_timeout` (60 s by default), well inside
//! systemd's default stop timeout of 90 s, after which the unit would be
//! killed. A job still running then is cut off: the process exits under it
//! (with `KillMode=process`, a command it started runs on). Its id is in
//! `jobs.log`, so it is never run again; what the master gets for it is the
//! checkpoint written here, a failed return saying the job was cut off and
//! may have changed part of what it manages, kept in the outbox and
//! delivered after the restart. Had the job finished after all, its real
//! result replaces the checkpoint.
use std::collections::BTreeSet;
use std::time::Duration;

use common::data::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use transport::wire::{Jid, JobReturn};

use super::masters::Uplinks;
use super::outbox::Outbox;

/// The job ids running now, watched by a stop that waits for them.
pub type RunningJobs = watch::Sender<BTreeSet<Jid>>;

/// Whether the daemon is stopping: `Some(deadline)` once asked to, until
/// when it waits for running jobs.
pub type Stopping = watch::Receiver<Option<Instant>>;

/// How often a stop looks whether the master has acked what was sent.
const POLL: Duration = Duration::from_millis(50);

pub fn is_stopping(stop: &Stopping) -> bool {
    stop.borrow().is_some()
}

/// Completes once the daemon is asked to stop and then either every running
/// job has finished and its result was acked (or there is no master to ack
/// it), or the deadline passed.
pub async fn stopped(stop: &Stopping, jobs: &RunningJobs, outbox: &Outbox, uplinks: &Uplinks) {
    let mut stop = stop.clone();
    let asked = stop.wait_for(Option::is_some).await.map(|d| *d);
    // An error: the sender is gone with the daemon, which was never asked
    // to stop.
    let Ok(Some(deadline)) = asked else {
        return std::future::pending().await;
    };
    let mut running = jobs.subscribe();
    let finished = async {
        let _ = running.wait_for(BTreeSet::is_empty).await;
        // A result just sent is acked within a round trip; one that cannot
        // be sent stays in the outbox for the next start.
        while uplinks.any_connected() && !outbox.pending().is_empty() {
            tokio::time::sleep(POLL).await;
        }
    };
    let _ = tokio::time::timeout_at(deadline, finished).await;
}

/// Writes the checkpoint of every job still running (see the module's
/// comment) and forgets them.
pub fn checkpoint_cut_off(jobs: &RunningJobs, outbox: &Outbox, waited: Duration) {
    jobs.send_modify(|running| {
        for jid in std::mem::take(running) {
            tracing::warn!(jid = %jid, "stopping with a job still running; its result will say it was cut off");
            let ret = JobReturn {
                jid: jid.clone(),
                success: false,
                ret: Value::String(format!(
                    "Job {jid} was cut off: the minion was stopped while it ran and did not \
                     finish it within {waited:?}. What it changed before stays changed; it is \
                     not run again."
                )),
                retcode: 1,
            };
            if let Err(e) = outbox.put(&ret, true) {
                tracing::error!(jid = %jid, error = %e, "cannot keep the checkpoint of a cut-off job");
            }
        }
    });
}

/// Stores a finished job's result (over a checkpoint written meanwhile) and
/// forgets the job, under the same lock as [`checkpoint_cut_off`]: a
/// checkpoint never replaces a real result.
pub fn finish(jobs: &RunningJobs, outbox: &Outbox, ret: &JobReturn, durable: bool) {
    jobs.send_modify(|running| {
        running.remove(&ret.jid);
        if let Err(e) = outbox.put(ret, durable) {
            tracing::error!(jid = %ret.jid, error = %e, "cannot store a result");
        }
    });
}
