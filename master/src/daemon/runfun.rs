//! Execution functions the master answers itself for a minion, because
//! their answer is the master's compile for that minion (its pillar, its
//! lowstate), or because they are a state run (`state.apply`, `state.sls`,
//! `state.highstate`).
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::{fileserver, HostProbe};
use states::exec::{Call, ExecCall, MasterCall};

use states::compile::JobEnv;

use common::tree_error::{TreeError, TreeErrors};
use transport::wire::PublishWhat;

use super::compile::{compile, compile_reusing, compile_single, Compiled, Tree};
use super::compile_cache::CompileCache;
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
        MasterCall::ShowSls { mods, env } => {
            show_sls(tree, id, grains, probe, mods, env).map_err(errors)
        }
        MasterCall::Apply { .. } | MasterCall::Single { .. } | MasterCall::SlsId { .. } => {
            unreachable!("applies are sent to the minion")
        }
    }
}

/// `state.show_sls`: the high data of the named SLS as Salt's `show_sls`
/// gives it (rendered and verified, before extend and requisite passes),
/// compiled with the job's pillar.
fn show_sls(
    tree: &Tree,
    id: &str,
    grains: &Value,
    probe: Arc<dyn HostProbe>,
    mods: &[String],
    env: &JobEnv,
) -> Result<Value, TreeErrors> {
    tree.with_minion(id, grains, probe, |minion| {
        let pillar = tree.job_pillar_for(minion, env)?;
        let (states, _) = tree.trees.for_job(env);
        states.sls(minion, &pillar, mods).map(Value::Object)
    })
}

/// What a state run sends the minion: the SLS (or the highstate), narrowed
/// to one ID and its requisites for `state.sls_id`, or `state.single`'s one
/// chunk.
#[allow(clippy::too_many_arguments)]
pub fn compile_run(
    cache: &CompileCache,
    tree: &Tree,
    id: &str,
    grains: &Value,
    probe: Arc<dyn HostProbe>,
    sls: &[String],
    what: &PublishWhat,
    env: &JobEnv,
) -> Result<Compiled, TreeErrors> {
    let call = match what {
        PublishWhat::Run { fun, args, kwargs } => master_side(fun, args, kwargs),
        PublishWhat::Apply { .. } => None,
    };
    match call {
        Some(MasterCall::Single { chunk, .. }) => {
            compile_single(tree, id, grains, probe, chunk, env)
        }
        Some(MasterCall::SlsId {
            id: wanted, mods, ..
        }) => {
            let compiled = compile_reusing(cache, tree, id, grains, probe, sls, env)?;
            let chunks = states::run::with_requisites(compiled.chunks.clone(), &wanted);
            if chunks.is_empty() {
                return Err(TreeErrors(vec![TreeError::Tree(format!(
                    "No matches for ID '{wanted}' found in SLS '{}' within saltenv '{}'",
                    mods.join(","),
                    env.saltenv.as_deref().unwrap_or("base")
                ))]));
            }
            Ok(compiled.narrowed(tree, chunks))
        }
        _ => compile_reusing(cache, tree, id, grains, probe, sls, env),
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
