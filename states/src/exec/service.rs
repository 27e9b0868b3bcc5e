//! `service.*`: systemd units. Starting, stopping, restarting and reloading
//! change the host; `service.status` only asks.
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;

use common::data::Value;
use serde_json::json;

use super::{Access, AnsweredBy, Bound, ExecCall, ExecError, ExecFunction, Param};
use crate::state::service::systemd;
use crate::state::{CmdRun, HostRead, HostWrite};

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

// `service.enable`, `service.disable`, `service.available` and
// `service.get_all` (systemd_service.py), over the service state's systemd
// helpers: offline (no systemd running, or a test root) they work on unit
// files with `systemctl --root`, as the service states do.

/// A `service.*` call on unit files and unit lists.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitCall {
    Enable {
        name: String,
        no_block: bool,
        unmask: bool,
        unmask_runtime: bool,
    },
    Disable {
        name: String,
        no_block: bool,
    },
    Available {
        name: String,
    },
    GetAll,
}

pub const ENABLE: ExecFunction = ExecFunction {
    name: "service.enable",
    params: &[
        Param::required("name"),
        Param::optional("no_block"),
        Param::optional("unmask"),
        Param::optional("unmask_runtime"),
        Param::unsupported("root"),
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "enables a unit at boot; True, or systemctl's error",
    parse: |a| {
        Ok(ExecCall::Units(UnitCall::Enable {
            name: unit_name(a)?,
            no_block: a.bool("no_block").unwrap_or(false),
            unmask: a.bool("unmask").unwrap_or(false),
            unmask_runtime: a.bool("unmask_runtime").unwrap_or(false),
        }))
    },
};

pub const DISABLE: ExecFunction = ExecFunction {
    name: "service.disable",
    params: &[
        Param::required("name"),
        Param::optional("no_block"),
        Param::unsupported("root"),
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "disables a unit at boot; True when systemctl succeeded",
    parse: |a| {
        Ok(ExecCall::Units(UnitCall::Disable {
            name: unit_name(a)?,
            no_block: a.bool("no_block").unwrap_or(false),
        }))
    },
};

pub const AVAILABLE: ExecFunction = ExecFunction {
    name: "service.available",
    params: NAME,
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "whether systemd knows the unit",
    parse: |a| {
        Ok(ExecCall::Units(UnitCall::Available {
            name: unit_name(a)?,
        }))
    },
};

pub const GET_ALL: ExecFunction = ExecFunction {
    name: "service.get_all",
    params: &[Param::unsupported("root")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "every unit file and init script, sorted (services without .service)",
    parse: |_| Ok(ExecCall::Units(UnitCall::GetAll)),
};

fn unit_name(a: &Bound) -> Result<String, ExecError> {
    let name = a.str("name")?;
    systemd::validate(&name).map_err(|e| a.bad("name", e.to_string()))?;
    Ok(name)
}

impl UnitCall {
    pub(super) fn run(
        &self,
        host: &HostRead,
        write: impl Fn() -> HostWrite,
    ) -> Result<Value, ExecError> {
        match self {
            UnitCall::Enable {
                name,
                no_block,
                unmask,
                unmask_runtime,
            } => {
                let w = write();
                let unit = systemd::canonical(name);
                reload_if_changed(&w, &unit)?;
                for (wanted, runtime) in [(*unmask, false), (*unmask_runtime, true)] {
                    if wanted {
                        let args: &[&str] = if runtime {
                            &["unmask", "--runtime"]
                        } else {
                            &["unmask"]
                        };
                        systemctl(&w, args, &unit)?;
                    }
                }
                // An init script without a unit is enabled by systemctl too
                // (Debian's systemd-sysv-install), where Salt calls update-rc.d.
                let out = systemctl(&w, &with_no_block("enable", *no_block), &unit)?;
                if out.retcode != 0 {
                    // Salt raises with systemctl's words (a masked unit says so).
                    return Err(ExecError::Failed(out.stderr.trim().to_string()));
                }
                Ok(Value::Bool(true))
            }
            UnitCall::Disable { name, no_block } => {
                let w = write();
                let unit = systemd::canonical(name);
                reload_if_changed(&w, &unit)?;
                let out = systemctl(&w, &with_no_block("disable", *no_block), &unit)?;
                Ok(Value::Bool(out.retcode == 0))
            }
            UnitCall::Available { name } => {
                let unit = systemd::canonical(name);
                Ok(Value::Bool(systemd::read(host, &unit)?.available()))
            }
            UnitCall::GetAll => get_all(host).map(|names| json!(names)),
        }
    }
}

fn with_no_block(verb: &'static str, no_block: bool) -> Vec<&'static str> {
    if no_block {
        vec!["--no-block", verb]
    } else {
        vec![verb]
    }
}

fn systemctl(host: &HostWrite, args: &[&str], unit: &str) -> Result<CmdRun, ExecError> {
    Ok(systemd::run(host, args, unit)?)
}

/// Salt's `_check_for_unit_changes`: a unit file changed on disk since
/// systemd loaded it is reloaded first.
fn reload_if_changed(host: &HostWrite, unit: &str) -> Result<(), ExecError> {
    if !systemd::offline(host)? && systemd::read(host, unit)?.need_reload {
        systemd::daemon_reload(host)?;
    }
    Ok(())
}

/// Salt's `SYSTEM_CONFIG_PATHS + (LOCAL_CONFIG_PATH,)`.
const UNIT_DIRS: &[&str] = &[
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/etc/systemd/system",
];

/// Salt's `get_all`: the unit files of the unit directories (a directory
/// that is a symlink is another one's alias and skipped), services by their
/// bare name, plus the executable init scripts no unit already names.
pub fn get_all(host: &HostRead) -> Result<Vec<String>, ExecError> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for dir in UNIT_DIRS {
        let path = host.path(dir)?;
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(file) = entry.file_name().into_string() else {
                continue;
            };
            let Some((stem, kind)) = file.rsplit_once('.') else {
                continue;
            };
            if systemd::UNIT_TYPES.contains(&kind) {
                names.insert(if kind == "service" {
                    stem.to_string()
                } else {
                    file.clone()
                });
            }
        }
    }
    let systemd_services = names.clone();
    if let Ok(scripts) = std::fs::read_dir(host.path("/etc/init.d")?) {
        for entry in scripts.flatten() {
            let Ok(file) = entry.file_name().into_string() else {
                continue;
            };
            // `os.access(X_OK)`, through a symlink.
            let executable =
                std::fs::metadata(entry.path()).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
            if executable && !systemd_services.contains(&file) {
                names.insert(file);
            }
        }
    }
    Ok(names.into_iter().collect())
}
