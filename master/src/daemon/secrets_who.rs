//! `master secrets who KEY:PATH`: which accepted minions' pillar holds a
//! key path, compiled from each one's cached grains as a job would compile
//! it. The answer names minions, never a value; a minion whose pillar does
//! not compile is listed with its error, since "no" would be a guess.
use std::sync::Arc;

use common::data::{Map, Value, DEFAULT_DELIMITER};
use serde_json::json;

use super::Master;

/// `{minion: {"holds": bool} | {"error": text}}` for every accepted minion.
pub async fn who(master: Arc<Master>, path: String) -> Result<Value, String> {
    if path.is_empty() || path.split(DEFAULT_DELIMITER).any(str::is_empty) {
        return Err("name a pillar key path such as 'db:password'".into());
    }
    let accepted = master.accepted_ids()?;
    // With the master's gpg keyring: an encrypted value counts as held.
    let tree = master.tree();
    tokio::task::spawn_blocking(move || {
        let mut out = Map::new();
        for id in accepted {
            let answer = match master.grains.get(&id) {
                None => json!({"error": "no cached grains: it has never connected"}),
                Some(g) => {
                    let probe = super::publish::probe_for(&master, &id);
                    match tree.pillar_for(&id, &g.value(), probe) {
                        Ok(pillar) => json!({
                            "holds": common::data::traverse(&pillar, &path, DEFAULT_DELIMITER).is_some()
                        }),
                        Err(errors) => json!({"error": errors
                            .0
                            .iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("\n")}),
                    }
                }
            };
            out.insert(id, answer);
        }
        Value::Object(out)
    })
    .await
    .map_err(|e| e.to_string())
}
