//! The small-file states through the real `minion apply --local` under a
//! state root: `host`, `alias`, `ini`, `git.config_set` (global) and
//! `ssh_known_hosts` in one SLS. `--test` reports every state pending and
//! changes nothing; the apply changes each once; a re-apply changes nothing.
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIKmyRTeQBHLknk3XN2D8X543qR7dH3VgAHootZ9rowCT";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs `minion apply`; its exit code and the state results by ID.
fn apply(config: &Path, root: &Path, test: bool) -> (Option<i32>, Vec<(String, Value)>) {
    let mut cmd = Command::new(tests::bin("minion"));
    cmd.args(["apply", "--local", "--out", "json", "--id", "web01"])
        .arg("--config")
        .arg(config)
        .arg("--root")
        .arg(root);
    if test {
        cmd.arg("--test");
    }
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let states = v.get("local").unwrap_or(&v).as_object().unwrap().clone();
    let mut results: Vec<(String, Value)> = states.into_iter().collect();
    results.sort_by_key(|(_, r)| r["__run_num__"].as_u64());
    (out.status.code(), results)
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            snapshot(&p, out);
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
}

#[test]
fn host_alias_ini_git_config_and_known_hosts_converge_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("salt/top.sls"), "base:\n  '*':\n    - system\n");
    write(
        &d.join("salt/system.sls"),
        &format!(
            "db.internal:\n  host.present:\n    - ip: 10.0.0.5\n\
             ops:\n  alias.present:\n    - target: root\n\
             /etc/app/app.ini:\n  ini.options_present:\n    - sections:\n        server:\n          port: 8080\n\
             core.editor:\n  git.config_set:\n    - value: vim\n    - global: True\n\
             git.example.com:\n  ssh_known_hosts.present:\n    - key: {KEY}\n    - enc: ssh-ed25519\n    - hash_known_hosts: False\n"
        ),
    );
    let config = d.join("minion.yaml");
    write(
        &config,
        &format!("file_roots:\n  base: [{}/salt]\n", d.display()),
    );
    let root = d.join("root");
    // The user Brine runs as (the temp dir's owner), for `global: True`.
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(d).unwrap());
    write(
        &root.join("etc/passwd"),
        &format!("me:x:{uid}:{uid}::/home/me:/bin/sh\n"),
    );
    write(&root.join("etc/hosts"), "127.0.0.1\tlocalhost\n");
    write(
        &root.join("etc/app/app.ini"),
        "# app\n[server]\nhost = 0.0.0.0\n",
    );

    let mut before = Vec::new();
    snapshot(&root, &mut before);
    let (code, results) = apply(&config, &root, true);
    assert_eq!(code, Some(0), "{results:?}");
    assert_eq!(results.len(), 5, "{results:?}");
    for (id, r) in &results {
        assert_eq!(r["result"], Value::Null, "{id}: {r}");
    }
    let mut after = Vec::new();
    snapshot(&root, &mut after);
    assert_eq!(before, after, "--test changed the root");

    let (code, results) = apply(&config, &root, false);
    assert_eq!(code, Some(0), "{results:?}");
    for (id, r) in &results {
        assert_eq!(r["result"], Value::Bool(true), "{id}: {r}");
        assert_ne!(r["changes"], serde_json::json!({}), "{id}: {r}");
    }
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap();
    assert_eq!(
        read("etc/hosts"),
        "127.0.0.1\t\tlocalhost\n10.0.0.5\t\tdb.internal\n"
    );
    assert!(read("etc/aliases").contains("ops: root\n"));
    assert_eq!(
        read("etc/app/app.ini"),
        "# app\n\n[server]\nhost = 0.0.0.0\nport = 8080\n"
    );
    assert!(read("home/me/.gitconfig").contains("editor = vim"));
    assert_eq!(
        read("etc/ssh/ssh_known_hosts"),
        format!("git.example.com ssh-ed25519 {KEY}\n")
    );

    let (code, results) = apply(&config, &root, false);
    assert_eq!(code, Some(0), "{results:?}");
    for (id, r) in &results {
        assert_eq!(r["result"], Value::Bool(true), "{id}: {r}");
        assert_eq!(r["changes"], serde_json::json!({}), "{id}: {r}");
    }
}
