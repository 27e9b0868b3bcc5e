//! `service` on systemd (`salt/states/service.py` over
//! `salt/modules/systemd_service.py`): `running`, `dead`, `enabled`,
//! `disabled`, `masked`, `unmasked` and `mod_watch`, with Salt's comments
//! and `changes` (`{name: True}`).
//!
//! A unit's state is one `systemctl show`; masks are read from their
//! symlinks as Salt does. When systemd is not running (no
//! `/run/systemd/system` under the root) `running`/`dead` say Salt's
//! "Running in OFFLINE mode. Nothing to do", and enable/disable/mask work on
//! unit files with `systemctl --root` (where Salt fails).
mod enabled;
mod masked;
mod mod_watch;
mod running;
pub(crate) mod systemd;

use std::time::Duration;

use common::data::{Map, Value};
use serde_json::json;

use super::{Applied, Args, Check, HostRead, HostWrite, StateError};
use enabled::enable_state;
use masked::mask_state;
use mod_watch::mod_watch;
use running::run_state;
use systemd::UnitState;

pub struct Service;

const OFFLINE: &str = "Running in OFFLINE mode. Nothing to do";

impl super::StateModule for Service {
    fn name(&self) -> &'static str {
        "service"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::SERVICE
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        let unit = Unit::new(args)?;
        match fun {
            "running" | "dead" => {
                let want = Want::read(args, fun == "running")?;
                run_state(unit, want, host)
            }
            "enabled" | "disabled" => enable_state(unit, fun == "enabled", host),
            "masked" | "unmasked" => {
                let runtime = args.bool_or("runtime", false)?;
                mask_state(unit, fun == "masked", runtime, host)
            }
            other => Err(StateError::args(format!(
                "service.{other} is not a state function"
            ))),
        }
    }

    fn watchable(&self) -> bool {
        true
    }

    fn mod_watch_signature(&self) -> Option<&'static super::Signature> {
        Some(&super::signatures::tables::SERVICE_MOD_WATCH)
    }

    fn mod_watch(
        &self,
        fun: &str,
        args: &Args,
        host: &HostRead,
    ) -> Option<Result<Check, StateError>> {
        Some(mod_watch(fun, args, host))
    }
}

/// The service as the state names it and the unit systemctl gets.
#[derive(Clone)]
struct Unit {
    name: String,
    unit: String,
}

impl Unit {
    fn new(args: &Args) -> Result<Unit, StateError> {
        let name = args.name();
        systemd::validate(&name)?;
        Ok(Unit {
            unit: systemd::canonical(&name),
            name,
        })
    }

    fn run(&self, host: &HostWrite, args: &[&str]) -> Result<super::CmdRun, StateError> {
        systemd::run(host, args, &self.unit)
    }

    fn read(&self, host: &HostRead) -> Result<UnitState, StateError> {
        systemd::read(host, &self.unit)
    }
}

fn opt_bool(args: &Args, key: &str) -> Result<Option<bool>, StateError> {
    match args.get(key) {
        None => Ok(None),
        Some(_) => args.bool_or(key, false).map(Some),
    }
}

/// `init_delay`, seconds (Salt sleeps it after starting/stopping), kept as
/// written for the comment.
fn init_delay(args: &Args) -> Result<Option<(Duration, String)>, StateError> {
    let Some(v) = args.get("init_delay") else {
        return Ok(None);
    };
    let secs = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite() && *s >= 0.0)
    .ok_or_else(|| {
        StateError::args(format!("'init_delay' must be a number of seconds, got {v}"))
    })?;
    if secs == 0.0 {
        return Ok(None);
    }
    Ok(Some((
        Duration::from_secs_f64(secs),
        common::pyfmt::py_str(v),
    )))
}

/// What `service.running` / `service.dead` ask for.
struct Want {
    running: bool,
    enable: Option<bool>,
    delay: Option<(Duration, String)>,
    /// `unmask` (running only), and whether the runtime mask is meant.
    unmask: Option<bool>,
    enabled_typo: bool,
}

impl Want {
    fn read(args: &Args, running: bool) -> Result<Want, StateError> {
        let enable = opt_bool(args, "enable")?;
        let delay = init_delay(args)?;
        let unmask = if running && args.bool_or("unmask", false)? {
            Some(args.bool_or("unmask_runtime", false)?)
        } else {
            None
        };
        // Read here so they are known arguments; they matter to mod_watch.
        let _ = args.get("sig");
        if running {
            let _ = (
                args.get("reload"),
                args.get("force"),
                args.get("full_restart"),
            );
            let _ = args.get("unmask_runtime");
        }
        Ok(Want {
            running,
            enable,
            delay,
            unmask,
            enabled_typo: args.get("enabled").is_some(),
        })
    }
}

/// `Some(true)` to enable, `Some(false)` to disable, `None` when as asked.
fn toggle_needed(enable: Option<bool>, state: &UnitState) -> Option<bool> {
    enable.filter(|&e| e != state.enabled())
}

/// Salt's `_enable`/`_disable` comments. `started`: Some(true) running,
/// Some(false) dead, None "in the desired state".
fn enable_comment(name: &str, enable: bool, started: Option<bool>, done: bool) -> String {
    let verb = if enable { "enabled" } else { "disabled" };
    let how = if done { "has been" } else { "is already" };
    match started {
        Some(true) => format!("Service {name} {how} {verb}, and is running"),
        Some(false) => format!("Service {name} {how} {verb}, and is dead"),
        None => format!("Service {name} {how} {verb}, and is in the desired state"),
    }
}

fn enable_failed_comment(name: &str, enable: bool, started: Option<bool>) -> String {
    match (enable, started) {
        (true, Some(true)) => format!("Failed when setting service {name} to start at boot, but the service is running"),
        (true, None) => format!("Failed when setting service {name} to start at boot, but the service was already running"),
        (true, Some(false)) => format!("Failed when setting service {name} to start at boot, and the service is dead"),
        (false, Some(true)) => format!("Failed when setting service {name} to not start at boot, and is running"),
        (false, None) => format!("Failed when setting service {name} to not start at boot, but the service was already running"),
        (false, Some(false)) => format!("Failed when setting service {name} to not start at boot, and the service is dead"),
    }
}

/// A state's outcome being built up while applying, as Salt's `ret`.
struct Outcome {
    result: bool,
    comment: String,
    changes: Map<String, Value>,
}

impl Outcome {
    fn done(self) -> Applied {
        Applied {
            result: self.result,
            comment: self.comment,
            changes: Some(self.changes),
        }
    }
}

/// Salt's `_enable`/`_disable` when not testing: sets the outcome's comment
/// and result, and its changes when the enable state toggled.
fn apply_toggle(
    host: &HostWrite,
    unit: &Unit,
    enable: bool,
    started: Option<bool>,
    result: bool,
    out: &mut Outcome,
) -> Result<(), StateError> {
    let before = unit.read(host)?.enabled();
    out.result = result;
    if before == enable {
        out.comment = enable_comment(&unit.name, enable, started, false);
        if started.is_none() {
            out.changes = Map::new();
        }
        return Ok(());
    }
    let cmd = unit.run(host, &[if enable { "enable" } else { "disable" }])?;
    if cmd.retcode == 0 {
        out.changes = Map::new();
        if unit.read(host)?.enabled() != before {
            out.changes.insert(unit.name.clone(), json!(true));
        }
        out.comment = enable_comment(&unit.name, enable, started, true);
    } else {
        out.result = false;
        out.comment = enable_failed_comment(&unit.name, enable, started);
        if enable && !cmd.stderr.trim().is_empty() {
            out.comment.push_str(&format!(
                ". Additional information follows:\n\n{}",
                cmd.stderr.trim()
            ));
        }
    }
    Ok(())
}

fn join_lines(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

fn not_present(name: &str, verb: &str) -> String {
    format!("Service {name} not present; if created in this state run, it would have been {verb}")
}

fn not_available(name: &str) -> String {
    format!("The named service {name} is not available")
}

#[cfg(test)]
mod tests;
