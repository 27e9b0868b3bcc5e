use std::path::Path;
use std::sync::Arc;

use common::config::{EnvRoots, Environments};
use common::render::NoHost;
use common::tree_error::TreeError;
use serde_json::{json, Value};

use super::*;

/// A state tree and a pillar tree under one temp dir; both tops give the
/// nodegroup `webs` its files.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let f = Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        f.write(
            "salt/top.sls",
            "base:\n  '*':\n    - common\n  webs:\n    - match: nodegroup\n    - web\n",
        );
        f.write(
            "salt/common.sls",
            "motd:\n  file.managed:\n    - name: /etc/motd\n    - contents: {{ pillar.get('motd', 'none') }}\n",
        );
        f.write(
            "salt/web.sls",
            "nginx:\n  pkg.installed:\n    - name: {{ pillar.get('web_pkg', 'none') }}\n",
        );
        f.write(
            "pillar/top.sls",
            "base:\n  '*':\n    - common\n  webs:\n    - match: nodegroup\n    - web\n",
        );
        f.write("pillar/common.sls", "motd: hello\n");
        f.write("pillar/web.sls", "web_pkg: nginx-full\n");
        f
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn root(&self, name: &str) -> Vec<std::path::PathBuf> {
        vec![self.dir.path().join(name)]
    }

    fn trees(&self) -> MinionTrees {
        MinionTrees::new(&envs(self.root("salt"), self.root("pillar")), webs())
    }
}

fn webs() -> Map<String, Value> {
    let mut nodegroups = Map::new();
    nodegroups.insert("webs".into(), json!("web*"));
    nodegroups
}

/// Saltenv `base` of these roots, Salt's defaults otherwise.
fn envs(salt: Vec<std::path::PathBuf>, pillar: Vec<std::path::PathBuf>) -> Environments {
    Environments {
        file_roots: EnvRoots::single("base", salt),
        pillar_roots: EnvRoots::single("base", pillar),
        ..Environments::default()
    }
}

fn compile(trees: &MinionTrees, id: &str, sls: &[&str]) -> Result<Compiled, TreeErrors> {
    let grains = json!({"id": id});
    let opts = json!({"id": id});
    let m = Minion {
        id,
        grains: &grains,
        opts: &opts,
        probe: Arc::new(NoHost),
    };
    let sls: Vec<String> = sls.iter().map(|s| s.to_string()).collect();
    trees.compile(&m, &sls)
}

fn ids(chunks: &[Chunk]) -> Vec<(String, String)> {
    chunks
        .iter()
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (s("__id__"), s("name"))
        })
        .collect()
}

#[test]
fn highstate_gets_the_nodegroups_pillar_and_states() {
    let f = Fixture::new();
    let c = compile(&f.trees(), "web01", &[]).expect("compiles");
    assert_eq!(c.pillar, json!({"motd": "hello", "web_pkg": "nginx-full"}));
    assert_eq!(
        ids(&c.chunks),
        vec![
            ("motd".to_string(), "/etc/motd".to_string()),
            ("nginx".to_string(), "nginx-full".to_string()),
        ]
    );
}

#[test]
fn a_minion_outside_the_nodegroup_gets_neither_top_entry() {
    let f = Fixture::new();
    let c = compile(&f.trees(), "db01", &[]).expect("compiles");
    assert_eq!(c.pillar, json!({"motd": "hello"}));
    assert_eq!(
        ids(&c.chunks),
        vec![("motd".to_string(), "/etc/motd".to_string())]
    );
}

#[test]
fn named_sls_compiles_only_those_files_with_the_pillar() {
    let f = Fixture::new();
    let c = compile(&f.trees(), "db01", &["web"]).expect("compiles");
    assert_eq!(c.pillar, json!({"motd": "hello"}));
    assert_eq!(
        ids(&c.chunks),
        vec![("nginx".to_string(), "none".to_string())]
    );
}

#[test]
fn pillar_errors_surface_as_tree_errors_and_stop_the_compile() {
    let f = Fixture::new();
    f.write("pillar/web.sls", "web_pkg: {{ undefined_function() }}\n");
    let errors = match compile(&f.trees(), "web01", &[]) {
        Ok(c) => panic!("compiled despite a broken pillar: {:?}", ids(&c.chunks)),
        Err(e) => e,
    };
    assert_eq!(errors.0.len(), 1, "{errors:?}");
    assert!(matches!(errors.0[0], TreeError::Render(_)), "{errors:?}");
    assert!(errors.0[0].to_string().contains("web"), "{errors:?}");
}

#[test]
fn an_unknown_nodegroup_in_the_pillar_top_is_an_error() {
    let f = Fixture::new();
    f.write(
        "pillar/top.sls",
        "base:\n  dbs:\n    - match: nodegroup\n    - web\n",
    );
    let errors = compile(&f.trees(), "web01", &[])
        .err()
        .expect("an unknown nodegroup fails");
    assert!(
        errors.0.iter().any(|e| e.to_string().contains("dbs")),
        "{errors:?}"
    );
}

#[test]
fn no_pillar_root_is_an_empty_pillar() {
    let f = Fixture::new();
    let trees = MinionTrees::new(
        &envs(
            f.root("salt"),
            vec![Path::new("/nonexistent/pillar").to_path_buf()],
        ),
        Map::new(),
    );
    let c = compile(&trees, "web01", &["common"]).expect("compiles");
    assert_eq!(c.pillar, json!({}));
    assert_eq!(
        ids(&c.chunks),
        vec![("motd".to_string(), "/etc/motd".to_string())]
    );
}

/// base and prod state and pillar trees, each top naming its own saltenv.
fn two_envs(f: &Fixture) -> Environments {
    f.write("prod/salt/top.sls", "prod:\n  '*':\n    - web\n");
    f.write(
        "prod/salt/web.sls",
        "include:\n  - base: common\nprod_web:\n  pkg.installed:\n    - name: {{ saltenv }}-{{ pillar.get('web_pkg', 'none') }}\n",
    );
    f.write("prod/pillar/top.sls", "prod:\n  '*':\n    - web\n");
    f.write("prod/pillar/web.sls", "web_pkg: prod-pkg\n");
    let dir = |p: &str| vec![f.dir.path().join(p)];
    Environments {
        file_roots: EnvRoots(vec![
            ("base".into(), dir("salt")),
            ("prod".into(), dir("prod/salt")),
        ]),
        pillar_roots: EnvRoots(vec![
            ("base".into(), dir("pillar")),
            ("prod".into(), dir("prod/pillar")),
        ]),
        ..Environments::default()
    }
}

fn compile_job(trees: &MinionTrees, sls: &[&str], job: &JobEnv) -> Result<Compiled, TreeErrors> {
    let grains = json!({"id": "db01"});
    let opts = json!({"id": "db01"});
    let m = Minion {
        id: "db01",
        grains: &grains,
        opts: &opts,
        probe: Arc::new(NoHost),
    };
    let sls: Vec<String> = sls.iter().map(|s| s.to_string()).collect();
    trees.compile_job(&m, &sls, job)
}

#[test]
fn a_job_saltenv_compiles_that_saltenvs_top_and_its_includes() {
    let f = Fixture::new();
    let trees = MinionTrees::new(&two_envs(&f), webs());
    let job = JobEnv {
        saltenv: Some("prod".into()),
        ..JobEnv::default()
    };
    let c = compile_job(&trees, &[], &job).expect("compiles");
    // No pillarenv: both pillar envs' tops are merged.
    assert_eq!(c.pillar, json!({"motd": "hello", "web_pkg": "prod-pkg"}));
    assert_eq!(
        ids(&c.chunks),
        vec![
            ("motd".to_string(), "/etc/motd".to_string()),
            ("prod_web".to_string(), "prod-prod-pkg".to_string()),
        ]
    );
    let envs: Vec<&str> = c
        .chunks
        .iter()
        .map(|c| c["__env__"].as_str().unwrap())
        .collect();
    assert_eq!(envs, ["base", "prod"]);
    // pillarenv=base: prod's pillar top is not read.
    let job = JobEnv {
        saltenv: Some("prod".into()),
        pillarenv: Some("base".into()),
        pillar: Some(json!({"extra": 1})),
    };
    let c = compile_job(&trees, &["web"], &job).expect("compiles");
    assert_eq!(c.pillar, json!({"motd": "hello", "extra": 1}));
    assert_eq!(ids(&c.chunks)[1].1, "prod-none");
}

#[test]
fn an_unconfigured_saltenv_is_salts_error() {
    let f = Fixture::new();
    let trees = MinionTrees::new(&two_envs(&f), webs());
    let job = JobEnv {
        saltenv: Some("qa".into()),
        ..JobEnv::default()
    };
    let errors = compile_job(&trees, &["web"], &job).err().expect("refused");
    assert!(
        errors
            .0
            .iter()
            .any(|e| e.to_string() == "No matching salt environment for environment 'qa' found"),
        "{errors:?}"
    );
}
