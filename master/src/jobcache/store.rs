//! [`JobCache`]: the master's job cache, whichever store holds it
//! (`master_job_cache`: `sqlite`, the default, or `postgres`).
use std::path::Path;

use common::data::Value;
use transport::wire::Jid;

use super::postgres::PgJobCache;
use super::{
    JobDetail, JobRecord, JobSummary, LateReturns, NewReturn, Result, ScheduledRun, SqliteJobCache,
};

/// The open cache; every call blocks (the daemon runs the long ones off its
/// async workers).
#[derive(Debug)]
pub enum JobCache {
    Sqlite(SqliteJobCache),
    Postgres(PgJobCache),
}

/// The same call on whichever cache this is.
macro_rules! either {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            JobCache::Sqlite($c) => $e,
            JobCache::Postgres($c) => $e,
        }
    };
}

impl JobCache {
    /// The embedded cache in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<JobCache> {
        SqliteJobCache::open(path).map(JobCache::Sqlite)
    }

    /// The shared cache in the PostgreSQL store at `dsn`, for the master
    /// whose public key is `master`.
    pub fn open_postgres(dsn: &str, master: &str) -> Result<JobCache> {
        PgJobCache::open(dsn, master).map(JobCache::Postgres)
    }

    /// The other masters sharing the store that have jobs running and no
    /// connection to it now (none with SQLite: its jobs are this master's).
    pub fn absent_masters(&self) -> Result<Vec<String>> {
        match self {
            JobCache::Sqlite(_) => Ok(Vec::new()),
            JobCache::Postgres(c) => c.absent_masters(),
        }
    }

    /// Finishes the running jobs of those of `masters` still absent.
    pub fn finish_jobs_of_absent(&self, masters: &[String]) -> Result<usize> {
        match self {
            JobCache::Sqlite(_) => Ok(0),
            JobCache::Postgres(c) => c.finish_jobs_of_absent(masters),
        }
    }

    /// A new job id, later than every one handed out before (by any master
    /// sharing the store).
    pub fn new_jid(&self) -> Result<Jid> {
        match self {
            JobCache::Sqlite(c) => Ok(c.new_jid()),
            JobCache::Postgres(c) => c.new_jid(),
        }
    }

    /// Records a new job; a jid already recorded is refused (no replays).
    pub fn record_job(&self, job: &JobRecord) -> Result<()> {
        either!(self, c => c.record_job(job))
    }

    /// Records `minion`'s return; false (and nothing changes) if it already
    /// returned for this job.
    pub fn record_return(
        &self,
        jid: &Jid,
        minion: &str,
        success: bool,
        retcode: i32,
        ret: &Value,
    ) -> Result<bool> {
        let r = NewReturn {
            minion,
            success,
            retcode,
            ret,
        };
        Ok(self.record_returns(jid, std::slice::from_ref(&r))?[0])
    }

    /// Records many returns of one job in one transaction; for each, whether
    /// it was new.
    pub fn record_returns(&self, jid: &Jid, returns: &[NewReturn<'_>]) -> Result<Vec<bool>> {
        either!(self, c => c.record_returns(jid, returns))
    }

    /// Which of `minions`' late returns for `jid` would be recorded (the
    /// job's row and those minions' returns only: a job's returns may be
    /// 10,000).
    pub fn late_returns_wanted(&self, jid: &Jid, minions: &[&str]) -> Result<LateReturns> {
        either!(self, c => c.late_returns_wanted(jid, minions))
    }

    /// Records returns that came after their publish stopped waiting, only
    /// of minions the job expects and that had not returned.
    pub fn record_late_returns(&self, jid: &Jid, returns: &[NewReturn<'_>]) -> Result<Vec<bool>> {
        either!(self, c => c.record_late_returns(jid, returns))
    }

    /// A job's function and recorded arguments (the event of a late return
    /// names them as a live one does).
    pub fn function_and_args(&self, jid: &Jid) -> Result<Option<(String, Value)>> {
        either!(self, c => c.function_and_args(jid))
    }

    /// Marks the job finished now (a second call keeps the first time).
    pub fn finish_job(&self, jid: &Jid) -> Result<()> {
        either!(self, c => c.finish_job(jid))
    }

    /// Marks finished the jobs this master's previous process left running.
    pub fn finish_orphaned(&self) -> Result<usize> {
        either!(self, c => c.finish_orphaned())
    }

    /// Makes every commit safe from a host crash (SQLite's write-ahead log
    /// into the file); PostgreSQL's commits already are.
    pub fn checkpoint(&self) -> Result<()> {
        match self {
            JobCache::Sqlite(c) => c.checkpoint(),
            JobCache::Postgres(_) => Ok(()),
        }
    }

    /// The newest `limit` jobs, newest first.
    pub fn list_jobs(&self, limit: usize) -> Result<Vec<JobSummary>> {
        either!(self, c => c.list_jobs(limit))
    }

    /// Jobs not finished yet, oldest first.
    pub fn active(&self) -> Result<Vec<JobSummary>> {
        either!(self, c => c.active())
    }

    /// The job, its returns and its missing minions; `None` if unknown.
    pub fn show(&self, jid: &Jid) -> Result<Option<JobDetail>> {
        either!(self, c => c.show(jid))
    }

    /// Marks a recorded job as a run of its minion's schedule entry `name`,
    /// which runs every `interval_secs`.
    pub fn mark_scheduled(&self, jid: &Jid, name: &str, interval_secs: u64) -> Result<()> {
        either!(self, c => c.mark_scheduled(jid, name, interval_secs))
    }

    /// `minion`'s scheduled test-mode runs that returned, newest first, at
    /// most `limit` (what `master drift` judges).
    pub fn scheduled_test_runs(&self, minion: &str, limit: usize) -> Result<Vec<ScheduledRun>> {
        either!(self, c => c.scheduled_test_runs(minion, limit))
    }

    /// Removes jobs started more than `keep_hours` ago (0 keeps all).
    pub fn prune(&self, keep_hours: u64) -> Result<usize> {
        either!(self, c => c.prune(keep_hours))
    }
}
