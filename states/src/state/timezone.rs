//! `timezone.system` (salt/states/timezone.py over salt/modules/timezone.py,
//! Debian): `/etc/localtime` a symlink to `/usr/share/zoneinfo/<zone>`,
//! `/etc/timezone` naming the zone, and the hardware clock's UTC flag in
//! `/etc/adjtime`.
//!
//! Salt asks `timedatectl` where systemd runs; timedated itself reads and
//! writes exactly these files (the `/etc/localtime` link and the third line
//! of `/etc/adjtime`), so Brine reads and writes the files on every root: the
//! same result on a real host, and testable under a state root.
use std::path::{Path, PathBuf};

use super::{text_file, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct Timezone;

impl super::StateModule for Timezone {
    fn name(&self) -> &'static str {
        "timezone"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::TIMEZONE
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "system" => system(args, host),
            other => Err(StateError::args(format!(
                "timezone.{other} is not a state function"
            ))),
        }
    }
}

const LOCALTIME: &str = "/etc/localtime";
const ADJTIME: &str = "/etc/adjtime";
/// What timedated writes when it creates `/etc/adjtime`.
const NEW_ADJTIME: &str = "0.0 0 0\n0\n";

/// `/usr/share/zoneinfo/<zone>`, refusing names that would leave it.
fn zone_file(name: &str) -> Result<String, StateError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.contains(char::is_whitespace)
        || name
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(StateError::args(format!(
            "{name:?} is not a time zone name (like Europe/Paris)"
        )));
    }
    Ok(format!("/usr/share/zoneinfo/{name}"))
}

/// The bytes `/etc/localtime` resolves to, resolving an absolute link target
/// under the root (a state root's `/etc/localtime -> /usr/share/zoneinfo/X`
/// means the root's own zone file, as inside a container).
fn localtime_bytes(host: &HostRead) -> Option<Vec<u8>> {
    let link = host.path(LOCALTIME).ok()?;
    let target = match std::fs::read_link(&link) {
        Ok(t) if t.is_absolute() => host.path(t.to_str()?).ok()?,
        _ => link,
    };
    std::fs::read(target).ok()
}

/// Salt's `get_hwclock` through timedated: the last line of `/etc/adjtime`
/// is `LOCAL` for a local-time clock; no file means UTC.
fn hwclock_is_utc(host: &HostRead) -> Result<bool, StateError> {
    let text = text_file::read_optional(&host.path(ADJTIME)?)?;
    Ok(text.is_none_or(|t| t.lines().nth(2).map(str::trim) != Some("LOCAL")))
}

fn system(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let utc = args.bool_or("utc", true)?;
    let zonepath = zone_file(&name)?;
    let Ok(zone) = std::fs::read(host.path(&zonepath)?) else {
        return Ok(Check::fail(format!(
            "Unable to compare desired timezone '{name}' to system timezone: Can't find a local timezone \"{name}\""
        )));
    };
    // Salt fails when /etc/localtime is missing; a missing link is simply
    // not the wanted zone here, so a bare image gets one.
    let zone_ok = localtime_bytes(host).is_some_and(|b| b == zone);
    let myutc = hwclock_is_utc(host)?;
    // Salt sets the clock only towards UTC: `utc: False` never changes it.
    let do_utc = utc && !myutc;
    if zone_ok && !do_utc {
        let mut messages = vec![format!("Timezone {name} already set")];
        if utc {
            messages.push(format!("UTC already set to {name}"));
        }
        return Ok(Check::clean(messages.join(", ")));
    }
    let mut test = Vec::new();
    if !zone_ok {
        test.push(format!("Timezone {name} needs to be set"));
    }
    if do_utc {
        test.push(format!("UTC needs to be set to {}", py_bool(utc)));
    }
    let set = SetZone {
        name,
        zonepath,
        localtime: host.path(LOCALTIME)?,
        etc_timezone: host.path("/etc/timezone")?,
        adjtime: host.path(ADJTIME)?,
        zone: !zone_ok,
        utc: do_utc,
    };
    // Salt's dry run shows no changes here, only the comment.
    Ok(Check::change(
        Default::default(),
        test.join(", "),
        ApplyFn(move |host: &HostWrite| Ok(set.run(host))),
    ))
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

struct SetZone {
    name: String,
    zonepath: String,
    localtime: PathBuf,
    etc_timezone: PathBuf,
    adjtime: PathBuf,
    zone: bool,
    utc: bool,
}

impl SetZone {
    fn run(self, host: &HostWrite) -> Applied {
        let mut messages = Vec::new();
        let mut changed = serde_json::Map::new();
        let mut result = true;
        if self.zone {
            match self.set_zone(host) {
                Ok(()) => {
                    changed.insert("timezone".into(), self.name.clone().into());
                    messages.push(format!("Set timezone {}", self.name));
                }
                Err(e) => {
                    tracing::warn!("timezone {}: {e}", self.name);
                    messages.push("Failed to set timezone".to_string());
                    result = false;
                }
            }
        }
        if self.utc {
            match set_adjtime_utc(host, &self.adjtime) {
                Ok(()) => {
                    changed.insert("utc".into(), true.into());
                    messages.push("Set UTC to True".to_string());
                    result = true;
                }
                Err(e) => {
                    tracing::warn!("{}: {e}", self.adjtime.display());
                    messages.push("Failed to set UTC to True".to_string());
                    result = false;
                }
            }
        }
        Applied {
            result,
            comment: messages.join(", "),
            changes: Some(changed),
        }
    }

    /// Salt's `set_zone`: unlink, symlink, write `/etc/timezone`.
    fn set_zone(&self, host: &HostWrite) -> Result<(), StateError> {
        if std::fs::symlink_metadata(&self.localtime).is_ok() {
            host.remove_file(&self.localtime)?;
        } else if let Some(dir) = self.localtime.parent() {
            host.create_dir_all(dir)?;
        }
        host.symlink(Path::new(&self.zonepath), &self.localtime)?;
        text_file::write(host, &self.etc_timezone, &format!("{}\n", self.name))
    }
}

/// What `timedatectl set-local-rtc false` does: the third line says `UTC`.
fn set_adjtime_utc(host: &HostWrite, path: &Path) -> Result<(), StateError> {
    let old = text_file::read_optional(path)?.unwrap_or_else(|| NEW_ADJTIME.to_string());
    let mut lines: Vec<&str> = old.lines().collect();
    lines.resize(lines.len().max(3), "0");
    lines[2] = "UTC";
    let mut text = lines.join("\n");
    text.push('\n');
    text_file::write(host, path, &text)
}

#[cfg(test)]
mod tests {
    use super::super::changes;
    use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
    use super::*;
    use serde_json::json;

    fn with_zones() -> TestHost {
        let t = TestHost::new();
        t.write("/usr/share/zoneinfo/Etc/UTC", "TZif utc\n");
        t.write("/usr/share/zoneinfo/Europe/Paris", "TZif paris\n");
        t.write("/etc/timezone", "Etc/UTC\n");
        std::os::unix::fs::symlink("/usr/share/zoneinfo/Etc/UTC", t.path(LOCALTIME)).unwrap();
        t
    }

    #[test]
    fn sets_the_zone_then_is_clean_and_test_mode_writes_nothing() {
        let t = with_zones();
        let args = json!({"name": "Europe/Paris"});
        let before = t.snapshot();
        let check = t.check(&Timezone, "system", args.clone()).unwrap();
        assert_eq!(t.snapshot(), before, "check wrote to the root");
        assert_eq!(comment_of(&check), "Timezone Europe/Paris needs to be set");
        assert!(changes_of(&check).unwrap().is_empty());

        let applied = t.apply(check);
        assert!(applied.result);
        assert_eq!(applied.comment, "Set timezone Europe/Paris");
        assert_eq!(
            applied.changes.unwrap(),
            changes([("timezone", json!("Europe/Paris"))])
        );
        assert_eq!(
            std::fs::read_link(t.path(LOCALTIME)).unwrap(),
            Path::new("/usr/share/zoneinfo/Europe/Paris")
        );
        assert_eq!(t.read("/etc/timezone"), "Europe/Paris\n");

        let again = t.check(&Timezone, "system", args).unwrap();
        assert!(is_clean(&again));
        assert_eq!(
            comment_of(&again),
            "Timezone Europe/Paris already set, UTC already set to Europe/Paris"
        );
    }

    #[test]
    fn a_local_hardware_clock_is_set_to_utc() {
        let t = with_zones();
        t.write(ADJTIME, "0.0 0 0.0\n0\nLOCAL\n");
        let before = t.snapshot();
        let check = t
            .check(&Timezone, "system", json!({"name": "Etc/UTC"}))
            .unwrap();
        assert_eq!(t.snapshot(), before);
        assert_eq!(comment_of(&check), "UTC needs to be set to True");
        let applied = t.apply(check);
        assert_eq!(applied.comment, "Set UTC to True");
        assert_eq!(applied.changes.unwrap(), changes([("utc", json!(true))]));
        assert_eq!(t.read(ADJTIME), "0.0 0 0.0\n0\nUTC\n");
        assert!(is_clean(
            &t.check(&Timezone, "system", json!({"name": "Etc/UTC"}))
                .unwrap()
        ));
        // utc: False leaves a UTC clock alone, as Salt does.
        let check = t
            .check(
                &Timezone,
                "system",
                json!({"name": "Etc/UTC", "utc": false}),
            )
            .unwrap();
        assert_eq!(comment_of(&check), "Timezone Etc/UTC already set");
    }

    #[test]
    fn a_missing_zone_or_localtime() {
        let t = TestHost::new();
        let check = t
            .check(&Timezone, "system", json!({"name": "Mars/Olympus"}))
            .unwrap();
        assert!(matches!(check, Check::Fail { .. }));
        assert_eq!(
            comment_of(&check),
            "Unable to compare desired timezone 'Mars/Olympus' to system timezone: Can't find a local timezone \"Mars/Olympus\""
        );
        // A root without /etc/localtime gets one.
        t.write("/usr/share/zoneinfo/Etc/UTC", "TZif utc\n");
        let applied = t.apply(
            t.check(&Timezone, "system", json!({"name": "Etc/UTC"}))
                .unwrap(),
        );
        assert!(applied.result, "{}", applied.comment);
        assert_eq!(localtime_bytes(&t.host).unwrap(), b"TZif utc\n");
        for bad in ["../../etc/passwd", "/etc/passwd", "", "Europe/../x"] {
            assert!(t.check(&Timezone, "system", json!({"name": bad})).is_err());
        }
    }
}
