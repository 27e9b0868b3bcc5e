//! Recording a new job: its jid, what it runs and on whom, and the commits
//! of the tree it compiles — one path for an operator's publish and a
//! minion's own run, so both are listed, shown and announced alike.
use common::data::Value;
use transport::wire::Jid;

use super::compile::Tree;
use super::Master;
use crate::jobcache::{now_ms, JobRecord};

/// A job before it has a jid.
pub(super) struct NewJob {
    pub operator: String,
    pub target: String,
    /// Salt's name of the target kind.
    pub tgt_type: String,
    pub function: String,
    pub args: Value,
    pub saltenv: String,
    pub pillarenv: Option<String>,
    pub expected: Vec<String>,
    /// The minion's schedule entry that started it, and its interval.
    pub schedule: Option<(String, u64)>,
}

impl Master {
    /// Makes the job's jid and records the job with the git commits of
    /// `tree`, then fires `salt/job/<jid>/new`. The jid is made and
    /// recorded under one lock, so jobs are recorded in jid order.
    pub(super) fn record_new_job(&self, tree: &Tree, job: NewJob) -> Result<JobRecord, String> {
        let (tree_commit, pillar_commit) = self.git_commits(tree);
        let record = {
            let jobs = self.jobs.lock().unwrap();
            let jid: Jid = jobs
                .new_jid()
                .map_err(|e| format!("cannot make a job id: {e}"))?;
            let record = JobRecord {
                jid,
                operator: job.operator,
                target: job.target,
                tgt_type: job.tgt_type,
                function: job.function,
                args: job.args,
                saltenv: job.saltenv,
                pillarenv: job.pillarenv,
                expected: job.expected,
                started: now_ms(),
                finished: None,
                tree_commit,
                pillar_commit,
            };
            jobs.record_job(&record)
                .and_then(|()| match &job.schedule {
                    Some((name, interval)) => jobs.mark_scheduled(&record.jid, name, *interval),
                    None => Ok(()),
                })
                .map_err(|e| format!("cannot record the job: {e}"))?;
            record
        };
        self.events.job_new(&record);
        Ok(record)
    }
}
