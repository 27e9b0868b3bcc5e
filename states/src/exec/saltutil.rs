//! `saltutil.running` and `saltutil.kill_job`: the minion daemon answers
//! them from its table of running jobs (a job is a thread of the daemon, not
//! a process of its own), so [`Call::run`](super::Call::run) outside a daemon
//! says so.
use super::{Access, AnsweredBy, ExecCall, ExecFunction, Param};

pub const RUNNING: ExecFunction = ExecFunction {
    name: "saltutil.running",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "the jobs the minion is running now: [{jid, fun, arg, pid, tgt, user}]",
    parse: |_| Ok(ExecCall::SaltutilRunning),
};

pub const KILL_JOB: ExecFunction = ExecFunction {
    name: "saltutil.kill_job",
    params: &[Param::required("jid")],
    // It stops commands: its result is kept like any host-changing one.
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "stops a running job: its commands get SIGTERM, then SIGKILL; it fails as killed",
    parse: |a| Ok(ExecCall::SaltutilKillJob { jid: a.str("jid")? }),
};
