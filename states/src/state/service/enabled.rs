//! `service.enabled` and `service.disabled`.
use common::data::Map;

use super::super::{Applied, ApplyFn, Check, HostRead, HostWrite, StateError};
use super::systemd;
use super::{apply_toggle, enable_comment, not_available, not_present, Outcome, Unit};

/// `service.enabled` / `service.disabled`.
pub(super) fn enable_state(unit: Unit, enable: bool, host: &HostRead) -> Result<Check, StateError> {
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
