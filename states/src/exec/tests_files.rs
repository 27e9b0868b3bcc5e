//! `service.enable|disable|available|get_all` on unit files under a temp
//! root (systemd offline: `systemctl --root`), `cp.get_file` through a
//! file server, and `grains.setval`/`delval` against real Salt's grains file.
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::state::testutil::TestHost;

const SALT_CALL: &str = "/root/.cache/brine/salt-venv/bin/salt-call";
const UNIT: &str = "[Unit]\nDescription=brine test\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n";

fn call_on(
    host: &HostRead,
    grains: &Value,
    grains_file: Option<&Path>,
    fun: &str,
    args: Value,
    kwargs: Value,
) -> Result<Value, ExecError> {
    let args = args.as_array().cloned().unwrap_or_default();
    let kwargs = kwargs.as_object().cloned().unwrap_or_default();
    Call::parse(fun, &args, &kwargs)?.run(&ExecEnv {
        host,
        grains,
        grains_file,
    })
}

fn on(host: &HostRead, fun: &str, args: Value) -> Result<Value, ExecError> {
    call_on(host, &Value::Null, None, fun, args, json!({}))
}

fn have_systemctl() -> bool {
    Command::new("systemctl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn write(root: &Path, rel: &str, text: &str, mode: u32) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn get_all_lists_unit_files_and_init_scripts_as_salt() {
    let t = TestHost::new();
    let r = t.root.path();
    write(r, "usr/lib/systemd/system/brinetest.service", UNIT, 0o644);
    write(r, "usr/lib/systemd/system/cleanup.timer", "", 0o644);
    write(r, "usr/lib/systemd/system/not-a-unit.conf", "", 0o644);
    write(r, "etc/systemd/system/local.service", UNIT, 0o644);
    write(r, "etc/init.d/legacy", "#!/bin/sh\n", 0o755);
    write(r, "etc/init.d/brinetest", "#!/bin/sh\n", 0o755);
    write(r, "etc/init.d/README", "", 0o644);
    // A unit directory that is a link to another is that one's alias.
    std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
    let before = t.snapshot();
    let all = on(&t.host, "service.get_all", json!([])).unwrap();
    assert_eq!(
        all,
        json!(["brinetest", "cleanup.timer", "legacy", "local"])
    );
    assert_eq!(t.snapshot(), before);
    let e = on(&t.host, "service.get_all", json!(["/elsewhere"])).unwrap_err();
    assert!(matches!(e, ExecError::UnsupportedArgument { .. }), "{e}");
}

#[test]
fn enable_disable_and_available_work_on_unit_files() {
    if !have_systemctl() {
        return;
    }
    let t = TestHost::new();
    let r = t.root.path();
    write(r, "usr/lib/systemd/system/brinetest.service", UNIT, 0o644);
    std::fs::create_dir_all(r.join("etc/systemd/system")).unwrap();
    let link = r.join("etc/systemd/system/multi-user.target.wants/brinetest.service");

    let before = t.snapshot();
    assert_eq!(
        on(&t.host, "service.available", json!(["brinetest"])),
        Ok(json!(true))
    );
    assert_eq!(
        on(&t.host, "service.available", json!(["nosuch"])),
        Ok(json!(false))
    );
    assert_eq!(t.snapshot(), before, "asking wrote something");

    assert_eq!(
        on(&t.host, "service.enable", json!(["brinetest"])),
        Ok(json!(true))
    );
    assert!(std::fs::symlink_metadata(&link).is_ok());
    // Again: nothing to do, still True (systemctl succeeds).
    let enabled = t.snapshot();
    assert_eq!(
        on(&t.host, "service.enable", json!(["brinetest.service"])),
        Ok(json!(true))
    );
    assert_eq!(t.snapshot(), enabled);

    assert_eq!(
        on(&t.host, "service.disable", json!(["brinetest"])),
        Ok(json!(true))
    );
    assert!(std::fs::symlink_metadata(&link).is_err());

    // Salt raises with systemctl's words; disable only says False.
    let e = on(&t.host, "service.enable", json!(["nosuch"])).unwrap_err();
    assert!(e.to_string().contains("nosuch"), "{e}");
    assert!(on(&t.host, "service.enable", json!(["--now"])).is_err());

    // A masked unit is enabled only with unmask=True.
    std::fs::create_dir_all(r.join("etc/systemd/system")).unwrap();
    std::os::unix::fs::symlink("/dev/null", r.join("etc/systemd/system/brinetest.service"))
        .unwrap();
    assert!(on(&t.host, "service.enable", json!(["brinetest"])).is_err());
    let unmasked = call_on(
        &t.host,
        &Value::Null,
        None,
        "service.enable",
        json!(["brinetest"]),
        json!({"unmask": true}),
    );
    assert_eq!(unmasked, Ok(json!(true)));
    assert!(std::fs::symlink_metadata(&link).is_ok());
    assert!(std::fs::symlink_metadata(r.join("etc/systemd/system/brinetest.service")).is_err());
}

#[test]
fn get_file_copies_a_salt_file_as_salt_does() {
    let t = TestHost::new();
    t.source("files/motd.txt", "hello\n");
    let get = |args: Value, kwargs: Value| {
        call_on(&t.host, &Value::Null, None, "cp.get_file", args, kwargs)
    };
    // No parent directory: Salt's False, and nothing written.
    let before = t.snapshot();
    assert_eq!(
        get(json!(["salt://files/motd.txt", "/etc/motd"]), json!({})),
        Ok(json!(false))
    );
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        get(
            json!(["salt://files/motd.txt", "/etc/motd"]),
            json!({"makedirs": true})
        ),
        Ok(json!("/etc/motd"))
    );
    assert_eq!(t.read("/etc/motd"), "hello\n");
    // The same bytes already there: not rewritten.
    let copied = t.snapshot();
    let ino = std::fs::metadata(t.path("/etc/motd")).unwrap();
    assert_eq!(
        get(json!(["salt://files/motd.txt", "/etc/motd"]), json!({})),
        Ok(json!("/etc/motd"))
    );
    assert_eq!(t.snapshot(), copied);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(t.path("/etc/motd")).unwrap().ino(),
        ino.ino()
    );
    // A directory as dest gets the file's own name.
    assert_eq!(
        get(json!(["salt://files/motd.txt", "/etc/"]), json!({})),
        Ok(json!("/etc/motd.txt"))
    );
    assert_eq!(t.read("/etc/motd.txt"), "hello\n");
    // Not on the master: Salt's ''.
    assert_eq!(
        get(json!(["salt://files/nope", "/etc/nope"]), json!({})),
        Ok(json!(""))
    );
    // Not a salt:// URL, a relative dest, Salt's template: errors naming them.
    for (args, kwargs) in [
        (json!(["/etc/passwd", "/tmp/x"]), json!({})),
        (json!(["salt://files/motd.txt", "etc/x"]), json!({})),
        (
            json!(["salt://files/motd.txt", "/etc/x"]),
            json!({"template": "jinja"}),
        ),
    ] {
        assert!(get(args.clone(), kwargs).is_err(), "{args}");
    }
}

#[test]
fn list_states_and_list_master_are_answered_by_the_master() {
    for (fun, want) in [
        ("cp.list_states", MasterCall::ListStates { saltenv: None }),
        (
            "cp.list_master",
            MasterCall::ListMaster {
                saltenv: None,
                prefix: String::new(),
            },
        ),
    ] {
        let call = Call::parse(fun, &[], &Map::new()).unwrap();
        assert_eq!(call.function.answered_by, AnsweredBy::Master);
        assert_eq!(call.call, ExecCall::Master(want));
    }
    let call = Call::parse(
        "cp.list_master",
        &[json!("prod"), json!("web/")],
        &Map::new(),
    )
    .unwrap();
    assert_eq!(
        call.call,
        ExecCall::Master(MasterCall::ListMaster {
            saltenv: Some("prod".into()),
            prefix: "web/".into()
        })
    );
}

/// Brine's grains file calls, the live grains re-read from the file after
/// each (as the minion detects them again).
struct BrineGrains {
    file: std::path::PathBuf,
    host: HostRead,
}

impl BrineGrains {
    fn call(&self, fun: &str, args: Value, kwargs: Value) -> Value {
        let grains = Value::Object(read_grains_file(&self.file).unwrap());
        call_on(&self.host, &grains, Some(&self.file), fun, args, kwargs).unwrap()
    }
}

/// `salt-call --local -c DIR …` with everything under DIR: Salt writes
/// `DIR/grains`.
fn salt_grains(dir: &Path, fun: &str, args: &[&str]) -> Option<Value> {
    if !Path::new(SALT_CALL).exists() {
        return None;
    }
    let out = Command::new(SALT_CALL)
        .args(["--local", "-c"])
        .arg(dir)
        .args(["--out", "json", "-l", "quiet", fun])
        .args(args)
        .output()
        .unwrap();
    // A `result: False` exits 1; its return is still the JSON on stdout.
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("salt-call {fun} {args:?}: {e}: {out:?}"));
    Some(v["local"].clone())
}

#[test]
fn setval_and_delval_write_the_grains_file_as_salt_does() {
    let salt_dir = tempfile::tempdir().unwrap();
    let brine_dir = tempfile::tempdir().unwrap();
    let start = "zeta: 1\nalpha: x\nnested:\n  keep: 1\n  drop: 2\n";
    std::fs::write(
        salt_dir.path().join("minion"),
        format!(
            "root_dir: {}\nfile_client: local\nid: t1\n",
            salt_dir.path().display()
        ),
    )
    .unwrap();
    std::fs::write(salt_dir.path().join("grains"), start).unwrap();
    std::fs::write(brine_dir.path().join("grains"), start).unwrap();
    let brine = BrineGrains {
        file: brine_dir.path().join("grains"),
        host: HostRead::new("/".into(), Arc::new(NoSources)),
    };
    // (function, Salt's CLI words, the same call as Brine's args and kwargs)
    let steps: Vec<(&str, Vec<&str>, Value, Value)> = vec![
        (
            "grains.setval",
            vec!["role", r#"{"a": [1, 2], "b": "web"}"#],
            json!(["role", {"a": [1, 2], "b": "web"}]),
            json!({}),
        ),
        (
            "grains.setval",
            vec!["count", "3"],
            json!(["count", 3]),
            json!({}),
        ),
        ("grains.delval", vec!["alpha"], json!(["alpha"]), json!({})),
        ("grains.delval", vec!["alpha"], json!(["alpha"]), json!({})),
        ("grains.delval", vec!["role"], json!(["role"]), json!({})),
        (
            "grains.delval",
            vec!["zeta", "destructive=True"],
            json!(["zeta"]),
            json!({"destructive": true}),
        ),
        (
            "grains.delval",
            vec!["nested:drop", "destructive=True"],
            json!(["nested:drop"]),
            json!({"destructive": true}),
        ),
        (
            "grains.setval",
            vec!["gone", "null", "destructive=True"],
            json!(["gone", null]),
            json!({"destructive": true}),
        ),
    ];
    for (fun, words, args, kwargs) in steps {
        let ours = brine.call(fun, args, kwargs);
        let Some(salt) = salt_grains(salt_dir.path(), fun, &words) else {
            return;
        };
        assert_eq!(ours, salt, "{fun} {words:?}");
    }
    let salt_file = std::fs::read_to_string(salt_dir.path().join("grains")).unwrap();
    let ours = std::fs::read_to_string(&brine.file).unwrap();
    assert_eq!(ours, salt_file);
    assert!(
        ours.contains("count: 3") && !ours.contains("zeta"),
        "{ours}"
    );
}

#[test]
fn grains_writes_need_a_minions_grains_file() {
    let host = HostRead::new("/".into(), Arc::new(NoSources));
    let e = on(&host, "grains.setval", json!(["a", "b"])).unwrap_err();
    assert!(e.to_string().contains("grains file"), "{e}");
    assert_eq!(lookup("grains.setval").unwrap().access, Access::ChangesHost);
    assert_eq!(lookup("grains.delval").unwrap().access, Access::ChangesHost);
}
