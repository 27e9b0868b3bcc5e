//! `#!py` rendered by the system's real python3.
use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

use common::data::{Map, Value};
use common::render::{ExternalError, PyContext};
use external_render::python::{render, render_with, Limits, LIMITS};
use serde_json::json;

const FILE: &str = "web/init.sls";

fn context() -> PyContext {
    PyContext {
        grains: json!({"os": "Debian", "roles": ["web", "db"]}),
        pillar: json!({"app": {"port": 8080}}),
        opts: json!({"id": "web1", "file_client": "local"}),
        sls: "web".into(),
        saltenv: "base".into(),
    }
}

fn no_salt(fun: &str, _: &[Value], _: &Map<String, Value>) -> Result<Value, String> {
    Err(format!("'{fun}' is not answered in this test"))
}

fn py(source: &str) -> Result<Value, ExternalError> {
    render(Path::new("python3"), FILE, source, &context(), &no_salt)
}

fn py_limited(source: &str, limits: Limits) -> Result<Value, ExternalError> {
    render_with(
        Path::new("python3"),
        FILE,
        source,
        &context(),
        &no_salt,
        &limits,
    )
}

fn failure(r: Result<Value, ExternalError>) -> String {
    match r {
        Err(ExternalError::Failed(msg)) => msg,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn run_sees_grains_pillar_opts_sls_and_env() {
    let src = r#"
def run():
    return {
        "os": __grains__["os"], "role": grains["roles"][1],
        "port": __pillar__["app"]["port"], "pillar": pillar is __pillar__,
        "id": __opts__["id"], "opts": opts is __opts__,
        "sls": __sls__, "sls2": sls, "env": __env__, "saltenv": saltenv,
        "salt": salt is __salt__,
    }
"#;
    assert_eq!(
        py(src).unwrap(),
        json!({
            "os": "Debian", "role": "db", "port": 8080, "pillar": true,
            "id": "web1", "opts": true, "sls": "web", "sls2": "web",
            "env": "base", "saltenv": "base", "salt": true,
        })
    );
}

#[test]
fn result_keeps_dict_order() {
    let src = "def run():\n    return {'zeta': {'pkg.installed': [{'name': 'z'}]}, 'alpha': {'b': 1, 'a': 2}, 'mid': 3}\n";
    let out = py(src).unwrap();
    let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["zeta", "alpha", "mid"]);
    let inner: Vec<_> = out["alpha"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(inner, ["b", "a"]);
}

#[test]
fn dunders_are_set_after_the_module_ran_as_in_salt() {
    // salt.utils.templates.py executes the module first, then sets the names.
    let msg = failure(py("role = __grains__['os']\ndef run():\n    return {}\n"));
    assert!(
        msg.starts_with("web/init.sls, line 1: NameError: name '__grains__' is not defined"),
        "{msg}"
    );
}

#[test]
fn salt_calls_round_trip_through_the_callback() {
    let seen = RefCell::new(Vec::new());
    let salt = |fun: &str, args: &[Value], kwargs: &Map<String, Value>| {
        seen.borrow_mut()
            .push(json!([fun, args, Value::Object(kwargs.clone())]));
        match fun {
            "grains.get" => Ok(json!({"answer": args[0]})),
            _ => Err(format!("no function {fun}")),
        }
    };
    let src = r#"
def run():
    a = __salt__['grains.get']('os', default='x', delimiter=':')
    b = __salt__.grains.get('roles')
    try:
        __salt__['nope.nope'](1)
        c = 'no error'
    except Exception as exc:
        c = str(exc)
    return {'a': a, 'b': b, 'c': c}
"#;
    let out = render(Path::new("python3"), FILE, src, &context(), &salt).unwrap();
    assert_eq!(
        out,
        json!({"a": {"answer": "os"}, "b": {"answer": "roles"}, "c": "no function nope.nope"})
    );
    assert_eq!(
        seen.into_inner(),
        [
            json!(["grains.get", ["os"], {"default": "x", "delimiter": ":"}]),
            json!(["grains.get", ["roles"], {}]),
            json!(["nope.nope", [1], {}]),
        ]
    );
}

#[test]
fn a_salt_error_not_caught_fails_the_render_with_its_message() {
    let msg = failure(py(
        "def run():\n    x = 1\n    return __salt__['cmd.run']('ls')\n",
    ));
    assert!(
        msg.starts_with(
            "web/init.sls, line 3: SaltCallError: 'cmd.run' is not answered in this test\n"
        ),
        "{msg}"
    );
}

#[test]
fn salt_cannot_be_listed() {
    let msg = failure(py(
        "def run():\n    return {'x': 'grains.get' in __salt__}\n",
    ));
    assert!(
        msg.contains("cannot list the functions of __salt__"),
        "{msg}"
    );
}

#[test]
fn print_and_writes_to_fd_1_do_not_disturb_the_protocol() {
    let src = r#"
import os, subprocess, sys
print('{"result": {"forged": 1}}')
def run():
    print('{"call": "x.y", "args": [], "kwargs": {}}')
    os.write(1, b'{"result": {}}\n')
    subprocess.run(['echo', '{"result": {}}'])
    return {'stdin': sys.stdin.read(), 'ok': True}
"#;
    assert_eq!(py(src).unwrap(), json!({"stdin": "", "ok": true}));
}

#[test]
fn an_exception_names_the_file_and_line() {
    let src =
        "def helper(p):\n    return p['missing']\n\ndef run():\n    return helper(__pillar__)\n";
    let msg = failure(py(src));
    let (first, traceback) = msg.split_once('\n').unwrap();
    assert_eq!(first, "web/init.sls, line 2: KeyError: 'missing'");
    assert!(traceback.contains("line 5, in run"), "{msg}");
    assert!(traceback.contains("return p['missing']"), "{msg}");
    // The shim's own frames are not shown.
    assert!(!msg.contains("<string>"), "{msg}");
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let msg = failure(py("def run():\n    return {'a': 1}\n\ndef x(:\n    pass\n"));
    assert!(
        msg.starts_with("web/init.sls, line 4: SyntaxError: "),
        "{msg}"
    );
    assert!(msg.contains("def x(:"), "{msg}");
}

#[test]
fn sys_exit_in_the_module_is_its_error() {
    let msg = failure(py("import sys\ndef run():\n    sys.exit(4)\n"));
    assert!(
        msg.starts_with("web/init.sls, line 3: SystemExit: 4\n"),
        "{msg}"
    );
}

#[test]
fn a_module_without_run_is_an_error() {
    assert_eq!(
        failure(py("x = 1\n")),
        "web/init.sls: defines no run() function"
    );
}

#[test]
fn run_must_return_a_dict_or_nothing() {
    assert_eq!(
        failure(py("def run():\n    return ['a']\n")),
        "web/init.sls: run() returned list, not a dict"
    );
    // Salt's state compiler takes a falsy render as an empty SLS.
    assert_eq!(py("def run():\n    pass\n").unwrap(), json!({}));
}

#[test]
fn run_must_return_data() {
    let msg = failure(py("def run():\n    return {'a': {1, 2}}\n"));
    assert!(
        msg.starts_with("web/init.sls: run() returned a dict that is not data"),
        "{msg}"
    );
    assert!(msg.contains("set"), "{msg}");
}

#[test]
fn non_finite_floats_and_non_string_keys_cross_both_ways() {
    let mut ctx = context();
    ctx.pillar = common::yaml::load("ufw: {services: {http: tcp, 139: udp}, limit: .inf}").unwrap();
    let src = r#"
def run():
    services = __pillar__["ufw"]["services"]
    return {
        "keys": [repr(k) for k in services],
        "by_int": services[139],
        "limit": __pillar__["ufw"]["limit"] > 1e308,
        "ports": {80: "http", True: "yes", None: "none", 1.5: "x"},
        "nan": float("nan"),
        "echo": __salt__["test.echo"]({443: "https"}),
    }
"#;
    let echo = |_: &str, args: &[Value], _: &Map<String, Value>| Ok(args[0].clone());
    let got = render(Path::new("python3"), FILE, src, &ctx, &echo).unwrap();
    assert_eq!(got["keys"], json!(["'http'", "139"]));
    assert_eq!(got["by_int"], json!("udp"));
    assert_eq!(got["limit"], json!(true));
    assert!(got["nan"].as_f64().is_some_and(f64::is_nan));
    let ports = got["ports"].as_object().unwrap();
    use common::data::KeyKind;
    let kinds: Vec<KeyKind> = ports.keys().map(|k| ports.key_kind(k)).collect();
    assert_eq!(
        kinds,
        [KeyKind::Int, KeyKind::Bool, KeyKind::Null, KeyKind::Float]
    );
    let echoed = got["echo"].as_object().unwrap();
    assert_eq!(echoed.key_kind("443"), KeyKind::Int);
}

#[test]
fn data_nested_too_deep_is_an_error_that_says_so() {
    let src = "def run():\n    d = {}\n    for _ in range(200):\n        d = {'x': d}\n    return {'deep': d}\n";
    let msg = failure(py(src));
    assert!(
        msg.starts_with("web/init.sls: python3 sent data Brine cannot read: recursion limit"),
        "{msg}"
    );
    let msg = failure(py("def run():\n    d = {}\n    d['d'] = d\n    return d\n"));
    assert!(msg.contains("not data: Circular reference"), "{msg}");
}

#[test]
fn salt_arguments_must_be_data() {
    let msg = failure(py("def run():\n    return __salt__['test.echo']({1, 2})\n"));
    assert!(
        msg.starts_with(
            "web/init.sls, line 2: TypeError: __salt__['test.echo']: the arguments are not data"
        ),
        "{msg}"
    );
}

#[test]
fn a_module_that_loops_forever_is_killed() {
    let limits = Limits {
        timeout: Duration::from_secs(1),
        ..LIMITS
    };
    let started = Instant::now();
    let msg = failure(py_limited(
        "def run():\n    while True:\n        pass\n",
        limits,
    ));
    assert_eq!(
        msg,
        "web/init.sls: python3 ran for more than 1s and was stopped"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn time_answering_salt_calls_is_not_counted() {
    // A slow cmd.run on the minion is not the module's time.
    let limits = Limits {
        timeout: Duration::from_secs(1),
        ..LIMITS
    };
    let slow = |_: &str, _: &[Value], _: &Map<String, Value>| {
        std::thread::sleep(Duration::from_millis(800));
        Ok(json!("done"))
    };
    let src =
        "def run():\n    return {'a': __salt__['cmd.run']('x'), 'b': __salt__['cmd.run']('y')}\n";
    let r = render_with(Path::new("python3"), FILE, src, &context(), &slow, &limits);
    assert_eq!(r.unwrap(), json!({"a": "done", "b": "done"}));
}

#[test]
fn huge_output_is_refused() {
    let limits = Limits {
        max_output: 1 << 20,
        ..LIMITS
    };
    let msg = failure(py_limited(
        "def run():\n    return {'x': 'a' * (4 << 20)}\n",
        limits,
    ));
    assert_eq!(
        msg,
        "web/init.sls: python3 sent more than 1048576 bytes and was stopped"
    );
}

#[test]
fn salt_calls_are_capped() {
    let limits = Limits {
        max_calls: 5,
        ..LIMITS
    };
    let answer = |_: &str, _: &[Value], _: &Map<String, Value>| Ok(json!(1));
    let src = "def run():\n    while True:\n        __salt__['test.true']()\n";
    let r = render_with(
        Path::new("python3"),
        FILE,
        src,
        &context(),
        &answer,
        &limits,
    );
    assert_eq!(
        failure(r),
        "web/init.sls: more than 5 __salt__ calls; python3 was stopped"
    );
}

#[test]
fn a_child_that_dies_is_an_error() {
    let msg = failure(py("import os\ndef run():\n    os._exit(7)\n"));
    assert!(msg.contains("ended without an answer"), "{msg}");
    assert!(msg.contains('7'), "{msg}");
}

#[test]
fn a_missing_python_is_unavailable_and_named() {
    let r = render(
        Path::new("/nonexistent/python3"),
        FILE,
        "def run():\n    return {}\n",
        &context(),
        &no_salt,
    );
    match r {
        Err(ExternalError::Unavailable { renderer, reason }) => {
            assert_eq!(renderer, "py");
            assert!(reason.contains("/nonexistent/python3"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn isolated_mode_ignores_python_environment_variables() {
    // -I: PYTHONPATH does not reach the module (no user site, no env vars).
    let src = "import sys\ndef run():\n    return {'isolated': sys.flags.isolated, 'ignore_env': sys.flags.ignore_environment}\n";
    assert_eq!(py(src).unwrap(), json!({"isolated": 1, "ignore_env": 1}));
}

#[test]
fn non_ascii_data_round_trips() {
    let ctx = PyContext {
        pillar: json!({"motd": "héllo ☃"}),
        ..context()
    };
    let src = "def run():\n    return {'motd': __pillar__['motd'] + ' ✓'}\n";
    let out = render(Path::new("python3"), FILE, src, &ctx, &no_salt).unwrap();
    assert_eq!(out, json!({"motd": "héllo ☃ ✓"}));
}
