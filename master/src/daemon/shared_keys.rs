//! `key_store: postgres`: what another master decides about a minion key
//! takes effect here at once, through the same paths as this master's own
//! `master keys` command: an accepted key admits the minion's waiting
//! session, a rejected or deleted one closes its session.
use std::sync::Arc;

use super::Master;
use crate::pki_postgres::{listen, KeyChange};

/// Starts listening for key changes, when the keys are shared.
pub fn watch(master: &Arc<Master>) -> anyhow::Result<()> {
    let stores = &master.config.stores;
    if stores.key_store != crate::config::Store::Postgres {
        return Ok(());
    }
    let runtime = tokio::runtime::Handle::current();
    let m = master.clone();
    listen(stores.dsn(), move |change: KeyChange| {
        let _in_runtime = runtime.enter();
        tracing::debug!(id = %change.id, state = %change.state, "a minion key changed");
        match change.state.as_str() {
            "accepted" => m.admit_pending(&change.id),
            "rejected" => m.disconnect(&change.id, "this minion's key was rejected"),
            "deleted" => {
                m.disconnect(&change.id, "this minion's key was deleted");
                m.mine.remove(&change.id);
            }
            _ => {}
        }
    })?;
    tracing::info!("keys shared in PostgreSQL: listening for changes on brine_keys");
    Ok(())
}
