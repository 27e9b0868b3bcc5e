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
mod systemd;

use std::time::Duration;

use common::data::{Map, Value};
use serde_json::json;

use super::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
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

/// `service.running` / `service.dead`.
fn run_state(unit: Unit, want: Want, host: &HostRead) -> Result<Check, StateError> {
    if want.enabled_typo {
        return Ok(Check::fail(format!(
            "Service {} uses non-existent option \"enabled\".  Perhaps \"enable\" option was intended?",
            unit.name
        )));
    }
    if systemd::offline(host)? {
        return Ok(Check::clean(OFFLINE));
    }
    let state = unit.read(host)?;
    let name = unit.name.clone();
    if !state.available() {
        // A unit file written earlier in this run shows up after a
        // daemon-reload; a dry run cannot do one, so it says what Salt says.
        let verb = if want.running { "started" } else { "stopped" };
        return Ok(Check::change(
            Map::new(),
            not_present(&name, verb),
            ApplyFn(move |w: &HostWrite| {
                if systemd::unit_file_exists(w, &unit.unit)? {
                    systemd::daemon_reload(w)?;
                }
                let state = unit.read(w)?;
                if !state.available() {
                    // Salt: a missing service fails `running`, not `dead`.
                    return Ok(Applied {
                        result: !want.running,
                        comment: not_available(&unit.name),
                        changes: None,
                    });
                }
                converge(w, &unit, &want, state)
            }),
        ));
    }

    let mask_pending = match want.unmask {
        Some(runtime) => systemd::masked(host, &unit.unit, runtime)?,
        None => false,
    };
    let unmask_test = match (want.unmask, mask_pending) {
        (None, _) => String::new(),
        (Some(rt), true) => format!(
            "Service {name} would be {}",
            if rt { "runtime unmasked" } else { "unmasked" }
        ),
        (Some(rt), false) => format!(
            "Service {name} was already {}",
            if rt { "runtime unmasked" } else { "unmasked" }
        ),
    };
    if state.running() == want.running {
        let already = if want.running {
            format!("The service {name} is already running")
        } else {
            format!("The service {name} is already dead")
        };
        let comment = join_lines(&[&already, &unmask_test]);
        let toggle = toggle_needed(want.enable, &state);
        if toggle.is_none() && !mask_pending {
            return Ok(Check::clean(comment));
        }
        let test_comment = match toggle {
            Some(true) => format!("Service {name} set to be enabled"),
            Some(false) => format!("Service {name} set to be disabled"),
            None => comment,
        };
        return Ok(Check::change(
            Map::new(),
            test_comment,
            ApplyFn(move |w: &HostWrite| converge(w, &unit, &want, state)),
        ));
    }
    let test_comment = if want.running {
        join_lines(&[&format!("Service {name} is set to start"), &unmask_test])
    } else {
        format!("Service {name} is set to be killed")
    };
    Ok(Check::change(
        Map::new(),
        test_comment,
        ApplyFn(move |w: &HostWrite| converge(w, &unit, &want, state)),
    ))
}

/// Salt's `running`/`dead` after the availability check, not testing.
fn converge(
    host: &HostWrite,
    unit: &Unit,
    want: &Want,
    before: UnitState,
) -> Result<Applied, StateError> {
    let name = &unit.name;
    if before.need_reload {
        systemd::daemon_reload(host)?;
    }
    let mut unmask_comment = String::new();
    if let Some(runtime) = want.unmask {
        let action = if runtime {
            "runtime unmasked"
        } else {
            "unmasked"
        };
        unmask_comment = if systemd::masked(host, &unit.unit, runtime)? {
            let args: &[&str] = if runtime {
                &["unmask", "--runtime"]
            } else {
                &["unmask"]
            };
            let out = unit.run(host, args)?;
            if out.retcode != 0 || systemd::masked(host, &unit.unit, runtime)? {
                return Ok(Applied::failed(
                    format!("Failed to unmask service '{name}'"),
                    Map::new(),
                ));
            }
            format!("Service {name} was {action}")
        } else {
            format!("Service {name} was already {action}")
        };
    }
    let mut out = Outcome {
        result: true,
        comment: String::new(),
        changes: Map::new(),
    };
    if before.running() == want.running {
        let already = if want.running { "running" } else { "dead" };
        out.comment = join_lines(&[
            &format!("The service {name} is already {already}"),
            &unmask_comment,
        ]);
        if let Some(enable) = toggle_needed(want.enable, &before) {
            apply_toggle(host, unit, enable, None, true, &mut out)?;
        }
        return Ok(out.done());
    }

    let verb = if want.running { "start" } else { "stop" };
    let cmd = unit.run(host, &[verb])?;
    if cmd.retcode != 0 {
        if want.running {
            // Salt raises with systemctl's message and stops there.
            return Ok(Applied::failed(cmd.stderr.trim().to_string(), Map::new()));
        }
        out.result = false;
        out.comment = format!("Service {name} failed to die");
        if let Some(enable) = want.enable {
            apply_toggle(host, unit, enable, Some(true), false, &mut out)?;
        }
        return Ok(out.done());
    }
    if let Some((delay, _)) = &want.delay {
        std::thread::sleep(*delay);
    }
    let after = unit.read(host)?;
    if before.enabled() != after.enabled() || before.running() != after.running() {
        out.changes.insert(name.clone(), json!(after.running()));
    }
    let reached = after.running() == want.running;
    out.result = reached;
    out.comment = match (want.running, reached) {
        (true, true) => format!("Started service {name}"),
        (true, false) => format!("Service {name} failed to start"),
        (false, true) => format!("Service {name} was killed"),
        (false, false) => format!("Service {name} failed to die"),
    };
    if let Some(enable) = want.enable {
        apply_toggle(host, unit, enable, Some(after.running()), reached, &mut out)?;
    }
    if let Some((_, shown)) = &want.delay {
        out.comment = format!("{}\nDelayed return for {shown} seconds", out.comment);
    }
    if want.unmask.is_some() {
        out.comment = format!("{}\n{unmask_comment}", out.comment);
    }
    Ok(out.done())
}

/// `service.enabled` / `service.disabled`.
fn enable_state(unit: Unit, enable: bool, host: &HostRead) -> Result<Check, StateError> {
    let state = unit.read(host)?;
    let name = unit.name.clone();
    if !state.available() {
        if !enable {
            // Salt: disabling a missing service succeeds.
            return Ok(Check::clean(not_available(&name)));
        }
        return Ok(Check::change(
            Map::new(),
            not_present(&name, "enabled"),
            ApplyFn(move |w: &HostWrite| {
                if systemd::unit_file_exists(w, &unit.unit)? {
                    systemd::daemon_reload(w)?;
                }
                if !unit.read(w)?.available() {
                    return Ok(Applied::failed(not_available(&unit.name), Map::new()));
                }
                let mut out = Outcome {
                    result: true,
                    comment: String::new(),
                    changes: Map::new(),
                };
                apply_toggle(w, &unit, true, None, true, &mut out)?;
                Ok(out.done())
            }),
        ));
    }
    if state.enabled() == enable {
        return Ok(Check::clean(enable_comment(&name, enable, None, false)));
    }
    let test_comment = format!(
        "Service {name} set to be {}",
        if enable { "enabled" } else { "disabled" }
    );
    Ok(Check::change(
        Map::new(),
        test_comment,
        ApplyFn(move |w: &HostWrite| {
            if state.need_reload {
                systemd::daemon_reload(w)?;
            }
            let mut out = Outcome {
                result: true,
                comment: String::new(),
                changes: Map::new(),
            };
            apply_toggle(w, &unit, enable, None, true, &mut out)?;
            Ok(out.done())
        }),
    ))
}

/// `service.masked` / `service.unmasked`.
fn mask_state(unit: Unit, mask: bool, runtime: bool, host: &HostRead) -> Result<Check, StateError> {
    let name = unit.name.clone();
    let mask_type = if runtime { "runtime masked" } else { "masked" };
    let action = if mask {
        mask_type
    } else if runtime {
        "runtime unmasked"
    } else {
        "unmasked"
    };
    if systemd::masked(host, &unit.unit, runtime)? == mask {
        return Ok(Check::clean(if mask {
            format!("Service {name} is already {mask_type}")
        } else {
            format!("Service {name} was already {action}")
        }));
    }
    let expected = super::changes([(mask_type, json!({"old": !mask, "new": mask}))]);
    Ok(Check::change(
        expected.clone(),
        format!("Service {name} would be {action}"),
        ApplyFn(move |w: &HostWrite| {
            let verb = if mask { "mask" } else { "unmask" };
            let args: Vec<&str> = if runtime {
                vec![verb, "--runtime"]
            } else {
                vec![verb]
            };
            let out = unit.run(w, &args)?;
            let failed = || {
                if mask {
                    format!("Failed to mask service {}", unit.name)
                } else {
                    format!("Failed to unmask service {}", unit.name)
                }
            };
            if out.retcode != 0 {
                let detail = [out.stdout.trim(), out.stderr.trim()].join("\n");
                return Ok(Applied::failed(
                    format!("{}: {}", failed(), detail.trim()),
                    Map::new(),
                ));
            }
            if systemd::masked(w, &unit.unit, runtime)? != mask {
                return Ok(Applied::failed(failed(), Map::new()));
            }
            Ok(Applied::ok_with(
                format!("Service {} was {action}", unit.name),
                expected,
            ))
        }),
    ))
}

/// Salt's `service.mod_watch`: restart (or reload) a running service,
/// start a stopped one, stop one that should be dead.
fn mod_watch(fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
    // The executor passes the watching function both ways, as Salt's `sfun`.
    let sfun = args.str("sfun")?.unwrap_or_else(|| fun.to_string());
    let unit = Unit::new(args)?;
    let reload = args.bool_or("reload", false)?;
    let force = args.bool_or("force", false)?;
    let _ = args.get("full_restart");
    if !matches!(sfun.as_str(), "running" | "dead") {
        return Ok(Check::fail(format!(
            "Unable to trigger watch for service.{sfun}"
        )));
    }
    // The watching state's own arguments are this call's too: read them all
    // (the executor reports unread ones); init_delay applies here as well.
    let delay = Want::read(args, sfun == "running")?.delay;
    if systemd::offline(host)? {
        return Ok(Check::clean(OFFLINE));
    }
    let running = unit.read(host)?.running();
    let (verb, past): (&'static str, &'static str) = match (sfun.as_str(), running) {
        ("dead", true) => ("stop", "stopped"),
        ("dead", false) => return Ok(Check::clean("Service is already stopped")),
        (_, true) if reload && force => ("force-reload", "forcefully reloaded"),
        (_, true) if reload => ("reload", "reloaded"),
        (_, true) => ("restart", "restarted"),
        (_, false) => ("start", "started"),
    };
    Ok(Check::change(
        Map::new(),
        format!("Service is set to be {past}"),
        ApplyFn(move |w: &HostWrite| {
            if unit.read(w)?.need_reload {
                systemd::daemon_reload(w)?;
            }
            if verb == "start" {
                // Salt stops before starting (a failed unit may linger).
                unit.run(w, &["stop"])?;
            }
            let out = unit.run(w, &[verb])?;
            if out.retcode != 0 && verb != "stop" {
                return Ok(Applied::failed(out.stderr.trim().to_string(), Map::new()));
            }
            if let Some((d, _)) = &delay {
                std::thread::sleep(*d);
            }
            let ok = out.retcode == 0;
            let shown = match verb {
                "force-reload" => "forcefully reload",
                other => other,
            };
            Ok(Applied {
                result: ok,
                comment: if ok {
                    format!("Service {past}")
                } else {
                    format!("Failed to {shown} the service")
                },
                changes: Some(super::changes([(unit.name.as_str(), json!(ok))])),
            })
        }),
    ))
}

#[cfg(test)]
mod tests;
