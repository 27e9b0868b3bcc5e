//! `mine_functions`: what a minion runs for the mine, in Salt's formats.
use crate::data::{Map, Value};

/// One entry of `mine_functions`: the mine key (`alias`) and the call whose
/// return is stored under it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MineFunction {
    pub alias: String,
    pub function: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
}

/// `mine_interval`'s default, in minutes (Salt's).
pub const DEFAULT_MINE_INTERVAL_MINUTES: u64 = 60;

/// `mine_functions` in Salt's formats (`salt.utils.mine.parse_function_definition`):
/// `fun: [args...]` with keyword arguments as one-key maps in the list,
/// `alias: [{mine_function: fun}, args...]`, or `alias: {mine_function: fun,
/// kwarg: value}`. Salt's per-function ACL (`allow_tgt`) is refused: ignoring
/// it would show the data to minions it was meant to be hidden from.
pub fn mine_functions(v: &Value) -> Result<Vec<MineFunction>, String> {
    let entries = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Object(m) => m,
        _ => return Err("expected a map of mine key to a function's arguments".into()),
    };
    let mut out = Vec::new();
    for (alias, def) in entries {
        let mut args = Vec::new();
        let mut kwargs = Map::new();
        match def {
            Value::Object(m) => kwargs = m.clone(),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(m) => kwargs.extend(m.clone()),
                        other => args.push(other.clone()),
                    }
                }
            }
            // Salt calls the alias with no arguments for any other value.
            _ => {}
        }
        let function = match kwargs.remove("mine_function") {
            None | Some(Value::Null) => alias.clone(),
            Some(Value::String(f)) => f,
            Some(_) => return Err(format!("{alias}: mine_function must be a function name")),
        };
        for acl in ["allow_tgt", "allow_tgt_type"] {
            if kwargs.contains_key(acl) {
                return Err(format!(
                    "{alias}: {acl} (the mine's per-function ACL) is not supported by Brine"
                ));
            }
        }
        out.push(MineFunction {
            alias: alias.clone(),
            function,
            args,
            kwargs,
        });
    }
    Ok(out)
}

/// The functions a minion runs for the mine: its config's, with its pillar's
/// merged over them as Salt's `config.merge('mine_functions')` does (a dict
/// update: a pillar entry replaces the config's of the same key in place,
/// new keys follow).
pub fn merge_mine_functions(config: &[MineFunction], pillar: &[MineFunction]) -> Vec<MineFunction> {
    let mut out = config.to_vec();
    for f in pillar {
        match out.iter_mut().find(|c| c.alias == f.alias) {
            Some(c) => *c = f.clone(),
            None => out.push(f.clone()),
        }
    }
    out
}
