//! What systemd says about a unit: one `systemctl show` per service on a
//! booted host; `systemctl --root is-enabled` when systemd is not running
//! (a container build, a chroot, a test root), which is Salt's "offline" mode.
use std::path::Path;

use crate::state::{CmdRun, HostRead, HostWrite, StateError};

/// Unit suffixes systemd knows; any other name is a `.service` (Salt's
/// `_canonical_unit_name`).
pub const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
];

pub const SHOW_PROPERTIES: &str =
    "LoadState,ActiveState,SubState,UnitFileState,MainPID,NeedDaemonReload";

/// Directories unit files are loaded from, most specific first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// Refuses names systemctl would read as options or that are no unit.
pub fn validate(name: &str) -> Result<(), StateError> {
    if name.is_empty() {
        return Err(StateError::args("service name is empty"));
    }
    if name.starts_with('-') {
        return Err(StateError::args(format!(
            "refusing service name {name:?}: it starts with '-'"
        )));
    }
    if name.contains('/') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(StateError::args(format!("invalid service name {name:?}")));
    }
    Ok(())
}

/// `nginx` → `nginx.service`; `foo.timer` stays.
pub fn canonical(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, suffix)) if UNIT_TYPES.contains(&suffix) => name.to_string(),
        _ => format!("{name}.service"),
    }
}

/// The properties we read of a unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    pub load: String,
    pub active: String,
    pub sub: String,
    pub file_state: String,
    pub main_pid: u32,
    pub need_reload: bool,
}

impl UnitState {
    /// Salt's `service.available`: systemd knows the unit.
    pub fn available(&self) -> bool {
        !self.load.is_empty() && self.load != "not-found"
    }

    /// `systemctl is-active` succeeds.
    pub fn running(&self) -> bool {
        matches!(self.active.as_str(), "active" | "reloading" | "refreshing")
    }

    /// `systemctl is-enabled` succeeds (static and alias units count, as
    /// they do for Salt's `service.enabled`).
    pub fn enabled(&self) -> bool {
        matches!(
            self.file_state.as_str(),
            "enabled"
                | "enabled-runtime"
                | "static"
                | "alias"
                | "indirect"
                | "generated"
                | "transient"
        )
    }
}

/// Parses `systemctl show --property=…` output (`Key=Value` lines).
pub fn parse_show(text: &str) -> UnitState {
    let mut s = UnitState::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key {
            "LoadState" => s.load = value.into(),
            "ActiveState" => s.active = value.into(),
            "SubState" => s.sub = value.into(),
            "UnitFileState" => s.file_state = value.into(),
            "MainPID" => s.main_pid = value.parse().unwrap_or(0),
            "NeedDaemonReload" => s.need_reload = value == "yes",
            _ => {}
        }
    }
    s
}

/// No systemd to talk to (Salt's `salt.utils.systemd.offline`: no
/// `/run/systemd/system`). Under a root other than `/` systemctl can only
/// work on unit files (`--root`), so that is offline too.
pub fn offline(host: &HostRead) -> Result<bool, StateError> {
    Ok(host.root() != Path::new("/") || !host.path("/run/systemd/system")?.is_dir())
}

/// `systemctl [--root R] <args…> <unit>`.
pub fn argv(host: &HostRead, args: &[&str], unit: &str) -> Vec<String> {
    let mut argv = vec!["systemctl".to_string()];
    if host.root() != Path::new("/") {
        argv.push(format!("--root={}", host.root().display()));
    }
    argv.extend(args.iter().map(|a| a.to_string()));
    argv.push(unit.to_string());
    argv
}

fn query(host: &HostRead, argv: &[String]) -> Result<CmdRun, StateError> {
    host.query(&argv.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Reads the unit's state: one `systemctl show`, or offline one
/// `systemctl is-enabled` (nothing is running then).
pub fn read(host: &HostRead, unit: &str) -> Result<UnitState, StateError> {
    if offline(host)? {
        let out = query(host, &argv(host, &["is-enabled"], unit))?;
        let state = out.stdout.lines().next().unwrap_or("").trim().to_string();
        let load = match state.as_str() {
            "" => "not-found",
            "masked" | "masked-runtime" => "masked",
            _ => "loaded",
        };
        return Ok(UnitState {
            load: load.into(),
            active: "inactive".into(),
            sub: "dead".into(),
            file_state: state,
            main_pid: 0,
            need_reload: false,
        });
    }
    let props = format!("--property={SHOW_PROPERTIES}");
    let out = query(host, &argv(host, &["show", &props], unit))?;
    if out.retcode != 0 {
        return Err(StateError::host(format!(
            "Failed to get information on unit '{unit}': {}",
            out.stderr.trim()
        )));
    }
    Ok(parse_show(&out.stdout))
}

/// Salt's `service.masked`: the unit file is a symlink to /dev/null in
/// /etc/systemd/system (or /run/systemd/system for a runtime mask).
pub fn masked(host: &HostRead, unit: &str, runtime: bool) -> Result<bool, StateError> {
    let dir = if runtime {
        "/run/systemd/system"
    } else {
        "/etc/systemd/system"
    };
    let link = host.path(&format!("{dir}/{unit}"))?;
    Ok(std::fs::read_link(link).is_ok_and(|target| target == Path::new("/dev/null")))
}

/// A unit file for `unit` is on disk (so a daemon-reload would load it).
pub fn unit_file_exists(host: &HostRead, unit: &str) -> Result<bool, StateError> {
    for dir in UNIT_DIRS {
        if host.path(&format!("{dir}/{unit}"))?.exists() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs `systemctl <args…> <unit>`.
pub fn run(host: &HostWrite, args: &[&str], unit: &str) -> Result<CmdRun, StateError> {
    let argv = argv(host, args, unit);
    host.run(
        &argv.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
        None,
    )
}

/// `systemctl daemon-reload` (not offline: there is no daemon then).
pub fn daemon_reload(host: &HostWrite) -> Result<(), StateError> {
    if offline(host)? {
        return Ok(());
    }
    let out = host.run(&["systemctl", "daemon-reload"], &[], None)?;
    if out.retcode != 0 {
        return Err(StateError::host(format!(
            "systemctl daemon-reload failed: {}",
            out.stderr.trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_show_output() {
        let running = parse_show(
            "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=1234\nNeedDaemonReload=no\n",
        );
        assert!(running.available() && running.running() && running.enabled());
        assert_eq!(running.main_pid, 1234);
        assert_eq!(running.sub, "running");
        assert!(!running.need_reload);

        let missing = parse_show(
            "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nMainPID=0\nNeedDaemonReload=no\n",
        );
        assert!(!missing.available() && !missing.running() && !missing.enabled());

        let stale = parse_show(
            "MainPID=0\nLoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=static\nNeedDaemonReload=yes\n",
        );
        assert!(stale.available() && !stale.running() && stale.enabled());
        assert!(stale.need_reload);

        let masked = parse_show("LoadState=masked\nActiveState=inactive\nUnitFileState=masked\n");
        assert!(masked.available() && !masked.enabled());
        assert!(parse_show("ActiveState=reloading\n").running());
    }

    #[test]
    fn names_become_units() {
        assert_eq!(canonical("nginx"), "nginx.service");
        assert_eq!(canonical("nginx.service"), "nginx.service");
        assert_eq!(canonical("apt-daily.timer"), "apt-daily.timer");
        assert_eq!(canonical("getty@tty1"), "getty@tty1.service");
        assert_eq!(canonical("php8.2-fpm"), "php8.2-fpm.service");
        assert!(validate("--now").is_err());
        assert!(validate("a b").is_err());
        assert!(validate("../x").is_err());
        assert!(validate("").is_err());
        assert!(validate("getty@tty1").is_ok());
    }

    #[test]
    fn commands_are_argv_with_root_when_not_slash() {
        let host = HostRead::new(
            "/".into(),
            std::sync::Arc::new(crate::state::pkg::tests_support::NoSources),
        );
        assert_eq!(
            argv(&host, &["start"], "nginx.service"),
            ["systemctl", "start", "nginx.service"]
        );
        let rooted = HostRead::new(
            "/tmp/r".into(),
            std::sync::Arc::new(crate::state::pkg::tests_support::NoSources),
        );
        assert_eq!(
            argv(&rooted, &["mask", "--runtime"], "x.service"),
            [
                "systemctl",
                "--root=/tmp/r",
                "mask",
                "--runtime",
                "x.service"
            ]
        );
    }
}
