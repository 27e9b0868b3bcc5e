//! Execution functions the master answers itself for a minion, because
//! their answer is the master's compile for that minion (its pillar, its
//! lowstate), or because they are a state run (`state.apply`, `state.sls`,
//! `state.highstate`).
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::HostProbe;
use states::exec::{Call, ExecCall, MasterCall};

use super::compile::{compile, Tree};

/// The table's [`MasterCall`], under the names the publisher matches on.
pub enum MasterSide {
    Apply { sls: Vec<String>, test: bool },
    ShowLowstate { sls: Vec<String> },
    PillarItems,
    RefreshPillar,
}

/// `None` when the function runs on the minion, or when the call does not
/// parse: the minion then answers with the table's error naming what is
/// wrong.
pub fn master_side(fun: &str, args: &[Value], kwargs: &Map<String, Value>) -> Option<MasterSide> {
    let call = Call::parse(fun, args, kwargs).ok()?;
    let ExecCall::Master(call) = call.call else {
        return None;
    };
    Some(match call {
        MasterCall::Apply { mods, test } => MasterSide::Apply { sls: mods, test },
        MasterCall::ShowLowstate { mods } => MasterSide::ShowLowstate { sls: mods },
        MasterCall::PillarItems => MasterSide::PillarItems,
        MasterCall::RefreshPillar => MasterSide::RefreshPillar,
    })
}

impl MasterSide {
    pub fn answer(
        &self,
        tree: &Tree,
        id: &str,
        grains: &Value,
        probe: Arc<dyn HostProbe>,
    ) -> Result<Value, String> {
        let errors = |e: common::tree_error::TreeErrors| {
            e.0.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        match self {
            MasterSide::ShowLowstate { sls } => {
                let c = compile(tree, id, grains, probe, sls).map_err(errors)?;
                Ok(Value::Array(
                    c.chunks.into_iter().map(Value::Object).collect(),
                ))
            }
            MasterSide::PillarItems => tree.pillar_for(id, grains, probe).map_err(errors),
            MasterSide::RefreshPillar => tree
                .pillar_for(id, grains, probe)
                .map(|_| Value::Bool(true))
                .map_err(errors),
            MasterSide::Apply { .. } => unreachable!("applies are sent to the minion"),
        }
    }
}
