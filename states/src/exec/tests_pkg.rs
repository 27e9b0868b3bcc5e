//! `pkg.list_pkgs`, `pkg.list_upgrades`, `pkg.upgrade`, `pkg.remove` and
//! `pkg.refresh_db`: fixture dpkg databases under a temp root, this host's
//! apt, and `salt-call --local` on this host as the oracle.
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::json;

use super::pkg::{parse_update, parse_upgrades, PkgCall, Upgrade};
use super::*;

const SALT_CALL: &str = "/root/.cache/brine/salt-venv/bin/salt-call";

const STATUS: &str = "\
Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b8

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9+deb12u7

Package: tzdata
Status: hold ok installed
Architecture: all
Version: 2024a-0+deb12u1

Package: nginx
Status: deinstall ok config-files
Architecture: amd64
Version: 1.22.1-9

Package: oldlib
Status: purge ok installed
Architecture: amd64
Version: 1.0-1

Package: curl
Status: purge ok not-installed
Architecture: amd64
";

fn parse(fun: &str, args: Value, kwargs: Value) -> Result<Call, ExecError> {
    let args = args.as_array().cloned().unwrap_or_default();
    let kwargs = kwargs.as_object().cloned().unwrap_or_default();
    Call::parse(fun, &args, &kwargs)
}

fn rooted(status: &str) -> (tempfile::TempDir, HostRead) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("var/lib/dpkg");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("status"), status).unwrap();
    let host = HostRead::new(root.path().to_path_buf(), Arc::new(NoSources));
    (root, host)
}

fn run_on(host: &HostRead, fun: &str, args: Value, kwargs: Value) -> Result<Value, ExecError> {
    parse(fun, args, kwargs)?.run(&ExecEnv {
        host,
        grains: &Value::Null,
        grains_file: None,
    })
}

/// `salt-call --local --out json FUN ARGS…`'s return, or `None` where Salt
/// or dpkg is not installed here.
fn salt_call(args: &[&str]) -> Option<Value> {
    if !Path::new(SALT_CALL).exists() || !Path::new("/var/lib/dpkg/status").exists() {
        return None;
    }
    let out = Command::new(SALT_CALL)
        .args(["--local", "--out", "json", "-l", "quiet"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "salt-call {args:?}: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    Some(v["local"].clone())
}

#[test]
fn list_pkgs_reads_the_roots_dpkg_status() {
    let (_root, host) = rooted(STATUS);
    let listed = run_on(&host, "pkg.list_pkgs", json!([]), json!({})).unwrap();
    assert_eq!(
        listed,
        json!({
            "bash": "5.2.15-2+b8",
            "libc6:i386": "2.36-9+deb12u7",
            "oldlib": "1.0-1",
            "tzdata": "2024a-0+deb12u1",
        })
    );
    let as_lists = run_on(&host, "pkg.list_pkgs", json!([true]), json!({})).unwrap();
    assert_eq!(as_lists["bash"], json!(["5.2.15-2+b8"]));
    assert_eq!(as_lists.as_object().unwrap().len(), 4);
    let removed = run_on(&host, "pkg.list_pkgs", json!([]), json!({"removed": true})).unwrap();
    assert_eq!(removed, json!({"nginx": "1.22.1-9"}));
    let purge = run_on(
        &host,
        "pkg.list_pkgs",
        json!([]),
        json!({"purge_desired": "True"}),
    )
    .unwrap();
    assert_eq!(purge, json!({"oldlib": "1.0-1"}));
    // No dpkg database under the root: an error naming it, not an empty list.
    let empty = tempfile::tempdir().unwrap();
    let host = HostRead::new(empty.path().to_path_buf(), Arc::new(NoSources));
    let e = run_on(&host, "pkg.list_pkgs", json!([]), json!({})).unwrap_err();
    assert!(e.to_string().contains("dpkg"), "{e}");
}

#[test]
fn list_pkgs_is_what_salt_lists_on_this_host() {
    let Some(salt) = salt_call(&["pkg.list_pkgs"]) else {
        return;
    };
    let host = HostRead::new("/".into(), Arc::new(NoSources));
    let ours = run_on(&host, "pkg.list_pkgs", json!([]), json!({})).unwrap();
    assert_eq!(ours, salt);
    let salt = salt_call(&["pkg.list_pkgs", "versions_as_list=True"]).unwrap();
    let ours = run_on(
        &host,
        "pkg.list_pkgs",
        json!([]),
        json!({"versions_as_list": true}),
    )
    .unwrap();
    assert_eq!(ours, salt);
}

#[test]
fn list_upgrades_without_refresh_is_what_salt_lists_on_this_host() {
    if Command::new("apt-get").arg("--version").output().is_err() {
        return;
    }
    let Some(salt) = salt_call(&["pkg.list_upgrades", "refresh=False"]) else {
        return;
    };
    let host = HostRead::new("/".into(), Arc::new(NoSources));
    let ours = run_on(&host, "pkg.list_upgrades", json!([false]), json!({})).unwrap();
    assert_eq!(ours, salt);
}

#[test]
fn list_upgrades_asks_apt_about_the_roots_packages() {
    // This host's database with `hostname` made older than apt's candidate:
    // the upgrade is listed only if apt read the root's status file.
    let Ok(status) = std::fs::read_to_string("/var/lib/dpkg/status") else {
        return;
    };
    let installed = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "hostname"])
        .output();
    let Some(version) = installed
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
    else {
        return;
    };
    let host = HostRead::new("/".into(), Arc::new(NoSources));
    let here = run_on(
        &host,
        "pkg.list_upgrades",
        json!([]),
        json!({"refresh": false}),
    )
    .unwrap();
    if here.get("hostname").is_some() {
        return; // hostname itself is out of date here
    }
    let older: Vec<String> = status
        .split("\n\n")
        .map(|stanza| {
            if stanza.starts_with("Package: hostname\n") {
                stanza
                    .lines()
                    .map(|l| {
                        if l.starts_with("Version: ") {
                            "Version: 0.1"
                        } else {
                            l
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                stanza.to_string()
            }
        })
        .collect();
    let (_root, rooted) = rooted(&older.join("\n\n"));
    let there = run_on(
        &rooted,
        "pkg.list_upgrades",
        json!([]),
        json!({"refresh": false}),
    )
    .unwrap();
    assert_eq!(there["hostname"], json!(version), "{there}");
}

#[test]
fn apt_output_is_read_as_salt_reads_it() {
    let simulated = "\
Reading package lists...
Inst hostname [3.20] (3.23+nmu1 Debian:12.14/oldstable [amd64])
Inst libc6 [2.36-9+deb12u7] (2.36-9+deb12u10 Debian-Security:12/oldstable-security [amd64]) []
Conf hostname (3.23+nmu1 Debian:12.14/oldstable [amd64])
Conf libc6 (2.36-9+deb12u10 Debian-Security:12/oldstable-security [amd64])
";
    assert_eq!(
        parse_upgrades(simulated),
        [
            ("hostname".to_string(), "3.23+nmu1".to_string()),
            ("libc6".to_string(), "2.36-9+deb12u10".to_string())
        ]
    );
    let update = "\
Hit:1 http://deb.debian.org/debian bookworm InRelease
Get:2 http://deb.debian.org/debian bookworm-updates InRelease [55.4 kB]
Ign:3 http://example.org/repo stable InRelease
Err:4 http://example.org/repo stable Release
  404  Not Found [IP: 93.184.216.34 80]
Fetched 55.4 kB in 1s (61.2 kB/s)
Reading package lists...
";
    let (ret, errors) = parse_update(update);
    assert_eq!(
        Value::Object(ret),
        json!({
            "http://deb.debian.org/debian bookworm InRelease": null,
            "http://deb.debian.org/debian bookworm-updates InRelease": true,
            "http://example.org/repo stable InRelease": false,
            "http://example.org/repo stable Release": false,
        })
    );
    assert_eq!(errors, ["http://example.org/repo stable Release"]);
}

#[test]
fn upgrade_and_remove_arguments_are_salts() {
    let ExecCall::Pkg(PkgCall::Upgrade(u)) = parse(
        "pkg.upgrade",
        json!([]),
        json!({"dist_upgrade": true, "downloadonly": "True"}),
    )
    .unwrap()
    .call
    else {
        panic!("not an upgrade")
    };
    assert!(u.refresh && u.dist_upgrade && u.download_only);
    assert_eq!(
        u.argv(),
        [
            "apt-get",
            "-q",
            "-y",
            "-o",
            "DPkg::Lock::Timeout=300",
            "-o",
            "DPkg::Options::=--force-confold",
            "-o",
            "DPkg::Options::=--force-confdef",
            "--download-only",
            "dist-upgrade"
        ]
    );
    let new_conf = Upgrade {
        force_conf_new: true,
        allow_downgrades: true,
        ..Default::default()
    };
    let argv = new_conf.argv();
    assert!(argv.contains(&"DPkg::Options::=--force-confnew".to_string()));
    assert!(argv.ends_with(&["--allow-downgrades".to_string(), "upgrade".to_string()]));

    let names = |args: Value, kwargs: Value| match parse("pkg.remove", args, kwargs).unwrap().call {
        ExecCall::Pkg(PkgCall::Remove { names }) => names,
        other => panic!("{other:?}"),
    };
    assert_eq!(names(json!(["nginx,curl"]), json!({})), ["nginx", "curl"]);
    // `pkgs` wins over `name`, as in Salt's parse_targets.
    assert_eq!(names(json!(["x"]), json!({"pkgs": ["a", "b"]})), ["a", "b"]);
    assert!(parse("pkg.remove", json!(["--purge"]), json!({})).is_err());
    assert!(parse("pkg.remove", json!([]), json!({"pkgs": "a"})).is_err());
    assert!(parse("pkg.refresh_db", json!(["soon"]), json!({})).is_err());
    // Every host-changing pkg row is marked so.
    for f in [
        "pkg.upgrade",
        "pkg.remove",
        "pkg.refresh_db",
        "pkg.list_upgrades",
    ] {
        assert_eq!(lookup(f).unwrap().access, Access::ChangesHost, "{f}");
    }
}

#[test]
fn remove_runs_apt_only_for_installed_packages_and_never_under_a_root() {
    let (root, host) = rooted(STATUS);
    let before = std::fs::read(root.path().join("var/lib/dpkg/status")).unwrap();
    // Nothing installed matches: Salt's `{}` without running apt.
    let none = run_on(&host, "pkg.remove", json!(["nosuch,nginx"]), json!({})).unwrap();
    assert_eq!(none, json!({}));
    // Something would be removed: apt acts on this host's dpkg, so under a
    // test root it is refused rather than run.
    for (args, kwargs) in [
        (json!(["bash"]), json!({})),
        (json!([]), json!({"pkgs": ["tz*"]})),
        (json!(["libc6:i386"]), json!({})),
    ] {
        let e = run_on(&host, "pkg.remove", args, kwargs).unwrap_err();
        assert!(
            e.to_string().contains("cannot be applied under the root"),
            "{e}"
        );
    }
    assert_eq!(
        std::fs::read(root.path().join("var/lib/dpkg/status")).unwrap(),
        before
    );
}

#[test]
fn refresh_db_skips_a_refresh_younger_than_cache_valid_time() {
    let (root, host) = rooted(STATUS);
    std::fs::create_dir_all(root.path().join("var/lib/apt/lists")).unwrap();
    let fresh = run_on(&host, "pkg.refresh_db", json!([3600]), json!({})).unwrap();
    assert_eq!(fresh, json!({}));
    // Otherwise it would run apt-get update, which is this host's: refused
    // under a root.
    let e = run_on(&host, "pkg.refresh_db", json!([]), json!({})).unwrap_err();
    assert!(e.to_string().contains("under the root"), "{e}");
    let e = run_on(&host, "pkg.upgrade", json!([false]), json!({})).unwrap_err();
    assert!(e.to_string().contains("under the root"), "{e}");
}
