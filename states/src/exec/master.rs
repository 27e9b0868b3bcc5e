//! Functions the master answers for a minion: a state run is compiled on the
//! master and sent as an apply, and the pillar and lowstate are the master's
//! compile for that minion.
use super::{Access, AnsweredBy, Bound, ExecCall, ExecError, ExecFunction, Param};
use common::data::{Map, Value};

use crate::compile::{JobEnv, JobEnvError};

/// What the master does for one of its functions.
#[derive(Debug, Clone, PartialEq)]
pub enum MasterCall {
    /// `state.apply`, `state.sls`, `state.highstate` (no mods: the highstate).
    Apply {
        mods: Vec<String>,
        test: bool,
        env: JobEnv,
    },
    ShowLowstate {
        mods: Vec<String>,
        env: JobEnv,
    },
    PillarItems,
    RefreshPillar,
    /// `cp.list_states`: the SLS names of the master's file roots.
    ListStates {
        saltenv: Option<String>,
    },
    /// `cp.list_master`: the files of the master's file roots.
    ListMaster {
        saltenv: Option<String>,
        prefix: String,
    },
    /// `state.single fun name=… args`: one chunk built from the call, no
    /// tree; run like an apply.
    Single {
        chunk: Map<String, Value>,
        test: bool,
        env: JobEnv,
    },
    /// `state.sls_id ID SLS`: the chunks of that ID in the SLS, and what
    /// their requisites name (Salt's `call_chunk` runs those too).
    SlsId {
        id: String,
        mods: Vec<String>,
        test: bool,
        env: JobEnv,
    },
    /// `state.show_sls SLS`: the high data of the named SLS.
    ShowSls {
        mods: Vec<String>,
        env: JobEnv,
    },
}

impl MasterCall {
    /// The job's saltenv, pillarenv and `pillar=`, for a call that compiles.
    pub fn env(&self) -> Option<&JobEnv> {
        match self {
            MasterCall::Apply { env, .. }
            | MasterCall::ShowLowstate { env, .. }
            | MasterCall::Single { env, .. }
            | MasterCall::SlsId { env, .. }
            | MasterCall::ShowSls { env, .. } => Some(env),
            MasterCall::PillarItems
            | MasterCall::RefreshPillar
            | MasterCall::ListStates { .. }
            | MasterCall::ListMaster { .. } => None,
        }
    }
}

fn apply(a: &Bound) -> Result<ExecCall, ExecError> {
    Ok(ExecCall::Master(MasterCall::Apply {
        mods: a.names("mods")?,
        test: a.bool("test").unwrap_or(false),
        env: job_env(a)?,
    }))
}

/// Salt's `saltenv`, `pillarenv` and `pillar` keyword arguments of a state
/// run, which every `state.*` function here takes after its own.
const ENV_PARAMS: [Param; 3] = [
    Param::keyword("saltenv"),
    Param::keyword("pillarenv"),
    Param::keyword("pillar"),
];

fn job_env(a: &Bound) -> Result<JobEnv, ExecError> {
    JobEnv::from_kwargs(a.given("saltenv"), a.given("pillarenv"), a.given("pillar")).map_err(|e| {
        let argument = match &e {
            JobEnvError::BadEnv { what, .. } | JobEnvError::NotAName { what, .. } => what,
            _ => "pillar",
        };
        a.bad(argument, e.to_string())
    })
}

pub const APPLY: ExecFunction = ExecFunction {
    name: "state.apply",
    params: &[
        Param::optional("mods"),
        Param::optional("test"),
        ENV_PARAMS[0],
        ENV_PARAMS[1],
        ENV_PARAMS[2],
    ],
    // A dry run (`test=True`) changes nothing, but the minion decides that
    // from the apply the master sends, not from this row.
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Master,
    state_report: true,
    summary: "applies the named SLS, or the highstate when none is named",
    parse: apply,
};

pub const SLS: ExecFunction = ExecFunction {
    name: "state.sls",
    params: &[
        Param::required("mods"),
        Param::optional("test"),
        ENV_PARAMS[0],
        ENV_PARAMS[1],
        ENV_PARAMS[2],
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Master,
    state_report: true,
    summary: "applies the named SLS",
    parse: apply,
};

pub const HIGHSTATE: ExecFunction = ExecFunction {
    name: "state.highstate",
    params: &[
        Param::optional("test"),
        Param::unsupported("queue"),
        ENV_PARAMS[0],
        ENV_PARAMS[1],
        ENV_PARAMS[2],
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Master,
    state_report: true,
    summary: "applies the minion's highstate",
    parse: apply,
};

pub const SHOW_LOWSTATE: ExecFunction = ExecFunction {
    name: "state.show_lowstate",
    params: &[
        Param::optional("mods"),
        ENV_PARAMS[0],
        ENV_PARAMS[1],
        ENV_PARAMS[2],
    ],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Master,
    state_report: false,
    summary: "the low chunks of the highstate (or of the named SLS)",
    parse: |a| {
        Ok(ExecCall::Master(MasterCall::ShowLowstate {
            mods: a.names("mods")?,
            env: job_env(a)?,
        }))
    },
};

pub const PILLAR_ITEMS: ExecFunction = ExecFunction {
    name: "pillar.items",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Master,
    state_report: false,
    summary: "the minion's pillar as the master compiles it",
    parse: |_| Ok(ExecCall::Master(MasterCall::PillarItems)),
};

pub const REFRESH_PILLAR: ExecFunction = ExecFunction {
    name: "saltutil.refresh_pillar",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Master,
    state_report: false,
    summary: "compiles the minion's pillar again; True when it compiles",
    parse: |_| Ok(ExecCall::Master(MasterCall::RefreshPillar)),
};

pub const SINGLE: ExecFunction = ExecFunction {
    name: "state.single",
    params: &[
        Param::required("fun"),
        Param::required("name"),
        Param::optional("test"),
        Param::unsupported("queue"),
        ENV_PARAMS[0],
        ENV_PARAMS[1],
        ENV_PARAMS[2],
        Param::rest("kwargs"),
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Master,
    state_report: true,
    summary:
        "runs one state function with the arguments given (state.single pkg.installed name=vim)",
    parse: single,
};

/// Salt's `state.single`: the chunk is the call's other keywords plus
/// `state`, `fun`, `__id__` and `name`.
fn single(a: &Bound) -> Result<ExecCall, ExecError> {
    let fun = a.str("fun")?;
    let Some((state, function)) = fun.split_once('.') else {
        return Err(a.bad("fun", "Invalid function passed"));
    };
    let name = common::pyfmt::py_str(a.given("name").unwrap_or(&Value::Null));
    let env = job_env(a)?;
    let mut chunk = match a.given("kwargs") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    chunk.insert("state".into(), state.into());
    chunk.insert("fun".into(), function.into());
    chunk.insert("__id__".into(), name.clone().into());
    chunk.insert("name".into(), name.into());
    chunk.insert(
        "__env__".into(),
        env.saltenv.as_deref().unwrap_or("base").into(),
    );
    Ok(ExecCall::Master(MasterCall::Single {
        chunk,
        test: a.bool("test").unwrap_or(false),
        env,
    }))
}

pub const SLS_ID: ExecFunction = ExecFunction {
    name: "state.sls_id",
    params: &[
        Param::required("id_"),
        Param::required("mods"),
        Param::optional("test"),
        Param::unsupported("queue"),
        Param::unsupported("state_events"),
        ENV_PARAMS[0],
        ENV_PARAMS[1],
        ENV_PARAMS[2],
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Master,
    state_report: true,
    summary: "applies one ID of the named SLS (and the states its requisites name)",
    parse: |a| {
        Ok(ExecCall::Master(MasterCall::SlsId {
            id: a.str("id_")?,
            mods: a.names("mods")?,
            test: a.bool("test").unwrap_or(false),
            env: job_env(a)?,
        }))
    },
};

pub const SHOW_SLS: ExecFunction = ExecFunction {
    name: "state.show_sls",
    params: &[
        Param::required("mods"),
        // Salt takes it and shows the same high data either way.
        Param::optional("test"),
        Param::unsupported("queue"),
        ENV_PARAMS[0],
        ENV_PARAMS[1],
        ENV_PARAMS[2],
    ],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Master,
    state_report: false,
    summary: "the high data of the named SLS",
    parse: |a| {
        let _ = a.bool("test");
        Ok(ExecCall::Master(MasterCall::ShowSls {
            mods: a.names("mods")?,
            env: job_env(a)?,
        }))
    },
};
