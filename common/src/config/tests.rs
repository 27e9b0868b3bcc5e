use super::*;

#[test]
fn reads_salt_keys_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("minion.yaml");
    std::fs::write(
        &p,
        "id: web01\nfile_roots:\n  base:\n    - /a\n    - /b\ngrains:\n  role: web\n",
    )
    .unwrap();
    let cfg = MinionConfig::load(&p, true).unwrap();
    assert_eq!(cfg.id.as_deref(), Some("web01"));
    assert_eq!(
        cfg.envs.file_roots.get("base").unwrap(),
        [PathBuf::from("/a"), PathBuf::from("/b")]
    );
    assert_eq!(
        cfg.envs.pillar_roots,
        EnvRoots::single("base", vec![PathBuf::from("/srv/pillar")])
    );
    assert_eq!(cfg.envs.saltenv, None);
    assert_eq!(cfg.envs.top_file_merging_strategy, TopMerging::Merge);
    assert_eq!(cfg.envs.default_top, "base");
    assert_eq!(cfg.grains.get("role"), Some(&Value::String("web".into())));
}

#[test]
fn missing_default_config_is_fine_but_required_one_is_not() {
    let p = Path::new("/nonexistent/brine/minion.yaml");
    assert_eq!(
        MinionConfig::load(p, false).unwrap(),
        MinionConfig::default()
    );
    assert!(matches!(
        MinionConfig::load(p, true),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn renderer_and_gpg_keydir() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("minion.yaml");
    std::fs::write(&p, "renderer: 'jinja | yaml | gpg'\n").unwrap();
    let cfg = MinionConfig::load(&p, true).unwrap();
    assert_eq!(cfg.renderer.to_string(), "jinja|yaml|gpg");
    assert_eq!(cfg.gpg_keydir, dir.path().join("gpgkeys"));
    std::fs::write(&p, "renderer: mako|yaml\ngpg_keydir: /k\n").unwrap();
    let err = MinionConfig::load(&p, true).unwrap_err().to_string();
    assert!(
        err.contains("'renderer'") && err.contains("'mako'"),
        "{err}"
    );
    std::fs::write(&p, "gpg_keydir: /k\n").unwrap();
    let cfg = MinionConfig::load(&p, true).unwrap();
    assert_eq!(cfg.gpg_keydir, PathBuf::from("/k"));
    assert_eq!(cfg.renderer, Pipeline::default());
}

#[test]
fn bad_roots_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.yaml");
    std::fs::write(&p, "file_roots: 5\n").unwrap();
    let err = MinionConfig::load(&p, true).unwrap_err().to_string();
    assert!(err.contains("file_roots"), "{err}");
}

#[test]
fn every_saltenv_is_kept_in_order_with_the_env_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.yaml");
    std::fs::write(
        &p,
        "file_roots:\n  prod: [/p]\n  base: [/b]\n  dev: [/d1, /d2]\n\
         pillar_roots:\n  base: [/pb]\n  prod: [/pp]\n\
         saltenv: prod\npillarenv: base\npillarenv_from_saltenv: true\n\
         top_file_merging_strategy: merge_all\nenv_order: [dev, base]\ndefault_top: dev\n",
    )
    .unwrap();
    let cfg = MinionConfig::load(&p, true).unwrap();
    let e = &cfg.envs;
    assert_eq!(
        e.file_roots.names().collect::<Vec<_>>(),
        ["prod", "base", "dev"]
    );
    assert_eq!(
        e.file_roots.get("dev").unwrap(),
        [PathBuf::from("/d1"), PathBuf::from("/d2")]
    );
    assert_eq!(e.file_roots.get("qa"), None);
    assert_eq!(e.saltenv.as_deref(), Some("prod"));
    assert_eq!(e.pillarenv.as_deref(), Some("base"));
    assert!(e.pillarenv_from_saltenv);
    assert_eq!(e.top_file_merging_strategy, TopMerging::MergeAll);
    assert_eq!(e.env_order, ["dev", "base"]);
    assert_eq!(e.default_top, "dev");
    // Templates see every env, in order, and the keys Salt shows.
    let opts = cfg.opts("m1");
    let fr: Vec<&String> = opts["file_roots"].as_object().unwrap().keys().collect();
    assert_eq!(fr, ["prod", "base", "dev"]);
    assert_eq!(opts["pillar_roots"]["prod"], serde_json::json!(["/pp"]));
    assert_eq!(opts["top_file_merging_strategy"], "merge_all");
    assert_eq!(opts["saltenv"], "prod");
}

#[test]
fn job_pillarenv_follows_salt() {
    let mut e = Environments::default();
    assert_eq!(e.job_pillarenv(Some("prod"), None), None);
    assert_eq!(
        e.job_pillarenv(Some("prod"), Some("dev")).as_deref(),
        Some("dev")
    );
    e.pillarenv_from_saltenv = true;
    assert_eq!(e.job_pillarenv(Some("prod"), None).as_deref(), Some("prod"));
    e.pillarenv = Some("base".into());
    e.pillarenv_from_saltenv = false;
    assert_eq!(e.job_pillarenv(Some("prod"), None).as_deref(), Some("base"));
}

#[test]
fn bad_env_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.yaml");
    for (text, key) in [
        (
            "top_file_merging_strategy: mix\n",
            "top_file_merging_strategy",
        ),
        ("env_order: base\n", "env_order"),
        ("pillarenv_from_saltenv: maybe\n", "pillarenv_from_saltenv"),
        ("saltenv: [a]\n", "saltenv"),
        ("pillar_roots:\n  base: /srv\n", "pillar_roots"),
    ] {
        std::fs::write(&p, text).unwrap();
        let err = MinionConfig::load(&p, true).unwrap_err().to_string();
        assert!(err.contains(&format!("key '{key}'")), "{text}: {err}");
    }
}

#[test]
fn pillar_mine_functions_replace_the_configs_in_place_and_add_new_ones() {
    let parse = |y: &str| mine_functions(&crate::yaml::load(y).unwrap()).unwrap();
    let config = parse("a: [1]\nb: [2]\n");
    let pillar = parse("c: [3]\na: [9]\n");
    let merged = merge_mine_functions(&config, &pillar);
    let shown: Vec<(&str, &Value)> = merged
        .iter()
        .map(|f| (f.alias.as_str(), &f.args[0]))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("a", &Value::from(9)),
            ("b", &Value::from(2)),
            ("c", &Value::from(3))
        ]
    );
}

#[test]
fn mine_functions_in_salts_three_shapes() {
    let v = crate::yaml::load(
        "network.ip_addrs: [eth0]\n\
         internal_ips:\n  - mine_function: network.ip_addrs\n  - cidr: 10.0.0.0/8\n\
         ifaces:\n  mine_function: network.interfaces\n\
         test.ping:\n",
    )
    .unwrap();
    let got = mine_functions(&v).unwrap();
    let f = |alias: &str, function: &str, args: Value, kwargs: Value| MineFunction {
        alias: alias.into(),
        function: function.into(),
        args: args.as_array().unwrap().clone(),
        kwargs: kwargs.as_object().unwrap().clone(),
    };
    use serde_json::json;
    assert_eq!(
        got,
        vec![
            f(
                "network.ip_addrs",
                "network.ip_addrs",
                json!(["eth0"]),
                json!({})
            ),
            f(
                "internal_ips",
                "network.ip_addrs",
                json!([]),
                json!({"cidr": "10.0.0.0/8"})
            ),
            f("ifaces", "network.interfaces", json!([]), json!({})),
            f("test.ping", "test.ping", json!([]), json!({})),
        ]
    );
    let acl = crate::yaml::load("a: [{allow_tgt: 'web*'}]\n").unwrap();
    assert!(mine_functions(&acl).unwrap_err().contains("allow_tgt"));
    assert!(mine_functions(&serde_json::json!(["x"])).is_err());
}
