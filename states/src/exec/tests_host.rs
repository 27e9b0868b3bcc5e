//! The host-reading and host-changing functions of issue 12 on real files
//! and real processes in a temp root: cmd.run_stdout/retcode/script,
//! file.stats/get_hash/replace, user.list_users, group.info, and the live
//! kernel's disk/status/network numbers.
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::state::testutil::TestHost;

fn run_on(host: &HostRead, fun: &str, args: Value, kwargs: Value) -> Result<Value, ExecError> {
    let args = args.as_array().cloned().unwrap_or_default();
    let kwargs = kwargs.as_object().cloned().unwrap_or_default();
    Call::parse(fun, &args, &kwargs)?.run(&ExecEnv {
        host,
        grains: &Value::Null,
        grains_file: None,
    })
}

fn real_host() -> HostRead {
    HostRead::new("/".into(), Arc::new(NoSources))
}

#[test]
fn run_stdout_and_retcode_return_their_part_of_the_run() {
    let host = real_host();
    let out = run_on(
        &host,
        "cmd.run_stdout",
        json!(["sh -c 'echo out; echo err >&2'"]),
        json!({}),
    );
    assert_eq!(out, Ok(json!("out")));
    let code = run_on(&host, "cmd.retcode", json!(["sh -c 'exit 4'"]), json!({}));
    assert_eq!(code, Ok(json!(4)));
    // cmd.retcode has no rstrip, as Salt's.
    let e = run_on(
        &host,
        "cmd.retcode",
        json!(["true"]),
        json!({"rstrip": false}),
    );
    assert!(
        matches!(e, Err(ExecError::UnknownArgument { ref argument, .. }) if argument == "rstrip"),
        "{e:?}"
    );
}

/// A script that reports its arguments and working directory.
const SCRIPT: &str = "#!/bin/sh\necho \"n=$# 1=$1 2=$2 pwd=$(pwd)\"\necho err >&2\nexit 3\n";

#[test]
fn script_runs_a_salt_source_with_salts_argument_rules() {
    let t = TestHost::new();
    t.source("tools/report.sh", SCRIPT);
    // As in the state, `cwd` is under the run's root.
    std::fs::create_dir_all(t.path("/work")).unwrap();
    let real_cwd = t.path("/work");
    let cwd_s = real_cwd.to_str().unwrap();
    let before = t.snapshot();
    let script = |kwargs: Value| {
        run_on(
            &t.host,
            "cmd.script",
            json!(["salt://tools/report.sh"]),
            kwargs,
        )
    };
    let ran = script(json!({"args": "a b", "cwd": "/work"})).unwrap();
    // A text `args` is ONE argument; the return is cmd.run_all's, with a pid.
    assert_eq!(ran["stdout"], format!("n=1 1=a b 2= pwd={cwd_s}"));
    assert_eq!(ran["stderr"], "err");
    assert_eq!(ran["retcode"], 3);
    assert!(ran["pid"].as_u64().is_some_and(|p| p > 0), "{ran}");
    let ran = script(json!({"args": ["a", "b c"], "cwd": "/work"})).unwrap();
    assert_eq!(ran["stdout"], format!("n=2 1=a 2=b c pwd={cwd_s}"));
    // Through a shell the arguments are the shell's, not the script's.
    let ran = script(json!({"args": "a b", "shell": "/bin/sh", "cwd": "/work"})).unwrap();
    assert_eq!(ran["stdout"], format!("n=0 1= 2= pwd={cwd_s}"));
    // The temp copy is gone, and nothing was left in the root or the cwd.
    assert_eq!(t.snapshot(), before);
    // A source that is not there names it.
    let e = run_on(
        &t.host,
        "cmd.script",
        json!(["salt://tools/missing.sh"]),
        json!({}),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("salt://tools/missing.sh"), "{e}");
    let e = script(json!({"bg": true})).unwrap_err();
    assert!(matches!(e, ExecError::UnsupportedArgument { .. }), "{e:?}");
}

#[test]
fn script_runs_a_local_source_without_a_file_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.sh");
    std::fs::write(&path, SCRIPT).unwrap();
    let cwd = dir.path().to_str().unwrap();
    let ran = run_at(
        std::path::Path::new("/"),
        &Value::Null,
        "cmd.script",
        &[json!(path.to_str().unwrap()), json!(["x"]), json!(cwd)],
        &Map::new(),
    )
    .unwrap();
    assert_eq!(ran["stdout"], format!("n=1 1=x 2= pwd={cwd}"));
    // salt:// needs the job's file server.
    let e = run_at(
        std::path::Path::new("/"),
        &Value::Null,
        "cmd.script",
        &[json!("salt://x.sh")],
        &Map::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no file server"), "{e}");
}

#[test]
fn get_hash_and_stats_read_under_the_root() {
    let t = TestHost::new();
    let uid = std::fs::metadata(t.root.path()).unwrap().uid();
    let gid = std::fs::metadata(t.root.path()).unwrap().gid();
    t.write(
        "/etc/passwd",
        &format!("owner:x:{uid}:{gid}:,,,:/home/owner:/bin/sh\n"),
    );
    t.write("/etc/group", &format!("crew:x:{gid}:owner\n"));
    t.write("/srv/hello", "hello\n");
    std::fs::set_permissions(t.path("/srv/hello"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("hello", t.path("/srv/link")).unwrap();
    let hash = |args: Value| run_on(&t.host, "file.get_hash", args, json!({}));
    assert_eq!(
        hash(json!(["/srv/hello"])),
        Ok(json!(
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        ))
    );
    assert_eq!(
        hash(json!(["/srv/hello", "md5"])),
        Ok(json!("b1946ac92492d2347c6235b4d2611184"))
    );
    assert_eq!(
        hash(json!(["/srv/hello", "sha1"])),
        Ok(json!("f572d396fae9206628714fb2ce00f72e94f2258f"))
    );
    assert_eq!(
        hash(json!(["/srv/hello", "sha512"]))
            .unwrap()
            .as_str()
            .map(str::len),
        Some(128)
    );
    assert_eq!(
        hash(json!(["/srv/hello", "SHA256"])),
        Err(ExecError::Failed("Invalid hash type: SHA256".into()))
    );

    let stats = |args: Value| run_on(&t.host, "file.stats", args, json!({}));
    let s = stats(json!(["/srv/hello", "md5"])).unwrap();
    assert_eq!(s["size"], 6);
    assert_eq!(s["mode"], "0640");
    assert_eq!(s["type"], "file");
    assert_eq!(s["user"], "owner");
    assert_eq!(s["group"], "crew");
    assert_eq!(s["uid"], uid);
    assert_eq!(s["sum"], "b1946ac92492d2347c6235b4d2611184");
    assert_eq!(s["target"], "/srv/hello");
    assert!(s["mtime"].is_f64(), "{s}");
    let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "inode", "uid", "gid", "group", "user", "atime", "mtime", "ctime", "size", "mode",
            "sum", "type", "target"
        ]
    );
    // Through the link by default; the link itself when asked.
    let s = stats(json!(["/srv/link"])).unwrap();
    assert_eq!(
        (s["type"].clone(), s["target"].clone()),
        (json!("file"), json!("/srv/hello"))
    );
    let s = stats(json!(["/srv/link", null, false])).unwrap();
    assert_eq!(
        (s["type"].clone(), s["target"].clone()),
        (json!("link"), json!("/srv/link"))
    );
    assert_eq!(s["mode"], "0777");
    assert_eq!(stats(json!(["/srv"])).unwrap()["type"], "dir");
    assert_eq!(
        stats(json!(["/srv/nope"])),
        Err(ExecError::Failed("Path not found: /srv/nope".into()))
    );
    // No such user in the root's passwd: the number, as Salt falls back.
    t.write("/etc/passwd", "");
    assert_eq!(stats(json!(["/srv/hello"])).unwrap()["user"], uid);
}

#[test]
fn replace_returns_the_diff_and_changes_only_outside_dry_run() {
    let t = TestHost::new();
    t.write("/etc/app.conf", "port = 80\nhost = a\n");
    let replace = |kwargs: Value| {
        run_on(
            &t.host,
            "file.replace",
            json!(["/etc/app.conf", "^port = \\d+", "port = 8080"]),
            kwargs,
        )
    };
    let diff = "--- \n+++ \n@@ -1,2 +1,2 @@\n-port = 80\n+port = 8080\n host = a\n";
    // A dry run shows the diff and writes nothing.
    let before = t.snapshot();
    assert_eq!(replace(json!({"dry_run": true})), Ok(json!(diff)));
    assert_eq!(
        replace(json!({"dry_run": true, "show_changes": false})),
        Ok(json!(true))
    );
    assert_eq!(t.snapshot(), before);
    // Applied: the same diff, the file changed, Salt's .bak kept.
    assert_eq!(replace(json!({})), Ok(json!(diff)));
    assert_eq!(t.read("/etc/app.conf"), "port = 8080\nhost = a\n");
    assert_eq!(t.read("/etc/app.conf.bak"), "port = 80\nhost = a\n");
    // Again: nothing to do.
    let after = t.snapshot();
    assert_eq!(replace(json!({})), Ok(json!("")));
    assert_eq!(replace(json!({"show_changes": false})), Ok(json!(false)));
    assert_eq!(t.snapshot(), after);
    // Appended when not found; no backup when told.
    let appended = run_on(
        &t.host,
        "file.replace",
        json!(["/etc/app.conf", "^user = .*", "user = www"]),
        json!({"append_if_not_found": true, "backup": false, "show_changes": false}),
    );
    assert_eq!(appended, Ok(json!(true)));
    assert_eq!(
        t.read("/etc/app.conf"),
        "port = 8080\nhost = a\nuser = www\n"
    );
    let missing = |kwargs: Value| {
        run_on(
            &t.host,
            "file.replace",
            json!(["/etc/none", "a", "b"]),
            kwargs,
        )
    };
    assert_eq!(
        missing(json!({})),
        Err(ExecError::Failed("File not found: /etc/none".into()))
    );
    assert_eq!(
        missing(json!({"ignore_if_missing": true})),
        Ok(json!(false))
    );
    let e = missing(json!({"search_only": true})).unwrap_err();
    assert!(matches!(e, ExecError::UnsupportedArgument { .. }), "{e:?}");
}

#[test]
fn list_users_and_group_info_read_the_roots_files() {
    let t = TestHost::new();
    t.write(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nzed:x:1001:1001::/home/zed:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n",
    );
    t.write("/etc/group", "root:x:0:\nsudo:x:27:bob,zed\n");
    assert_eq!(
        run_on(&t.host, "user.list_users", json!([]), json!({})),
        Ok(json!(["bob", "root", "zed"]))
    );
    assert_eq!(
        run_on(&t.host, "group.info", json!(["sudo"]), json!({})),
        Ok(json!({"name": "sudo", "passwd": "x", "gid": 27, "members": ["bob", "zed"]}))
    );
    assert_eq!(
        run_on(&t.host, "group.info", json!(["root"]), json!({})),
        Ok(json!({"name": "root", "passwd": "x", "gid": 0, "members": []}))
    );
    assert_eq!(
        run_on(&t.host, "group.info", json!(["nogroup"]), json!({})),
        Ok(json!({}))
    );
}

#[test]
fn kernel_numbers_have_salts_shapes() {
    let host = real_host();
    let run = |fun: &str| run_on(&host, fun, json!([]), json!({})).unwrap();
    let lo = &run("network.interfaces")["lo"];
    assert_eq!(lo["up"], true);
    assert_eq!(lo["hwaddr"], "00:00:00:00:00:00");
    assert_eq!(
        lo["inet"][0],
        json!({"address": "127.0.0.1", "netmask": "255.0.0.0", "broadcast": null, "label": "lo"})
    );
    let load = run("status.loadavg");
    let keys: Vec<&String> = load.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["1-min", "5-min", "15-min"]);
    assert!(load["1-min"].is_f64());
    let up = run("status.uptime");
    assert!(up["seconds"].as_i64().is_some_and(|s| s > 0), "{up}");
    assert!(up["time"].as_str().is_some_and(|t| t.contains(':')), "{up}");
    let disk = run("disk.usage");
    assert!(disk["/"]["filesystem"].is_string(), "{disk}");
}

#[test]
fn an_unknown_function_is_not_available_in_salts_words() {
    let e = run_at(
        std::path::Path::new("/"),
        &Value::Null,
        "nosuch.fn",
        &[],
        &Map::new(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "'nosuch.fn' is not available.");
}
