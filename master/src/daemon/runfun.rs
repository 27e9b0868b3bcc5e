//! Execution functions the master answers itself for a minion, because
//! their answer is the master's compile for that minion (its pillar, its
//! lowstate), or because they are a state run (`state.apply`, `state.sls`,
//! `state.highstate`).
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::{fileserver, HostProbe};
use states::exec::{Call, ExecCall, MasterCall};

use super::compile::{compile, Tree};
use crate::listener::MinionPeer;

/// The master-side call of the table, or `None` when the function runs on
/// the minion, or when the call does not parse: the minion then answers with
/// the table's error naming what is wrong.
pub fn master_side(fun: &str, args: &[Value], kwargs: &Map<String, Value>) -> Option<MasterCall> {
    match Call::parse(fun, args, kwargs).ok()?.call {
        ExecCall::Master(call) => Some(call),
        _ => None,
    }
}

/// Answers a master-side call other than a state run from the master's
/// compile for that minion.
pub fn answer(
    call: &MasterCall,
    tree: &Tree,
    id: &str,
    grains: &Value,
    probe: Arc<dyn HostProbe>,
    peer: &MinionPeer,
) -> Result<Value, String> {
    let errors = |e: common::tree_error::TreeErrors| {
        e.0.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    match call {
        MasterCall::ShowLowstate { mods, env } => {
            let c = compile(tree, id, grains, probe, mods, env).map_err(errors)?;
            Ok(Value::Array(
                c.chunks.into_iter().map(Value::Object).collect(),
            ))
        }
        MasterCall::PillarItems => tree.pillar_for(id, grains, probe).map_err(errors),
        MasterCall::RefreshPillar => {
            let pillar = tree.pillar_for(id, grains, probe).map_err(errors)?;
            // What the minion keeps of its pillar: the mine_functions it runs.
            super::pillar_mine::offer(peer, id, &pillar, true);
            Ok(Value::Bool(true))
        }
        MasterCall::ListStates { saltenv } => Ok(serde_json::json!(fileserver::states(&listing(
            tree, saltenv
        )))),
        MasterCall::ListMaster { saltenv, prefix } => Ok(serde_json::json!(
            fileserver::with_prefix(&listing(tree, saltenv).files, prefix)
        )),
        MasterCall::Apply { .. } => unreachable!("applies are sent to the minion"),
    }
}

/// The files of a saltenv's `file_roots` (`base` when not given, as a
/// minion's `saltenv` option is unset); a saltenv the master lacks lists
/// nothing, as Salt's fileserver answers it.
fn listing(tree: &Tree, saltenv: &Option<String>) -> fileserver::Listing {
    let env = saltenv.as_deref().unwrap_or("base");
    match tree.trees.states.saltenvs().get(env) {
        Some(renderer) => fileserver::list_roots(renderer.roots().iter().map(|p| p.as_path())),
        None => fileserver::Listing::default(),
    }
}
