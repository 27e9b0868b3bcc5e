//! End to end: the master-answered state calls besides apply/sls/highstate,
//! `state.single`, `state.sls_id` and `state.show_sls`, through `master run
//! --out json` with real `master serve` and `minion serve` on loopback; and
//! `module.run` in a state tree the master compiles.
use std::time::Duration;

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master, Minion};

const IDS: &str = "\
a:
  file.managed:
    - name: /etc/a.txt
    - contents: a
b:
  file.managed:
    - name: /etc/b.txt
    - contents: b
    - require:
      - file: a
c:
  file.managed:
    - name: /etc/c.txt
    - contents: c
";

const MODULE: &str = "\
legacy:
  module.run:
    - name: cmd.run
    - cmd: 'true'
    - cwd: /
new:
  module.run:
    - test.echo:
      - hello
    - test.ping: []
";

fn connected(master: &Master, extra_config: &str) -> Minion {
    let m = Minion::start("web1", master.ret_port, extra_config);
    std::fs::create_dir_all(m.root().join("etc")).unwrap();
    wait_until(Duration::from_secs(20), "web1 pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);
    m
}

/// The state results of web1, by `__id__`.
fn by_id(v: &Value) -> serde_json::Map<String, Value> {
    v["web1"]
        .as_object()
        .unwrap_or_else(|| panic!("no states for web1 in {v:#}"))
        .values()
        .map(|s| (s["__id__"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

#[test]
fn state_single_runs_one_state_from_the_command_line_and_test_mode_writes_nothing() {
    let master = Master::start(&[
        ("salt/top.sls", "base: {}\n"),
        ("pillar/top.sls", "base: {}\n"),
    ]);
    let m = connected(&master, "");
    let file = m.root().join("etc/single.txt");
    let words = [
        "run",
        "web1",
        "state.single",
        "file.managed",
        "name=/etc/single.txt",
        "contents=hello",
    ];
    let mut dry = words.to_vec();
    dry.push("test=True");
    let (code, v) = master.json(&dry);
    assert_eq!(code, Some(0), "{v:#}");
    let s = &by_id(&v)["/etc/single.txt"];
    assert_eq!(s["result"], Value::Null, "{s}");
    assert!(!file.exists(), "a dry run wrote the file");

    let (code, v) = master.json(&words);
    assert_eq!(code, Some(0), "{v:#}\n{}", m.log());
    let s = &by_id(&v)["/etc/single.txt"];
    assert_eq!(s["result"], true, "{s}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello\n");
    let (_, v) = master.json(&words);
    assert_eq!(by_id(&v)["/etc/single.txt"]["changes"], json!({}), "{v:#}");

    // Salt's refusal of a function without a module, before any publish.
    let out = master.cli(&["run", "web1", "state.single", "nodot", "name=x"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("Invalid function passed"), "{out:?}");
}

#[test]
fn state_sls_id_runs_that_id_and_its_requisites_only() {
    let master = Master::start(&[
        ("salt/top.sls", "base: {}\n"),
        ("salt/ids.sls", IDS),
        ("pillar/top.sls", "base: {}\n"),
    ]);
    let m = connected(&master, "");
    let (code, v) = master.json(&["run", "web1", "state.sls_id", "b", "ids", "test=True"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(by_id(&v).keys().collect::<Vec<_>>(), ["a", "b"], "{v:#}");
    assert!(!m.root().join("etc/a.txt").exists());

    let (code, v) = master.json(&["run", "web1", "state.sls_id", "b", "ids"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(by_id(&v).keys().collect::<Vec<_>>(), ["a", "b"], "{v:#}");
    assert!(m.root().join("etc/a.txt").exists());
    assert!(m.root().join("etc/b.txt").exists());
    assert!(
        !m.root().join("etc/c.txt").exists(),
        "c is not b's requisite"
    );

    let (code, v) = master.json(&["run", "web1", "state.sls_id", "nosuch", "ids"]);
    assert_ne!(code, Some(0), "{v:#}");
    assert!(
        v.to_string()
            .contains("No matches for ID 'nosuch' found in SLS 'ids' within saltenv 'base'"),
        "{v:#}"
    );
}

#[test]
fn state_show_sls_is_the_high_data_real_salt_recorded() {
    show_sls_is_what_salt_recorded("031-jinja-tpl-vars", "formula.sub.deep,formula");
}

/// The master's render keeps what YAML's `139:` key and `.inf` are (an int,
/// a float) from the pillar it compiles to the high data it shows.
#[test]
fn state_show_sls_keeps_int_keys_and_non_finite_floats_as_salt_does() {
    show_sls_is_what_salt_recorded("072-yaml-nonstring-keys-nonfinite", "k");
}

fn show_sls_is_what_salt_recorded(tree: &str, sls: &str) {
    let tree = format!("{}/compat/trees/{tree}", env!("CARGO_MANIFEST_DIR"));
    let roots = format!(
        "file_roots:\n  base:\n    - {tree}/salt\npillar_roots:\n  base:\n    - {tree}/pillar\n"
    );
    let master = Master::start_with_roots("127.0.0.1", &[], &roots, "");
    let grains = std::fs::read_to_string(format!("{tree}/grains.yaml")).unwrap();
    let grains: String = grains.lines().map(|l| format!("  {l}\n")).collect();
    let _m = connected(&master, &format!("grains:\n{grains}"));
    let (code, v) = master.json(&["run", "web1", "state.show_sls", sls]);
    assert_eq!(code, Some(0), "{v:#}");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{tree}/expected/sls.json")).unwrap(),
    )
    .unwrap();
    // Key order counts: compare the JSON text.
    assert_eq!(
        serde_json::to_string_pretty(&v["web1"]).unwrap(),
        serde_json::to_string_pretty(&expected["local"]).unwrap()
    );
}

#[test]
fn module_run_in_a_tree_runs_on_the_minion_and_not_in_a_dry_run() {
    let master = Master::start(&[
        ("salt/top.sls", "base: {}\n"),
        ("salt/mod.sls", MODULE),
        ("pillar/top.sls", "base: {}\n"),
    ]);
    let m = connected(&master, "");
    let (code, v) = master.json(&["run", "web1", "state.sls", "mod", "test=True"]);
    assert_eq!(code, Some(0), "{v:#}");
    let ids = by_id(&v);
    assert_eq!(ids["legacy"]["result"], Value::Null, "{v:#}");
    assert_eq!(
        ids["legacy"]["comment"],
        "Module function cmd.run is set to execute"
    );
    assert_eq!(
        ids["new"]["comment"],
        "FunctionTrue test.echo, test.ping to be executed."
    );

    let (code, v) = master.json(&["run", "web1", "state.sls", "mod"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", m.log());
    let ids = by_id(&v);
    assert_eq!(ids["legacy"]["changes"], json!({"ret": ""}), "{v:#}");
    assert_eq!(
        ids["new"]["changes"],
        json!({"test.echo": "hello", "test.ping": true})
    );
    assert_eq!(ids["new"]["comment"], "test.echo: hello, test.ping: True");
}
