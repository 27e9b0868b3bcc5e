//! Masterless mode compiles with the same one function as the master, so a
//! `nodegroups` key in the minion's config reaches both tops, as Salt reads
//! it from the minion config for `salt-call --local`.
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn show(config: &Path, what: &str, id: &str) -> (Value, String) {
    let out = Command::new(tests::bin("minion"))
        .args(["show", "--local", what, "--out", "json", "--id", id])
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (v, stderr)
}

#[test]
fn a_nodegroup_in_the_minion_config_matches_in_the_pillar_and_state_tops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("salt/top.sls"),
        "base:\n  webs:\n    - match: nodegroup\n    - web\n",
    );
    write(&d.join("salt/web.sls"), "hello:\n  test.nop: []\n");
    write(
        &d.join("pillar/top.sls"),
        "base:\n  webs:\n    - match: nodegroup\n    - web\n",
    );
    write(&d.join("pillar/web.sls"), "role: web\n");
    let config = d.join("minion.yaml");
    write(
        &config,
        &format!(
            "file_roots:\n  base: [{salt}]\npillar_roots:\n  base: [{pillar}]\n\
             nodegroups:\n  webs: 'L@web01,web02'\n",
            salt = d.join("salt").display(),
            pillar = d.join("pillar").display(),
        ),
    );

    let (pillar, err) = show(&config, "pillar", "web01");
    assert_eq!(pillar, json!({"local": {"role": "web"}}), "{err}");
    let (top, err) = show(&config, "top", "web01");
    assert_eq!(top, json!({"local": {"base": ["web"]}}), "{err}");
    // Outside the group: neither top gives it anything.
    let (pillar, err) = show(&config, "pillar", "db01");
    assert_eq!(pillar, json!({"local": {}}), "{err}");
    let (top, err) = show(&config, "top", "db01");
    assert_eq!(top, json!({"local": {}}), "{err}");

    // A malformed nodegroups key is refused, naming it.
    write(&config, "nodegroups:\n  webs: 3\n");
    let (_, err) = show(&config, "pillar", "web01");
    assert!(err.contains("nodegroups.webs"), "{err}");
}
