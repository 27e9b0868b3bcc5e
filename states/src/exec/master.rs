//! Functions the master answers for a minion: a state run is compiled on the
//! master and sent as an apply, and the pillar and lowstate are the master's
//! compile for that minion.
use super::{Access, AnsweredBy, Bound, ExecCall, ExecError, ExecFunction, Param};
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
