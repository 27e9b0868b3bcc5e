//! The operator ACL in the PostgreSQL store several masters share
//! (`key_store: postgres`): one row holding the JSON of the same value the
//! master config's `acl` key takes, parsed with the same code
//! ([`crate::config::parse_acl`]). A change is announced on [`CHANNEL`] and
//! every master applies it at once (`daemon::shared_acl`).
use crate::pgstore::{PgConn, PgError};

/// The LISTEN/NOTIFY channel of ACL changes (the payload is empty).
pub const CHANNEL: &str = "brine_acl";

#[derive(Debug)]
pub struct PgAcl {
    conn: PgConn,
}

impl PgAcl {
    pub fn open(dsn: &str) -> Result<PgAcl, PgError> {
        Ok(PgAcl {
            conn: PgConn::connect(dsn)?,
        })
    }

    /// The stored ACL's JSON text, if one was ever stored.
    pub fn get(&self) -> Result<Option<String>, PgError> {
        self.conn.run(|c| {
            Ok(c.query_opt("SELECT acl FROM brine_acl", &[])?
                .map(|r| r.get(0)))
        })
    }

    /// Stores `json` unless an ACL is stored already; the stored one
    /// either way (two masters seeding at once agree on the first).
    pub fn seed(&self, json: &str) -> Result<String, PgError> {
        self.conn.run(|c| {
            let mut tx = c.transaction()?;
            let n = tx.execute(
                "INSERT INTO brine_acl (acl) VALUES ($1) ON CONFLICT (one) DO NOTHING",
                &[&json],
            )?;
            if n > 0 {
                tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
            }
            let stored: String = tx.query_one("SELECT acl FROM brine_acl", &[])?.get(0);
            tx.commit()?;
            Ok(stored)
        })
    }

    /// Replaces the stored ACL with `json`, announced.
    pub fn set(&self, json: &str) -> Result<(), PgError> {
        self.conn.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO brine_acl (acl) VALUES ($1)
                 ON CONFLICT (one) DO UPDATE SET acl = $1, changed = now()",
                &[&json],
            )?;
            tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
            tx.commit()?;
            Ok(())
        })
    }
}
