//! The job cache: every published job and each minion's return, in embedded
//! SQLite at `<cachedir>/jobs.sqlite` (the default), or in the PostgreSQL
//! store several masters share (`master_job_cache: postgres`, [`postgres`]);
//! [`JobCache`] is either.
//!
//! It is what lets `master jobs show JID` answer after the deadline, or after
//! a restart, with both the returns and the minions that never answered. WAL
//! mode lets readers (operator queries) run beside the writer (returns
//! arriving); `synchronous=NORMAL` is durable across a crash of the master,
//! and a power cut can lose at most the last commits, never the file.
//!
//! A return is recorded once per (job, minion): a duplicate (a minion
//! re-sending from its outbox before it saw the ack) is ignored, never
//! overwrites. Calls block; the daemon runs them off its async workers.
mod absent_masters;
mod jid;
pub mod postgres;
mod sqlite;
mod store;

use std::collections::HashSet;
use std::path::PathBuf;

use common::data::Value;
use serde::Serialize;
use transport::wire::Jid;

pub use jid::now_ms;
pub(crate) use jid::{asctime, iso_stamp, now_micros};
pub use sqlite::SqliteJobCache;
use sqlite::SCHEMA_VERSION;
pub use store::JobCache;

/// Errors of the job cache.
#[derive(Debug, thiserror::Error)]
pub enum JobCacheError {
    #[error("job cache {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("job cache {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "job cache {path}: schema version {found} is newer than this master's ({SCHEMA_VERSION})"
    )]
    Schema { path: PathBuf, found: i64 },
    #[error("job cache: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("job cache: {what} is not valid JSON: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("job cache: {0}")]
    Postgres(#[from] crate::pgstore::PgError),
    #[error("job cache: {0}")]
    BadJid(String),
    #[error("job {0} already exists")]
    DuplicateJob(Jid),
    #[error("no job {0}")]
    UnknownJob(Jid),
}

type Result<T> = std::result::Result<T, JobCacheError>;

/// What the job cache makes of a batch of returns that came after their
/// publish stopped waiting (the deadline passed, the master restarted, or
/// another master published the job).
#[derive(Debug, Clone, PartialEq)]
pub enum LateReturns {
    /// The job, with its environments (a wanted return is recorded with the
    /// pillar of those hidden), and for each minion of the batch whether its
    /// return is wanted: the job expects it and has none from it yet (a
    /// minion twice in one batch is wanted once).
    Job {
        saltenv: String,
        pillarenv: Option<String>,
        wanted: Vec<bool>,
    },
    /// No such job here.
    UnknownJob,
}

/// Which of `minions` are wanted, given the job's `expected` list (JSON)
/// and those of them it has a return from: one parse of the list per
/// batch, where a query per return parsed a 10,000-id list each time.
fn late_wanted(expected: &str, returned: &HashSet<String>, minions: &[&str]) -> Result<Vec<bool>> {
    let expected: HashSet<String> = from_json("expected", expected)?;
    let mut seen = HashSet::new();
    Ok(minions
        .iter()
        .map(|m| expected.contains(*m) && !returned.contains(*m) && seen.insert(*m))
        .collect())
}

/// Records, through `record`, those of `returns` whose minion the job
/// expects (`expected`, its JSON list); whether each was recorded.
fn record_expected(
    returns: &[NewReturn<'_>],
    expected: &str,
    record: impl FnOnce(&[NewReturn<'_>]) -> Result<Vec<bool>>,
) -> Result<Vec<bool>> {
    let expected: HashSet<String> = from_json("expected", expected)?;
    let (at, rows): (Vec<usize>, Vec<NewReturn<'_>>) = returns
        .iter()
        .enumerate()
        .filter(|(_, r)| expected.contains(r.minion))
        .map(|(i, r)| (i, *r))
        .unzip();
    let mut recorded = vec![false; returns.len()];
    if !rows.is_empty() {
        for (i, added) in at.into_iter().zip(record(&rows)?) {
            recorded[i] = added;
        }
    }
    Ok(recorded)
}

/// A published job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub jid: Jid,
    pub operator: String,
    /// The target expression as the operator wrote it.
    pub target: String,
    /// Salt's name of the target kind (`glob`, `compound`...).
    pub tgt_type: String,
    /// `state.apply`, or the execution function's name.
    pub function: String,
    /// Never a command-line pillar's values (only its keys).
    pub args: Value,
    /// The saltenv the job compiled from (the config's when not given).
    pub saltenv: String,
    /// The pillarenv given; `None`: the pillar merged from every one.
    pub pillarenv: Option<String>,
    /// The minions the target resolved to when the job was published.
    pub expected: Vec<String>,
    /// Unix ms.
    pub started: i64,
    /// Unix ms; `None` while the job runs.
    pub finished: Option<i64>,
    /// The git commits the state tree was compiled from, `{remote:
    /// {saltenv: commit}}`; `None` without gitfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_commit: Option<Value>,
    /// The git_pillar commits, `{remote: {pillarenv: commit}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pillar_commit: Option<Value>,
}

/// One line of `jobs list` / `jobs active`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    pub jid: Jid,
    pub operator: String,
    pub target: String,
    pub tgt_type: String,
    pub function: String,
    pub saltenv: String,
    pub pillarenv: Option<String>,
    pub started: i64,
    pub finished: Option<i64>,
    pub expected: usize,
    pub returned: usize,
    /// The minion's `schedule` entry that started it (`None`: not scheduled).
    pub schedule: Option<String>,
}

/// One minion's answer to a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinionReturn {
    pub minion: String,
    pub success: bool,
    pub retcode: i32,
    pub ret: Value,
    /// Unix ms.
    pub returned: i64,
}

/// A job with its returns, and the expected minions that have not answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobDetail {
    pub record: JobRecord,
    /// The minion's `schedule` entry that started it (`None`: not scheduled).
    pub schedule: Option<String>,
    /// Sorted by minion id.
    pub returns: Vec<MinionReturn>,
    /// In the order of `record.expected`.
    pub missing: Vec<String>,
}

/// A scheduled run and its return, as [`JobCache::scheduled_test_runs`] gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledRun {
    pub jid: Jid,
    pub schedule: String,
    pub interval_secs: u64,
    /// Unix ms.
    pub started: i64,
    pub ret: Value,
    pub retcode: i32,
}

/// One minion's return, as [`SqliteJobCache::record_returns`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct NewReturn<'a> {
    pub minion: &'a str,
    pub success: bool,
    pub retcode: i32,
    pub ret: &'a Value,
}

fn detail(record: JobRecord, schedule: Option<String>, returns: Vec<MinionReturn>) -> JobDetail {
    let answered: std::collections::HashSet<&str> =
        returns.iter().map(|r| r.minion.as_str()).collect();
    let missing = record
        .expected
        .iter()
        .filter(|m| !answered.contains(m.as_str()))
        .cloned()
        .collect();
    JobDetail {
        record,
        schedule,
        returns,
        missing,
    }
}

/// Jobs started before this (unix ms) are pruned; `None`: keep everything.
fn prune_cutoff(keep_hours: u64) -> Option<i64> {
    if keep_hours == 0 {
        return None;
    }
    let keep_ms = i64::try_from(keep_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
    Some(now_ms().saturating_sub(keep_ms))
}

fn to_json<T: Serialize + ?Sized>(what: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|source| JobCacheError::Json { what, source })
}

fn from_json<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|source| JobCacheError::Json { what, source })
}

#[cfg(test)]
mod tests;
