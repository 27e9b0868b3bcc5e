//! Differential: `module.run` in both syntaxes, applied by real Salt 3007.8
//! (`salt-call --local state.sls`) and by `minion apply --local`, for real
//! and as a dry run: the same name, result, comment and changes per state.
//! The functions only read (`test.echo`, `test.ping`), so neither run changes
//! this host; Salt's config, cache and logs live in a temp dir.
use std::path::Path;
use std::process::Command;

use std::collections::BTreeMap;

use serde_json::Value;

const SALT_CALL: &str = "/root/.cache/brine/salt-venv/bin/salt-call";

const SLS: &str = "\
legacy:
  module.run:
    - name: test.echo
    - text: hi
new:
  module.run:
    - test.echo:
      - hello
    - test.ping: []
tagged:
  module.run:
    - test.echo:first:
      - text: one
missing:
  module.run:
    - nosuch.fun: []
";

/// `{tag: {result, comment, changes}}` of a `--out json` state run.
fn results(v: &Value, wrapper: &str) -> BTreeMap<String, Value> {
    v[wrapper]
        .as_object()
        .unwrap_or_else(|| panic!("no {wrapper} in {v:#}"))
        .iter()
        .map(|(tag, s)| {
            let keep = ["result", "comment", "changes"]
                .iter()
                .map(|k| (k.to_string(), s[*k].clone()))
                .collect();
            (tag.clone(), Value::Object(keep))
        })
        .collect()
}

fn salt(tree: &Path, tmp: &Path, test: bool) -> BTreeMap<String, Value> {
    let t = tmp.display();
    let conf = format!(
        "file_client: local\nid: m1\nfile_roots: {{base: [{}]}}\npillar_roots: {{base: [{}]}}\n\
         cachedir: {t}/cache\npki_dir: {t}/pki\nsock_dir: {t}/sock\nlog_file: {t}/log\n\
         extension_modules: {t}/ext\nenable_fqdns_grains: False\nenable_gpu_grains: False\n",
        tree.join("salt").display(),
        tree.join("pillar").display()
    );
    std::fs::write(tmp.join("minion"), conf).unwrap();
    let mut cmd = Command::new(SALT_CALL);
    cmd.args(["--local", "--config-dir"])
        .arg(tmp)
        .args(["--out", "json", "state.sls", "mod"]);
    if test {
        cmd.arg("test=True");
    }
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "salt-call: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    results(&v, "local")
}

fn brine(tree: &Path, test: bool) -> BTreeMap<String, Value> {
    let mut cmd = Command::new(tests::bin("minion"));
    cmd.args(["apply", "--local", "--out", "json", "mod"])
        .arg("--file-root")
        .arg(tree.join("salt"))
        .arg("--pillar-root")
        .arg(tree.join("pillar"))
        .current_dir(tree);
    if test {
        cmd.arg("--test");
    }
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "minion apply: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    results(&v, "local")
}

#[test]
fn module_run_reports_as_salt_does() {
    if !Path::new(SALT_CALL).exists() {
        println!("skipped: salt not installed at {SALT_CALL}");
        return;
    }
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("salt")).unwrap();
    std::fs::create_dir_all(tree.path().join("pillar")).unwrap();
    std::fs::write(tree.path().join("salt/mod.sls"), SLS).unwrap();
    std::fs::write(tree.path().join("pillar/top.sls"), "base: {}\n").unwrap();
    for test in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let theirs = salt(tree.path(), tmp.path(), test);
        let ours = brine(tree.path(), test);
        assert_eq!(
            serde_json::to_string_pretty(&ours).unwrap(),
            serde_json::to_string_pretty(&theirs).unwrap(),
            "test={test}"
        );
    }
}
