//! `service.running` and `service.dead`.
use common::data::Map;
use serde_json::json;

use super::super::{Applied, ApplyFn, Check, HostRead, HostWrite, StateError};
use super::systemd::{self, UnitState};
use super::{
    apply_toggle, join_lines, not_available, not_present, toggle_needed, Outcome, Unit, Want,
    OFFLINE,
};

/// `service.running` / `service.dead`.
pub(super) fn run_state(unit: Unit, want: Want, host: &HostRead) -> Result<Check, StateError> {
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
