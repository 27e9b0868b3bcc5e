use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::json;

use super::*;

/// What keeps a cache under test alive: its SQLite file's dir, or its own
/// PostgreSQL server.
enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(::tests::postgres::Postgres),
}

impl Store {
    /// The cache (again, as after a restart of master `a`).
    fn open(&self) -> JobCache {
        match self {
            Store::Sqlite(dir) => JobCache::open(&dir.path().join("cache/jobs.sqlite")).unwrap(),
            Store::Postgres(pg) => JobCache::open_postgres(&pg.dsn(), "master-a").unwrap(),
        }
    }
}

fn sqlite_store() -> Store {
    Store::Sqlite(tempfile::tempdir().unwrap())
}

fn postgres_store() -> Store {
    Store::Postgres(::tests::postgres::Postgres::start())
}

fn cache() -> (tempfile::TempDir, JobCache) {
    let dir = tempfile::tempdir().unwrap();
    let c = JobCache::open(&dir.path().join("cache/jobs.sqlite")).unwrap();
    (dir, c)
}

fn sqlite(c: &JobCache) -> &SqliteJobCache {
    match c {
        JobCache::Sqlite(s) => s,
        JobCache::Postgres(_) => unreachable!("an SQLite test"),
    }
}

/// How many returns the store holds, for any job.
fn returns_count(c: &JobCache) -> i64 {
    match c {
        JobCache::Sqlite(s) => s
            .conn()
            .query_row("SELECT count(*) FROM returns", [], |r| r.get(0))
            .unwrap(),
        JobCache::Postgres(p) => p.count_returns().unwrap(),
    }
}

/// Each test `fn name(store: Store)` runs as `name::sqlite` and `name::postgres`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(super::sqlite_store());
            }
            #[test]
            fn postgres() {
                super::$name(super::postgres_store());
            }
        }
    )*};
}

on_both_stores!(
    jids_are_salt_shaped_and_strictly_increasing,
    a_duplicate_return_is_ignored,
    returns_and_jobs_are_checked,
    show_lists_missing_minions_and_keeps_json_order,
    active_list_and_finish,
    jobs_orphaned_by_a_dead_master_are_finished_and_still_take_late_returns,
    prune_removes_old_jobs_and_their_returns,
    a_batch_of_returns_is_recorded_once_each,
    a_late_return_counts_only_for_an_expected_minion_that_has_not_returned,
    scheduled_test_runs_are_a_minions_scheduled_dry_runs_newest_first,
);

fn job(c: &JobCache, expected: &[&str], started: i64) -> JobRecord {
    let rec = JobRecord {
        jid: c.new_jid().unwrap(),
        operator: "alice".into(),
        target: "web*".into(),
        tgt_type: "glob".into(),
        function: "test.ping".into(),
        args: json!({"args": [], "kwargs": {"b": 1, "a": 2}}),
        saltenv: "base".into(),
        pillarenv: None,
        expected: expected.iter().map(|s| s.to_string()).collect(),
        started,
        finished: None,
        tree_commit: None,
        pillar_commit: None,
    };
    c.record_job(&rec).unwrap();
    rec
}

fn jids_are_salt_shaped_and_strictly_increasing(store: Store) {
    let c = store.open();
    let jids: Vec<Jid> = (0..1000).map(|_| c.new_jid().unwrap()).collect();
    for w in jids.windows(2) {
        assert!(w[0] < w[1], "{} !< {}", w[0], w[1]);
    }
    for j in &jids {
        assert!(Jid::is_valid(j.as_str()), "{j}");
        assert!(j.as_str().starts_with("20"), "{j}");
    }
}

#[test]
fn jids_keep_increasing_after_reopen_even_with_a_future_jid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    let c = JobCache::open(&path).unwrap();
    let mut rec = job(&c, &[], now_ms());
    rec.jid = "29990101000000000000".parse().unwrap();
    c.record_job(&rec).unwrap();
    drop(c);
    let c = JobCache::open(&path).unwrap();
    assert_eq!(c.new_jid().unwrap(), "29990101000000000001");
}

fn a_duplicate_return_is_ignored(store: Store) {
    let c = store.open();
    let rec = job(&c, &["web01"], now_ms());
    assert!(c
        .record_return(&rec.jid, "web01", true, 0, &json!(true))
        .unwrap());
    assert!(!c
        .record_return(&rec.jid, "web01", false, 1, &json!("forged"))
        .unwrap());
    let d = c.show(&rec.jid).unwrap().unwrap();
    assert_eq!(d.returns.len(), 1);
    assert_eq!((d.returns[0].success, d.returns[0].retcode), (true, 0));
    assert_eq!(d.returns[0].ret, json!(true));
}

fn returns_and_jobs_are_checked(store: Store) {
    let c = store.open();
    let rec = job(&c, &["a"], now_ms());
    assert!(matches!(
        c.record_job(&rec),
        Err(JobCacheError::DuplicateJob(_))
    ));
    let unknown = &Jid::parse("20000101000000000000").unwrap();
    assert!(matches!(
        c.record_return(unknown, "a", true, 0, &json!(1)),
        Err(JobCacheError::UnknownJob(_))
    ));
    assert!(matches!(
        c.finish_job(unknown),
        Err(JobCacheError::UnknownJob(_))
    ));
    assert_eq!(c.show(unknown).unwrap(), None);
    // The cache takes only a `Jid`, which these cannot become.
    for bad in ["../../etc/passwd", "1", "2026112410101012345x"] {
        assert!(Jid::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_malformed_jid_in_the_file_fails_the_read() {
    let (_d, c) = cache();
    job(&c, &["a"], now_ms());
    sqlite(&c)
        .conn()
        .execute(
            "INSERT INTO jobs (jid, operator, target, tgt_type, function, args, expected, started)
             VALUES ('../x', 'o', '*', 'glob', 'test.ping', '{}', '[]', 0)",
            [],
        )
        .unwrap();
    let e = c.list_jobs(10).unwrap_err().to_string();
    assert!(e.contains("invalid job id \"../x\""), "{e}");
}

fn show_lists_missing_minions_and_keeps_json_order(store: Store) {
    let c = store.open();
    let rec = job(&c, &["web03", "web01", "web02"], now_ms());
    c.record_return(&rec.jid, "web02", false, 2, &json!({"z": 1, "a": [1, 2]}))
        .unwrap();
    let d = c.show(&rec.jid).unwrap().unwrap();
    assert_eq!(d.record, rec);
    assert_eq!(d.missing, ["web03", "web01"]);
    assert_eq!(d.returns[0].minion, "web02");
    assert_eq!(
        serde_json::to_string(&d.returns[0].ret).unwrap(),
        r#"{"z":1,"a":[1,2]}"#
    );
    assert_eq!(
        serde_json::to_string(&d.record.args).unwrap(),
        r#"{"args":[],"kwargs":{"b":1,"a":2}}"#
    );
}

fn active_list_and_finish(store: Store) {
    let c = store.open();
    let a = job(&c, &["x", "y"], now_ms());
    let b = job(&c, &["x"], now_ms());
    c.record_return(&a.jid, "x", true, 0, &json!(true)).unwrap();
    let active: Vec<Jid> = c.active().unwrap().into_iter().map(|s| s.jid).collect();
    assert_eq!(active, [a.jid.clone(), b.jid.clone()]);
    c.finish_job(&a.jid).unwrap();
    let first = c.show(&a.jid).unwrap().unwrap().record.finished.unwrap();
    c.finish_job(&a.jid).unwrap();
    assert_eq!(
        c.show(&a.jid).unwrap().unwrap().record.finished,
        Some(first)
    );
    let active: Vec<Jid> = c.active().unwrap().into_iter().map(|s| s.jid).collect();
    assert_eq!(active, std::slice::from_ref(&b.jid));
    let list = c.list_jobs(10).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].jid, b.jid); // newest first
    assert_eq!((list[1].expected, list[1].returned), (2, 1));
    assert!(list[1].finished.is_some());
    assert_eq!(c.list_jobs(1).unwrap().len(), 1);
}

fn jobs_orphaned_by_a_dead_master_are_finished_and_still_take_late_returns(store: Store) {
    let c = store.open();
    let done = job(&c, &["a"], now_ms());
    c.finish_job(&done.jid).unwrap();
    let finished = c.show(&done.jid).unwrap().unwrap().record.finished;
    let orphan = job(&c, &["a", "b"], now_ms());
    drop(c);
    let c = store.open();
    assert_eq!(c.finish_orphaned().unwrap(), 1);
    assert!(c.active().unwrap().is_empty());
    assert_eq!(
        c.show(&done.jid).unwrap().unwrap().record.finished,
        finished
    );
    assert!(c
        .record_return(&orphan.jid, "b", true, 0, &json!(true))
        .unwrap());
    assert_eq!(c.show(&orphan.jid).unwrap().unwrap().missing, ["a"]);
    assert_eq!(c.finish_orphaned().unwrap(), 0);
}

#[test]
fn survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    let c = JobCache::open(&path).unwrap();
    let rec = job(&c, &["a", "b"], now_ms());
    c.record_return(&rec.jid, "a", true, 0, &json!({"ok": true}))
        .unwrap();
    drop(c);
    let c = JobCache::open(&path).unwrap();
    let d = c.show(&rec.jid).unwrap().unwrap();
    assert_eq!(d.missing, ["b"]);
    assert_eq!(d.returns[0].ret, json!({"ok": true}));
    assert!(!c
        .record_return(&rec.jid, "a", false, 1, &json!(null))
        .unwrap());
    assert!(c.new_jid().unwrap() > rec.jid);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

fn prune_removes_old_jobs_and_their_returns(store: Store) {
    let c = store.open();
    let hour = 3_600_000;
    let old = job(&c, &["a"], now_ms() - 48 * hour);
    let new = job(&c, &["a"], now_ms() - hour);
    c.record_return(&old.jid, "a", true, 0, &json!(1)).unwrap();
    c.record_return(&new.jid, "a", true, 0, &json!(1)).unwrap();
    assert_eq!(c.prune(0).unwrap(), 0); // keep_jobs: 0 keeps everything
    assert_eq!(c.prune(24).unwrap(), 1);
    assert_eq!(c.show(&old.jid).unwrap(), None);
    assert!(c.show(&new.jid).unwrap().is_some());
    assert_eq!(returns_count(&c), 1);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    drop(JobCache::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    assert!(matches!(
        JobCache::open(&path),
        Err(JobCacheError::Schema { .. })
    ));
}

fn a_batch_of_returns_is_recorded_once_each(store: Store) {
    let c = store.open();
    let rec = job(&c, &["a", "b"], 1);
    let ok = json!(true);
    let r = |minion| NewReturn {
        minion,
        success: true,
        retcode: 0,
        ret: &ok,
    };
    assert_eq!(
        c.record_returns(&rec.jid, &[r("a"), r("b"), r("a")])
            .unwrap(),
        vec![true, true, false]
    );
    let shown = c.show(&rec.jid).unwrap().unwrap();
    assert_eq!(shown.returns.len(), 2);
}

fn a_late_return_counts_only_for_an_expected_minion_that_has_not_returned(store: Store) {
    let c = store.open();
    let rec = job(&c, &["web01", "web02"], 1);
    let ok = json!(true);
    let r = |minion| NewReturn {
        minion,
        success: true,
        retcode: 0,
        ret: &ok,
    };
    let wanted = |minions: &[&str]| c.late_returns_wanted(&rec.jid, minions).unwrap();
    let from_the_job = |wanted: &[bool]| LateReturns::Job {
        saltenv: rec.saltenv.clone(),
        pillarenv: rec.pillarenv.clone(),
        wanted: wanted.to_vec(),
    };
    // A minion the job does not expect, and one twice in the batch: wanted
    // once.
    assert_eq!(
        wanted(&["web02", "intruder", "web02"]),
        from_the_job(&[true, false, false])
    );
    assert_eq!(
        c.record_late_returns(&rec.jid, &[r("intruder"), r("web0"), r("web02")])
            .unwrap(),
        [false, false, true]
    );
    assert_eq!(wanted(&["web02", "web01"]), from_the_job(&[false, true]));
    assert_eq!(
        c.record_late_returns(&rec.jid, &[r("web02")]).unwrap(),
        [false]
    );
    let shown = c.show(&rec.jid).unwrap().unwrap();
    assert_eq!(shown.returns.len(), 1);
    let unknown = Jid::parse("20261206180612689706").unwrap();
    assert_eq!(
        c.late_returns_wanted(&unknown, &["web01"]).unwrap(),
        LateReturns::UnknownJob
    );
    assert_eq!(
        c.record_late_returns(&unknown, &[r("web01")]).unwrap(),
        [false]
    );
}

/// The jobs table as a version 1 master made it, before saltenv and
/// pillarenv were recorded.
const SCHEMA_V1: &str = "
CREATE TABLE jobs (
    jid      TEXT PRIMARY KEY NOT NULL,
    operator TEXT NOT NULL,
    target   TEXT NOT NULL,
    tgt_type TEXT NOT NULL,
    function TEXT NOT NULL,
    args     TEXT NOT NULL,
    expected TEXT NOT NULL,
    started  INTEGER NOT NULL,
    finished INTEGER
);
CREATE INDEX jobs_started ON jobs(started);
CREATE INDEX jobs_active ON jobs(jid) WHERE finished IS NULL;
CREATE TABLE returns (
    jid      TEXT NOT NULL REFERENCES jobs(jid) ON DELETE CASCADE,
    minion   TEXT NOT NULL,
    success  INTEGER NOT NULL,
    retcode  INTEGER NOT NULL,
    ret      TEXT NOT NULL,
    returned INTEGER NOT NULL,
    PRIMARY KEY (jid, minion)
) WITHOUT ROWID;
INSERT INTO jobs VALUES ('20250101000000000001', 'alice', '*', 'glob', 'state.apply',
    '{\"sls\": [], \"test\": false}', '[\"web01\"]', 1, 2);
INSERT INTO returns VALUES ('20250101000000000001', 'web01', 1, 0, 'true', 2);
PRAGMA user_version = 1;
";

#[test]
fn job_env_columns_are_added_in_place_to_a_version_1_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.sqlite");
    Connection::open(&path)
        .unwrap()
        .execute_batch(SCHEMA_V1)
        .unwrap();
    let old: Jid = "20250101000000000001".parse().unwrap();
    for _ in 0..2 {
        // Opening twice: the migration is idempotent.
        let c = JobCache::open(&path).unwrap();
        let d = c.show(&old).unwrap().unwrap();
        assert_eq!(d.record.saltenv, "base");
        assert_eq!(d.record.pillarenv, None);
        assert_eq!(d.returns.len(), 1);
        assert_eq!(c.list_jobs(10).unwrap()[0].saltenv, "base");
    }
    let c = JobCache::open(&path).unwrap();
    let mut rec = job(&c, &["web01"], now_ms());
    rec.jid = c.new_jid().unwrap();
    rec.saltenv = "prod".into();
    rec.pillarenv = Some("stage".into());
    rec.tree_commit = Some(json!({"states": {"prod": "a".repeat(40)}}));
    rec.pillar_commit = Some(json!({"pillar": {"base": "b".repeat(40)}}));
    c.record_job(&rec).unwrap();
    let d = c.show(&rec.jid).unwrap().unwrap();
    assert_eq!(
        (d.record.saltenv.as_str(), d.record.pillarenv.as_deref()),
        ("prod", Some("stage"))
    );
    // The git commits a job compiled from (gitfs), added in place too.
    assert_eq!(d.record.tree_commit, rec.tree_commit);
    assert_eq!(d.record.pillar_commit, rec.pillar_commit);
    let old_job = c.show(&old).unwrap().unwrap();
    assert_eq!(
        (old_job.record.tree_commit, old_job.record.pillar_commit),
        (None, None)
    );
    let list = c.list_jobs(10).unwrap();
    assert_eq!(list[0].jid, rec.jid);
    assert_eq!(list[0].pillarenv.as_deref(), Some("stage"));
    let version: i64 = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

/// A scheduled run is marked with its schedule entry and interval; drift
/// reads only a minion's scheduled test-mode runs with a return, newest
/// first.
fn scheduled_test_runs_are_a_minions_scheduled_dry_runs_newest_first(store: Store) {
    let c = store.open();
    let dry = |test: bool, schedule: Option<&str>, minion: &str| {
        let mut rec = job(&c, &[minion], now_ms());
        rec.jid = c.new_jid().unwrap();
        rec.function = "state.apply".into();
        rec.args = json!({"sls": [], "test": test});
        c.record_job(&rec).unwrap();
        if let Some(name) = schedule {
            c.mark_scheduled(&rec.jid, name, 60).unwrap();
        }
        c.record_return(&rec.jid, minion, true, 0, &json!({"k": {"result": null}}))
            .unwrap();
        rec.jid
    };
    let older = dry(true, Some("drift"), "web1");
    dry(false, Some("enforce"), "web1");
    dry(true, None, "web1");
    dry(true, Some("drift"), "web2");
    let newer = dry(true, Some("drift"), "web1");
    // A pillar override with YAML's `.inf` makes args JSON text that
    // PostgreSQL's jsonb does not read (`Infinity`): the run is still found.
    let mut rec = job(&c, &["web1"], now_ms());
    rec.jid = c.new_jid().unwrap();
    rec.args = json!({"sls": [], "test": true, "pillar": {"limit": f64::INFINITY}});
    c.record_job(&rec).unwrap();
    c.mark_scheduled(&rec.jid, "drift", 60).unwrap();
    c.record_return(&rec.jid, "web1", true, 0, &json!({}))
        .unwrap();
    let newest = rec.jid;
    assert!(
        c.show(&newest).unwrap().unwrap().record.args["pillar"]["limit"]
            .as_f64()
            .is_some_and(f64::is_infinite)
    );
    let runs = c.scheduled_test_runs("web1", 10).unwrap();
    let jids: Vec<&Jid> = runs.iter().map(|r| &r.jid).collect();
    assert_eq!(jids, vec![&newest, &newer, &older]);
    let runs = c.scheduled_test_runs("web1", 10).unwrap()[1..].to_vec();
    assert_eq!(runs[0].schedule, "drift");
    assert_eq!(runs[0].interval_secs, 60);
    assert_eq!(runs[0].ret, json!({"k": {"result": null}}));
    let listed = c.list_jobs(10).unwrap();
    assert_eq!(listed[0].schedule.as_deref(), Some("drift"));
    assert_eq!(
        c.show(&newer).unwrap().unwrap().schedule.as_deref(),
        Some("drift")
    );
    let unknown: Jid = "20990101000000000000".parse().unwrap();
    assert!(c.mark_scheduled(&unknown, "x", 1).is_err());
}

/// Two masters sharing one PostgreSQL: each sees the other's jobs and
/// returns, their jids never collide, and a restart finishes only the
/// restarted master's own running jobs.
#[test]
fn two_masters_share_one_postgres_job_cache() {
    let pg = ::tests::postgres::Postgres::start();
    let a = JobCache::open_postgres(&pg.dsn(), "master-a").unwrap();
    let b = JobCache::open_postgres(&pg.dsn(), "master-b").unwrap();
    let from_a = job(&a, &["web01", "web02"], now_ms());
    assert!(b
        .record_return(&from_a.jid, "web02", true, 0, &json!({"ok": 1}))
        .unwrap());
    let shown = b.show(&from_a.jid).unwrap().unwrap();
    assert_eq!(shown.record, from_a);
    assert_eq!(shown.missing, ["web01"]);
    assert_eq!(a.show(&from_a.jid).unwrap().unwrap().returns, shown.returns);
    let from_b = job(&b, &["web01"], now_ms());
    let listed: Vec<Jid> = a.active().unwrap().into_iter().map(|s| s.jid).collect();
    assert_eq!(listed, [from_a.jid.clone(), from_b.jid.clone()]);

    // Both hand out jids at once, as fast as they can: all distinct.
    let jids = std::thread::scope(|s| {
        let ta = s.spawn(|| (0..300).map(|_| a.new_jid().unwrap()).collect::<Vec<_>>());
        let tb = s.spawn(|| (0..300).map(|_| b.new_jid().unwrap()).collect::<Vec<_>>());
        let mut all = ta.join().unwrap();
        all.extend(tb.join().unwrap());
        all
    });
    let distinct: std::collections::HashSet<&Jid> = jids.iter().collect();
    assert_eq!(distinct.len(), 600);

    // Master a restarts: its job is finished, b's still runs.
    drop(a);
    let a = JobCache::open_postgres(&pg.dsn(), "master-a").unwrap();
    assert_eq!(a.finish_orphaned().unwrap(), 1);
    let active: Vec<Jid> = b.active().unwrap().into_iter().map(|s| s.jid).collect();
    assert_eq!(active, [from_b.jid]);
}

/// A job whose master died, all of its returns taken late by another
/// master: over, though no master would finish it.
#[test]
fn a_dead_masters_job_is_finished_once_its_last_return_comes_late() {
    let pg = ::tests::postgres::Postgres::start();
    let a = JobCache::open_postgres(&pg.dsn(), "master-a").unwrap();
    let b = JobCache::open_postgres(&pg.dsn(), "master-b").unwrap();
    let from_a = job(&a, &["web01", "web02"], now_ms());
    drop(a);
    let ok = json!(true);
    let late = |minion| NewReturn {
        minion,
        success: true,
        retcode: 0,
        ret: &ok,
    };
    assert_eq!(
        b.record_late_returns(&from_a.jid, &[late("web01")])
            .unwrap(),
        [true]
    );
    let active: Vec<Jid> = b.active().unwrap().into_iter().map(|s| s.jid).collect();
    assert_eq!(active, std::slice::from_ref(&from_a.jid));
    assert_eq!(
        b.record_late_returns(&from_a.jid, &[late("web02")])
            .unwrap(),
        [true]
    );
    assert!(b.active().unwrap().is_empty());
    let shown = b.show(&from_a.jid).unwrap().unwrap();
    assert!(shown.record.finished.is_some());
    assert!(shown.missing.is_empty());
}

/// A master gone from the store (no connection of its own there) at two
/// looks in a row: the others finish its running jobs, never a live
/// master's, nor their own.
#[test]
fn the_running_jobs_of_a_master_gone_from_the_store_are_finished_by_the_others() {
    let pg = ::tests::postgres::Postgres::start();
    let a = JobCache::open_postgres(&pg.dsn(), "master-a").unwrap();
    let b = JobCache::open_postgres(&pg.dsn(), "master-b").unwrap();
    let from_a = job(&a, &["web01"], now_ms());
    let from_b = job(&b, &["web02"], now_ms());
    assert!(b.absent_masters().unwrap().is_empty());
    assert!(a.absent_masters().unwrap().is_empty());
    assert_eq!(b.finish_jobs_of_absent(&["master-a".into()]).unwrap(), 0);
    assert_eq!(b.active().unwrap().len(), 2);

    drop(a);
    // Its backend leaves pg_stat_activity once it has seen the close.
    ::tests::daemons::wait_until(Duration::from_secs(20), "master-a absent", || {
        b.absent_masters().unwrap() == ["master-a"]
    });
    let both = ["master-a".to_string(), "master-b".to_string()];
    assert_eq!(b.finish_jobs_of_absent(&both).unwrap(), 1);
    let active: Vec<Jid> = b.active().unwrap().into_iter().map(|s| s.jid).collect();
    assert_eq!(active, [from_b.jid]);
    assert!(b
        .show(&from_a.jid)
        .unwrap()
        .unwrap()
        .record
        .finished
        .is_some());
    assert!(b.absent_masters().unwrap().is_empty());
    // The SQLite cache has no other masters.
    let (_dir, sqlite) = cache();
    assert!(sqlite.absent_masters().unwrap().is_empty());
}
