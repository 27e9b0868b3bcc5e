//! State runs a minion asks for itself ([`MinionMsg::StartJob`]): `minion
//! apply` through the master (Salt's `salt-call state.apply`, on a one-shot
//! [`Claim::MinionCall`] session) and the runs of a minion's `schedule` (on
//! the daemon's own session). The master records the job, compiles for that
//! minion as for a publish (`publish::OneJob`, the same compile, probes and
//! file requests), sends the job on the session that asked, records the
//! return and sends it back as [`MasterMsg::JobRecorded`].
//!
//! [`MinionMsg::StartJob`]: transport::wire::MinionMsg::StartJob
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use transport::wire::{Claim, Jid, JobReturn, MasterMsg, MinionJob, PublishWhat};

use super::job_record::NewJob;
use super::probe::ProbeReplies;
use super::publish::{self, JobSpec, OneJob};
use super::Master;
use crate::jobcache::NewReturn;
use crate::listener::MinionPeer;

/// What the master keeps of minion-initiated runs.
#[derive(Default)]
pub struct MinionJobs {
    /// The template probes of each `minion apply` session, by its serial
    /// (a daemon's are in its `LiveMinion`).
    calls: Mutex<HashMap<u64, Arc<ProbeReplies>>>,
    /// (minion, schedule entry) with a run not finished: the next run of
    /// that entry is refused until it is, so runs never overlap.
    scheduled: Mutex<HashSet<(String, String)>>,
}

impl MinionJobs {
    pub fn open_call(&self, serial: u64) {
        self.calls
            .lock()
            .unwrap()
            .insert(serial, Arc::new(ProbeReplies::default()));
    }

    pub fn close_call(&self, serial: u64) {
        if let Some(p) = self.calls.lock().unwrap().remove(&serial) {
            p.close_all();
        }
    }

    pub fn call_probes(&self, serial: u64) -> Option<Arc<ProbeReplies>> {
        self.calls.lock().unwrap().get(&serial).cloned()
    }
}

/// Holds a schedule entry's run as running until dropped.
struct ScheduledRun {
    master: Arc<Master>,
    key: (String, String),
}

impl ScheduledRun {
    fn claim(master: &Arc<Master>, id: &str, name: &str) -> Option<ScheduledRun> {
        let key = (id.to_string(), name.to_string());
        master
            .minion_jobs
            .scheduled
            .lock()
            .unwrap()
            .insert(key.clone())
            .then(|| ScheduledRun {
                master: master.clone(),
                key,
            })
    }
}

impl Drop for ScheduledRun {
    fn drop(&mut self) {
        self.master
            .minion_jobs
            .scheduled
            .lock()
            .unwrap()
            .remove(&self.key);
    }
}

/// The longest a minion-initiated run is waited for; the job is then marked
/// finished (a daemon's later return is still recorded as a late return).
const MAX_WAIT: Duration = Duration::from_secs(6 * 3600);

/// How often the wait looks whether a one-shot session is gone.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Runs what `id` asked for on `peer`, answering `req`.
pub async fn start(
    master: Arc<Master>,
    peer: Arc<MinionPeer>,
    probes: Arc<ProbeReplies>,
    id: String,
    req: u64,
    job: MinionJob,
) {
    let reply = |r: Result<Jid, String>| {
        let _ = peer.send(&MasterMsg::JobStarted { req, reply: r });
    };
    if master.is_stopping() {
        return reply(Err("the master is stopping: it takes no new jobs".into()));
    }
    let _running = match &job.schedule {
        Some(s) => match ScheduledRun::claim(&master, &id, &s.name) {
            Some(r) => Some(r),
            None => {
                tracing::warn!(minion = %id, schedule = %s.name, "a scheduled run still runs; the next one is skipped");
                return reply(Err(format!(
                    "schedule {} of {id} is still running its previous run",
                    s.name
                )));
            }
        },
        None => None,
    };
    let tree = Arc::new(master.tree());
    let env = publish::from_wire(&job.env);
    let saltenv = env
        .saltenv
        .clone()
        .unwrap_or_else(|| tree.trees.states.saltenv().to_string());
    let what = PublishWhat::Apply {
        sls: job.sls.clone(),
        test: job.test,
        env: job.env.clone(),
    };
    let new_job = NewJob {
        operator: format!("minion:{id}"),
        target: id.clone(),
        tgt_type: "list".into(),
        function: "state.apply".into(),
        args: publish::args_of(&what),
        saltenv,
        pillarenv: env.pillarenv.clone(),
        expected: vec![id.clone()],
        schedule: job
            .schedule
            .as_ref()
            .map(|s| (s.name.clone(), s.interval_secs)),
    };
    let jid = match master.record_new_job(&tree, new_job) {
        Ok(record) => record.jid,
        Err(e) => return reply(Err(e)),
    };
    let schedule = job.schedule.as_ref().map(|s| s.name.as_str()).unwrap_or("");
    tracing::info!(jid = %jid, minion = %id, schedule, test = job.test, "job started by the minion");
    reply(Ok(jid.clone()));
    let (done, mut returns) = mpsc::unbounded_channel::<(String, JobReturn)>();
    let one = OneJob {
        master: master.clone(),
        tree: tree.clone(),
        jid: jid.clone(),
        id: id.clone(),
        spec: Arc::new(JobSpec {
            what,
            env,
            plan: None,
        }),
        done,
        compiles: Arc::new(Semaphore::new(1)),
        session: Some((peer.clone(), probes)),
    };
    tokio::spawn(one.start());
    // A one-shot session that is gone will not return; a daemon's return
    // may come on its next session.
    let one_shot = matches!(peer.claim, Claim::MinionCall { .. });
    let deadline = tokio::time::Instant::now() + MAX_WAIT;
    let got = loop {
        tokio::select! {
            r = returns.recv() => break r,
            _ = tokio::time::sleep(CHECK_EVERY) => {
                if (one_shot && peer.is_closed()) || tokio::time::Instant::now() >= deadline {
                    break None;
                }
            }
        }
    };
    master
        .running
        .lock()
        .unwrap()
        .remove(&(jid.clone(), id.clone()));
    if master.is_stopping() {
        return;
    }
    if let Some((_, mut ret)) = got {
        tree.hide_secrets(&id, &mut ret.ret);
        let m = master.clone();
        let (j, i) = (jid.clone(), id.clone());
        let recorded = tokio::task::spawn_blocking(move || {
            let r = NewReturn {
                minion: &i,
                success: ret.success,
                retcode: ret.retcode,
                ret: &ret.ret,
            };
            let jobs = m.jobs.lock().unwrap();
            let recorded = jobs.record_returns(&j, std::slice::from_ref(&r));
            drop(jobs);
            (recorded, ret)
        })
        .await;
        match recorded {
            Ok((Ok(_), ret)) => {
                let _ = peer.send(&MasterMsg::JobRecorded { ret });
            }
            Ok((Err(e), _)) => tracing::warn!(jid = %jid, error = %e, "cannot record a return"),
            Err(e) => tracing::error!(jid = %jid, error = %e, "recording a return failed"),
        }
    } else {
        tracing::warn!(jid = %jid, minion = %id, "no return from the minion for the job it started");
    }
    if let Err(e) = master.jobs.lock().unwrap().finish_job(&jid) {
        tracing::warn!(jid = %jid, error = %e, "cannot mark the job finished");
    }
}
