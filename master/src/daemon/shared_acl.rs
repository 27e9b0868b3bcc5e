//! `key_store: postgres`: the operator ACL is one row in the shared store,
//! so every master applies the same one, and `master acl set` on any of
//! them holds on all at once. A master whose config has an `acl` key seeds
//! the store with it when the store has none, and refuses to start when the
//! store's differs: never two sources of truth.
use std::path::Path;
use std::sync::Arc;

use common::data::Value;
use serde_json::json;

use super::Master;
use crate::config::{parse_acl, Acl, MasterConfig};
use crate::pg_acl::PgAcl;

const STORED: &str = "the ACL in PostgreSQL (brine_acl)";

fn parse_stored(text: &str) -> Result<(Value, Acl), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("{STORED}: {e}"))?;
    let acl = parse_acl(Path::new(STORED), &v).map_err(|e| e.to_string())?;
    Ok((v, acl))
}

/// The ACL a master sharing its keys starts with.
pub fn resolve(config: &MasterConfig, pg: &PgAcl) -> anyhow::Result<Option<Acl>> {
    let stored = match (pg.get()?, config.raw.get("acl")) {
        (None, None) => return Ok(None),
        (Some(s), _) => s,
        (None, Some(v)) => {
            let text = serde_json::to_string(v)?;
            let stored = pg.seed(&text)?;
            if stored == text {
                tracing::info!("the shared ACL in PostgreSQL was seeded from this master's acl");
            }
            stored
        }
    };
    let (_, acl) = parse_stored(&stored).map_err(anyhow::Error::msg)?;
    if config.acl.as_ref().is_some_and(|mine| *mine != acl) {
        anyhow::bail!(
            "this master's config has an acl that differs from the ACL in PostgreSQL: with \
             key_store: postgres the ACL lives in PostgreSQL, shared by every master. Remove \
             acl from this master's config (`master acl show` shows the shared one), or change \
             the shared one with `master acl set FILE`"
        );
    }
    Ok(Some(acl))
}

/// Applies the stored ACL (another master changed it, or notifications
/// may have been lost).
pub fn reload(m: &Arc<Master>) {
    let Some(pg) = &m.shared_acl else {
        return;
    };
    let stored = match pg.get() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the shared ACL");
            return;
        }
    };
    let acl = match stored.as_deref().map(parse_stored).transpose() {
        Ok(a) => a.map(|(_, acl)| acl),
        Err(e) => {
            tracing::error!(error = %e, "the shared ACL does not parse; keeping the one before");
            return;
        }
    };
    *m.acl.write().unwrap() = acl;
    tracing::info!("applied the shared ACL from PostgreSQL");
}

/// `master acl show`: the ACL this master applies and where it lives.
pub fn show(m: &Master) -> Result<Value, String> {
    match &m.shared_acl {
        Some(pg) => {
            let acl = match pg.get().map_err(|e| e.to_string())? {
                Some(text) => parse_stored(&text)?.0,
                None => Value::Null,
            };
            Ok(json!({"acl": acl, "source": "postgres"}))
        }
        None => Ok(json!({
            "acl": m.config.raw.get("acl").cloned().unwrap_or(Value::Null),
            "source": "config",
        })),
    }
}

/// `master acl set`: `text` (JSON of the value the config's `acl` takes)
/// replaces the shared ACL, here at once and on every master as it hears.
pub fn set(m: &Master, operator: &str, text: &str) -> Result<Value, String> {
    let Some(pg) = &m.shared_acl else {
        return Err(
            "the ACL is this master's config's acl (key_store: files): edit the config; \
             `master acl set` needs key_store: postgres"
                .into(),
        );
    };
    let v: Value = serde_json::from_str(text).map_err(|e| format!("acl set: {e}"))?;
    let acl = parse_acl(Path::new("acl set"), &v).map_err(|e| e.to_string())?;
    let text = serde_json::to_string(&v).map_err(|e| e.to_string())?;
    pg.set(&text).map_err(|e| e.to_string())?;
    *m.acl.write().unwrap() = Some(acl);
    tracing::info!(operator = %operator, "the shared ACL was replaced");
    Ok(json!({"acl": v, "source": "postgres"}))
}
