//! A private PostgreSQL server for one test: Debian's `postgresql` binaries,
//! `initdb` into a temp dir and `pg_ctl start` listening only on a unix socket
//! in that dir (`listen_addresses=''`), run as the unprivileged system user
//! [`PG_USER`] (PostgreSQL refuses to run as root; `scripts/test-prereqs.sh`
//! creates the user). Stopped (`-m immediate`) and removed when the handle
//! drops, also when the test fails.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::run;

/// The system user the test clusters run as.
pub const PG_USER: &str = "brine-pgtest";

/// One running cluster; its superuser is [`PG_USER`], its database `brine`.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

/// Debian's versioned directory of the server binaries (the newest).
fn pg_bin() -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("/usr/lib/postgresql: {e} (run scripts/test-prereqs.sh)"))?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb (run scripts/test-prereqs.sh)".into())
}

impl Postgres {
    /// Initialises and starts a cluster, and creates the database `brine`.
    /// Panics with the reason if that cannot be done.
    pub fn start() -> Postgres {
        let bin = pg_bin().unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::Builder::new()
            .prefix("brine-pg")
            .tempdir()
            .unwrap();
        // The server user must own the data dir and reach it through the
        // temp dir (0700 from tempfile).
        chown(dir.path());
        let pg = Postgres { dir, bin };
        pg.as_user(
            &["initdb", "-A", "trust", "-U", PG_USER, "-E", "UTF8", "-D"],
            &[pg.data()],
        );
        let opts = format!(
            "-k {} -c listen_addresses='' -c fsync=off",
            pg.socket_dir().display()
        );
        let log = pg.dir.path().join("server.log");
        pg.as_user(
            &["pg_ctl", "start", "-w", "-t", "60", "-o", &opts, "-l"],
            &[log, "-D".into(), pg.data()],
        );
        pg.psql("postgres", "CREATE DATABASE brine");
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory of the server's unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A libpq connection string for database `db`.
    pub fn dsn_for(&self, db: &str) -> String {
        format!(
            "host={} dbname={db} user={PG_USER}",
            self.socket_dir().display()
        )
    }

    /// The connection string of the database `brine`.
    pub fn dsn(&self) -> String {
        self.dsn_for("brine")
    }

    /// A fresh empty database (for tests sharing one cluster); its dsn.
    pub fn new_database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.dsn_for(name)
    }

    /// Runs `sql` in `db` with `psql`; panics on an error. Its output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut cmd = self.user_cmd("psql");
        cmd.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.socket_dir())
            .args(["-U", PG_USER, "-d", db, "-c", sql]);
        let out = run(cmd, Duration::from_secs(60)).unwrap();
        assert_eq!(out.code, Some(0), "psql {sql}: {}", out.stderr);
        out.stdout
    }

    fn user_cmd(&self, tool: &str) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", PG_USER, "--"]).arg(self.bin.join(tool));
        // runuser keeps the cwd, which the server user may not be able to read.
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn as_user(&self, args: &[&str], paths: &[PathBuf]) {
        let mut cmd = self.user_cmd(args[0]);
        cmd.args(&args[1..]).args(paths);
        let out = run(cmd, Duration::from_secs(120)).unwrap();
        assert_eq!(
            out.code,
            Some(0),
            "{args:?}: {}{}\n{}",
            out.stdout,
            out.stderr,
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }
}

fn chown(path: &Path) {
    let mut cmd = Command::new("chown");
    cmd.arg(PG_USER).arg(path);
    let out = run(cmd, Duration::from_secs(10)).unwrap();
    assert_eq!(
        out.code,
        Some(0),
        "chown {PG_USER}: {} (run scripts/test-prereqs.sh)",
        out.stderr
    );
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut cmd = self.user_cmd("pg_ctl");
        cmd.args(["stop", "-m", "immediate", "-D"]).arg(self.data());
        let _ = run(cmd, Duration::from_secs(30));
    }
}
