use serde_json::json;

use super::super::testutil::{changes_of, chunk, comment_of, is_clean, TestHost};
use super::super::{Args, Check, StateModule};
use super::Cmd;

fn run(t: &TestHost, args: serde_json::Value) -> super::Applied {
    let check = t.check(&Cmd, "run", args).unwrap();
    t.apply(check)
}

#[test]
fn run_checks_without_running_then_runs_in_apply() {
    let t = TestHost::new();
    let out = t.path("/out");
    let name = format!("echo hello > {} && echo done", out.display());
    let before = t.snapshot();
    let check = t.check(&Cmd, "run", json!({"name": name})).unwrap();
    assert_eq!(t.snapshot(), before, "check ran the command");
    assert_eq!(changes_of(&check).unwrap()["cmd"], json!(name));
    assert_eq!(
        comment_of(&check),
        format!("Command \"{name}\" would have been executed")
    );

    let applied = t.apply(check);
    assert!(applied.result);
    assert_eq!(applied.comment, format!("Command \"{name}\" run"));
    let ch = applied.changes.unwrap();
    assert_eq!(
        ch.keys().collect::<Vec<_>>(),
        ["pid", "retcode", "stdout", "stderr"]
    );
    assert_eq!(
        (ch["retcode"].clone(), ch["stdout"].clone()),
        (json!(0), json!("done"))
    );
    assert_eq!(std::fs::read_to_string(out).unwrap(), "hello\n");
    // Salt runs cmd.run every time: a second check is a Change again.
    assert!(changes_of(&t.check(&Cmd, "run", json!({"name": name})).unwrap()).is_some());
}

#[test]
fn retcodes_decide_the_result() {
    let t = TestHost::new();
    let failed = run(&t, json!({"name": "echo oops >&2; exit 3"}));
    assert!(!failed.result);
    let ch = failed.changes.unwrap();
    assert_eq!(
        (ch["retcode"].clone(), ch["stderr"].clone()),
        (json!(3), json!("oops"))
    );
    let ok = run(&t, json!({"name": "exit 3", "success_retcodes": [2, 3]}));
    assert!(ok.result);
    assert_eq!(ok.changes.unwrap()["retcode"], json!(0));
    assert!(
        run(
            &t,
            json!({"name": "echo fine; exit 1", "success_stdout": "fine"})
        )
        .result
    );
    let err = t.check(
        &Cmd,
        "run",
        json!({"name": "true", "success_retcodes": "x"}),
    );
    assert_eq!(
        err.err().unwrap().to_string(),
        "success_retcodes must be a list of integers"
    );
}

#[test]
fn environment_cwd_stdin_and_output() {
    let t = TestHost::new();
    let ch = run(
        &t,
        json!({"name": "echo \"$A|$B|$LC_ALL$LC_CTYPE|$(pwd)\"; cat", "env": [{"A": 1}, {"B": "two words"}], "stdin": "in\\nput"}),
    )
    .changes
    .unwrap();
    let root = t.root.path().canonicalize().unwrap();
    assert_eq!(
        ch["stdout"],
        json!(format!("1|two words|C|{}\nin\nput", root.display()))
    );

    std::fs::create_dir(t.path("/work")).unwrap();
    let ch = run(&t, json!({"name": "pwd; echo $PATH", "cwd": "/work", "env": {"PATH": "/usr/bin:/bin"}, "prepend_path": "/opt/x"}))
        .changes
        .unwrap();
    assert_eq!(
        ch["stdout"],
        json!(format!("{}/work\n/opt/x:/usr/bin:/bin", root.display()))
    );

    let missing = run(&t, json!({"name": "true", "cwd": "/nowhere"}));
    assert!(!missing.result);
    assert_eq!(
        missing.comment,
        "Desired working directory \"/nowhere\" is not available"
    );

    let hidden = run(
        &t,
        json!({"name": "echo secret", "hide_output": true, "output_loglevel": "quiet"}),
    );
    assert_eq!(hidden.changes.unwrap()["stdout"], json!(""));

    let raw = run(&t, json!({"name": "printf 'a  \\n\\n'", "rstrip": false}));
    assert_eq!(raw.changes.unwrap()["stdout"], json!("a  \n\n"));
}

#[test]
fn bad_env_and_shell_fail_like_salt() {
    let t = TestHost::new();
    let check = t
        .check(&Cmd, "run", json!({"name": "true", "env": "A=1"}))
        .unwrap();
    assert!(matches!(check, Check::Fail { .. }));
    assert_eq!(
        comment_of(&check),
        "Invalidly-formatted 'env' parameter. See documentation."
    );
    let applied = run(&t, json!({"name": "true", "shell": "/no/such/shell"}));
    assert!(!applied.result);
    assert_eq!(applied.comment, "The shell /no/such/shell is not available");
    assert!(t
        .check(&Cmd, "run", json!({"name": "true", "umask": "0"}))
        .is_err());
    assert!(t
        .check(&Cmd, "run", json!({"name": "true", "umask": "9x"}))
        .is_err());
    assert!(t
        .check(&Cmd, "run", json!({"name": "true", "timeout": "soon"}))
        .is_err());
    assert!(t
        .check(&Cmd, "run", json!({"name": "true", "root": "/srv/chroot"}))
        .is_err());
}

#[test]
fn unknown_arguments_are_reported() {
    let t = TestHost::new();
    let c = chunk(
        "cmd",
        "run",
        json!({"name": "true", "cwdd": "/tmp", "unless": "false"}),
    );
    let args = Args::new(&c);
    Cmd.check("run", &args, &t.host).unwrap();
    assert_eq!(args.unknown(), ["cwdd"]);
}

#[test]
fn timeout_kills_the_whole_group() {
    let t = TestHost::new();
    let marker = t.path("/late");
    let name = format!("(sleep 1; touch {}) & sleep 5", marker.display());
    let started = std::time::Instant::now();
    let applied = run(&t, json!({"name": name, "timeout": 0.3}));
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert!(!applied.result);
    let ch = applied.changes.unwrap();
    assert_eq!(
        ch["stdout"],
        json!(format!("{name} : Timed out after 0.3 seconds"))
    );
    assert_eq!(ch["retcode"], json!(1));
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert!(
        !marker.exists(),
        "the background child survived the timeout"
    );
    assert!(
        run(
            &t,
            json!({"name": "sleep 5", "timeout": 0.2, "ignore_timeout": true})
        )
        .result
    );
}

#[test]
fn umask_applies_to_created_files() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestHost::new();
    let f = t.path("/masked");
    run(
        &t,
        json!({"name": format!("touch {}", f.display()), "umask": "077"}),
    );
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn runas_runs_as_that_user_with_argv() {
    let t = TestHost::new();
    if super::spec::lookup_user(&t.host, "nobody").is_err() || !nix_is_root() {
        eprintln!("skipped: needs root and a 'nobody' user");
        return;
    }
    let ch = run(
        &t,
        json!({"name": "id -un; umask", "runas": "nobody", "umask": "027", "cwd": "/"}),
    )
    .changes
    .unwrap();
    assert_eq!(ch["stdout"], json!("nobody\n0027"));
    let missing = run(&t, json!({"name": "true", "runas": "no-such-user-x"}));
    assert_eq!(
        (missing.result, missing.comment.as_str()),
        (false, "User 'no-such-user-x' is not available")
    );
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn stateful_output_becomes_the_result() {
    let t = TestHost::new();
    let check = t
        .check(
            &Cmd,
            "run",
            json!({"name": "echo step; echo changed=yes comment=\\'made it\\'", "stateful": true}),
        )
        .unwrap();
    assert_eq!(comment_of(&check), "");
    assert!(changes_of(&check).unwrap().is_empty());
    let applied = t.apply(check);
    assert_eq!(applied.comment, "made it");
    let ch = applied.changes.unwrap();
    assert_eq!(
        (ch["changed"].clone(), ch["stdout"].clone()),
        (json!("yes"), json!("step"))
    );
    let unchanged = run(&t, json!({"name": "echo changed=no", "stateful": true}));
    assert!(unchanged.result && unchanged.changes.unwrap().is_empty());
    let broken = run(&t, json!({"name": "echo nonsense", "stateful": true}));
    assert!(!broken.result);
    let test_name = t
        .check(
            &Cmd,
            "run",
            json!({"name": "true", "stateful": [{"test_name": "echo dry"}]}),
        )
        .unwrap();
    assert!(comment_of(&test_name).contains("test_name \"echo dry\" is not run"));
}

#[test]
fn wait_does_nothing_until_watched() {
    let t = TestHost::new();
    let f = t.path("/watched");
    let args = json!({"name": format!("touch {}", f.display())});
    let check = t.check(&Cmd, "wait", args.clone()).unwrap();
    assert!(is_clean(&check));
    assert_eq!(comment_of(&check), "");
    let watched = t.watch(&Cmd, "wait", args).unwrap().unwrap();
    assert!(!f.exists());
    assert!(t.apply(watched).result);
    assert!(f.exists());
}

#[test]
fn script_fetches_renders_and_runs_with_args() {
    let t = TestHost::new();
    t.source("scripts/hello.sh", "#!/bin/sh\necho \"hello $1|$2\"\n");
    let before = t.snapshot();
    let check = t
        .check(
            &Cmd,
            "script",
            json!({"name": "salt://scripts/hello.sh one 'two three'"}),
        )
        .unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        comment_of(&check),
        "Command 'salt://scripts/hello.sh one 'two three'' would have been executed"
    );
    let applied = t.apply(check);
    assert!(applied.result, "{applied:?}");
    assert_eq!(
        applied.changes.unwrap()["stdout"],
        json!("hello one|two three")
    );

    t.source(
        "scripts/tpl.sh",
        "#!/bin/sh\necho '{{ greeting }} {{ pillar.role }}' \"$@\"\n",
    );
    let applied = t.apply(
        t.check(
            &Cmd,
            "script",
            json!({"name": "tpl", "source": "salt://scripts/tpl.sh", "template": "jinja",
                   "defaults": {"greeting": "hi"}, "context": {"greeting": "hey"}, "args": ["a b", "c"]}),
        )
        .unwrap(),
    );
    assert_eq!(applied.comment, "Command 'tpl' run");
    assert_eq!(applied.changes.unwrap()["stdout"], json!("hey web a b c"));
}

#[test]
fn script_missing_source_or_bad_context_fails() {
    let t = TestHost::new();
    let check = t
        .check(&Cmd, "script", json!({"name": "salt://nope.sh"}))
        .unwrap();
    assert!(matches!(check, Check::Fail { .. }));
    assert!(
        comment_of(&check).starts_with("Unable to cache script salt://nope.sh from saltenv 'base'")
    );
    t.source("x.sh", "#!/bin/sh\n");
    let check = t
        .check(
            &Cmd,
            "script",
            json!({"name": "salt://x.sh", "context": ["a"], "template": "jinja"}),
        )
        .unwrap();
    assert_eq!(
        comment_of(&check),
        "Invalidly-formatted 'context' parameter. Must be formed as a dict."
    );
    let wait = t
        .check(&Cmd, "wait_script", json!({"name": "salt://x.sh"}))
        .unwrap();
    assert!(is_clean(&wait));
}

#[test]
fn script_temp_file_is_private_and_removed() {
    let t = TestHost::new();
    t.source("self.sh", "#!/bin/sh\nstat -c '%a' \"$0\"\necho \"$0\"\n");
    let ch = t
        .apply(
            t.check(&Cmd, "script", json!({"name": "salt://self.sh"}))
                .unwrap(),
        )
        .changes
        .unwrap();
    let out = ch["stdout"].as_str().unwrap().to_string();
    let (mode, path) = out.split_once('\n').unwrap();
    assert_eq!(mode, "700");
    assert!(path.ends_with(".sh"));
    assert!(!std::path::Path::new(path).exists());
}

#[test]
fn executor_fires_cmd_wait_when_a_watched_cmd_ran() {
    let t = TestHost::new();
    let marker = t.path("/fired");
    let low = |id: &str, fun: &str, name: String, order: u64, extra: serde_json::Value| {
        let mut c = chunk(
            "cmd",
            fun,
            json!({"__id__": id, "__sls__": "t", "__env__": "base", "name": name, "order": order}),
        );
        if let serde_json::Value::Object(m) = extra {
            c.extend(m);
        }
        c
    };
    let chunks = vec![
        low("first", "run", "echo one".into(), 1, json!({})),
        low(
            "reload",
            "wait",
            format!("touch {}", marker.display()),
            2,
            json!({"watch": [{"cmd": "first"}], "cwd": "/"}),
        ),
    ];
    let dry = crate::run::Runner::new(t.host.clone(), true).run(chunks.clone());
    assert!(!marker.exists(), "a dry run ran the watcher");
    assert_eq!(dry.failed(), 0, "{:?}", dry.to_json());
    let report = crate::run::Runner::new(t.host.clone(), false).run(chunks);
    assert_eq!(report.failed(), 0, "{:?}", report.to_json());
    assert!(
        marker.exists(),
        "the watch did not fire: {:?}",
        report.to_json()
    );
}
