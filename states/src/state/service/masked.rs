//! `service.masked` and `service.unmasked`.
use common::data::Map;
use serde_json::json;

use super::super::{Applied, ApplyFn, Check, HostRead, HostWrite, StateError};
use super::systemd;
use super::Unit;

/// `service.masked` / `service.unmasked`.
pub(super) fn mask_state(
    unit: Unit,
    mask: bool,
    runtime: bool,
    host: &HostRead,
) -> Result<Check, StateError> {
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
    let expected = super::super::changes([(mask_type, json!({"old": !mask, "new": mask}))]);
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
