//! The job cache in the PostgreSQL store several masters share
//! (`master_job_cache: postgres`): the same records and rules as the SQLite
//! cache beside it, so any master answers `jobs list|show|active` for a job
//! any master published. Jids come from one row bumped atomically by every
//! master, so two masters never hand out the same one. Schema:
//! `crate::pgstore::MIGRATIONS`.
use std::collections::HashSet;

use common::data::Value;
use postgres::error::SqlState;
use transport::wire::Jid;

use super::jid::{now_micros, now_ms};
use super::{
    from_json, late_wanted, record_expected, to_json, JobCacheError, JobDetail, JobRecord,
    JobSummary, LateReturns, MinionReturn, NewReturn, Result, ScheduledRun,
};
use crate::pgstore::{Client, PgConn, PgError};

/// The job cache of one master in the shared store.
#[derive(Debug)]
pub struct PgJobCache {
    conn: PgConn,
    /// This master's public key: which jobs are its own when it restarts.
    master: String,
}

impl From<postgres::Error> for JobCacheError {
    fn from(e: postgres::Error) -> Self {
        JobCacheError::Postgres(e.into())
    }
}

const SUMMARY: &str = "SELECT j.jid, j.operator, j.target, j.tgt_type, j.function, j.started,
        j.finished, json_array_length(j.expected::json),
        (SELECT count(*) FROM brine_returns r WHERE r.jid = j.jid),
        j.saltenv, j.pillarenv, j.schedule
 FROM brine_jobs j";

impl PgJobCache {
    /// Connects to the store at `dsn` (migrating its schema) as the master
    /// whose public key is `master`.
    pub fn open(dsn: &str, master: &str) -> Result<PgJobCache> {
        let name = super::absent_masters::application_name(master);
        Ok(PgJobCache {
            conn: PgConn::connect_as(dsn, Some(&name))?,
            master: master.to_string(),
        })
    }

    /// This master's public key.
    pub(super) fn master(&self) -> &str {
        &self.master
    }

    pub(super) fn run<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T> + Send,
    ) -> Result<T> {
        let mut out = None;
        self.conn.run(|c| {
            out = Some(f(c));
            Ok(())
        })?;
        out.expect("run calls its closure")
    }

    /// Later than every jid any master sharing the store handed out, and
    /// now if the clock has moved past them.
    pub fn new_jid(&self) -> Result<Jid> {
        let now = now_micros();
        let last: i64 = self.run(|c| {
            Ok(c.query_one(
                "UPDATE brine_jid_clock SET last = greatest(last + 1, $1) RETURNING last",
                &[&now],
            )?
            .get(0))
        })?;
        Ok(super::jid::format_jid(last))
    }

    pub fn record_job(&self, job: &JobRecord) -> Result<()> {
        let args = to_json("args", &job.args)?;
        let expected = to_json("expected minions", &job.expected)?;
        let commit = |c: &Option<Value>| c.as_ref().map(|c| to_json("commit", c)).transpose();
        let tree_commit = commit(&job.tree_commit)?;
        let pillar_commit = commit(&job.pillar_commit)?;
        let res = self.run(|c| {
            Ok(c.execute(
                "INSERT INTO brine_jobs (jid, operator, target, tgt_type, function, args,
                     expected, started, finished, saltenv, pillarenv, master,
                     tree_commit, pillar_commit, test)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                &[
                    &job.jid.as_str(),
                    &job.operator,
                    &job.target,
                    &job.tgt_type,
                    &job.function,
                    &args,
                    &expected,
                    &job.started,
                    &job.finished,
                    &job.saltenv,
                    &job.pillarenv,
                    &self.master,
                    &tree_commit,
                    &pillar_commit,
                    &(job.args.get("test") == Some(&Value::Bool(true))),
                ],
            )?)
        });
        match res {
            Ok(_) => Ok(()),
            Err(JobCacheError::Postgres(PgError::Postgres(e)))
                if e.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
            {
                Err(JobCacheError::DuplicateJob(job.jid.clone()))
            }
            Err(e) => Err(e),
        }
    }

    pub fn record_returns(&self, jid: &Jid, returns: &[NewReturn<'_>]) -> Result<Vec<bool>> {
        let rows = returns
            .iter()
            .map(|r| Ok((r.minion, r.success, r.retcode, to_json("ret", r.ret)?)))
            .collect::<Result<Vec<_>>>()?;
        let now = now_ms();
        self.run(|c| {
            let mut tx = c.transaction()?;
            if !job_exists(&mut tx, jid)? {
                return Err(JobCacheError::UnknownJob(jid.clone()));
            }
            // One statement for the batch (a round trip per row would bound
            // a fleet's returns by the latency); a minion twice in a batch is
            // recorded once, as row by row.
            let minions: Vec<&str> = rows.iter().map(|r| r.0).collect();
            let success: Vec<bool> = rows.iter().map(|r| r.1).collect();
            let retcode: Vec<i32> = rows.iter().map(|r| r.2).collect();
            let ret: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
            let inserted = tx.query(
                "INSERT INTO brine_returns (jid, minion, success, retcode, ret, returned)
                 SELECT $1, u.m, u.s, u.r, u.t, $6
                 FROM unnest($2::text[], $3::boolean[], $4::integer[], $5::text[])
                      WITH ORDINALITY AS u(m, s, r, t, n)
                 ORDER BY u.n
                 ON CONFLICT DO NOTHING RETURNING minion",
                &[&jid.as_str(), &minions, &success, &retcode, &ret, &now],
            )?;
            let mut new: std::collections::HashSet<String> =
                inserted.iter().map(|r| r.get(0)).collect();
            let added: Vec<bool> = minions.iter().map(|m| new.remove(*m)).collect();
            tx.commit()?;
            Ok(added)
        })
    }

    /// As [`super::SqliteJobCache::late_returns_wanted`]: one read of the
    /// job's row and one of those minions' returns for the whole batch.
    pub fn late_returns_wanted(&self, jid: &Jid, minions: &[&str]) -> Result<LateReturns> {
        self.run(|c| {
            let Some(row) = c.query_opt(
                "SELECT saltenv, pillarenv, expected FROM brine_jobs WHERE jid = $1",
                &[&jid.as_str()],
            )?
            else {
                return Ok(LateReturns::UnknownJob);
            };
            let returned: HashSet<String> = c
                .query(
                    "SELECT minion FROM brine_returns WHERE jid = $1 AND minion = ANY($2)",
                    &[&jid.as_str(), &minions],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            Ok(LateReturns::Job {
                saltenv: row.get(0),
                pillarenv: row.get(1),
                wanted: late_wanted(row.get(2), &returned, minions)?,
            })
        })
    }

    /// As [`super::SqliteJobCache::record_late_returns`]; a job whose every
    /// expected minion has then returned is finished.
    pub fn record_late_returns(&self, jid: &Jid, returns: &[NewReturn<'_>]) -> Result<Vec<bool>> {
        let expected: Option<String> = self.run(|c| {
            Ok(c.query_opt(
                "SELECT expected FROM brine_jobs WHERE jid = $1",
                &[&jid.as_str()],
            )?
            .map(|r| r.get(0)))
        })?;
        let Some(expected) = expected else {
            return Ok(vec![false; returns.len()]);
        };
        let recorded = record_expected(returns, &expected, |rows| self.record_returns(jid, rows))?;
        if recorded.contains(&true) {
            self.finish_if_complete(jid)?;
        }
        Ok(recorded)
    }

    /// Finishes a job every expected minion has returned: a job whose
    /// master died is over once the others took all of its returns, and no
    /// master would finish it otherwise (a restart finishes only its own).
    fn finish_if_complete(&self, jid: &Jid) -> Result<()> {
        let now = now_ms();
        self.run(|c| {
            c.execute(
                "UPDATE brine_jobs j SET finished = $1
                 WHERE j.jid = $2 AND j.finished IS NULL
                   AND json_array_length(j.expected::json)
                       <= (SELECT count(*) FROM brine_returns r WHERE r.jid = j.jid)",
                &[&now, &jid.as_str()],
            )?;
            Ok(())
        })
    }

    pub fn function_and_args(&self, jid: &Jid) -> Result<Option<(String, Value)>> {
        let row = self.run(|c| {
            Ok(c.query_opt(
                "SELECT function, args FROM brine_jobs WHERE jid = $1",
                &[&jid.as_str()],
            )?)
        })?;
        Ok(row.map(|r| {
            let args: &str = r.get(1);
            (r.get(0), serde_json::from_str(args).unwrap_or(Value::Null))
        }))
    }

    pub fn finish_job(&self, jid: &Jid) -> Result<()> {
        let now = now_ms();
        self.run(|c| {
            let n = c.execute(
                "UPDATE brine_jobs SET finished = $1 WHERE jid = $2 AND finished IS NULL",
                &[&now, &jid.as_str()],
            )?;
            if n == 0 && !job_exists(c, jid)? {
                return Err(JobCacheError::UnknownJob(jid.clone()));
            }
            Ok(())
        })
    }

    /// Finishes the jobs this master left running: another master's running
    /// jobs are its own to finish.
    pub fn finish_orphaned(&self) -> Result<usize> {
        let now = now_ms();
        self.run(|c| {
            Ok(c.execute(
                "UPDATE brine_jobs SET finished = $1 WHERE finished IS NULL AND master = $2",
                &[&now, &self.master],
            )? as usize)
        })
    }

    pub fn list_jobs(&self, limit: usize) -> Result<Vec<JobSummary>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.summaries(
            &format!("{SUMMARY} ORDER BY j.jid DESC LIMIT $1"),
            &[&limit],
        )
    }

    pub fn active(&self) -> Result<Vec<JobSummary>> {
        self.summaries(
            &format!("{SUMMARY} WHERE j.finished IS NULL ORDER BY j.jid"),
            &[],
        )
    }

    fn summaries(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<JobSummary>> {
        let rows = self.run(|c| Ok(c.query(sql, params)?))?;
        rows.iter()
            .map(|r| {
                Ok(JobSummary {
                    jid: jid_column(r.get(0))?,
                    operator: r.get(1),
                    target: r.get(2),
                    tgt_type: r.get(3),
                    function: r.get(4),
                    saltenv: r.get(9),
                    pillarenv: r.get(10),
                    started: r.get(5),
                    finished: r.get(6),
                    expected: r.get::<_, i32>(7) as usize,
                    returned: r.get::<_, i64>(8) as usize,
                    schedule: r.get(11),
                })
            })
            .collect()
    }

    pub fn show(&self, jid: &Jid) -> Result<Option<JobDetail>> {
        let (job, rets) = self.run(|c| {
            let job = c.query_opt(
                "SELECT operator, target, tgt_type, function, args, expected, started, finished,
                        saltenv, pillarenv, schedule, tree_commit, pillar_commit
                 FROM brine_jobs WHERE jid = $1",
                &[&jid.as_str()],
            )?;
            let rets = c.query(
                "SELECT minion, success, retcode, ret, returned FROM brine_returns
                 WHERE jid = $1 ORDER BY minion COLLATE \"C\"",
                &[&jid.as_str()],
            )?;
            Ok((job, rets))
        })?;
        let Some(r) = job else {
            return Ok(None);
        };
        let record = JobRecord {
            jid: jid.clone(),
            operator: r.get(0),
            target: r.get(1),
            tgt_type: r.get(2),
            function: r.get(3),
            args: from_json("args", r.get(4))?,
            expected: from_json("expected minions", r.get(5))?,
            started: r.get(6),
            finished: r.get(7),
            saltenv: r.get(8),
            pillarenv: r.get(9),
            tree_commit: r
                .get::<_, Option<&str>>(11)
                .map(|t| from_json("tree commit", t))
                .transpose()?,
            pillar_commit: r
                .get::<_, Option<&str>>(12)
                .map(|t| from_json("pillar commit", t))
                .transpose()?,
        };
        let schedule: Option<String> = r.get(10);
        let returns = rets
            .iter()
            .map(|r| {
                Ok(MinionReturn {
                    minion: r.get(0),
                    success: r.get(1),
                    retcode: r.get(2),
                    ret: from_json::<Value>("ret", r.get(3))?,
                    returned: r.get(4),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(super::detail(record, schedule, returns)))
    }

    pub fn mark_scheduled(&self, jid: &Jid, name: &str, interval_secs: u64) -> Result<()> {
        let interval = i64::try_from(interval_secs).unwrap_or(i64::MAX);
        let n = self.run(|c| {
            Ok(c.execute(
                "UPDATE brine_jobs SET schedule = $1, schedule_interval = $2 WHERE jid = $3",
                &[&name, &interval, &jid.as_str()],
            )?)
        })?;
        if n == 0 {
            return Err(JobCacheError::UnknownJob(jid.clone()));
        }
        Ok(())
    }

    pub fn scheduled_test_runs(&self, minion: &str, limit: usize) -> Result<Vec<ScheduledRun>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // `test` is `args`'s `test` (migration 5), as SQLite's json_extract
        // reads it there.
        let rows = self.run(|c| {
            Ok(c.query(
                "SELECT j.jid, j.schedule, j.schedule_interval, j.started, r.ret, r.retcode
                 FROM brine_jobs j JOIN brine_returns r ON r.jid = j.jid AND r.minion = $1
                 WHERE j.schedule IS NOT NULL AND j.test
                 ORDER BY j.jid DESC LIMIT $2",
                &[&minion, &limit],
            )?)
        })?;
        rows.iter()
            .map(|r| {
                Ok(ScheduledRun {
                    jid: jid_column(r.get(0))?,
                    schedule: r.get(1),
                    interval_secs: r.get::<_, Option<i64>>(2).map_or(0, |i| i.max(0) as u64),
                    started: r.get(3),
                    ret: from_json("ret", r.get(4))?,
                    retcode: r.get(5),
                })
            })
            .collect()
    }

    pub fn prune(&self, keep_hours: u64) -> Result<usize> {
        let Some(cutoff) = super::prune_cutoff(keep_hours) else {
            return Ok(0);
        };
        self.run(|c| {
            Ok(c.execute("DELETE FROM brine_jobs WHERE started < $1", &[&cutoff])? as usize)
        })
    }
}

fn job_exists(c: &mut impl postgres::GenericClient, jid: &Jid) -> Result<bool> {
    Ok(
        c.query_opt("SELECT 1 FROM brine_jobs WHERE jid = $1", &[&jid.as_str()])?
            .is_some(),
    )
}

/// A jid read back from the store: only valid ones are written, so a bad one
/// is a damaged store and fails the read.
fn jid_column(s: String) -> Result<Jid> {
    Jid::try_from(s).map_err(|e| JobCacheError::BadJid(e.to_string()))
}

#[cfg(test)]
impl PgJobCache {
    /// Every job's returns, counted (to see that pruning removed them).
    pub(super) fn count_returns(&self) -> Result<i64> {
        self.run(|c| {
            Ok(c.query_one("SELECT count(*) FROM brine_returns", &[])?
                .get(0))
        })
    }
}
