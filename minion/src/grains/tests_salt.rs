//! `detect()` against `salt-call --local grains.items` on this very host, and
//! detect()'s speed.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::detect;

const SALT_CALL: &str = "/root/.cache/brine/salt-venv/bin/salt-call";

/// Every grain Brine promises to compute like Salt.
const KEYS: &[&str] = &[
    "id",
    "host",
    "fqdn",
    "nodename",
    "domain",
    "localhost",
    "os",
    "os_family",
    "osrelease",
    "osrelease_info",
    "osmajorrelease",
    "oscodename",
    "osfullname",
    "osfinger",
    "osarch",
    "kernel",
    "kernelrelease",
    "kernelversion",
    "cpuarch",
    "num_cpus",
    "cpu_model",
    "cpu_flags",
    "mem_total",
    "swap_total",
    "ipv4",
    "ipv6",
    "ip_interfaces",
    "ip4_interfaces",
    "ip6_interfaces",
    "hwaddr_interfaces",
    "machine_id",
    "init",
    "virtual",
    "virtual_subtype",
    "path",
    "shell",
    "lsb_distrib_id",
    "lsb_distrib_release",
    "lsb_distrib_codename",
    "lsb_distrib_description",
    "server_id",
    "uid",
    "username",
    "gid",
    "groupname",
    "pid",
];

/// Keys whose values legitimately differ between two processes:
/// - `pid`: salt-call and this test are different processes; only the type
///   (an integer) is compared.
const DIFFERENT_BY_NATURE: &[&str] = &["pid"];

fn salt_grains() -> Option<serde_json::Map<String, Value>> {
    let dir = tempfile::tempdir().ok()?;
    let d = dir.path().display();
    // minion_id_caching off: otherwise salt-call writes /etc/salt/minion_id.
    let conf = format!(
        "file_client: local\ncachedir: {d}/cache\npki_dir: {d}/pki\nlog_file: {d}/log\n\
         minion_id_caching: False\n"
    );
    std::fs::write(dir.path().join("minion"), conf).ok()?;
    let out = Command::new(SALT_CALL)
        .args(["--local", "--config-dir"])
        .arg(dir.path())
        .args(["--out", "json", "grains.items"])
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v.get("local")?.as_object().cloned()
}

fn differences(
    salt: &serde_json::Map<String, Value>,
    ours: &serde_json::Map<String, Value>,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for key in KEYS {
        let (s, o) = (salt.get(*key), ours.get(*key));
        if DIFFERENT_BY_NATURE.contains(key) {
            if s.is_some_and(Value::is_u64) != o.is_some_and(Value::is_u64) {
                diffs.push(format!("{key}: salt={s:?} brine={o:?}"));
            }
            continue;
        }
        if s != o {
            diffs.push(format!("{key}: salt={s:?} brine={o:?}"));
        }
    }
    diffs
}

#[test]
fn matches_salt_on_this_host() {
    if !Path::new(SALT_CALL).exists() {
        println!("skipped: salt not installed at {SALT_CALL}");
        return;
    }
    // Containers starting or stopping elsewhere on this host add and remove
    // addresses between the two reads: compare again before calling it a
    // difference.
    let mut diffs = Vec::new();
    for _ in 0..3 {
        let salt = salt_grains().expect("salt-call produced JSON grains");
        let ours = detect();
        diffs = differences(&salt, &ours);
        if diffs.is_empty() {
            break;
        }
    }
    assert!(
        diffs.is_empty(),
        "grains differ from Salt:\n{}",
        diffs.join("\n")
    );
}
