//! The functions of issue 12 against `salt-call --local --out json` (Salt
//! 3007.8) on this very host: keys and value types always, values where
//! they do not change from one run to the next. Salt only reads here, or
//! works on files in a temp dir. Skipped when Salt is not installed
//! (`scripts/install-salt.sh`).
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::json;

use super::*;

const SALT_CALL: &str = "/root/.cache/brine/salt-venv/bin/salt-call";

/// Salt's return of `fun args...`, or `Err(what it printed)` when it
/// printed no JSON (a failed call).
fn salt(words: &[&str]) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // minion_id_caching off: otherwise salt-call writes /etc/salt/minion_id.
    let conf = format!(
        "file_client: local\ncachedir: {d}/cache\npki_dir: {d}/pki\nlog_file: {d}/log\n\
         minion_id_caching: False\n"
    );
    std::fs::write(dir.path().join("minion"), conf).unwrap();
    let out = Command::new(SALT_CALL)
        .args(["--local", "--log-level", "quiet", "--config-dir"])
        .arg(dir.path())
        .args(["--out", "json"])
        .args(words)
        .output()
        .expect("salt-call runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match serde_json::from_str::<Value>(&stdout) {
        // salt-call exits with a command's retcode: JSON is an answer.
        Ok(v) => Ok(v["local"].clone()),
        _ => Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr))),
    }
}

/// Brine's return of the same call, the words read as Salt's CLI reads them.
fn brine(words: &[&str]) -> Result<Value, String> {
    let (fun, rest) = words.split_first().unwrap();
    let mut args = Vec::new();
    let mut kwargs = Map::new();
    for w in rest {
        let yaml = |v: &str| common::yaml::load(v).unwrap_or_else(|_| Value::from(v));
        match w.split_once('=') {
            Some((k, v)) if k.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                kwargs.insert(k.to_string(), yaml(v));
            }
            _ => args.push(yaml(w)),
        }
    }
    let host = HostRead::new("/".into(), Arc::new(NoSources));
    Call::parse(fun, &args, &kwargs)
        .and_then(|c| {
            c.run(&ExecEnv {
                host: &host,
                grains: &Value::Null,
                grains_file: None,
            })
        })
        .map_err(|e| e.to_string())
}

fn have_salt() -> bool {
    if Path::new(SALT_CALL).exists() {
        return true;
    }
    println!("skipped: salt not installed at {SALT_CALL}");
    false
}

/// The value with every leaf replaced by its JSON type (a float and an
/// integer both "number", as Salt's numbers print either way).
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
    }
}

/// Both sides of a call, asked up to three times while they differ:
/// containers starting elsewhere on this host add interfaces and mounts
/// between the two reads.
fn settle(words: &[&str], same: impl Fn(&Value, &Value) -> bool) {
    let mut last = String::new();
    for _ in 0..3 {
        let (s, b) = (salt(words).unwrap(), brine(words).unwrap());
        if same(&s, &b) {
            return;
        }
        last = format!("salt:  {s:#}\nbrine: {b:#}");
    }
    panic!("{words:?} differs from Salt:\n{last}");
}

#[test]
fn network_interfaces_match_salt() {
    if have_salt() {
        settle(&["network.interfaces"], |s, b| s == b);
    }
}

#[test]
fn disk_usage_matches_salt_but_for_what_is_being_written() {
    if have_salt() {
        settle(&["disk.usage"], |s, b| {
            let key = |v: &Value, k: &str| {
                v.as_object()
                    .unwrap()
                    .iter()
                    .map(|(m, u)| (m.clone(), u[k].clone()))
                    .collect::<Vec<_>>()
            };
            shape(s) == shape(b)
                && key(s, "filesystem") == key(b, "filesystem")
                && key(s, "1K-blocks") == key(b, "1K-blocks")
        });
    }
}

#[test]
fn uptime_and_loadavg_have_salts_keys_and_types() {
    if !have_salt() {
        return;
    }
    settle(&["status.uptime"], |s, b| {
        let secs = |v: &Value| v["seconds"].as_i64().unwrap();
        shape(s) == shape(b) && s["users"] == b["users"] && (secs(b) - secs(s)).abs() < 30
    });
    settle(&["status.loadavg"], |s, b| shape(s) == shape(b));
}

#[test]
fn accounts_match_salt() {
    if !have_salt() {
        return;
    }
    for words in [
        &["user.list_users"][..],
        &["group.info", "root"],
        &["group.info", "no-such-group-x"],
    ] {
        settle(words, |s, b| s == b);
    }
}

#[test]
fn stats_and_hashes_match_salt() {
    if !have_salt() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, "some text\n").unwrap();
    std::os::unix::fs::symlink(&file, dir.path().join("l")).unwrap();
    let f = file.to_str().unwrap();
    let l = dir.path().join("l");
    let l = l.to_str().unwrap();
    for form in ["sha256", "md5", "sha1", "sha224", "sha384", "sha512"] {
        let words = ["file.get_hash", f, form];
        assert_eq!(salt(&words), brine(&words), "{form}");
    }
    // Reading the file may move its atime: that one is compared by type.
    // mtime and ctime within a microsecond: serde_json reads Salt's printed
    // float best-effort (its default), which may land one ULP (~0.2 us at
    // today's epoch) off the double Python printed.
    let without_times = |v: &Value| {
        let mut v = v.clone();
        for key in ["atime", "mtime", "ctime"] {
            v[key] = shape(&v[key]);
        }
        v
    };
    let times_agree = |s: &Value, b: &Value| {
        ["mtime", "ctime"]
            .iter()
            .all(|k| match (s[k].as_f64(), b[k].as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() < 1e-6,
                (x, y) => x == y,
            })
    };
    for words in [
        &["file.stats", f][..],
        &["file.stats", f, "hash_type=md5"],
        &["file.stats", l],
        &["file.stats", l, "follow_symlinks=False"],
        &["file.stats", dir.path().to_str().unwrap()],
    ] {
        settle(words, |s, b| {
            without_times(s) == without_times(b) && times_agree(s, b)
        });
    }
    let e = brine(&["file.stats", "/no/such/path"]).unwrap_err();
    let salt_said = salt(&["file.stats", "/no/such/path"]).unwrap_err();
    assert!(salt_said.contains(&e), "salt: {salt_said}\nbrine: {e}");
}

#[test]
fn replace_matches_salt_on_copies_of_a_file() {
    if !have_salt() {
        return;
    }
    let text = "port = 80\nhost = a\n# port = 1\n";
    let dir = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["^port = \\d+", "port = 8080"],
        &["^port = \\d+", "port = 8080", "dry_run=True"],
        &["^port = \\d+", "port = 8080", "show_changes=False"],
        &["nothing", "x"],
        &["nothing", "x", "show_changes=False"],
        &["^user = .*", "user = www", "append_if_not_found=True"],
        &[
            "^user = .*",
            "user = www",
            "prepend_if_not_found=True",
            "backup=False",
        ],
        &["(\\d+)", "<\\1>", "count=1"],
    ];
    for (i, case) in cases.iter().enumerate() {
        let mut outcome = Vec::new();
        for who in ["salt", "brine"] {
            let path = dir.path().join(format!("{who}-{i}.conf"));
            std::fs::write(&path, text).unwrap();
            let p = path.to_str().unwrap().to_string();
            let mut words = vec!["file.replace", p.as_str()];
            words.extend_from_slice(case);
            let ret = if who == "salt" {
                salt(&words)
            } else {
                brine(&words)
            };
            let content = std::fs::read_to_string(&path).unwrap();
            let backup = std::fs::read_to_string(format!("{p}.bak")).ok();
            outcome.push((ret, content, backup));
        }
        assert_eq!(outcome[0], outcome[1], "{case:?}");
    }
}

#[test]
fn commands_and_scripts_match_salt() {
    if !have_salt() {
        return;
    }
    for words in [
        &["cmd.run_stdout", "sh -c 'echo out; echo err >&2'"][..],
        &["cmd.retcode", "sh -c 'exit 4'"],
    ] {
        assert_eq!(salt(words), brine(words), "{words:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("report.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"n=$# 1=$1 2=$2 pwd=$(pwd)\"\necho err >&2\nexit 3\n",
    )
    .unwrap();
    let s = script.to_str().unwrap();
    let cwd = format!("cwd={}", dir.path().display());
    for words in [
        &["cmd.script", s, cwd.as_str()][..],
        &["cmd.script", s, "args=a b", cwd.as_str()],
        &["cmd.script", s, "args=[a, 'b c']", cwd.as_str()],
        &["cmd.script", s, "args=a b", "shell=/bin/sh", cwd.as_str()],
    ] {
        let (mut sv, mut bv) = (salt(words).unwrap(), brine(words).unwrap());
        for v in [&mut sv, &mut bv] {
            v["pid"] = shape(&v["pid"]);
        }
        assert_eq!(sv, bv, "{words:?}");
    }
    // Salt's scripts are temp copies next to the cwd; both cleaned up theirs.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_unknown_function_is_refused_in_salts_words() {
    if !have_salt() {
        return;
    }
    let salt_said = salt(&["nosuch.fn"]).unwrap_err();
    let e = brine(&["nosuch.fn"]).unwrap_err();
    assert!(salt_said.contains(&e), "salt: {salt_said}\nbrine: {e}");
}
