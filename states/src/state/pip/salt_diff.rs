//! pip.installed, pip.removed and virtualenv.managed beside real Salt
//! 3007.8 (`salt-call --local state.single`, its own temp venvs and config
//! dir, nothing outside them): the same steps give the same result, comment
//! and changes. Skipped where Salt is not installed.
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use super::super::testutil::TestHost;
use super::super::{Check, StateModule};
use super::tests::write_wheel;

const SALT_CALL: &str = "/root/.cache/brine/salt-venv/bin/salt-call";

/// One step: a state function, its arguments (paths as Brine's test root
/// sees them) and whether it is a dry run.
struct Step {
    module: &'static dyn StateModule,
    fun: &'static str,
    args: Value,
    test: bool,
}

/// Salt's `{result, comment, changes}` of one `state.single`, with the temp
/// dir taken out of the comment so it reads like Brine's.
fn salt(dir: &Path, step: &Step) -> Value {
    let d = dir.display().to_string();
    let mut argv = vec![
        "--local".to_string(),
        "--config-dir".into(),
        format!("{d}/conf"),
        "--out".into(),
        "json".into(),
        "state.single".into(),
        format!("{}.{}", step.module.name(), step.fun),
    ];
    for (k, v) in step.args.as_object().expect("map") {
        let v = match v {
            Value::String(s) if s.starts_with('/') => format!("{d}{s}"),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        argv.push(format!("{k}={v}"));
    }
    if step.test {
        argv.push("test=True".into());
    }
    let out = Command::new(SALT_CALL)
        .args(&argv)
        .output()
        .expect("salt-call");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "salt-call {argv:?}: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let ret = v["local"]
        .as_object()
        .and_then(|m| m.values().next())
        .cloned()
        .expect("one state");
    json!({
        "result": ret["result"],
        "comment": ret["comment"].as_str().unwrap_or("").replace(&d, ""),
        "changes": ret["changes"],
    })
}

/// Brine's, as the executor reports a check (and, outside test mode, its apply).
fn brine(t: &TestHost, step: &Step) -> Value {
    let check = t
        .check(step.module, step.fun, step.args.clone())
        .expect("check");
    let (result, comment, changes) = match check {
        Check::Clean {
            comment,
            test_comment,
        } => {
            let comment = if step.test {
                test_comment.unwrap_or(comment)
            } else {
                comment
            };
            (json!(true), comment, json!({}))
        }
        Check::Fail { comment, .. } => (json!(false), comment, json!({})),
        Check::Reported { .. } => unreachable!("pip and virtualenv do not report"),
        Check::Change {
            changes, comment, ..
        } if step.test => (Value::Null, comment, Value::Object(changes)),
        change @ Check::Change { .. } => {
            let applied = t.apply(change);
            (
                json!(applied.result),
                applied.comment,
                Value::Object(applied.changes.unwrap_or_default()),
            )
        }
    };
    json!({"result": result, "comment": comment, "changes": changes})
}

/// Salt reads `python -V` from stderr, where Python 3 prints nothing, so its
/// `changes.new` is always ""; Brine shows the version. Only that differs.
fn without_python_version(mut v: Value) -> Value {
    if let Some(new) = v["changes"].get_mut("new") {
        *new = json!("<python -V>");
    }
    v
}

#[test]
fn pip_and_virtualenv_answer_as_salt_does() {
    if !Path::new(SALT_CALL).exists() {
        println!("skipped: salt not installed at {SALT_CALL}");
        return;
    }
    let salt_dir = tempfile::tempdir().unwrap();
    let sd = salt_dir.path();
    let conf = format!(
        "file_client: local\ncachedir: {d}/cache\npki_dir: {d}/pki\nlog_file: {d}/log\n\
         minion_id_caching: False\nid: m1\n",
        d = sd.display()
    );
    std::fs::create_dir_all(sd.join("conf")).unwrap();
    std::fs::write(sd.join("conf/minion"), conf).unwrap();
    // Salt's virtualenv.create runs `venv_bin` as one program: a wrapper
    // named like venv makes it python3 -m venv, as Brine runs it.
    std::fs::create_dir_all(sd.join("bin")).unwrap();
    std::fs::write(
        sd.join("bin/venv"),
        "#!/bin/sh\nexec python3 -m venv \"$@\"\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(sd.join("bin/venv"))
        .status()
        .unwrap();
    let t = TestHost::new();
    for wheels in [sd.join("wheels"), t.path("/wheels")] {
        write_wheel(&wheels, "brinepkg", "1.0");
    }
    for venv in [sd.join("venv"), t.path("/venv")] {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    let pip = &super::Pip;
    let venv = &super::super::virtualenv::Virtualenv;
    let install =
        json!({"name": "brinepkg", "bin_env": "/venv", "find_links": "/wheels", "no_index": true});
    let remove = json!({"name": "brinepkg", "bin_env": "/venv"});
    let managed = json!({
        "name": "/v2", "pip_pkgs": "brinepkg", "find_links": "/wheels", "no_index": true,
    });
    let steps = [
        (pip as &dyn StateModule, "installed", install.clone(), true),
        (pip, "installed", install.clone(), false),
        (pip, "installed", install, false),
        (pip, "removed", remove.clone(), true),
        (pip, "removed", remove.clone(), false),
        (pip, "removed", remove, false),
        (venv, "managed", managed.clone(), true),
        (venv, "managed", managed.clone(), false),
        (venv, "managed", managed.clone(), false),
        (venv, "managed", managed, true),
    ];
    for (module, fun, args, test) in steps {
        let mut salt_args = args.clone();
        if fun == "managed" {
            // Only Salt needs the wrapper: Brine's default is python3 -m venv.
            salt_args["venv_bin"] = json!("/bin/venv");
        }
        let salt_ret = salt(
            sd,
            &Step {
                module,
                fun,
                args: salt_args,
                test,
            },
        );
        let brine_ret = brine(
            &t,
            &Step {
                module,
                fun,
                args,
                test,
            },
        );
        assert_eq!(
            without_python_version(brine_ret),
            without_python_version(salt_ret),
            "{}.{fun} (test={test})",
            module.name()
        );
    }
}
