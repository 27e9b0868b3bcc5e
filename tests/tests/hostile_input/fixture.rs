//! What the hostile-input tests share: snapshots of a daemon's directories,
//! masters with one SLS, raw minion sessions, state roots with hostile entries.
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master};
use tests::raw_minion::RawMinion;
use transport::wire::{Admission, MasterMsg, MinionMsg};

/// Every path under `dir` (not following symlinks), relative, sorted;
/// `skip` leaves out paths that legitimately change (the log, SQLite's
/// journal files).
pub fn snapshot(dir: &Path, skip: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            if skip.iter().any(|s| rel.starts_with(s)) {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
            out.push(rel);
        }
    }
    out.sort();
    out
}

/// A YAML double-quoted scalar holding exactly `s` (JSON's escapes are
/// YAML's), so a config can carry NUL, newlines and escapes.
pub fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

pub fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

pub fn accept_and_connect(master: &Master, ids: &[&str]) {
    wait_until(Duration::from_secs(20), "keys pending", || {
        master.pending().len() == ids.len()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(ids);
}

/// Connects a raw session as `id` (the master auto-accepts) and sends its
/// grains, so the master can target and compile for it.
/// A master whose top files give every minion the one SLS `name`, in the
/// state tree and in pillar.
pub fn one_sls_master(name: &str, sls: &str, pillar: &str) -> Master {
    let top = format!("base:\n  '*':\n    - {name}\n");
    let (state, pillar_file) = (format!("salt/{name}.sls"), format!("pillar/{name}.sls"));
    Master::start(&[
        ("salt/top.sls", top.as_str()),
        (state.as_str(), sls),
        ("pillar/top.sls", top.as_str()),
        (pillar_file.as_str(), pillar),
    ])
}

pub fn raw_minion(master: &Master, id: &str, grains: Value) -> RawMinion {
    let (raw, admission) = RawMinion::connect(master.ret_port, id).unwrap();
    assert_eq!(admission, Admission::Accepted, "auto_accept is on");
    raw.send(&MinionMsg::Grains { grains }).unwrap();
    wait_until(Duration::from_secs(10), "grains cached", || {
        master.dir.path().join("cache/minions").join(id).exists()
    });
    raw
}

/// A state tree whose roots hold a symlink to a directory outside, a
/// symlink to /dev/zero and a FIFO, next to ordinary files.
pub struct HostileRoots {
    pub master: Master,
    pub outside: tempfile::TempDir,
}

pub const CANARY: &str = "canary-outside-the-roots";

pub fn hostile_roots(sls: &[(&'static str, &'static str)]) -> HostileRoots {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("passwd"), CANARY).unwrap();
    std::fs::write(
        outside.path().join("secret.yaml"),
        format!("canary: {CANARY}\n"),
    )
    .unwrap();
    let mut files = vec![
        ("salt/ok.txt", "ok\n"),
        ("salt/sub/a.txt", "a\n"),
        ("salt/tmpl.j2", "id={{ grains['id'] }}\n"),
        ("pillar/top.sls", "base: {}\n"),
    ];
    files.extend_from_slice(sls);
    let master = Master::start_with(&files, "auto_accept: True\n");
    let salt = master.dir.path().join("salt");
    std::os::unix::fs::symlink(outside.path(), salt.join("etc")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", salt.join("zero")).unwrap();
    mkfifo(&salt.join("fifo"));
    // The master's own directory, one level up from its root, as a target.
    std::fs::write(master.dir.path().join("above.txt"), CANARY).unwrap();
    HostileRoots { master, outside }
}

/// The reply of one request, as `Ok(text)` or `Err(reason)`.
pub fn reply_text(m: MasterMsg) -> Result<String, String> {
    match m {
        MasterMsg::Fetched { reply, .. } => reply.map(|blobs| {
            blobs
                .iter()
                .map(|b| String::from_utf8_lossy(&b.data).into_owned())
                .collect()
        }),
        MasterMsg::Rendered { reply, .. } => reply,
        MasterMsg::Listed { reply, .. } => reply.map(|l| l.join("\n")),
        other => Err(format!("unexpected {other:?}")),
    }
}
