//! `service.mod_watch`, what a `watch` requisite runs.
use common::data::Map;
use serde_json::json;

use super::super::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use super::systemd;
use super::{Unit, Want, OFFLINE};

/// Salt's `service.mod_watch`: restart (or reload) a running service,
/// start a stopped one, stop one that should be dead.
pub(super) fn mod_watch(fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
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
                changes: Some(super::super::changes([(unit.name.as_str(), json!(ok))])),
            })
        }),
    ))
}
