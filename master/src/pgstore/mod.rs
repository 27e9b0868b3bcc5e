//! The PostgreSQL store that several masters share (issue 13): a connection
//! usable from blocking and async code alike, and the schema migrations every
//! master applies at start.
//!
//! The connection is the blocking `postgres` client, without TLS: the store is
//! meant to be reached over a unix socket or loopback (`host=/run/postgresql`);
//! a PostgreSQL on another host belongs behind a local tunnel or pgbouncer.
//! The client drives its own small runtime, which cannot run on a thread of
//! the daemon's: [`PgConn::run`] moves each call to a short-lived thread when
//! it is made from inside a runtime.
pub mod listen;
mod migrations;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use listen::{listen, Heard};
pub use migrations::MIGRATIONS;
pub use postgres::Client;

/// Key of the advisory lock migrations run under (any constant: "brine").
const MIGRATION_LOCK: i64 = 0x62_7269_6e65;

/// Errors of the shared store.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("postgres: schema version {found} is newer than this master's ({known})")]
    Schema { found: i32, known: i32 },
    #[error("postgres: the connection's thread panicked")]
    Panicked,
}

/// One connection to the shared store, made again when it is found closed
/// (PostgreSQL restarted, or the backend was terminated): a restart of the
/// store costs a master at most the call that finds the connection gone,
/// never its job cache or key store for the rest of its life.
pub struct PgConn {
    /// Boxed: it is most of the size of a `PgConn`, which lives in enums.
    config: Box<postgres::Config>,
    client: Mutex<Connected>,
}

struct Connected {
    /// Only `None` while dropped.
    client: Option<Client>,
    last_used: Instant,
}

/// A connection idle this long is checked (one round trip) before it is
/// used: a store that restarted meanwhile closed it, and the blocking
/// client only learns that when it next talks.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);
/// How long that check may take before the connection is made again.
const CHECK_WAIT: Duration = Duration::from_secs(5);

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgConn")
    }
}

impl PgConn {
    /// Connects to `dsn` (a libpq `key=value` string or a `postgresql://`
    /// URL) and brings the schema up to date.
    pub fn connect(dsn: &str) -> Result<PgConn, PgError> {
        Self::connect_as(dsn, None)
    }

    /// As [`PgConn::connect`], the connection named `application_name` (as
    /// `pg_stat_activity` shows it).
    pub fn connect_as(dsn: &str, application_name: Option<&str>) -> Result<PgConn, PgError> {
        let mut config: postgres::Config = dsn.parse()?;
        if let Some(name) = application_name {
            config.application_name(name);
        }
        let first = config.clone();
        let client = off_runtime(move || -> Result<Client, PgError> {
            let mut client = first.connect(postgres::NoTls)?;
            migrate(&mut client)?;
            Ok(client)
        })??;
        Ok(PgConn {
            config: Box::new(config),
            client: Mutex::new(Connected {
                client: Some(client),
                last_used: Instant::now(),
            }),
        })
    }

    /// Runs `f` with the client, off the async runtime if called from it.
    pub fn run<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, PgError> + Send,
    ) -> Result<T, PgError> {
        let mut guard = self.lock();
        let connected: &mut Connected = &mut guard;
        let config = &self.config;
        off_runtime(move || {
            let client = connected
                .client
                .as_mut()
                .expect("the client is only taken on drop");
            let idle = connected.last_used.elapsed() >= CHECK_AFTER_IDLE;
            if client.is_closed() || (idle && client.is_valid(CHECK_WAIT).is_err()) {
                // An error here leaves the closed client: the next call
                // tries again.
                let fresh = config.connect(postgres::NoTls)?;
                connected.client = Some(fresh);
                tracing::info!("connected to the shared store again");
            }
            let client = connected.client.as_mut().expect("just set");
            let out = f(client);
            connected.last_used = Instant::now();
            out
        })?
    }

    /// As [`PgConn::run`], for a closure with its own error type.
    pub fn with<T: Send, E: From<PgError> + Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        let mut out = None;
        self.run(|c| {
            out = Some(f(c));
            Ok(())
        })?;
        out.expect("run calls its closure")
    }

    fn lock(&self) -> MutexGuard<'_, Connected> {
        // A panic mid-call leaves no open transaction (it rolls back on drop).
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        // Dropping the client drops its runtime, which panics on a runtime thread.
        if let Some(client) = self.lock().client.take() {
            let _ = off_runtime(move || drop(client));
        }
    }
}

/// `f()`, on a scoped thread of its own when this thread is a runtime's.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, PgError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(f());
    }
    std::thread::scope(|s| s.spawn(f).join()).map_err(|_| PgError::Panicked)
}

/// Applies the migrations this database lacks, in one transaction under an
/// advisory lock: two masters starting at once apply each exactly once (the
/// second waits, then finds nothing to do). A database migrated by a newer
/// master is refused rather than misread.
pub fn migrate(client: &mut Client) -> Result<(), PgError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS brine_schema (
             version integer PRIMARY KEY,
             applied timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let have: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM brine_schema", &[])?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if have > known {
        return Err(PgError::Schema { found: have, known });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > have) {
        tx.batch_execute(sql)?;
        tx.execute("INSERT INTO brine_schema (version) VALUES ($1)", &[version])?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests;
