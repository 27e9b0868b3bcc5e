use super::*;

fn versions(dsn: &str) -> Vec<i32> {
    let mut c = Client::connect(dsn, postgres::NoTls).unwrap();
    c.query("SELECT version FROM brine_schema ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn every_migration() -> Vec<i32> {
    MIGRATIONS.iter().map(|m| m.0).collect()
}

#[test]
fn migrations_are_versioned_and_idempotent() {
    let pg = ::tests::postgres::Postgres::start();
    for _ in 0..2 {
        drop(PgConn::connect(&pg.dsn()).unwrap());
        assert_eq!(versions(&pg.dsn()), every_migration());
    }
    let versions: Vec<i32> = every_migration();
    assert!(versions.windows(2).all(|w| w[0] < w[1]) && versions[0] == 1);
}

#[test]
fn masters_starting_at_once_migrate_once() {
    let pg = ::tests::postgres::Postgres::start();
    let dsn = pg.dsn();
    let conns: Vec<Result<PgConn, PgError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| PgConn::connect(&dsn))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for c in conns {
        c.unwrap();
    }
    assert_eq!(versions(&dsn), every_migration());
}

#[test]
fn a_newer_schema_is_refused() {
    let pg = ::tests::postgres::Postgres::start();
    drop(PgConn::connect(&pg.dsn()).unwrap());
    pg.psql("brine", "INSERT INTO brine_schema (version) VALUES (9999)");
    let e = PgConn::connect(&pg.dsn()).unwrap_err();
    assert!(matches!(e, PgError::Schema { found: 9999, .. }), "{e}");
}

#[test]
fn it_runs_from_inside_an_async_runtime() {
    let pg = ::tests::postgres::Postgres::start();
    let dsn = pg.dsn();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let n: i64 = rt.block_on(async move {
        let c = PgConn::connect(&dsn).unwrap();
        let n = c
            .run(|c| Ok(c.query_one("SELECT 41 + 1::bigint", &[])?.get(0)))
            .unwrap();
        drop(c);
        n
    });
    assert_eq!(n, 42);
}

/// The backend the connection had, as PostgreSQL numbers it.
fn backend_pid(c: &PgConn) -> Result<i32, PgError> {
    c.run(|c| Ok(c.query_one("SELECT pg_backend_pid()", &[])?.get(0)))
}

#[test]
fn a_connection_the_store_closed_is_made_again() {
    let pg = ::tests::postgres::Postgres::start();
    let c = PgConn::connect_as(&pg.dsn(), Some("brine-test")).unwrap();
    let first = backend_pid(&c).unwrap();
    let named = pg.psql(
        "brine",
        &format!("SELECT application_name FROM pg_stat_activity WHERE pid = {first}"),
    );
    assert_eq!(named.trim(), "brine-test");

    // Closed while busy: the call that finds it closed fails, the next one
    // connects again.
    pg.psql("brine", &format!("SELECT pg_terminate_backend({first})"));
    let _found_closed = backend_pid(&c);
    let second = backend_pid(&c).unwrap();
    assert_ne!(first, second);

    // Closed while idle: checked before use, so no call fails.
    pg.psql("brine", &format!("SELECT pg_terminate_backend({second})"));
    std::thread::sleep(CHECK_AFTER_IDLE + std::time::Duration::from_millis(200));
    let third = backend_pid(&c).unwrap();
    assert_ne!(second, third);
}
