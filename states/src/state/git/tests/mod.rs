//! `git.latest` against real repositories made with libgit2 in temp dirs and
//! cloned over `file://`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::data::{Map, Value};
use git2::{Oid, Repository, Signature};
use serde_json::json;

use super::super::{Applied, Args, Check, HostRead, HostWrite, Sources, StateError, StateModule};
use super::Git;

mod following;
mod refusing;

struct NoSources;

impl Sources for NoSources {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
        Err(StateError::host(format!("no source {url}")))
    }
    fn render(&self, url: &str, _: &Map<String, Value>) -> Result<String, StateError> {
        Err(StateError::host(format!("no source {url}")))
    }
    fn list(&self, _: &str) -> Result<Vec<String>, StateError> {
        Ok(Vec::new())
    }
}

/// A remote repository (non-bare, branch `main`) and a root to clone into.
struct Fixture {
    _dir: tempfile::TempDir,
    upstream: Repository,
    url: String,
    root: PathBuf,
}

fn sig() -> Signature<'static> {
    Signature::new(
        "Brine Test",
        "test@example.com",
        &git2::Time::new(1_700_000_000, 0),
    )
    .unwrap()
}

/// Commits `files` on top of `refname`'s tip (or as a root commit when
/// `parent` is false), touching only the object database and the ref.
fn commit_on(repo: &Repository, refname: &str, files: &[(&str, &str)], parent: bool) -> Oid {
    let tip = repo
        .find_reference(refname)
        .ok()
        .and_then(|r| r.peel_to_commit().ok())
        .filter(|_| parent);
    let base = tip.as_ref().map(|c| c.tree().unwrap());
    let mut tb = repo.treebuilder(base.as_ref()).unwrap();
    for (name, content) in files {
        let blob = repo.blob(content.as_bytes()).unwrap();
        tb.insert(name, blob, 0o100644).unwrap();
    }
    let tree = repo.find_tree(tb.write().unwrap()).unwrap();
    let parents: Vec<_> = tip.iter().collect();
    let oid = repo
        .commit(
            None,
            &sig(),
            &sig(),
            &format!("commit {files:?}"),
            &tree,
            &parents,
        )
        .unwrap();
    repo.reference(refname, oid, true, "test").unwrap();
    oid
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let up_path = dir.path().join("upstream");
    let upstream = Repository::init_bare(&up_path).unwrap();
    upstream.set_head("refs/heads/main").unwrap();
    let first = commit_on(&upstream, "refs/heads/main", &[("a.txt", "one\n")], true);
    {
        let obj = upstream.find_object(first, None).unwrap();
        upstream
            .tag("v1", &obj, &sig(), "release 1", false)
            .unwrap();
        upstream.tag_lightweight("light", &obj, false).unwrap();
    }
    commit_on(&upstream, "refs/heads/dev", &[("a.txt", "one\n")], false);
    commit_on(&upstream, "refs/heads/dev", &[("dev.txt", "dev\n")], true);
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("srv")).unwrap();
    Fixture {
        url: format!("file://{}", up_path.display()),
        upstream,
        root,
        _dir: dir,
    }
}

impl Fixture {
    fn host(&self) -> HostRead {
        HostRead::new(self.root.clone(), Arc::new(NoSources))
    }

    fn chunk(&self, extra: Value) -> Map<String, Value> {
        let mut chunk = json!({
            "state": "git", "fun": "latest", "name": self.url, "target": "/srv/app",
        })
        .as_object()
        .unwrap()
        .clone();
        for (k, v) in extra.as_object().unwrap() {
            chunk.insert(k.clone(), v.clone());
        }
        chunk
    }

    /// `check` with a snapshot of the root before and after: it must not
    /// change anything on disk.
    fn check(&self, extra: Value) -> Result<Check, StateError> {
        let chunk = self.chunk(extra);
        let before = snapshot(&self.root);
        let args = Args::new(&chunk);
        let result = Git.check("latest", &args, &self.host());
        assert_eq!(
            args.unknown(),
            Vec::<String>::new(),
            "every argument is read"
        );
        assert_eq!(before, snapshot(&self.root), "check changed the disk");
        result
    }

    fn apply(&self, extra: Value) -> Applied {
        match self.check(extra).unwrap() {
            Check::Change { apply, .. } => apply.apply(&HostWrite::new(self.host())).unwrap(),
            Check::Clean { comment, .. } => panic!("expected a change, got clean: {comment}"),
            Check::Fail { comment, .. } => panic!("expected a change, got failure: {comment}"),
            Check::Reported { comment, .. } => panic!("unexpected report: {comment}"),
        }
    }

    fn checkout(&self) -> Repository {
        Repository::open(self.root.join("srv/app")).unwrap()
    }

    fn head(&self, refname: &str) -> String {
        self.upstream
            .find_reference(refname)
            .unwrap()
            .peel_to_commit()
            .unwrap()
            .id()
            .to_string()
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.root.join("srv/app").join(name)).unwrap()
    }
}

/// Every path under `root` with its type, size, mode, mtime and content.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            out.insert(
                path.clone(),
                format!(
                    "{:?} {} {:o} {} {}:{} {:?}",
                    meta.file_type(),
                    meta.len(),
                    meta.mode(),
                    meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
                    meta.uid(),
                    meta.gid(),
                    content
                ),
            );
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

fn changes_of(check: &Check) -> (Map<String, Value>, String) {
    match check {
        Check::Change {
            changes, comment, ..
        } => (changes.clone(), comment.clone()),
        Check::Clean { comment, .. } => panic!("expected a change, got clean: {comment}"),
        Check::Fail { comment, .. } => panic!("expected a change, got failure: {comment}"),
        Check::Reported { comment, .. } => panic!("unexpected report: {comment}"),
    }
}

fn clean_comment(check: Check) -> String {
    match check {
        Check::Clean { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected clean, got change: {comment}"),
        Check::Fail { comment, .. } => panic!("expected clean, got failure: {comment}"),
        Check::Reported { comment, .. } => panic!("unexpected report: {comment}"),
    }
}

fn fail_comment(check: Check) -> String {
    match check {
        Check::Fail { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected failure, got change: {comment}"),
        Check::Clean { comment, .. } => panic!("expected failure, got clean: {comment}"),
        Check::Reported { comment, .. } => panic!("unexpected report: {comment}"),
    }
}
