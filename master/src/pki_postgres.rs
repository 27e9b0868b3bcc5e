//! The key store in the PostgreSQL store several masters share
//! (`key_store: postgres`): minion keys and operator keys, with the same
//! decisions as the files under `pki_dir` (each master's own Noise key pair
//! stays in its `pki_dir`). Every change is announced on the `brine_keys`
//! channel (LISTEN/NOTIFY, delivered when its transaction commits) as
//! `STATE ID` (`accepted`, `pending`, `rejected`, `deleted`), which each
//! master's listener (`daemon::shared_keys`) turns into the same admission
//! or disconnection its own `keys` command would make.
use common::target::fnmatch;
use postgres::GenericClient;
use transport::keys::PublicKey;
use transport::wire::Admission;

use crate::pgstore::{Client, PgConn, PgError};
use crate::pki::{bound, KeyList, KeyState, PkiError};

/// The LISTEN/NOTIFY channel of key changes.
pub const CHANNEL: &str = "brine_keys";

#[derive(Debug)]
pub struct PgKeys {
    conn: PgConn,
}

fn state_name(s: KeyState) -> &'static str {
    match s {
        KeyState::Accepted => "accepted",
        KeyState::Pending => "pending",
        KeyState::Rejected => "rejected",
    }
}

fn parse_key(text: &str) -> Result<PublicKey, PkiError> {
    PublicKey::from_base64(text).ok_or_else(|| PkiError::Stored(format!("a bad key {text:?}")))
}

/// The row of `id`, locked until the transaction ends.
fn row(c: &mut impl GenericClient, id: &str) -> Result<Option<(String, PublicKey)>, PkiError> {
    let Some(r) = c
        .query_opt(
            "SELECT state, key FROM brine_minion_keys WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .map_err(PgError::from)?
    else {
        return Ok(None);
    };
    Ok(Some((r.get(0), parse_key(r.get(1))?)))
}

fn notify(c: &mut impl GenericClient, state: &str, id: &str) -> Result<(), PgError> {
    c.execute(
        "SELECT pg_notify($1, $2)",
        &[&CHANNEL, &format!("{state} {id}")],
    )?;
    Ok(())
}

fn set(c: &mut impl GenericClient, id: &str, state: &str, key: &PublicKey) -> Result<(), PgError> {
    c.execute(
        "INSERT INTO brine_minion_keys (id, state, key) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET state = $2, key = $3, changed = now()",
        &[&id, &state, &key.to_base64()],
    )?;
    notify(c, state, id)
}

impl PgKeys {
    pub fn open(dsn: &str) -> Result<PgKeys, PkiError> {
        Ok(PgKeys {
            conn: PgConn::connect(dsn)?,
        })
    }

    fn with<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, PkiError> + Send,
    ) -> Result<T, PkiError> {
        self.conn.with(f)
    }

    /// As `KeyStore::admit`; `pending_refused(new_id, count)` is the store's
    /// pending limit, given the number of pending keys.
    pub fn admit(
        &self,
        id: &str,
        key: &PublicKey,
        auto: bool,
        autosign: &[String],
        pending_refused: &(dyn Fn(bool, usize) -> Option<String> + Sync),
    ) -> Result<Admission, PkiError> {
        let auto = auto || autosign.iter().any(|g| fnmatch(id, g));
        self.with(|c| {
            // Two masters seeing a new id at once both take an advisory lock
            // on it first, so one decides and the other sees its decision.
            let mut tx = c.transaction().map_err(PgError::from)?;
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&id])
                .map_err(PgError::from)?;
            let held = row(&mut tx, id)?;
            let answer = match held {
                Some((s, held)) if s == "accepted" => bound(id, &held, key),
                Some((s, _)) if s == "rejected" => Admission::Refused {
                    reason: format!("minion id {id} is rejected"),
                },
                _ if auto => {
                    set(&mut tx, id, "accepted", key)?;
                    tracing::info!(id, fingerprint = %key.fingerprint(), "accepted a minion key automatically");
                    Admission::Accepted
                }
                Some((_, pending)) if pending == *key => Admission::Pending,
                pending => {
                    let count: i64 = tx
                        .query_one(
                            "SELECT count(*) FROM brine_minion_keys WHERE state = 'pending'",
                            &[],
                        )
                        .map_err(PgError::from)?
                        .get(0);
                    if let Some(reason) = pending_refused(pending.is_none(), count as usize) {
                        return Ok(Admission::Refused { reason });
                    }
                    set(&mut tx, id, "pending", key)?;
                    tracing::info!(id, fingerprint = %key.fingerprint(), "a minion key is pending");
                    Admission::Pending
                }
            };
            tx.commit().map_err(PgError::from)?;
            Ok(answer)
        })
    }

    pub fn list(&self) -> Result<KeyList, PkiError> {
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT id, state FROM brine_minion_keys ORDER BY id COLLATE \"C\"",
                    &[],
                )
                .map_err(PgError::from)?;
            let mut l = KeyList::default();
            for r in rows {
                let id: String = r.get(0);
                match r.get::<_, &str>(1) {
                    "accepted" => l.accepted.push(id),
                    "pending" => l.pending.push(id),
                    _ => l.rejected.push(id),
                }
            }
            Ok(l)
        })
    }

    /// Moves `ids` (all pending ones when `None`) from pending to accepted;
    /// the ids accepted.
    pub fn accept(&self, ids: Option<&str>) -> Result<Vec<String>, PkiError> {
        self.with(|c| {
            let mut tx = c.transaction().map_err(PgError::from)?;
            let rows = tx
                .query(
                    "UPDATE brine_minion_keys SET state = 'accepted', changed = now()
                     WHERE state = 'pending' AND ($1::text IS NULL OR id = $1) RETURNING id",
                    &[&ids],
                )
                .map_err(PgError::from)?;
            let done: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            for id in &done {
                notify(&mut tx, "accepted", id)?;
                tracing::info!(id, "accepted a minion key");
            }
            tx.commit().map_err(PgError::from)?;
            Ok(done)
        })
    }

    /// Accepted or pending → rejected; false if the id had neither (or
    /// was rejected already: `rejected` tells).
    pub fn reject(&self, id: &str) -> Result<Option<bool>, PkiError> {
        self.with(|c| {
            let mut tx = c.transaction().map_err(PgError::from)?;
            let was = row(&mut tx, id)?.map(|r| r.0);
            let out = match was.as_deref() {
                None => None,
                Some("rejected") => Some(false),
                Some(_) => {
                    tx.execute(
                        "UPDATE brine_minion_keys SET state = 'rejected', changed = now()
                         WHERE id = $1",
                        &[&id],
                    )
                    .map_err(PgError::from)?;
                    notify(&mut tx, "rejected", id)?;
                    Some(true)
                }
            };
            tx.commit().map_err(PgError::from)?;
            Ok(out)
        })
    }

    /// False if there was no key for the id.
    pub fn delete(&self, id: &str) -> Result<bool, PkiError> {
        self.with(|c| {
            let mut tx = c.transaction().map_err(PgError::from)?;
            let n = tx
                .execute("DELETE FROM brine_minion_keys WHERE id = $1", &[&id])
                .map_err(PgError::from)?;
            if n > 0 {
                notify(&mut tx, "deleted", id)?;
            }
            tx.commit().map_err(PgError::from)?;
            Ok(n > 0)
        })
    }

    /// The id's state and key.
    pub fn get(&self, id: &str) -> Result<Option<(KeyState, PublicKey)>, PkiError> {
        self.with(|c| {
            let Some((state, key)) = row(c, id)? else {
                return Ok(None);
            };
            let state = KeyState::ALL
                .into_iter()
                .find(|s| state_name(*s) == state)
                .ok_or_else(|| PkiError::Stored(format!("a bad key state {state:?}")))?;
            Ok(Some((state, key)))
        })
    }

    pub fn operator_for(&self, key: &PublicKey) -> Result<Option<String>, PkiError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT name FROM brine_operators WHERE key = $1",
                &[&key.to_base64()],
            )
            .map_err(PgError::from)?
            .map(|r| r.get(0)))
        })
    }

    pub fn add_operator(&self, name: &str, key: &PublicKey) -> Result<(), PkiError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO brine_operators (key, name) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET name = $2",
                &[&key.to_base64(), &name],
            )
            .map_err(PgError::from)?;
            Ok(())
        })
    }
}

/// A change another master (or this one) made to a minion key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// `accepted`, `pending`, `rejected` or `deleted`.
    pub state: String,
    pub id: String,
}

impl KeyChange {
    /// The change a [`CHANNEL`] payload (`STATE ID`) announces.
    pub fn parse(payload: &str) -> Option<KeyChange> {
        let (state, id) = payload.split_once(' ')?;
        Some(KeyChange {
            state: state.into(),
            id: id.into(),
        })
    }
}
