//! The embedded job cache, the default: one SQLite file, its schema and
//! the migrations of files made by older masters.
use std::collections::HashSet;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use common::data::Value;
use rusqlite::{params, Connection, OptionalExtension};
use transport::wire::Jid;

use super::*;

/// Bumped when the tables change; a newer file is refused rather than misread.
/// 2: `jobs.saltenv` and `jobs.pillarenv` (added in place to a version 1 file).
/// 3: `jobs.schedule` and `jobs.schedule_interval` (a minion's scheduled runs).
/// 4: `jobs.tree_commit` and `jobs.pillar_commit` (added in place).
pub(super) const SCHEMA_VERSION: i64 = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    jid      TEXT PRIMARY KEY NOT NULL,
    operator TEXT NOT NULL,
    target   TEXT NOT NULL,
    tgt_type TEXT NOT NULL,
    function TEXT NOT NULL,
    args     TEXT NOT NULL,   -- JSON
    expected TEXT NOT NULL,   -- JSON list of minion ids
    started  INTEGER NOT NULL, -- unix ms
    finished INTEGER,          -- unix ms; NULL while the job runs
    saltenv  TEXT NOT NULL DEFAULT 'base',
    pillarenv TEXT,            -- NULL: the pillar merged from every pillarenv
    tree_commit TEXT,          -- JSON {remote: {saltenv: commit}}; NULL: no git
    pillar_commit TEXT         -- JSON {remote: {pillarenv: commit}}; NULL: no git_pillar
);
CREATE INDEX IF NOT EXISTS jobs_started ON jobs(started);
CREATE INDEX IF NOT EXISTS jobs_active ON jobs(jid) WHERE finished IS NULL;
CREATE TABLE IF NOT EXISTS returns (
    jid      TEXT NOT NULL REFERENCES jobs(jid) ON DELETE CASCADE,
    minion   TEXT NOT NULL,
    success  INTEGER NOT NULL,
    retcode  INTEGER NOT NULL,
    ret      TEXT NOT NULL,    -- JSON
    returned INTEGER NOT NULL, -- unix ms
    PRIMARY KEY (jid, minion)
) WITHOUT ROWID;
";

/// Columns added to `jobs` since version 1, in the order they were added:
/// a file made by an older master gets them in place (idempotent: a column
/// already there is left alone). A version 1 master served saltenv `base`.
const ADDED_JOB_COLUMNS: &[(&str, &str)] = &[
    ("saltenv", "TEXT NOT NULL DEFAULT 'base'"),
    ("pillarenv", "TEXT"),
    // The minion's `schedule` entry that started the job; NULL otherwise.
    ("schedule", "TEXT"),
    // That entry's interval in seconds, for `master drift`'s staleness.
    ("schedule_interval", "INTEGER"),
    ("tree_commit", "TEXT"),
    ("pillar_commit", "TEXT"),
];

/// Adds to `jobs` the columns a file made by an older master lacks.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('jobs')")?;
    let have: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, decl) in ADDED_JOB_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE jobs ADD COLUMN {name} {decl}"))?;
        }
    }
    Ok(())
}

/// The open SQLite cache.
#[derive(Debug)]
pub struct SqliteJobCache {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The last jid handed out, in µs since the epoch.
    last_jid: Mutex<i64>,
}

impl SqliteJobCache {
    /// Opens (creating if needed) the cache file and its directory (0700; the
    /// file 0600, since returns can carry secrets from pillar).
    pub fn open(path: &Path) -> Result<SqliteJobCache> {
        let io = |source| JobCacheError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let open_err = |source| JobCacheError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        // SQLite gives the -wal and -shm files the database file's mode.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if found > SCHEMA_VERSION {
            return Err(JobCacheError::Schema {
                path: path.to_path_buf(),
                found,
            });
        }
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        migrate(&conn).map_err(open_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(open_err)?;
        // Jids keep increasing across restarts, even if the clock stepped back.
        let last: Option<String> = conn
            .query_row("SELECT max(jid) FROM jobs", [], |r| r.get(0))
            .map_err(open_err)?;
        let last = last.as_deref().and_then(jid::parse_jid).unwrap_or(0);
        Ok(SqliteJobCache {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            last_jid: Mutex::new(last),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new job id: now in UTC, or one microsecond after the last one handed
    /// out if the clock has not moved past it, so ids are strictly increasing.
    pub fn new_jid(&self) -> Jid {
        let mut last = self.last_jid.lock().unwrap_or_else(|e| e.into_inner());
        *last = jid::now_micros().max(*last + 1);
        jid::format_jid(*last)
    }

    /// Records a new job; a jid already recorded is refused (no replays).
    pub fn record_job(&self, job: &JobRecord) -> Result<()> {
        let args = to_json("args", &job.args)?;
        let expected = to_json("expected minions", &job.expected)?;
        let tree_commit = job
            .tree_commit
            .as_ref()
            .map(|v| to_json("tree commit", v))
            .transpose()?;
        let pillar_commit = job
            .pillar_commit
            .as_ref()
            .map(|v| to_json("pillar commit", v))
            .transpose()?;
        let res = self.conn().execute(
            "INSERT INTO jobs (jid, operator, target, tgt_type, function, args, expected, started,
                               finished, saltenv, pillarenv, tree_commit, pillar_commit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                job.jid.as_str(),
                job.operator,
                job.target,
                job.tgt_type,
                job.function,
                args,
                expected,
                job.started,
                job.finished,
                job.saltenv,
                job.pillarenv,
                tree_commit,
                pillar_commit
            ],
        );
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(JobCacheError::DuplicateJob(job.jid.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records many returns of one job in one transaction (a fleet's
    /// returns arrive by the thousand); for each, whether it was new.
    pub fn record_returns(&self, jid: &Jid, returns: &[NewReturn<'_>]) -> Result<Vec<bool>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if !job_exists(&tx, jid)? {
            return Err(JobCacheError::UnknownJob(jid.clone()));
        }
        let now = now_ms();
        let mut added = Vec::with_capacity(returns.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO returns (jid, minion, success, retcode, ret, returned)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in returns {
                let ret = to_json("ret", r.ret)?;
                let n = insert.execute(params![
                    jid.as_str(),
                    r.minion,
                    r.success,
                    r.retcode,
                    ret,
                    now
                ])?;
                added.push(n == 1);
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Which of `minions`' late returns for `jid` would be recorded: the
    /// job's row and those minions' returns only (a job's returns may be
    /// 10,000).
    pub fn late_returns_wanted(&self, jid: &Jid, minions: &[&str]) -> Result<LateReturns> {
        let conn = self.conn();
        let row: Option<(String, Option<String>, String)> = conn
            .query_row(
                "SELECT saltenv, pillarenv, expected FROM jobs WHERE jid = ?1",
                params![jid.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((saltenv, pillarenv, expected)) = row else {
            return Ok(LateReturns::UnknownJob);
        };
        let mut returned_stmt =
            conn.prepare_cached("SELECT 1 FROM returns WHERE jid = ?1 AND minion = ?2")?;
        let mut returned = HashSet::new();
        for m in minions {
            if returned_stmt.exists(params![jid.as_str(), m])? {
                returned.insert(m.to_string());
            }
        }
        Ok(LateReturns::Job {
            saltenv,
            pillarenv,
            wanted: late_wanted(&expected, &returned, minions)?,
        })
    }

    /// Records returns that arrived after their publish stopped waiting (the
    /// deadline passed, or the master restarted): only those of minions the
    /// job expects. Whether each was recorded (not when unexpected, or when
    /// that minion had returned).
    pub fn record_late_returns(&self, jid: &Jid, returns: &[NewReturn<'_>]) -> Result<Vec<bool>> {
        let expected: Option<String> = self
            .conn()
            .query_row(
                "SELECT expected FROM jobs WHERE jid = ?1",
                params![jid.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        match expected {
            Some(expected) => {
                record_expected(returns, &expected, |rows| self.record_returns(jid, rows))
            }
            None => Ok(vec![false; returns.len()]),
        }
    }

    /// A job's function and recorded arguments (the event of a late return
    /// names them as a live one does).
    pub fn function_and_args(&self, jid: &Jid) -> Result<Option<(String, Value)>> {
        let row = self
            .conn()
            .query_row(
                "SELECT function, args FROM jobs WHERE jid = ?1",
                [jid.as_str()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        Ok(row
            .map(|(function, args)| (function, serde_json::from_str(&args).unwrap_or(Value::Null))))
    }

    /// Marks the job finished now (a second call keeps the first time).
    pub fn finish_job(&self, jid: &Jid) -> Result<()> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE jobs SET finished = ?1 WHERE jid = ?2 AND finished IS NULL",
            params![now_ms(), jid.as_str()],
        )?;
        if n == 0 && !job_exists(&conn, jid)? {
            return Err(JobCacheError::UnknownJob(jid.clone()));
        }
        Ok(())
    }

    /// Marks every job still running finished now, and says how many: at
    /// start, the jobs a previous master process was waiting on when it died,
    /// which nothing waits on any more. Their late returns are still recorded.
    pub fn finish_orphaned(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE jobs SET finished = ?1 WHERE finished IS NULL",
            params![now_ms()],
        )?)
    }

    /// Moves every committed transaction from the write-ahead log into the
    /// database file and syncs it: with `synchronous = NORMAL` a commit is
    /// safe from a crash of the master but not yet from one of the host. Run
    /// when the master stops.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// The newest `limit` jobs, newest first.
    pub fn list_jobs(&self, limit: usize) -> Result<Vec<JobSummary>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.summaries("1 ORDER BY j.jid DESC LIMIT ?1", params![limit])
    }

    /// Jobs not finished yet, oldest first.
    pub fn active(&self) -> Result<Vec<JobSummary>> {
        self.summaries("j.finished IS NULL ORDER BY j.jid", params![])
    }

    fn summaries(&self, tail: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<JobSummary>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT j.jid, j.operator, j.target, j.tgt_type, j.function, j.started, j.finished,
                    json_array_length(j.expected),
                    (SELECT count(*) FROM returns r WHERE r.jid = j.jid),
                    j.saltenv, j.pillarenv, j.schedule
             FROM jobs j WHERE {tail}"
        ))?;
        let rows = stmt.query_map(p, |r| {
            Ok(JobSummary {
                jid: jid_column(r, 0)?,
                operator: r.get(1)?,
                target: r.get(2)?,
                tgt_type: r.get(3)?,
                function: r.get(4)?,
                saltenv: r.get(9)?,
                pillarenv: r.get(10)?,
                started: r.get(5)?,
                finished: r.get(6)?,
                expected: r.get::<_, i64>(7)? as usize,
                returned: r.get::<_, i64>(8)? as usize,
                schedule: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The job, its returns and its missing minions; `None` if unknown.
    pub fn show(&self, jid: &Jid) -> Result<Option<JobDetail>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT operator, target, tgt_type, function, args, expected, started, finished,
                        saltenv, pillarenv, schedule, tree_commit, pillar_commit
                 FROM jobs WHERE jid = ?1",
                [jid.as_str()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, Option<String>>(10)?,
                        r.get::<_, Option<String>>(11)?,
                        r.get::<_, Option<String>>(12)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            operator,
            target,
            tgt_type,
            function,
            args,
            expected,
            started,
            finished,
            saltenv,
            pillarenv,
            schedule,
            tree_commit,
            pillar_commit,
        )) = row
        else {
            return Ok(None);
        };
        let record = JobRecord {
            jid: jid.clone(),
            operator,
            target,
            tgt_type,
            function,
            args: from_json("args", &args)?,
            saltenv,
            pillarenv,
            expected: from_json("expected minions", &expected)?,
            started,
            finished,
            tree_commit: tree_commit
                .map(|t| from_json("tree commit", &t))
                .transpose()?,
            pillar_commit: pillar_commit
                .map(|t| from_json("pillar commit", &t))
                .transpose()?,
        };
        let mut stmt = conn.prepare_cached(
            "SELECT minion, success, retcode, ret, returned FROM returns
             WHERE jid = ?1 ORDER BY minion",
        )?;
        let raw = stmt
            .query_map([jid.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, i32>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut returns = Vec::with_capacity(raw.len());
        for (minion, success, retcode, ret, returned) in raw {
            returns.push(MinionReturn {
                minion,
                success,
                retcode,
                ret: from_json("ret", &ret)?,
                returned,
            });
        }
        Ok(Some(detail(record, schedule, returns)))
    }

    /// Marks a recorded job as a run of `minion`'s schedule entry `name`,
    /// which runs every `interval_secs`.
    pub fn mark_scheduled(&self, jid: &Jid, name: &str, interval_secs: u64) -> Result<()> {
        let interval = i64::try_from(interval_secs).unwrap_or(i64::MAX);
        let n = self.conn().execute(
            "UPDATE jobs SET schedule = ?1, schedule_interval = ?2 WHERE jid = ?3",
            params![name, interval, jid.as_str()],
        )?;
        if n == 0 {
            return Err(JobCacheError::UnknownJob(jid.clone()));
        }
        Ok(())
    }

    /// `minion`'s scheduled test-mode runs that returned, newest first, at
    /// most `limit` (what `master drift` judges).
    pub fn scheduled_test_runs(&self, minion: &str, limit: usize) -> Result<Vec<ScheduledRun>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT j.jid, j.schedule, j.schedule_interval, j.started, r.ret, r.retcode
             FROM jobs j JOIN returns r ON r.jid = j.jid AND r.minion = ?1
             WHERE j.schedule IS NOT NULL AND json_extract(j.args, '$.test') = 1
             ORDER BY j.jid DESC LIMIT ?2",
        )?;
        let raw = stmt
            .query_map(params![minion, limit], |r| {
                Ok((
                    jid_column(r, 0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i32>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .map(|(jid, schedule, interval, started, ret, retcode)| {
                Ok(ScheduledRun {
                    jid,
                    schedule,
                    interval_secs: interval.map_or(0, |i| i.max(0) as u64),
                    started,
                    ret: from_json("ret", &ret)?,
                    retcode,
                })
            })
            .collect()
    }

    /// Removes jobs (and their returns) started more than `keep_hours` ago;
    /// returns how many jobs went. `0` keeps everything, as Salt's `keep_jobs: 0`.
    pub fn prune(&self, keep_hours: u64) -> Result<usize> {
        let Some(cutoff) = prune_cutoff(keep_hours) else {
            return Ok(0);
        };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM returns WHERE jid IN (SELECT jid FROM jobs WHERE started < ?1)",
            [cutoff],
        )?;
        let n = tx.execute("DELETE FROM jobs WHERE started < ?1", [cutoff])?;
        tx.commit()?;
        Ok(n)
    }

    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-call leaves no open transaction (it rolls back on drop).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The job with its returns, and the expected minions that did not answer.
fn job_exists(conn: &Connection, jid: &Jid) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM jobs WHERE jid = ?1", [jid.as_str()], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}

/// A jid read back from the cache: only valid ones are ever written, so a
/// bad one is a damaged file and fails the read.
fn jid_column(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Jid> {
    Jid::try_from(row.get::<_, String>(idx)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}
