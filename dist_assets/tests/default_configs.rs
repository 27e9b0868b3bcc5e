//! The commented default configs the packages install as /etc/brine/master.yaml
//! and /etc/brine/minion.yaml (dist/etc/brine): every key in them is one the
//! config readers read (a value of the wrong type for it is refused naming it),
//! the whole file uncommented is accepted, and each documented default is the
//! reader's real default.
use std::path::{Path, PathBuf};

use common::config::MinionConfig;
use common::data::{Map, Value};
use master::config::MasterConfig;
use minion::daemon::DaemonConfig;

const MASTER_YAML: &str = include_str!("../../dist/etc/brine/master.yaml");
const MINION_YAML: &str = include_str!("../../dist/etc/brine/minion.yaml");

/// Keys whose commented value is an example rather than the default (an
/// unset key's default is computed: the host's name, the CPU count, nothing),
/// and `gpg_keydir`, whose default is beside the file, wherever it is.
const MASTER_EXAMPLES: &[&str] = &[
    "acl",
    "nodegroups",
    "worker_threads",
    "gpg_keydir",
    "fileserver_backend",
    "gitfs_remotes",
    "ext_pillar",
    "postgres",
];
const MINION_EXAMPLES: &[&str] = &[
    "id",
    "grains",
    "mine_functions",
    "nodegroups",
    "gpg_keydir",
    "schedule",
];

/// The file with its commented-out settings uncommented: a setting is `#key:`
/// (no space after the `#`) and its continuation lines `#  ...`; prose is
/// `# text`, section rules `#####`.
fn uncommented(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let rest = line.strip_prefix('#').unwrap_or("");
        let setting = rest.starts_with(|c: char| c.is_ascii_lowercase())
            || (rest.starts_with("  ") && !rest.trim().is_empty());
        if setting {
            out.push_str(rest);
            out.push('\n');
        }
    }
    out
}

fn parse(yaml: &str) -> Map<String, Value> {
    match common::yaml::load(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}")) {
        Value::Object(m) => m,
        other => panic!("not a map: {other:?}\n{yaml}"),
    }
}

fn write(dir: &Path, name: &str, map: &Map<String, Value>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(map).unwrap()).unwrap();
    path
}

fn load_minion(path: &Path) -> Result<(MinionConfig, String), String> {
    let cfg = MinionConfig::load(path, true).map_err(|e| e.to_string())?;
    let daemon = DaemonConfig::from_raw("probe".into(), &cfg.raw).map_err(|e| format!("{e:#}"))?;
    Ok((cfg, format!("{daemon:?}")))
}

/// A value no key of either reader takes: not a string, number, bool, map of
/// roots or list of names.
fn wrong_value() -> Value {
    serde_json::json!([[{"wrong": "type"}]])
}

#[test]
fn master_yaml_keys_are_read_and_defaults_are_true() {
    let settings = parse(&uncommented(MASTER_YAML));
    assert!(settings.len() >= 20, "too few settings found: {settings:?}");
    let dir = tempfile::tempdir().unwrap();
    let all = MasterConfig::load(&write(dir.path(), "all.yaml", &settings), true);
    assert!(all.is_ok(), "the uncommented file is refused: {all:?}");

    for key in settings.keys() {
        let mut probe = Map::new();
        probe.insert(key.clone(), wrong_value());
        let err = MasterConfig::load(&write(dir.path(), "probe.yaml", &probe), true).expect_err(
            &format!("master.yaml's '{key}' is not a key the master reads"),
        );
        // The key itself, or an item of it (`'gitfs_remotes[0]'`).
        let err = err.to_string();
        assert!(
            err.contains(&format!("'{key}'")) || err.contains(&format!("'{key}[")),
            "{key}: {err}"
        );
    }

    let defaults: Map<String, Value> = settings
        .into_iter()
        .filter(|(k, _)| !MASTER_EXAMPLES.contains(&k.as_str()))
        .collect();
    let mut documented = MasterConfig::load(&write(dir.path(), "d.yaml", &defaults), true).unwrap();
    let mut real = MasterConfig::load(&write(dir.path(), "e.yaml", &Map::new()), true).unwrap();
    documented.raw = Map::new();
    real.raw = Map::new();
    // Whether pillar_roots was written in the file at all (git_pillar then
    // keeps it beside its own roots), not a value with a default.
    documented.git.pillar_roots_given = real.git.pillar_roots_given;
    assert_eq!(
        documented, real,
        "a default in master.yaml is not the master's"
    );
}

#[test]
fn minion_yaml_keys_are_read_and_defaults_are_true() {
    let settings = parse(&uncommented(MINION_YAML));
    assert!(settings.len() >= 20, "too few settings found: {settings:?}");
    let dir = tempfile::tempdir().unwrap();
    if let Err(e) = load_minion(&write(dir.path(), "all.yaml", &settings)) {
        panic!("the uncommented file is refused: {e}");
    }

    for key in settings.keys() {
        let mut probe = Map::new();
        if key == "id" {
            // Any scalar is an id (Salt stringifies it): shown by it being used.
            probe.insert(key.clone(), Value::String("probe-id".into()));
            let (cfg, _) = load_minion(&write(dir.path(), "probe.yaml", &probe)).unwrap();
            assert_eq!(cfg.id.as_deref(), Some("probe-id"));
            continue;
        }
        probe.insert(key.clone(), wrong_value());
        let err = load_minion(&write(dir.path(), "probe.yaml", &probe)).expect_err(&format!(
            "minion.yaml's '{key}' is not a key the minion reads"
        ));
        assert!(err.contains(&format!("'{key}'")), "{key}: {err}");
    }

    let defaults: Map<String, Value> = settings
        .into_iter()
        .filter(|(k, _)| !MINION_EXAMPLES.contains(&k.as_str()))
        .collect();
    let documented = load_minion(&write(dir.path(), "d.yaml", &defaults)).unwrap();
    let real = load_minion(&write(dir.path(), "e.yaml", &Map::new())).unwrap();
    let strip = |(mut c, d): (MinionConfig, String)| {
        c.raw = Map::new();
        (c, d)
    };
    assert_eq!(
        strip(documented),
        strip(real),
        "a default in minion.yaml is not the minion's"
    );
}

#[test]
fn uncommenting_skips_prose_and_rules() {
    let text = "# prose: not a key\n##### Rule #####\n#a: 1\n#b:\n#  - x\n#\n# c: 2\n";
    assert_eq!(uncommented(text), "a: 1\nb:\n  - x\n");
}
