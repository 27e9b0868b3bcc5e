//! The README's first command: a dry run of the bundled example tree. A
//! newcomer runs it before anything else, often offline, so it must show no
//! failure and must not reach for the network (the example's git checkout
//! clones a repository the example makes on the host).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tests::{bin, run};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds the tests crate")
        .to_path_buf()
}

/// The README's arguments, run from the workspace root as the README does.
const README_ARGS: &[&str] = &[
    "apply",
    "--local",
    "--test",
    "--file-root",
    "examples/salt",
    "--pillar-root",
    "examples/pillar",
    "--grains",
    "examples/grains.yaml",
    "--id",
    "web01",
];

/// Whether this host can give a process a network namespace of its own
/// (only loopback): root, or unprivileged user namespaces.
fn can_isolate_network() -> bool {
    Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_readme_dry_run_shows_no_failure_and_needs_no_network() {
    let minion = bin("minion");
    let origin = Path::new("/srv/app-origin");
    let origin_existed = origin.exists();
    let isolated = can_isolate_network();
    let mut cmd = if isolated {
        let mut c = Command::new("unshare");
        c.arg("-rn").arg(&minion);
        c
    } else {
        eprintln!(
            "note: no network namespace here (unshare -rn failed); running with the host's network"
        );
        Command::new(&minion)
    };
    cmd.args(README_ARGS)
        .args(["--out", "json"])
        .current_dir(workspace());
    let out = run(cmd, Duration::from_secs(120)).unwrap();
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", out.stdout, out.stderr));
    let states = report["local"]
        .as_object()
        .unwrap_or_else(|| panic!("no state results under \"local\": {report}"));

    let failed: Vec<_> = states
        .iter()
        .filter(|(_, r)| r["result"] == Value::Bool(false))
        .map(|(tag, r)| format!("{tag}: {}", r["comment"]))
        .collect();
    assert!(failed.is_empty(), "failed states: {failed:#?}");
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    // Every state of the example ran (nothing was dropped to avoid a failure).
    let ids: Vec<&str> = states
        .values()
        .filter_map(|r| r["__id__"].as_str())
        .collect();
    for id in [
        "deploy",
        "nginx",
        "nginx_site",
        "app_origin_files",
        "app_origin",
        "app_checkout",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let checkout = states
        .iter()
        .find(|(tag, _)| tag.starts_with("git_|-app_checkout"))
        .map(|(_, r)| r)
        .expect("the git checkout");
    assert_eq!(checkout["name"], "/srv/app-origin/app.git", "{checkout}");
    if !origin_existed {
        assert_eq!(
            checkout["comment"], "onlyif condition is false",
            "{checkout}"
        );
        let make_origin = states
            .iter()
            .find(|(tag, _)| tag.starts_with("cmd_|-app_origin"))
            .map(|(_, r)| r)
            .expect("the origin repository step");
        assert_eq!(make_origin["result"], Value::Null, "{make_origin}");
        assert!(!origin.exists(), "the dry run made {}", origin.display());
    }
}
