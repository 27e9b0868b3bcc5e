//! The one listener of a master whose keys, cache or ACL are shared in
//! PostgreSQL: LISTENs on the channels its config shares, before anything
//! is loaded from the tables (so no change slips between the load and the
//! LISTEN), and hands every notification to its store's handler. After a
//! lost connection, each handler replays what it may have missed.
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::{shared_acl, shared_cache, shared_keys, Master};
use crate::config::{MasterConfig, Store};
use crate::pgstore::{self, Heard};

/// The channels `config` shares.
fn channels(config: &MasterConfig) -> Vec<&'static str> {
    let mut c = Vec::new();
    if config.stores.key_store == Store::Postgres {
        c.push(crate::pki_postgres::CHANNEL);
        c.push(crate::pg_acl::CHANNEL);
    }
    if config.stores.cache == Store::Postgres {
        c.push(crate::pg_cache::CHANNEL);
    }
    c
}

/// Starts listening, when something is shared; what is heard waits in the
/// receiver until [`watch`] runs.
pub fn listen(config: &MasterConfig) -> anyhow::Result<Option<Receiver<Heard>>> {
    let channels = channels(config);
    if channels.is_empty() {
        return Ok(None);
    }
    let rx = pgstore::listen(config.stores.dsn(), &channels)?;
    tracing::info!(channels = %channels.join(","), "listening for changes in the shared store");
    Ok(Some(rx))
}

/// Applies what the listener hears, on a thread of its own, for the life
/// of the process.
pub fn watch(master: &Arc<Master>) -> anyhow::Result<()> {
    let Some(rx) = master.heard.lock().unwrap().take() else {
        return Ok(());
    };
    let runtime = tokio::runtime::Handle::current();
    let m = master.clone();
    std::thread::Builder::new()
        .name("brine-pg-watch".into())
        .spawn(move || {
            let _in_runtime = runtime.enter();
            for heard in rx {
                match heard {
                    Heard::Note { channel, payload } => match channel.as_str() {
                        crate::pki_postgres::CHANNEL => shared_keys::on_note(&m, &payload),
                        crate::pg_cache::CHANNEL => shared_cache::on_note(&m, &payload),
                        crate::pg_acl::CHANNEL => shared_acl::reload(&m),
                        _ => {}
                    },
                    Heard::Reconnected => {
                        if m.config.stores.key_store == Store::Postgres {
                            shared_keys::reconcile(&m);
                            shared_acl::reload(&m);
                        }
                        if m.config.stores.cache == Store::Postgres {
                            shared_cache::reload(&m);
                        }
                    }
                }
            }
        })?;
    Ok(())
}
