//! Where the master keeps what several masters can share (issue 13):
//! `master_job_cache` (`sqlite`, the default, or `postgres`), `key_store`
//! (`files` under `pki_dir`, the default, or `postgres`), `cache` (grains and
//! mine data: `localfs` under `cachedir`, Salt's name and the default, or
//! `postgres`), and the PostgreSQL they share:
//!
//! ```yaml
//! postgres:
//!   dsn: "host=/run/postgresql dbname=brine user=brine"   # or a postgresql:// URL
//! ```
use std::path::Path;

use common::config::ConfigError;
use common::data::{Map, Value};

use crate::config::key_error;

/// Where one kind of master state is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Store {
    /// On this master: SQLite or files under its own dirs.
    #[default]
    Local,
    /// In the PostgreSQL store at `postgres.dsn`, shared with other masters.
    Postgres,
}

/// The three choices and the shared store's connection string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stores {
    pub job_cache: Store,
    pub key_store: Store,
    pub cache: Store,
    /// `postgres.dsn`; required when any of the three is `postgres`.
    pub postgres_dsn: Option<String>,
}

impl Stores {
    /// True when nothing is kept in PostgreSQL (one master on its own).
    pub fn all_local(&self) -> bool {
        [self.job_cache, self.key_store, self.cache]
            .iter()
            .all(|s| *s == Store::Local)
    }

    /// The dsn, when some store is in PostgreSQL (`read` checked it is there).
    pub fn dsn(&self) -> &str {
        self.postgres_dsn.as_deref().unwrap_or_default()
    }
}

fn choice(
    path: &Path,
    raw: &Map<String, Value>,
    key: &str,
    local: &str,
) -> Result<Store, ConfigError> {
    match raw.get(key) {
        None | Some(Value::Null) => Ok(Store::Local),
        Some(Value::String(s)) if s == local => Ok(Store::Local),
        Some(Value::String(s)) if s == "postgres" => Ok(Store::Postgres),
        Some(_) => Err(key_error(
            path,
            key,
            &format!("expected {local} (the default) or postgres"),
        )),
    }
}

pub(crate) fn read(path: &Path, raw: &Map<String, Value>) -> Result<Stores, ConfigError> {
    let mut stores = Stores {
        job_cache: choice(path, raw, "master_job_cache", "sqlite")?,
        key_store: choice(path, raw, "key_store", "files")?,
        cache: choice(path, raw, "cache", "localfs")?,
        postgres_dsn: None,
    };
    match raw.get("postgres") {
        None | Some(Value::Null) => {}
        Some(Value::Object(pg)) => {
            if let Some(k) = pg.keys().find(|k| *k != "dsn") {
                return Err(key_error(
                    path,
                    &format!("postgres.{k}"),
                    "unknown key (only postgres.dsn is read)",
                ));
            }
            match pg.get("dsn") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    stores.postgres_dsn = Some(s.clone())
                }
                Some(_) => {
                    return Err(key_error(
                        path,
                        "postgres.dsn",
                        "expected a libpq connection string or a postgresql:// URL",
                    ))
                }
            }
        }
        Some(_) => return Err(key_error(path, "postgres", "expected a map with dsn")),
    }
    if !stores.all_local() && stores.postgres_dsn.is_none() {
        return Err(key_error(
            path,
            "postgres.dsn",
            "required when master_job_cache, key_store or cache is postgres",
        ));
    }
    Ok(stores)
}
