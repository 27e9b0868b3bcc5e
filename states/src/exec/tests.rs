use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::compile::JobEnv;

fn parse(fun: &str, args: Value, kwargs: Value) -> Result<Call, ExecError> {
    let args = args.as_array().cloned().unwrap_or_default();
    let kwargs = kwargs.as_object().cloned().unwrap_or_default();
    Call::parse(fun, &args, &kwargs)
}

fn call(fun: &str, args: Value, kwargs: Value) -> ExecCall {
    parse(fun, args, kwargs).unwrap().call
}

fn root_host(root: &std::path::Path) -> HostRead {
    HostRead::new(root.to_path_buf(), Arc::new(NoSources))
}

#[test]
fn arguments_bind_by_position_and_by_name_as_python_binds_them() {
    let by_position = call("grains.get", json!(["a:b", "dflt", "/"]), json!({}));
    let by_name = call(
        "grains.get",
        json!([]),
        json!({"delimiter": "/", "default": "dflt", "key": "a:b"}),
    );
    let mixed = call(
        "grains.get",
        json!(["a:b"]),
        json!({"delimiter": "/", "default": "dflt"}),
    );
    let want = ExecCall::GrainsGet {
        key: "a:b".into(),
        default: json!("dflt"),
        delimiter: "/".into(),
    };
    assert_eq!(by_position, want);
    assert_eq!(by_name, want);
    assert_eq!(mixed, want);
    assert_eq!(
        call("grains.get", json!(["x"]), json!({})),
        ExecCall::GrainsGet {
            key: "x".into(),
            default: json!(""),
            delimiter: ":".into()
        }
    );
    assert_eq!(
        call("grains.get", json!(["x", null]), json!({})),
        ExecCall::GrainsGet {
            key: "x".into(),
            default: Value::Null,
            delimiter: ":".into()
        }
    );
    // cmd.run's sixth and seventh parameters are Salt's shell and python_shell.
    let ExecCall::Cmd(c) = call(
        "cmd.run",
        json!(["ls", "/tmp", null, null, null, "/bin/bash", true]),
        json!({"env": {"A": 1}}),
    ) else {
        panic!("not a command")
    };
    assert_eq!(c.cwd.as_deref(), Some("/tmp"));
    assert_eq!(c.shell.as_deref(), Some("/bin/bash"));
    assert!(c.python_shell && c.rstrip && c.output == CmdOutput::Text);
    assert_eq!(c.env, [("A".to_string(), "1".to_string())]);
    assert_eq!(
        call("state.sls", json!(["a, b"]), json!({"test": "True"})),
        ExecCall::Master(MasterCall::Apply {
            mods: vec!["a".into(), "b".into()],
            test: true,
            env: JobEnv::default(),
        })
    );
    assert_eq!(
        call(
            "state.apply",
            json!([]),
            json!({"mods": ["x"], "test": "yes"})
        ),
        ExecCall::Master(MasterCall::Apply {
            mods: vec!["x".into()],
            test: false,
            env: JobEnv::default(),
        })
    );
}

#[test]
fn job_env_state_functions_take_salts_saltenv_pillarenv_and_pillar() {
    let env = JobEnv {
        saltenv: Some("prod".into()),
        pillarenv: Some("stage".into()),
        pillar: Some(json!({"k": "v"})),
    };
    let kwargs = json!({"saltenv": "prod", "pillarenv": "stage", "pillar": {"k": "v"}});
    assert_eq!(
        call("state.apply", json!(["web"]), kwargs.clone()),
        ExecCall::Master(MasterCall::Apply {
            mods: vec!["web".into()],
            test: false,
            env: env.clone(),
        })
    );
    for fun in ["state.sls", "state.highstate", "state.show_lowstate"] {
        let args = if fun == "state.sls" {
            json!(["web"])
        } else {
            json!([])
        };
        match call(fun, args, kwargs.clone()) {
            ExecCall::Master(MasterCall::Apply { env: e, .. })
            | ExecCall::Master(MasterCall::ShowLowstate { env: e, .. }) => {
                assert_eq!(e, env, "{fun}")
            }
            other => panic!("{fun}: {other:?}"),
        }
    }
    // Keyword only, as Salt's **kwargs: a third positional is not a saltenv.
    let e = parse("state.apply", json!(["web", true, "prod"]), json!({}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most 2"), "{e}");
    let e = parse("state.apply", json!([]), json!({"pillar": [1]}))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "state.apply: argument 'pillar': Pillar data must be formatted as a dictionary, \
         unless pillar_enc is specified."
    );
    let e = parse("state.sls", json!(["web"]), json!({"saltenv": "../x"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("'saltenv'") && e.contains("'/'"), "{e}");
    // Other functions do not take them.
    let e = parse("pillar.items", json!([]), json!({"saltenv": "prod"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("'saltenv'"), "{e}");
}

#[test]
fn wrong_calls_are_errors_that_name_what_is_wrong() {
    let err =
        |fun: &str, args: Value, kwargs: Value| parse(fun, args, kwargs).unwrap_err().to_string();
    // Salt's words for a function it does not have.
    let e = err("test.pong", json!([]), json!({}));
    assert_eq!(e, "'test.pong' is not available.");
    let e = err("cmd.run", json!(["ls"]), json!({"cwdd": "/"}));
    assert!(e.contains("cmd.run") && e.contains("'cwdd'"), "{e}");
    let e = err("test.echo", json!([]), json!({}));
    assert!(e.contains("test.echo") && e.contains("'text'"), "{e}");
    let e = err("test.echo", json!(["a"]), json!({"text": "b"}));
    assert!(e.contains("'text'") && e.contains("both"), "{e}");
    let e = err("test.ping", json!(["x"]), json!({}));
    assert!(e.contains("test.ping") && e.contains("at most 0"), "{e}");
    let e = err("cmd.run", json!(["ls"]), json!({"runas": "bob"}));
    assert!(
        e.contains("'runas'") && e.contains("does not implement"),
        "{e}"
    );
    let e = err("state.sls", json!([]), json!({}));
    assert!(e.contains("state.sls") && e.contains("'mods'"), "{e}");
}

#[test]
fn boolean_arguments_follow_salts_is_true() {
    let shell = |v: Value| match call("cmd.run", json!(["x"]), json!({"python_shell": v})) {
        ExecCall::Cmd(c) => c.python_shell,
        _ => unreachable!(),
    };
    assert!(shell(json!(true)));
    assert!(shell(json!("True")));
    assert!(shell(json!(1)));
    assert!(!shell(json!("yes")));
    assert!(!shell(json!("no")));
    assert!(!shell(json!(false)));
    assert!(!shell(json!(0)));
}

#[test]
fn file_read_reads_under_the_state_root() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("etc/motd"), "under the root\n").unwrap();
    let host = root_host(root.path());
    let env = ExecEnv {
        host: &host,
        grains: &Value::Null,
        grains_file: None,
    };
    let read = |path: &str| {
        parse("file.read", json!([path]), json!({}))
            .unwrap()
            .run(&env)
    };
    assert_eq!(read("/etc/motd").unwrap(), json!("under the root\n"));
    // Not the host's own file, and no way out of the root.
    let e = read("/etc/hostname").unwrap_err().to_string();
    assert!(e.contains("/etc/hostname"), "{e}");
    let e = read("/../../etc/passwd").unwrap_err().to_string();
    assert!(e.contains("state root"), "{e}");
    let exists = |fun: &str, path: &str| {
        parse(fun, json!([path]), json!({}))
            .unwrap()
            .run(&env)
            .unwrap()
    };
    assert_eq!(exists("file.file_exists", "/etc/motd"), json!(true));
    assert_eq!(exists("file.directory_exists", "/etc"), json!(true));
    assert_eq!(exists("file.file_exists", "/etc"), json!(false));
}

#[test]
fn user_info_reads_the_roots_passwd_and_groups() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(
        root.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000:Bob B,1,2,3:/home/bob:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("etc/group"),
        "root:x:0:\nbob:x:1000:\nsudo:x:27:bob\n",
    )
    .unwrap();
    let host = root_host(root.path());
    let env = ExecEnv {
        host: &host,
        grains: &Value::Null,
        grains_file: None,
    };
    let info = |name: &str| {
        parse("user.info", json!([name]), json!({}))
            .unwrap()
            .run(&env)
            .unwrap()
    };
    let bob = info("bob");
    assert_eq!(bob["uid"], 1000);
    assert_eq!(bob["fullname"], "Bob B");
    assert_eq!(bob["groups"], json!(["bob", "sudo"]));
    assert_eq!(info("nobody"), json!({}));
}

#[test]
fn commands_are_argv_unless_a_shell_is_asked_for() {
    let host = root_host(std::path::Path::new("/"));
    let env = ExecEnv {
        host: &host,
        grains: &Value::Null,
        grains_file: None,
    };
    let run =
        |args: Value, kwargs: Value| parse("cmd.run", args, kwargs).unwrap().run(&env).unwrap();
    assert_eq!(
        run(json!(["echo a | tr a b"]), json!({})),
        json!("a | tr a b")
    );
    assert_eq!(
        run(json!(["echo a | tr a b"]), json!({"python_shell": true})),
        json!("b")
    );
    // Python's shlex: `"\$"` keeps its backslash, a non-breaking space is a letter.
    assert_eq!(run(json!(["printf %s \"\\$x\""]), json!({})), json!("\\$x"));
    assert_eq!(run(json!(["echo a\u{a0}b"]), json!({})), json!("a\u{a0}b"));
    let all = parse(
        "cmd.run_all",
        json!(["sh -c 'echo out; echo err >&2; exit 3'"]),
        json!({}),
    )
    .unwrap()
    .run(&env)
    .unwrap();
    assert_eq!(all, json!({"stdout": "out", "stderr": "err", "retcode": 3}));
    let raw = parse("cmd.run_all", json!(["echo x"]), json!({"rstrip": false}))
        .unwrap()
        .run(&env)
        .unwrap();
    assert_eq!(raw["stdout"], "x\n");
    let e = parse("cmd.run", json!(["echo 'open"]), json!({}))
        .unwrap()
        .run(&env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("No closing quotation"), "{e}");
}

#[test]
fn has_exec_searches_the_path() {
    let host = root_host(std::path::Path::new("/"));
    assert!(cmd::has_exec(&host, "sh").unwrap());
    assert!(cmd::has_exec(&host, "/bin/sh").unwrap());
    assert!(!cmd::has_exec(&host, "no-such-brine-command").unwrap());
}

#[test]
fn each_function_says_whether_it_reads_and_who_answers() {
    let read_only = [
        "test.ping",
        "test.echo",
        "test.version",
        "grains.items",
        "grains.get",
        "file.read",
        "file.file_exists",
        "file.directory_exists",
        "user.info",
        "network.ip_addrs",
        "network.interfaces",
        "file.stats",
        "file.get_hash",
        "user.list_users",
        "group.info",
        "disk.usage",
        "status.uptime",
        "status.loadavg",
        "cmd.has_exec",
        "pkg.version",
        "service.status",
        "sys.list_functions",
        "sys.doc",
        "state.show_lowstate",
        "pillar.items",
        "saltutil.refresh_pillar",
        "pkg.list_pkgs",
        "service.available",
        "service.get_all",
        "cp.list_states",
        "cp.list_master",
        "state.show_sls",
        "saltutil.running",
    ];
    for f in FUNCTIONS {
        assert_eq!(
            f.access == Access::ReadOnly,
            read_only.contains(&f.name),
            "{}",
            f.name
        );
        let by_master = f.name.starts_with("state.")
            || f.name.starts_with("pillar.")
            || f.name == "saltutil.refresh_pillar"
            || f.name.starts_with("cp.list_");
        assert_eq!(f.answered_by == AnsweredBy::Master, by_master, "{}", f.name);
        let report = [
            "state.apply",
            "state.sls",
            "state.highstate",
            "state.single",
            "state.sls_id",
        ]
        .contains(&f.name);
        assert_eq!(f.state_report, report, "{}", f.name);
    }
    for f in [
        "cmd.run",
        "cmd.run_all",
        "cmd.run_stdout",
        "cmd.retcode",
        "cmd.script",
        "file.replace",
        "service.restart",
        "service.start",
        "service.stop",
        "service.reload",
        "pkg.install",
    ] {
        assert_eq!(lookup(f).unwrap().access, Access::ChangesHost, "{f}");
    }
}

#[test]
fn the_table_has_each_name_once_and_lists_itself() {
    let mut names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "a function is in the table twice");
    let host = root_host(std::path::Path::new("/"));
    let listed = parse("sys.list_functions", json!([]), json!({}))
        .unwrap()
        .run(&ExecEnv {
            host: &host,
            grains: &Value::Null,
            grains_file: None,
        })
        .unwrap();
    assert_eq!(listed, json!(names));
    let doc = parse("sys.doc", json!([]), json!({}))
        .unwrap()
        .run(&ExecEnv {
            host: &host,
            grains: &Value::Null,
            grains_file: None,
        })
        .unwrap();
    assert_eq!(
        doc.as_object().unwrap().keys().collect::<Vec<_>>(),
        names.iter().collect::<Vec<_>>()
    );
    // Unsupported parameters are not advertised.
    let run = doc["cmd.run"].as_str().unwrap();
    assert!(
        run.starts_with(
            "cmd.run(cmd, cwd=None, shell=None, python_shell=None, env=None, rstrip=None): "
        ),
        "{run}"
    );
}

#[test]
fn master_calls_are_not_run_on_a_minion() {
    let host = root_host(std::path::Path::new("/"));
    let e = parse("pillar.items", json!([]), json!({}))
        .unwrap()
        .run(&ExecEnv {
            host: &host,
            grains: &Value::Null,
            grains_file: None,
        })
        .unwrap_err();
    assert_eq!(e, ExecError::AnsweredByMaster("pillar.items"));
}

#[test]
fn state_single_builds_one_chunk_from_the_call() {
    let got = call(
        "state.single",
        json!(["file.managed", "/etc/motd"]),
        json!({"contents": "hi", "mode": 644, "test": true, "saltenv": "prod"}),
    );
    let ExecCall::Master(MasterCall::Single { chunk, test, env }) = got else {
        panic!("{got:?}")
    };
    assert!(test);
    assert_eq!(env.saltenv.as_deref(), Some("prod"));
    assert_eq!(
        Value::Object(chunk),
        json!({"contents": "hi", "mode": 644, "state": "file", "fun": "managed",
               "__id__": "/etc/motd", "name": "/etc/motd", "__env__": "prod"})
    );
    let e = parse("state.single", json!(["nodot", "x"]), json!({})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "state.single: argument 'fun': Invalid function passed"
    );
    let e = parse("state.single", json!(["test.nop"]), json!({})).unwrap_err();
    assert_eq!(e.to_string(), "state.single is missing its argument 'name'");
}

#[test]
fn sls_id_and_show_sls_take_salts_arguments() {
    assert_eq!(
        call("state.sls_id", json!(["b", "s,t"]), json!({"test": "True"})),
        ExecCall::Master(MasterCall::SlsId {
            id: "b".into(),
            mods: vec!["s".into(), "t".into()],
            test: true,
            env: JobEnv::default(),
        })
    );
    assert_eq!(
        call("state.show_sls", json!(["s"]), json!({"pillarenv": "p"})),
        ExecCall::Master(MasterCall::ShowSls {
            mods: vec!["s".into()],
            env: JobEnv {
                pillarenv: Some("p".into()),
                ..JobEnv::default()
            },
        })
    );
    assert!(parse("state.sls_id", json!(["b"]), json!({})).is_err());
}
