use super::*;

fn load(text: &str) -> Result<MasterConfig, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("master.yaml");
    std::fs::write(&p, text).unwrap();
    MasterConfig::load(&p, true)
}

fn err(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

#[test]
fn defaults() {
    let cfg = MasterConfig::default();
    assert_eq!(cfg.interface, "0.0.0.0");
    assert_eq!((cfg.ret_port, cfg.operator_port), (4506, 4507));
    assert_eq!(cfg.envs, common::config::Environments::default());
    assert_eq!(cfg.pki_dir, PathBuf::from("/etc/brine/pki/master"));
    assert_eq!(cfg.cachedir, PathBuf::from("/var/cache/brine/master"));
    assert!(!cfg.auto_accept && cfg.autosign.is_empty() && cfg.nodegroups.is_empty());
    assert_eq!((cfg.keep_jobs, cfg.timeout), (24, 60));
    assert!(cfg.worker_threads >= 1);
    assert_eq!(cfg.acl, None);
    assert_eq!(cfg.renderer.to_string(), "jinja|yaml");
    assert_eq!(cfg.gpg_keydir, PathBuf::from("/etc/brine/gpgkeys"));
    // An empty file is the defaults too, but for gpg_keydir: beside the file.
    let loaded = load("").unwrap();
    assert!(loaded.gpg_keydir.ends_with("gpgkeys"), "{loaded:?}");
    assert_eq!(
        MasterConfig {
            gpg_keydir: cfg.gpg_keydir.clone(),
            ..loaded
        },
        MasterConfig::default()
    );
}

#[test]
fn renderer_and_gpg_keydir() {
    let cfg = load("renderer: jinja | yaml | gpg\ngpg_keydir: /keys\n").unwrap();
    assert_eq!(cfg.renderer.to_string(), "jinja|yaml|gpg");
    assert_eq!(cfg.gpg_keydir, PathBuf::from("/keys"));
    let e = err("renderer: jinja|mako\n");
    assert!(e.contains("'renderer'") && e.contains("'mako'"), "{e}");
}

#[test]
fn missing_file_is_default_unless_required() {
    let p = Path::new("/nonexistent/brine/master.yaml");
    assert_eq!(
        MasterConfig::load(p, false).unwrap(),
        MasterConfig::default()
    );
    assert!(matches!(
        MasterConfig::load(p, true),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn reads_salt_keys() {
    let cfg = load(
        "interface: 127.0.0.1\nret_port: 14506\noperator_port: 14507\n\
         file_roots:\n  base:\n    - /a\n    - /b\n  dev:\n    - /dev-only\n\
         pillar_roots:\n  base: [/p]\n\
         pki_dir: /tmp/pki\ncachedir: /tmp/cache\nauto_accept: yes\n\
         autosign:\n  - 'web*'\n  - db01\n\
         nodegroups:\n  web: 'G@role:web and web*'\n  pair: [a, b]\n\
         keep_jobs: 0\ntimeout: 5\nworker_threads: 3\n",
    )
    .unwrap();
    assert_eq!(cfg.interface, "127.0.0.1");
    assert_eq!((cfg.ret_port, cfg.operator_port), (14506, 14507));
    assert_eq!(
        cfg.envs.file_roots.get("base").unwrap(),
        [PathBuf::from("/a"), PathBuf::from("/b")]
    );
    assert_eq!(
        cfg.envs.file_roots.get("dev").unwrap(),
        [PathBuf::from("/dev-only")]
    );
    assert_eq!(
        cfg.envs.pillar_roots.get("base").unwrap(),
        [PathBuf::from("/p")]
    );
    assert_eq!(cfg.pki_dir, PathBuf::from("/tmp/pki"));
    assert_eq!(cfg.cachedir, PathBuf::from("/tmp/cache"));
    assert!(cfg.auto_accept);
    assert!(cfg.autosigned("web12") && cfg.autosigned("db01") && !cfg.autosigned("db02"));
    assert_eq!(
        cfg.nodegroups.get("web"),
        Some(&Value::String("G@role:web and web*".into()))
    );
    assert_eq!(
        cfg.nodegroups
            .get("pair")
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!((cfg.keep_jobs, cfg.timeout, cfg.worker_threads), (0, 5, 3));
    assert_eq!(cfg.raw.get("ret_port"), Some(&Value::from(14506)));
}

#[test]
fn bad_types_name_the_key() {
    for (text, key) in [
        ("ret_port: lots\n", "ret_port"),
        ("operator_port: 70000\n", "operator_port"),
        ("auto_accept: maybe\n", "auto_accept"),
        ("interface: [a]\n", "interface"),
        ("file_roots: 5\n", "file_roots"),
        ("pillar_roots:\n  base: [1]\n", "pillar_roots"),
        ("autosign: {a: 1}\n", "autosign"),
        ("nodegroups:\n  web: 5\n", "nodegroups.web"),
        ("keep_jobs: -1\n", "keep_jobs"),
        ("timeout: 0\n", "timeout"),
        ("worker_threads: 0\n", "worker_threads"),
        ("acl: [alice]\n", "acl"),
        (
            "acl:\n  alice:\n    - functions: ['*']\n",
            "acl.alice[0].targets",
        ),
        ("- a list\n", "(top)"),
    ] {
        let e = err(text);
        assert!(e.contains(&format!("'{key}'")), "{text:?} → {e}");
    }
}

fn allows(cfg: &MasterConfig, operator: &str, target: &str, function: &str) -> bool {
    crate::config::acl_allows(cfg.acl.as_ref(), operator, target, function)
}

#[test]
fn acl_rules() {
    let cfg = load(
        "acl:\n  alice:\n    - targets: 'web*'\n      functions: ['test.*', state.apply]\n\
         \x20   - targets: [db01, 'db0[2-3]']\n      functions: [test.ping]\n  root:\n    \
         - targets: '*'\n      functions: '*'\n",
    )
    .unwrap();
    let acl = cfg.acl.as_ref().unwrap();
    assert_eq!(acl.rules.len(), 3);
    assert!(allows(&cfg, "alice", "web01", "test.ping"));
    assert!(allows(&cfg, "alice", "web*", APPLY_FUNCTION));
    assert!(!allows(&cfg, "alice", "web01", "cmd.run"));
    assert!(allows(&cfg, "alice", "db03", "test.ping"));
    assert!(!allows(&cfg, "alice", "db03", "state.apply"));
    // The expression is matched as written: '*' is not under 'web*'.
    assert!(!allows(&cfg, "alice", "*", "test.ping"));
    assert!(allows(&cfg, "root", "G@os:Debian", "cmd.run"));
    // Not named in the ACL: nothing.
    assert!(!allows(&cfg, "bob", "web01", "test.ping"));
    // No acl key: everything; an empty one: nothing.
    assert!(allows(&MasterConfig::default(), "bob", "*", "cmd.run"));
    assert!(!allows(&load("acl:\n").unwrap(), "bob", "*", "test.ping"));
}

#[test]
fn flood_limits_have_defaults_and_refuse_zero() {
    let cfg = MasterConfig::default();
    assert_eq!(
        (
            cfg.handshake_rate,
            cfg.max_pending_keys,
            cfg.pending_key_rate
        ),
        (500, 1000, 50)
    );
    let cfg = load("handshake_rate: 20\nmax_pending_keys: 3\npending_key_rate: 1\n").unwrap();
    assert_eq!(
        (
            cfg.handshake_rate,
            cfg.max_pending_keys,
            cfg.pending_key_rate
        ),
        (20, 3, 1)
    );
    for key in ["handshake_rate", "max_pending_keys", "pending_key_rate"] {
        assert!(err(&format!("{key}: 0\n")).contains(key));
        assert!(err(&format!("{key}: lots\n")).contains(key));
    }
}

#[test]
fn stores_default_to_local_and_postgres_needs_a_dsn() {
    assert!(MasterConfig::default().stores.all_local());
    assert!(
        load("master_job_cache: sqlite\nkey_store: files\ncache: localfs\n")
            .unwrap()
            .stores
            .all_local()
    );
    let cfg = load(
        "master_job_cache: postgres\ncache: postgres\n\
         postgres:\n  dsn: host=/run/postgresql dbname=brine\n",
    )
    .unwrap();
    assert_eq!(
        cfg.stores,
        Stores {
            job_cache: Store::Postgres,
            key_store: Store::Local,
            cache: Store::Postgres,
            postgres_dsn: Some("host=/run/postgresql dbname=brine".into()),
        }
    );
    for (text, key) in [
        ("master_job_cache: mysql\n", "master_job_cache"),
        ("key_store: consul\n", "key_store"),
        ("cache: [postgres]\n", "cache"),
        ("key_store: postgres\n", "postgres.dsn"),
        ("postgres: host=x\n", "postgres"),
        ("postgres:\n  dsn: 5\n", "postgres.dsn"),
        ("postgres:\n  host: x\n", "postgres.host"),
    ] {
        let e = err(text);
        assert!(e.contains(&format!("'{key}'")), "{text:?} → {e}");
    }
}
