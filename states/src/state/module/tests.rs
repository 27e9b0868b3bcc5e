use serde_json::{json, Value};

use super::super::testutil::{changes_of, chunk, comment_of, is_clean, TestHost};
use super::super::Check;
use super::Module;
use crate::run::Runner;

/// A `cmd.run` that leaves a marker, so a test sees whether it ran.
fn touch(t: &TestHost, marker: &str) -> String {
    format!("touch {}", t.path(marker).display())
}

#[test]
fn new_syntax_runs_each_function_in_apply_only() {
    let t = TestHost::new();
    let args = json!({
        "name": "stuff",
        "cmd.run": [touch(&t, "/ran")],
        "test.echo": [{"text": "hi"}],
    });
    let before = t.snapshot();
    let check = t.check(&Module, "run", args).unwrap();
    assert_eq!(t.snapshot(), before, "the check ran a function");
    assert_eq!(changes_of(&check).unwrap(), &serde_json::Map::new());
    // Salt's own words, plural and all (`len(x) > 1 or ""`).
    assert_eq!(
        comment_of(&check),
        "FunctionTrue cmd.run, test.echo to be executed."
    );
    let applied = t.apply(check);
    assert!(applied.result);
    assert_eq!(applied.comment, "cmd.run: , test.echo: hi");
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"cmd.run": "", "test.echo": "hi"})
    );
    assert!(t.path("/ran").exists());
}

#[test]
fn new_syntax_tags_call_one_function_twice_and_failures_come_first() {
    let t = TestHost::new();
    let applied = t.apply(
        t.check(
            &Module,
            "run",
            json!({
                "name": "x",
                "cmd.run_all:ok": ["true"],
                "cmd.run_all:bad": [{"cmd": "false"}],
                "test.ping": null,
            }),
        )
        .unwrap(),
    );
    assert!(!applied.result);
    assert_eq!(
        applied.comment,
        "'cmd.run_all:bad' failed: (error message N/A), cmd.run_all:ok: Success, test.ping: True"
    );
    let ch = applied.changes.unwrap();
    assert_eq!(
        ch.keys().collect::<Vec<_>>(),
        ["cmd.run_all:ok", "test.ping"]
    );
}

#[test]
fn new_syntax_names_unavailable_and_master_answered_functions() {
    let t = TestHost::new();
    let check = t
        .check(
            &Module,
            "run",
            json!({"name": "x", "nosuch.fun": [], "test.ping": []}),
        )
        .unwrap();
    match check {
        Check::Fail {
            comment,
            test_comment,
        } => {
            assert_eq!(comment, "Unavailable function: nosuch.fun.");
            assert_eq!(
                test_comment.unwrap(),
                "Unavailable function: nosuch.fun. Function test.ping to be executed."
            );
        }
        _ => panic!("expected a failure"),
    }
    let check = t
        .check(&Module, "run", json!({"name": "x", "state.sls": ["web"]}))
        .unwrap();
    assert_eq!(
        comment_of(&check),
        "'state.sls' failed: state.sls is answered by the master, not run on a minion"
    );
    let check = t
        .check(&Module, "run", json!({"name": "x", "test.echo": []}))
        .unwrap();
    assert_eq!(
        comment_of(&check),
        "'test.echo' failed: test.echo is missing its argument 'text'"
    );
}

#[test]
fn legacy_syntax_runs_name_with_its_arguments() {
    let t = TestHost::new();
    let args = json!({"name": "cmd.run", "cmd": touch(&t, "/legacy"), "python_shell": false});
    let before = t.snapshot();
    let check = t.check(&Module, "run", args).unwrap();
    assert_eq!(t.snapshot(), before, "the check ran the function");
    assert_eq!(
        comment_of(&check),
        "Module function cmd.run is set to execute"
    );
    assert_eq!(changes_of(&check).unwrap(), &serde_json::Map::new());
    let applied = t.apply(check);
    assert!(applied.result);
    assert_eq!(applied.comment, "Module function cmd.run executed");
    assert_eq!(Value::Object(applied.changes.unwrap()), json!({"ret": ""}));
    assert!(t.path("/legacy").exists());

    // A map with a non-zero retcode is a failure, its return still shown.
    let failed = t.apply(
        t.check(
            &Module,
            "run",
            json!({"name": "cmd.run_all", "cmd": "false"}),
        )
        .unwrap(),
    );
    assert!(!failed.result);
    assert_eq!(failed.changes.unwrap()["ret"]["retcode"], json!(1));
}

#[test]
fn legacy_syntax_errors_say_what_is_wrong() {
    let t = TestHost::new();
    let comment = |args: Value| comment_of(&t.check(&Module, "run", args).unwrap()).to_string();
    assert_eq!(
        comment(json!({"name": "nosuch.fun"})),
        "Module function nosuch.fun is not available"
    );
    assert_eq!(
        comment(json!({"name": "test.echo"})),
        "The following arguments are missing: text"
    );
    assert_eq!(
        comment(json!({"name": "test.echo", "text": "a", "bogus": 1})),
        "Module function test.echo: test.echo takes no argument named 'bogus'"
    );
    assert_eq!(
        comment(json!({"name": "pillar.items"})),
        "Module function pillar.items is not available: pillar.items is answered by the master, not run on a minion"
    );
    assert_eq!(
        comment(json!({"name": "grains.items"})),
        "Module function grains.items is not available: grains.items is not available inside module.run (a state run has no grains here; use {{ grains }} in the SLS)"
    );
    assert_eq!(
        comment(json!({"name": "test.ping", "returner": "mysql"})),
        "Module function test.ping: Brine does not implement the argument 'returner'"
    );
    // `m_name` is how a function's own `name` argument is passed.
    let check = t
        .check(
            &Module,
            "run",
            json!({"name": "pkg.version", "m_name": "no-such-package-xyz"}),
        )
        .unwrap();
    assert_eq!(
        comment_of(&check),
        "Module function pkg.version is set to execute"
    );
}

#[test]
fn wait_does_nothing_until_watched_then_runs() {
    let t = TestHost::new();
    let args = json!({"name": "x", "cmd.run": [touch(&t, "/waited")]});
    let check = t.check(&Module, "wait", args.clone()).unwrap();
    assert!(is_clean(&check));
    assert!(!t.path("/waited").exists());
    let mut watched = args;
    watched["sfun"] = json!("wait");
    let fired = t.watch(&Module, "wait", watched).unwrap().unwrap();
    assert!(t.apply(fired).result);
    assert!(t.path("/waited").exists());
}

fn low(
    id: &str,
    state: &str,
    fun: &str,
    order: u64,
    args: Value,
) -> serde_json::Map<String, Value> {
    let mut c = chunk(
        state,
        fun,
        json!({"__id__": id, "__sls__": "t", "__env__": "base", "name": id, "order": order}),
    );
    if let Value::Object(m) = args {
        c.extend(m);
    }
    c
}

#[test]
fn executor_fires_module_wait_on_watch_and_a_dry_run_runs_nothing() {
    let t = TestHost::new();
    let chunks = vec![
        low("first", "cmd", "run", 1, json!({"name": "echo one"})),
        low(
            "legacy",
            "module",
            "wait",
            2,
            json!({"name": "cmd.run", "cmd": touch(&t, "/legacy"), "watch": [{"cmd": "first"}]}),
        ),
        low(
            "new",
            "module",
            "wait",
            3,
            json!({"cmd.run": [touch(&t, "/new")], "watch": [{"cmd": "first"}]}),
        ),
        low(
            "always",
            "module",
            "run",
            4,
            json!({"cmd.run": [touch(&t, "/always")]}),
        ),
    ];
    let before = t.snapshot();
    let dry = Runner::new(t.host.clone(), true).run(chunks.clone());
    assert_eq!(t.snapshot(), before, "a dry run ran a function");
    assert_eq!(dry.failed(), 0, "{:?}", dry.to_json());
    let dry = dry.to_json().to_string();
    assert!(
        dry.contains("Module function cmd.run is set to execute"),
        "{dry}"
    );
    assert!(dry.contains("Function cmd.run to be executed."), "{dry}");

    let report = Runner::new(t.host.clone(), false).run(chunks);
    assert_eq!(report.failed(), 0, "{:?}", report.to_json());
    for marker in ["/legacy", "/new", "/always"] {
        assert!(
            t.path(marker).exists(),
            "{marker} did not run: {:?}",
            report.to_json()
        );
    }
}

#[test]
fn executor_leaves_module_wait_alone_when_nothing_watched_changed() {
    let t = TestHost::new();
    let chunks = vec![
        low("quiet", "test", "succeed_without_changes", 1, json!({})),
        low(
            "waiter",
            "module",
            "wait",
            2,
            json!({"cmd.run": [touch(&t, "/never")], "watch": [{"test": "quiet"}]}),
        ),
    ];
    let report = Runner::new(t.host.clone(), false).run(chunks);
    assert_eq!(report.failed(), 0, "{:?}", report.to_json());
    assert!(!t.path("/never").exists());
}
