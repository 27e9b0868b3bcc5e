//! Test scaffolding shared by the state module tests: a throwaway context
//! root, a throwaway file_root for `salt://`, check/apply as the executor
//! does them, and a snapshot of the root to prove a check wrote nothing.
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::{NoHost, Renderer, Session};

use super::{Applied, Args, Check, HostRead, HostWrite, LocalSources, StateError, StateModule};

pub struct TestHost {
    pub root: tempfile::TempDir,
    pub files: tempfile::TempDir,
    pub host: HostRead,
}

impl TestHost {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp root");
        let files = tempfile::tempdir().expect("temp file_root");
        let renderer = Arc::new(Renderer::new(vec![files.path().to_path_buf()]));
        let grains = serde_json::json!({"id": "minion1", "os_family": "Debian"});
        let session = Arc::new(Session::new(
            &grains,
            &serde_json::json!({"role": "web"}),
            &serde_json::json!({}),
            "base",
            Arc::new(NoHost),
        ));
        let host = HostRead::new(
            root.path().to_path_buf(),
            Arc::new(LocalSources::new(renderer, session)),
        );
        TestHost { root, files, host }
    }

    /// Write access to the root, as the executor gives an apply.
    pub fn writer(&self) -> HostWrite {
        HostWrite::new(self.host.clone())
    }

    /// A path under the root (`/etc/x` → `<root>/etc/x`).
    pub fn path(&self, abs: &str) -> PathBuf {
        self.host.path(abs).expect("absolute path")
    }

    /// Writes a fixture file under the root, creating directories.
    pub fn write(&self, abs: &str, content: &str) {
        let p = self.path(abs);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write fixture");
    }

    pub fn read(&self, abs: &str) -> String {
        std::fs::read_to_string(self.path(abs)).unwrap_or_default()
    }

    /// Writes `salt://rel` into the file_root.
    pub fn source(&self, rel: &str, content: &str) {
        let p = self.files.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write source");
    }

    /// Checks like the executor, insisting every argument was read.
    pub fn check(
        &self,
        module: &dyn StateModule,
        fun: &str,
        args: Value,
    ) -> Result<Check, StateError> {
        let chunk = chunk(module.name(), fun, args);
        let args = Args::new(&chunk);
        let out = module.check(fun, &args, &self.host);
        if out.is_ok() {
            assert_eq!(args.unknown(), Vec::<String>::new(), "unread arguments");
        }
        out
    }

    /// The watch path (`mod_watch`) as the executor calls it.
    pub fn watch(
        &self,
        module: &dyn StateModule,
        fun: &str,
        args: Value,
    ) -> Option<Result<Check, StateError>> {
        let chunk = chunk(module.name(), fun, args);
        module.mod_watch(fun, &Args::new(&chunk), &self.host)
    }

    /// Applies a `Change`; panics on anything else.
    pub fn apply(&self, check: Check) -> Applied {
        match check {
            Check::Change { apply, .. } => apply
                .apply(&HostWrite::new(self.host.clone()))
                .expect("apply"),
            Check::Clean { comment, .. } => panic!("expected a change, got clean: {comment}"),
            Check::Fail { comment, .. } => panic!("expected a change, got fail: {comment}"),
            Check::Reported { comment, .. } => panic!("expected a change, got a report: {comment}"),
        }
    }

    /// Every file under the root with its mode, owner and bytes.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, (u32, u32, Vec<u8>)> {
        let mut out = BTreeMap::new();
        walk(self.root.path(), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, (u32, u32, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let bytes = if md.is_file() {
            std::fs::read(&p).unwrap_or_default()
        } else {
            Vec::new()
        };
        out.insert(p.clone(), (md.mode(), md.uid(), bytes));
        if md.is_dir() {
            walk(&p, out);
        }
    }
}

/// A low chunk: `{"state", "fun", ...args}`.
pub fn chunk(state: &str, fun: &str, args: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("state".into(), state.into());
    m.insert("fun".into(), fun.into());
    if let Value::Object(a) = args {
        m.extend(a);
    }
    m
}

/// The parts of a check, for asserting.
pub fn comment_of(check: &Check) -> &str {
    match check {
        Check::Clean { comment, .. }
        | Check::Change { comment, .. }
        | Check::Fail { comment, .. }
        | Check::Reported { comment, .. } => comment,
    }
}

pub fn is_clean(check: &Check) -> bool {
    matches!(check, Check::Clean { .. })
}

pub fn changes_of(check: &Check) -> Option<&Map<String, Value>> {
    match check {
        Check::Change { changes, .. } => Some(changes),
        _ => None,
    }
}

/// Whether the shadow tools can edit a test root here: they need root and
/// `--prefix` (Debian 12's shadow 4.13 has it). Tests that create users or
/// groups skip, saying why, rather than touch this host's own /etc.
pub fn shadow_tools_usable() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the shadow tools need root");
        return false;
    }
    let help = std::process::Command::new("useradd").arg("--help").output();
    let ok = help.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--prefix"));
    if !ok {
        eprintln!("skipped: this useradd has no --prefix");
    }
    ok
}
