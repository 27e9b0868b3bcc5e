//! `sysctl.present` (salt/states/sysctl.py over salt/modules/linux_sysctl.py
//! `persist`): the running value in `/proc/sys` and the line in a config file.
//!
//! The running value is read from `<root>/proc/sys/...`. On a real host
//! (`root` is `/`) it is set with `sysctl -w name=value`; under a test or
//! swarm root there is no kernel to ask, so `<root>/proc/sys/...` is a plain
//! fixture file and applying writes the value there instead.
use std::path::{Path, PathBuf};

use common::data::Value;
use common::pyfmt::py_str;

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct Sysctl;

/// Salt's default where systemd ≥ 207 runs (every current Linux).
const DEFAULT_CONFIG: &str = "/etc/sysctl.d/99-salt.conf";
/// What Salt writes at the top of a config file it creates.
const NEW_FILE_HEADER: &str = "#\n# Kernel sysctl configuration\n#\n";

impl super::StateModule for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::SYSCTL
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            other => Err(StateError::args(format!(
                "sysctl.{other} is not a state function"
            ))),
        }
    }
}

/// Salt's `_sanitize_sysctl_value`: runs of whitespace compare equal.
fn sanitize(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join("\t")
}

/// `net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward` (dots and slashes
/// swap, so `net.ipv4.conf.eth0/1.rp_filter` names the `eth0.1` interface).
fn proc_path(name: &str) -> Result<String, StateError> {
    let swapped: String = name
        .chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect();
    let bad = swapped
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..");
    if name.is_empty() || bad || name.contains(char::is_whitespace) || name.contains('\0') {
        return Err(StateError::args(format!(
            "{name:?} is not a sysctl name (like net.ipv4.ip_forward)"
        )));
    }
    Ok(format!("/proc/sys/{swapped}"))
}

/// The config file's `key = value` lines, as Salt's `sysctl.show(config_file)`.
fn configured(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim_end().to_string(), v.trim_start().to_string()))
        .collect()
}

/// What `persist` would do.
enum Plan {
    AlreadySet,
    /// New config text (when it changes) and whether the running value must be set.
    Update {
        config: Option<String>,
        assign: bool,
    },
}

/// Salt's `persist`: the first uncommented `name = ...` line decides; a
/// correct line with a correct running value is "Already set".
fn plan(name: &str, value: &str, config: Option<&str>, current: Option<&str>) -> Plan {
    let wanted = sanitize(value);
    let running_ok = current.is_some_and(|c| sanitize(c) == wanted);
    let mut out = String::new();
    let mut edited = false;
    for line in config.unwrap_or("").split_inclusive('\n') {
        let Some((key, val)) = line.split_once('=') else {
            out.push_str(line);
            continue;
        };
        if key.trim().starts_with('#') || key.trim() != name {
            out.push_str(line);
            continue;
        }
        if sanitize(val) == wanted {
            return if running_ok {
                Plan::AlreadySet
            } else {
                Plan::Update {
                    config: None,
                    assign: true,
                }
            };
        }
        out.push_str(&format!("{name} = {value}\n"));
        edited = true;
    }
    if !edited {
        if config.is_none() {
            out.push_str(NEW_FILE_HEADER);
        } else if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{name} = {value}\n"));
    }
    Plan::Update {
        config: Some(out),
        assign: true,
    }
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let raw_value = args
        .get("value")
        .cloned()
        .ok_or_else(|| StateError::args("sysctl.present needs a 'value'"))?;
    if raw_value.is_array() || raw_value.is_object() {
        return Err(StateError::args(format!(
            "'value' must be a string or a number, got {raw_value}"
        )));
    }
    let value = py_str(&raw_value);
    let config = args.str_or("config", DEFAULT_CONFIG)?;
    let config_path = host.path(&config)?;
    let proc_file = host.path(&proc_path(&name)?)?;

    let current = std::fs::read_to_string(&proc_file)
        .ok()
        .map(|s| s.trim_end().to_string());
    let config_text = match std::fs::read_to_string(&config_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Ok(Check::fail(format!(
                "Failed to set {name} to {value}: Could not read from file: {config} ({e})"
            )))
        }
    };
    let in_config = configured(config_text.as_deref().unwrap_or(""))
        .iter()
        .any(|(k, _)| *k == name);

    let (new_config, assign) = match plan(&name, &value, config_text.as_deref(), current.as_deref())
    {
        Plan::AlreadySet => {
            return Ok(Check::clean(format!(
                "Sysctl value {name} = {value} is already set"
            )))
        }
        Plan::Update { config, assign } => (config, assign),
    };
    let test_comment = match current.as_deref().filter(|c| !c.is_empty()) {
        Some(cur) if !in_config && sanitize(cur) == sanitize(&value) => format!(
            "Sysctl value is currently set on the running system but not in a config file. Sysctl option {name} set to be changed to {value} in config file."
        ),
        Some(_) => format!("Sysctl option {name} set to be changed to {value}"),
        None if in_config => format!(
            "Sysctl value {name} is present in configuration file but is not present in the running config. The value {name} is set to be changed to {value}"
        ),
        None => format!("Sysctl option {name} would be changed to {value}"),
    };
    let apply = Persist {
        name,
        value,
        raw_value,
        config_path,
        new_config,
        proc_file,
        assign,
    };
    // Salt's dry run shows no changes for sysctl, only the comment.
    Ok(Check::change(
        Default::default(),
        test_comment,
        ApplyFn(move |host: &HostWrite| Ok(apply.run(host))),
    ))
}

struct Persist {
    name: String,
    value: String,
    raw_value: Value,
    config_path: PathBuf,
    new_config: Option<String>,
    proc_file: PathBuf,
    assign: bool,
}

impl Persist {
    fn run(self, host: &HostWrite) -> Applied {
        let failed = |why: String| {
            Applied::failed(
                format!("Failed to set {} to {}: {why}", self.name, self.value),
                Default::default(),
            )
        };
        // Checked before the config is touched, so an unknown key leaves no
        // line behind (Salt writes the line, then fails).
        if self.assign && !self.proc_file.exists() {
            return failed(format!("sysctl {} does not exist", self.name));
        }
        if let Some(text) = &self.new_config {
            if let Err(e) = super::text_file::write(host, &self.config_path, text) {
                return failed(e.to_string());
            }
        }
        if self.assign {
            if let Err(why) = self.set_running(host) {
                return failed(why);
            }
        }
        Applied::ok_with(
            format!("Updated sysctl value {} = {}", self.name, self.value),
            changes([(self.name.as_str(), self.raw_value.clone())]),
        )
    }

    fn set_running(&self, host: &HostWrite) -> Result<(), String> {
        if host.root() != Path::new("/") {
            // A test/swarm root: its /proc/sys is a fixture standing in for the kernel.
            return host
                .write_in_place(&self.proc_file, format!("{}\n", self.value).as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", self.proc_file.display()));
        }
        let assignment = format!("{}={}", self.name, self.value);
        let out = host
            .run(&["sysctl", "-w", &assignment], &[], None)
            .map_err(|e| e.to_string())?;
        if out.retcode != 0 || out.stderr.contains("Invalid argument") {
            let err = if out.stderr.trim().is_empty() {
                out.stdout.trim()
            } else {
                out.stderr.trim()
            };
            return Err(format!("sysctl -w failed: {err}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
    use super::*;
    use serde_json::json;

    const FWD: &str = "/proc/sys/net/ipv4/ip_forward";

    #[test]
    fn sets_running_value_and_persists_then_is_clean() {
        let t = TestHost::new();
        t.write(FWD, "0\n");
        let args = json!({"name": "net.ipv4.ip_forward", "value": 1});
        let before = t.snapshot();
        let check = t.check(&Sysctl, "present", args.clone()).unwrap();
        assert_eq!(t.snapshot(), before, "check wrote to the root");
        assert_eq!(
            comment_of(&check),
            "Sysctl option net.ipv4.ip_forward set to be changed to 1"
        );
        assert!(changes_of(&check).unwrap().is_empty());

        let applied = t.apply(check);
        assert!(applied.result);
        assert_eq!(
            applied.comment,
            "Updated sysctl value net.ipv4.ip_forward = 1"
        );
        assert_eq!(
            applied.changes.unwrap(),
            changes([("net.ipv4.ip_forward", json!(1))])
        );
        assert_eq!(
            t.read("/etc/sysctl.d/99-salt.conf"),
            "#\n# Kernel sysctl configuration\n#\nnet.ipv4.ip_forward = 1\n"
        );
        assert_eq!(t.read(FWD), "1\n");

        let again = t.check(&Sysctl, "present", args).unwrap();
        assert!(is_clean(&again));
        assert_eq!(
            comment_of(&again),
            "Sysctl value net.ipv4.ip_forward = 1 is already set"
        );
    }

    #[test]
    fn edits_the_existing_line_and_keeps_the_rest() {
        let t = TestHost::new();
        t.write("/proc/sys/net/ipv4/tcp_rmem", "4096\t87380\t6291456\n");
        t.write(
            "/etc/sysctl.conf",
            "# tuned\nvm.swappiness = 10\nnet.ipv4.tcp_rmem = 1 2 3\n#net.ipv4.tcp_rmem = 9\n",
        );
        let args = json!({"name": "net.ipv4.tcp_rmem", "value": "4096 87380 16777216", "config": "/etc/sysctl.conf"});
        t.apply(t.check(&Sysctl, "present", args.clone()).unwrap());
        assert_eq!(
            t.read("/etc/sysctl.conf"),
            "# tuned\nvm.swappiness = 10\nnet.ipv4.tcp_rmem = 4096 87380 16777216\n#net.ipv4.tcp_rmem = 9\n"
        );
        assert!(is_clean(&t.check(&Sysctl, "present", args).unwrap()));
    }

    #[test]
    fn salts_dry_run_comments() {
        let t = TestHost::new();
        t.write(FWD, "1\n");
        let args = json!({"name": "net.ipv4.ip_forward", "value": "1"});
        let check = t.check(&Sysctl, "present", args).unwrap();
        assert_eq!(
            comment_of(&check),
            "Sysctl value is currently set on the running system but not in a config file. Sysctl option net.ipv4.ip_forward set to be changed to 1 in config file."
        );
        let t = TestHost::new();
        t.write("/etc/sysctl.d/99-salt.conf", "vm.x = 2\n");
        let check = t
            .check(&Sysctl, "present", json!({"name": "vm.x", "value": 3}))
            .unwrap();
        assert_eq!(
            comment_of(&check),
            "Sysctl value vm.x is present in configuration file but is not present in the running config. The value vm.x is set to be changed to 3"
        );
        let check = t
            .check(&Sysctl, "present", json!({"name": "vm.y", "value": 3}))
            .unwrap();
        assert_eq!(
            comment_of(&check),
            "Sysctl option vm.y would be changed to 3"
        );
        // Applying an unknown key fails and leaves the config alone.
        let applied = t.apply(check);
        assert!(!applied.result);
        assert_eq!(
            applied.comment,
            "Failed to set vm.y to 3: sysctl vm.y does not exist"
        );
        assert_eq!(t.read("/etc/sysctl.d/99-salt.conf"), "vm.x = 2\n");
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        let t = TestHost::new();
        for name in ["../../etc/passwd", "net..x", "", "a b"] {
            assert!(
                t.check(&Sysctl, "present", json!({"name": name, "value": 1}))
                    .is_err(),
                "{name}"
            );
        }
        assert!(t
            .check(&Sysctl, "present", json!({"name": "vm.x"}))
            .is_err());
        assert!(t
            .check(&Sysctl, "present", json!({"name": "vm.x", "value": [1]}))
            .is_err());
        assert_eq!(
            proc_path("net.ipv4.conf.eth0/1.rp_filter").unwrap(),
            "/proc/sys/net/ipv4/conf/eth0.1/rp_filter"
        );
    }
}
