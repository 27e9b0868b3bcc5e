//! Grains and mine data in the PostgreSQL store several masters share
//! (`cache: postgres`): one row per minion id, each as JSON text. Every
//! change is announced on [`CHANNEL`] as `grains ID DIGEST`, `mine ID` or
//! `deleted ID`; each master's listener (`daemon::shared_cache`) then reads
//! the row into its in-memory maps, which stay the read path (targeting
//! never queries PostgreSQL). A master that holds the grains text a note's
//! digest names reads nothing.
use common::data::{Map, Value};
use postgres::GenericClient;

use crate::pgstore::{PgConn, PgError};

/// The LISTEN/NOTIFY channel of grains and mine changes.
pub const CHANNEL: &str = "brine_cache";

/// One minion's cached row: its grains and its mine data, as JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CachedRow {
    pub grains: Option<String>,
    pub mine: Option<String>,
}

/// A change announced on [`CHANNEL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheChange {
    /// The row's grains changed; the digest is of the text now stored
    /// ([`grains_digest`]), so a master that already holds that text need
    /// not read it back (`None` from a master that did not send one).
    Grains {
        id: String,
        digest: Option<String>,
    },
    Mine(String),
    Deleted(String),
}

impl CacheChange {
    pub fn parse(payload: &str) -> Option<CacheChange> {
        let mut parts = payload.splitn(3, ' ');
        let (what, id) = (parts.next()?, parts.next()?.to_string());
        let rest = parts.next();
        match (what, rest) {
            ("grains", digest) => Some(CacheChange::Grains {
                id,
                digest: digest.map(str::to_string),
            }),
            ("mine", None) => Some(CacheChange::Mine(id)),
            ("deleted", None) => Some(CacheChange::Deleted(id)),
            _ => None,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            CacheChange::Grains { id, .. } | CacheChange::Mine(id) | CacheChange::Deleted(id) => id,
        }
    }
}

/// What a grains note carries of the text it announces.
pub fn grains_digest(json: &str) -> String {
    common::digest::sha256_hex(json.as_bytes())
}

fn notify(c: &mut impl GenericClient, payload: &str) -> Result<(), PgError> {
    c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
    Ok(())
}

#[derive(Debug)]
pub struct PgCache {
    conn: PgConn,
}

impl PgCache {
    pub fn open(dsn: &str) -> Result<PgCache, PgError> {
        Ok(PgCache {
            conn: PgConn::connect(dsn)?,
        })
    }

    /// Every minion's row.
    pub fn load_all(&self) -> Result<Vec<(String, CachedRow)>, PgError> {
        self.conn.run(|c| {
            let rows = c.query("SELECT id, grains, mine FROM brine_minion_cache", &[])?;
            Ok(rows
                .iter()
                .map(|r| {
                    (
                        r.get(0),
                        CachedRow {
                            grains: r.get(1),
                            mine: r.get(2),
                        },
                    )
                })
                .collect())
        })
    }

    /// Minion `id`'s row, if it has one.
    pub fn row(&self, id: &str) -> Result<Option<CachedRow>, PgError> {
        self.conn.run(|c| {
            Ok(c.query_opt(
                "SELECT grains, mine FROM brine_minion_cache WHERE id = $1",
                &[&id],
            )?
            .map(|r| CachedRow {
                grains: r.get(0),
                mine: r.get(1),
            }))
        })
    }

    /// Stores `id`'s grains (JSON text) and announces it, unless they are
    /// stored already.
    pub fn set_grains(&self, id: &str, json: &str) -> Result<(), PgError> {
        self.set_grains_many(&[(id, json)])
    }

    /// [`PgCache::set_grains`] for many minions, in one transaction.
    pub fn set_grains_many(&self, rows: &[(&str, &str)]) -> Result<(), PgError> {
        self.conn.run(|c| {
            let mut tx = c.transaction()?;
            let upsert = tx.prepare(
                "INSERT INTO brine_minion_cache (id, grains) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET grains = $2, changed = now()
                 WHERE brine_minion_cache.grains IS DISTINCT FROM $2",
            )?;
            for (id, json) in rows {
                if tx.execute(&upsert, &[id, json])? > 0 {
                    notify(&mut tx, &format!("grains {id} {}", grains_digest(json)))?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Merges `data` over `id`'s stored mine (Salt's `clear=False`), in one
    /// transaction with the row locked, so two masters merging at once keep
    /// both; announced when it changed. The merged mine.
    pub fn merge_mine(
        &self,
        id: &str,
        data: Map<String, Value>,
    ) -> Result<Map<String, Value>, PgError> {
        self.conn.run(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO brine_minion_cache (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
                &[&id],
            )?;
            let stored: Option<String> = tx
                .query_one(
                    "SELECT mine FROM brine_minion_cache WHERE id = $1 FOR UPDATE",
                    &[&id],
                )?
                .get(0);
            let mut merged: Map<String, Value> = stored
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default();
            let before = merged.clone();
            merged.extend(data);
            if stored.is_none() || merged != before {
                let text = serde_json::to_string(&merged).unwrap_or_default();
                tx.execute(
                    "UPDATE brine_minion_cache SET mine = $2, changed = now() WHERE id = $1",
                    &[&id, &text],
                )?;
                notify(&mut tx, &format!("mine {id}"))?;
            }
            tx.commit()?;
            Ok(merged)
        })
    }

    /// Forgets `id`'s grains and mine (its key was deleted), announced.
    pub fn delete(&self, id: &str) -> Result<(), PgError> {
        self.conn.run(|c| {
            let mut tx = c.transaction()?;
            let n = tx.execute("DELETE FROM brine_minion_cache WHERE id = $1", &[&id])?;
            if n > 0 {
                notify(&mut tx, &format!("deleted {id}"))?;
            }
            tx.commit()?;
            Ok(())
        })
    }
}

#[cfg(test)]
#[path = "pg_cache_tests.rs"]
mod tests;
