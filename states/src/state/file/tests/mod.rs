//! Tests of the file states on real files under a temporary root. Every
//! `check` goes through [`Fixture::check`], which snapshots the whole root
//! before and after and fails if a check changed anything.
mod directory;
mod edits;
mod managed;
mod others;
mod recurse;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::{NoHost, Renderer, Session};
use serde_json::json;

use super::super::{Applied, Args, Check, HostRead, HostWrite, LocalSources, StateModule};
use super::File;

/// A throwaway root with its own /etc/passwd and /etc/group, and a file_roots.
pub(super) struct Fixture {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub srv: PathBuf,
    pub host: HostRead,
}

/// What a snapshot records of each path under the root.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    File {
        bytes: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: i64,
    },
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Link {
        target: PathBuf,
        uid: u32,
    },
}

/// A check's outcome, flattened for assertions.
#[derive(Debug)]
pub(super) enum Seen {
    Clean { comment: String },
    Change { changes: Value, comment: String },
    Fail { comment: String },
}

pub(super) const DEPLOY: u32 = 1234;
pub(super) const STAFF: u32 = 50;

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_pillar(json!({}))
    }

    pub fn with_pillar(pillar: Value) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("root");
        let srv = dir.path().join("srv");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&srv).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\ndeploy:x:1234:1234::/home/deploy:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            root.join("etc/group"),
            "root:x:0:\nstaff:x:50:\ndeploy:x:1234:\n",
        )
        .unwrap();
        let session = Session::new(
            &json!({"id": "web01"}),
            &pillar,
            &json!({}),
            "base",
            Arc::new(NoHost),
        );
        let sources = LocalSources::new(
            Arc::new(Renderer::new(vec![srv.clone()])),
            Arc::new(session),
        );
        let host = HostRead::new(root.clone(), Arc::new(sources)).with_pillar(pillar);
        Fixture {
            _dir: dir,
            root,
            srv,
            host,
        }
    }

    /// A path under the root.
    pub fn p(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    pub fn write(&self, path: &str, text: &str) {
        let p = self.p(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn write_src(&self, rel: &str, text: &str) {
        let p = self.srv.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.p(path)).unwrap()
    }

    pub fn mode(&self, path: &str) -> u32 {
        std::fs::symlink_metadata(self.p(path)).unwrap().mode() & 0o7777
    }

    pub fn chmod(&self, path: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.p(path), std::fs::Permissions::from_mode(mode)).unwrap();
    }

    pub fn owner(&self, path: &str) -> (u32, u32) {
        let m = std::fs::symlink_metadata(self.p(path)).unwrap();
        (m.uid(), m.gid())
    }

    fn snapshot(&self) -> BTreeMap<PathBuf, Entry> {
        fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                let m = std::fs::symlink_metadata(&p).unwrap();
                let rel = p.strip_prefix(base).unwrap().to_path_buf();
                let entry = if m.file_type().is_symlink() {
                    Entry::Link {
                        target: std::fs::read_link(&p).unwrap(),
                        uid: m.uid(),
                    }
                } else if m.is_dir() {
                    walk(base, &p, out);
                    Entry::Dir {
                        mode: m.mode() & 0o7777,
                        uid: m.uid(),
                        gid: m.gid(),
                    }
                } else {
                    Entry::File {
                        bytes: std::fs::read(&p).unwrap(),
                        mode: m.mode() & 0o7777,
                        uid: m.uid(),
                        gid: m.gid(),
                        mtime: m.mtime(),
                    }
                };
                out.insert(rel, entry);
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.root, &self.root, &mut out);
        out
    }

    fn chunk(fun: &str, args: Value) -> Map<String, Value> {
        let mut chunk = args.as_object().cloned().expect("args are a map");
        chunk.insert("state".into(), "file".into());
        chunk.insert("fun".into(), fun.into());
        chunk
    }

    /// Runs `check` and asserts it left the root exactly as it was and
    /// read every argument it was given.
    pub fn check(&self, fun: &str, args: Value) -> Result<Check, super::super::StateError> {
        let chunk = Fixture::chunk(fun, args);
        let before = self.snapshot();
        let args = Args::new(&chunk);
        let out = File.check(fun, &args, &self.host);
        assert_eq!(
            before,
            self.snapshot(),
            "check of file.{fun} changed the host"
        );
        // A state that fails may stop before reading everything; one that
        // works must have read every argument it was given.
        if matches!(out, Ok(Check::Clean { .. } | Check::Change { .. })) {
            assert_eq!(
                args.unknown(),
                Vec::<String>::new(),
                "arguments file.{fun} did not read"
            );
        }
        out
    }

    pub fn seen(&self, fun: &str, args: Value) -> Seen {
        match self.check(fun, args).expect("check succeeds") {
            Check::Clean { comment, .. } => Seen::Clean { comment },
            Check::Change {
                changes, comment, ..
            } => Seen::Change {
                changes: Value::Object(changes),
                comment,
            },
            Check::Fail { comment, .. } => Seen::Fail { comment },
            Check::Reported { .. } => panic!("file states do not report without applying"),
        }
    }

    /// Checks, expects a change, applies it.
    pub fn apply(&self, fun: &str, args: Value) -> Applied {
        match self.check(fun, args.clone()).expect("check succeeds") {
            Check::Change { apply, .. } => apply
                .apply(&HostWrite::new(self.host.clone()))
                .expect("apply succeeds"),
            other => panic!(
                "file.{fun} {args}: expected a change, got {}",
                describe(&other)
            ),
        }
    }

    /// Asserts a second run finds nothing to do.
    pub fn assert_clean(&self, fun: &str, args: Value) {
        match self.check(fun, args.clone()).expect("check succeeds") {
            Check::Clean { .. } => {}
            other => panic!(
                "file.{fun} {args}: expected clean, got {}",
                describe(&other)
            ),
        }
    }

    /// Temp files the atomic writes might have left anywhere under the root.
    pub fn temp_files(&self) -> Vec<PathBuf> {
        self.snapshot()
            .into_keys()
            .filter(|p| p.to_string_lossy().contains(".brine-"))
            .collect()
    }
}

fn describe(c: &Check) -> String {
    match c {
        Check::Clean { comment, .. } => format!("Clean({comment:?})"),
        Check::Fail { comment, .. } => format!("Fail({comment:?})"),
        Check::Change {
            changes, comment, ..
        } => format!("Change({comment:?}, {changes:?})"),
        Check::Reported { comment, .. } => format!("Reported({comment:?})"),
    }
}

impl Seen {
    pub fn changes(&self) -> &Value {
        match self {
            Seen::Change { changes, .. } => changes,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    pub fn comment(&self) -> &str {
        match self {
            Seen::Change { comment, .. } | Seen::Clean { comment, .. } | Seen::Fail { comment } => {
                comment
            }
        }
    }

    pub fn is_fail(&self) -> bool {
        matches!(self, Seen::Fail { .. })
    }
}

/// The changes of an apply, as JSON.
pub(super) fn applied_changes(a: &Applied) -> Value {
    Value::Object(a.changes.clone().unwrap_or_default())
}
