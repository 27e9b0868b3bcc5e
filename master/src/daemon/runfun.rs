//! Execution functions the master answers itself for a minion, because
//! their answer is the master's compile for that minion (its pillar, its
//! lowstate), or because they are a state run (`state.apply`, `state.sls`,
//! `state.highstate`).
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::HostProbe;

use super::compile::{compile, Tree};

pub enum MasterSide {
    Apply { sls: Vec<String>, test: bool },
    ShowLowstate { sls: Vec<String> },
    PillarItems,
    RefreshPillar,
}

/// `None` when the function runs on the minion.
pub fn master_side(fun: &str, args: &[Value], kwargs: &Map<String, Value>) -> Option<MasterSide> {
    let sls = || -> Vec<String> {
        args.iter()
            .chain(kwargs.get("mods"))
            .flat_map(|a| match a {
                Value::String(s) => s.split(',').map(|x| x.trim().to_string()).collect(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            })
            .filter(|s| !s.is_empty())
            .collect()
    };
    let test = kwargs.get("test").is_some_and(truthy);
    Some(match fun {
        "state.apply" | "state.sls" => MasterSide::Apply { sls: sls(), test },
        "state.highstate" => MasterSide::Apply {
            sls: Vec::new(),
            test,
        },
        "state.show_lowstate" => MasterSide::ShowLowstate { sls: sls() },
        "pillar.items" => MasterSide::PillarItems,
        "saltutil.refresh_pillar" => MasterSide::RefreshPillar,
        _ => return None,
    })
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1" | "on"),
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => false,
    }
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
