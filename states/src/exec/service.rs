//! `service.*`: systemd units. Starting, stopping, restarting and reloading
//! change the host; `service.status` only asks.
use common::data::Value;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};
use crate::state::{HostRead, HostWrite};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    Start,
    Stop,
    Restart,
    Reload,
    Status,
}

impl ServiceAction {
    /// The `systemctl` verb.
    fn verb(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
            ServiceAction::Reload => "reload",
            ServiceAction::Status => "is-active",
        }
    }
}

const NAME: &[Param] = &[Param::required("name")];

macro_rules! service_function {
    ($const:ident, $name:literal, $action:ident, $access:ident, $summary:literal) => {
        pub const $const: ExecFunction = ExecFunction {
            name: $name,
            params: NAME,
            access: Access::$access,
            answered_by: AnsweredBy::Minion,
            state_report: false,
            summary: $summary,
            parse: |a| {
                Ok(ExecCall::Service {
                    action: ServiceAction::$action,
                    name: a.str("name")?,
                })
            },
        };
    };
}

service_function!(
    START,
    "service.start",
    Start,
    ChangesHost,
    "starts a unit; True when it did"
);
service_function!(
    STOP,
    "service.stop",
    Stop,
    ChangesHost,
    "stops a unit; True when it did"
);
service_function!(
    RESTART,
    "service.restart",
    Restart,
    ChangesHost,
    "restarts a unit; True when it did"
);
service_function!(
    RELOAD,
    "service.reload",
    Reload,
    ChangesHost,
    "reloads a unit; True when it did"
);
service_function!(
    STATUS,
    "service.status",
    Status,
    ReadOnly,
    "whether a unit is active"
);

pub fn status(host: &HostRead, name: &str) -> Result<Value, ExecError> {
    let out = host.query(&["systemctl", ServiceAction::Status.verb(), "--quiet", name])?;
    Ok(Value::Bool(out.retcode == 0))
}

pub fn change(host: &HostWrite, action: ServiceAction, name: &str) -> Result<Value, ExecError> {
    let out = host.run(&["systemctl", action.verb(), name], &[], None)?;
    Ok(Value::Bool(out.retcode == 0))
}
