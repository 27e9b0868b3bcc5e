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

#[test]
fn clones_then_is_up_to_date() {
    let f = fixture();
    let check = f.check(json!({})).unwrap();
    let (changes, comment) = changes_of(&check);
    assert_eq!(
        Value::Object(changes),
        json!({"new": format!("{} => /srv/app", f.url)})
    );
    assert_eq!(
        comment,
        format!("Repository {} would be cloned to /srv/app", f.url)
    );
    assert!(!f.root.join("srv/app").exists());

    let applied = f.apply(json!({}));
    let main = f.head("refs/heads/main");
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(applied.comment, format!("{} cloned to /srv/app", f.url));
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"new": format!("{} => /srv/app", f.url), "revision": {"old": null, "new": main}})
    );
    assert_eq!(f.file("a.txt"), "one\n");
    let repo = f.checkout();
    assert_eq!(repo.head().unwrap().name(), Ok("refs/heads/main"));
    assert_eq!(
        super::local::upstream_of(&repo, "main").as_deref(),
        Some("origin/main")
    );
    // Tags come with the clone, so the next run has nothing to fetch.
    let mut tags: Vec<_> = repo
        .tag_names(None)
        .unwrap()
        .iter()
        .map(|t| t.unwrap().unwrap().to_string())
        .collect();
    tags.sort();
    assert_eq!(tags, ["light", "v1"]);

    let again = clean_comment(f.check(json!({})).unwrap());
    assert_eq!(again, "Repository /srv/app is up-to-date");
}

#[test]
fn new_upstream_commit_is_fast_forwarded() {
    let f = fixture();
    f.apply(json!({}));
    let old = f.head("refs/heads/main");
    let new = commit_on(&f.upstream, "refs/heads/main", &[("b.txt", "two\n")], true).to_string();

    let check = f.check(json!({})).unwrap();
    let (changes, comment) = changes_of(&check);
    assert_eq!(
        Value::Object(changes),
        json!({"revision": {"old": old, "new": new}})
    );
    assert_eq!(
        comment,
        format!(
            "Remote 'origin' would be fetched. Repository would be updated from {} to {}.",
            &old[..7],
            &new[..7]
        )
    );
    assert!(!f.root.join("srv/app/b.txt").exists());

    let applied = f.apply(json!({}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        format!(
            "{} was fetched, resulting in updated refs. Repository was fast-forwarded to remote HEAD ({}).",
            f.url,
            &new[..7]
        )
    );
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"revision": {"old": old, "new": new}})
    );
    assert_eq!(f.file("b.txt"), "two\n");
    clean_comment(f.check(json!({})).unwrap());
}

#[test]
fn rev_as_tag_and_as_commit() {
    let f = fixture();
    commit_on(&f.upstream, "refs/heads/main", &[("b.txt", "two\n")], true);
    let applied = f.apply(json!({"rev": "v1"}));
    assert!(applied.result, "{}", applied.comment);
    let first = f
        .upstream
        .revparse_single("v1^{commit}")
        .unwrap()
        .id()
        .to_string();
    assert_eq!(
        applied.comment,
        format!(
            "{} cloned to /srv/app. Repository was reset to v1 ({}). Tracking branch was unset.",
            f.url,
            &first[..7]
        )
    );
    assert!(!f.root.join("srv/app/b.txt").exists());
    clean_comment(f.check(json!({"rev": "v1"})).unwrap());
    clean_comment(f.check(json!({"rev": "light"})).unwrap());

    // The same checkout, pointed at a commit id (short and upper-case).
    let main = f.head("refs/heads/main");
    let short = main[..10].to_uppercase();
    let check = f.check(json!({"rev": short})).unwrap();
    let (changes, _) = changes_of(&check);
    assert_eq!(
        Value::Object(changes),
        json!({"revision": {"old": first, "new": main[..10].to_string()}})
    );
    let applied = f.apply(json!({"rev": short}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.file("b.txt"), "two\n");
    clean_comment(f.check(json!({"rev": short})).unwrap());
}

#[test]
fn branch_is_checked_out_and_tracks_the_remote() {
    let f = fixture();
    let dev = f.head("refs/heads/dev");
    let applied = f.apply(json!({"rev": "dev", "branch": "dev"}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        format!(
            "{} cloned to /srv/app. Branch 'dev' checked out, with origin/dev ({}) as a starting point.",
            f.url,
            &dev[..7]
        )
    );
    let repo = f.checkout();
    assert_eq!(repo.head().unwrap().name(), Ok("refs/heads/dev"));
    assert_eq!(
        super::local::upstream_of(&repo, "dev").as_deref(),
        Some("origin/dev")
    );
    assert_eq!(f.file("dev.txt"), "dev\n");
    clean_comment(f.check(json!({"rev": "dev", "branch": "dev"})).unwrap());

    // Back to main on an existing checkout: the branch is switched.
    let check = f.check(json!({"rev": "main", "branch": "main"})).unwrap();
    let (_, comment) = changes_of(&check);
    assert!(
        comment.contains("Branch 'main' would be checked out"),
        "{comment}"
    );
    let applied = f.apply(json!({"rev": "main", "branch": "main"}));
    assert!(applied.result, "{}", applied.comment);
    assert!(!f.root.join("srv/app/dev.txt").exists());
    clean_comment(f.check(json!({"rev": "main", "branch": "main"})).unwrap());
}

/// A `git daemon` serving `base` on a free loopback port, stopped on drop.
struct Daemon {
    child: std::process::Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn git_daemon(base: &Path) -> Option<Daemon> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = std::process::Command::new("git")
        .arg("daemon")
        .arg("--reuseaddr")
        .arg("--export-all")
        .arg(format!("--base-path={}", base.display()))
        .arg("--listen=127.0.0.1")
        .arg(format!("--port={port}"))
        .arg(base)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let daemon = Daemon { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(daemon);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[test]
fn shallow_clone_with_depth_over_git_protocol() {
    let mut f = fixture();
    commit_on(&f.upstream, "refs/heads/main", &[("b.txt", "two\n")], true);
    let Some(daemon) = git_daemon(f.upstream.path().parent().unwrap()) else {
        // No git binary to serve the repository: nothing to test against.
        assert!(std::process::Command::new("git")
            .arg("--version")
            .output()
            .is_err());
        return;
    };
    f.url = format!("git://127.0.0.1:{}/upstream", daemon.port);
    let applied = f.apply(json!({"rev": "main", "depth": 1}));
    assert!(applied.result, "{}", applied.comment);
    let repo = f.checkout();
    assert!(repo.is_shallow());
    assert_eq!(repo.head().unwrap().name(), Ok("refs/heads/main"));
    assert_eq!(f.file("b.txt"), "two\n");
    clean_comment(f.check(json!({"rev": "main", "depth": 1})).unwrap());

    // A tag at depth 1: detached at the tag.
    std::fs::remove_dir_all(f.root.join("srv/app")).unwrap();
    let applied = f.apply(json!({"rev": "v1", "depth": 1}));
    assert!(applied.result, "{}", applied.comment);
    assert!(f.checkout().head_detached().unwrap());
    assert!(!f.root.join("srv/app/b.txt").exists());
    clean_comment(f.check(json!({"rev": "v1", "depth": 1})).unwrap());

    let fail = fail_comment(f.check(json!({"depth": 1})).unwrap());
    assert_eq!(
        fail,
        "When 'depth' is used, 'rev' must be set to the name of a branch or tag on the remote repository"
    );
}

#[test]
fn depth_from_a_local_path_clones_everything() {
    let f = fixture();
    let applied = f.apply(json!({"rev": "dev", "depth": 1}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.checkout().head().unwrap().name(), Ok("refs/heads/dev"));
    clean_comment(f.check(json!({"rev": "dev", "depth": 1})).unwrap());
}

#[test]
fn uncommitted_changes_are_refused_unless_force_reset() {
    let f = fixture();
    f.apply(json!({}));
    std::fs::write(f.root.join("srv/app/a.txt"), "local edit\n").unwrap();

    let clean = clean_comment(f.check(json!({})).unwrap());
    assert_eq!(
        clean,
        "Repository /srv/app is up-to-date, but with uncommitted changes. Set 'force_reset' to True to purge uncommitted changes."
    );

    let old = f.head("refs/heads/main");
    let new = commit_on(&f.upstream, "refs/heads/main", &[("b.txt", "two\n")], true).to_string();
    let fail = fail_comment(f.check(json!({})).unwrap());
    assert_eq!(
        fail,
        format!(
            "Repository would be updated from {} to {}, but there are uncommitted changes. Set 'force_reset' to True (or 'remote-changes') to force this update and discard these changes.",
            &old[..7],
            &new[..7],
        )
    );
    assert_eq!(f.file("a.txt"), "local edit\n");

    let applied = f.apply(json!({"force_reset": true}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.file("a.txt"), "one\n");
    assert_eq!(f.file("b.txt"), "two\n");
    assert_eq!(
        applied.comment,
        format!(
            "{} was fetched, resulting in updated refs. Uncommitted changes were discarded. Repository was fast-forwarded to remote HEAD ({}).",
            f.url,
            &new[..7]
        )
    );
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"revision": {"old": old, "new": new}})
    );
    clean_comment(f.check(json!({})).unwrap());
}

#[test]
fn force_reset_discards_changes_on_an_up_to_date_checkout() {
    let f = fixture();
    f.apply(json!({}));
    std::fs::write(f.root.join("srv/app/a.txt"), "local edit\n").unwrap();
    let check = f.check(json!({"force_reset": true})).unwrap();
    let (changes, comment) = changes_of(&check);
    assert_eq!(Value::Object(changes), json!({"forced update": true}));
    assert!(comment.starts_with("/srv/app is up-to-date, but with uncommitted changes. Since 'force_reset' is set to True"), "{comment}");
    let applied = f.apply(json!({"force_reset": true}));
    assert!(applied.result, "{}", applied.comment);
    assert!(applied.comment.starts_with("Repository /srv/app is up-to-date\n\nChanges made: Uncommitted changes were discarded. Repository was hard-reset to remote HEAD"), "{}", applied.comment);
    assert_eq!(f.file("a.txt"), "one\n");
    clean_comment(f.check(json!({"force_reset": true})).unwrap());
}

#[test]
fn non_fast_forward_is_refused_unless_force_reset() {
    let f = fixture();
    f.apply(json!({}));
    let old = f.head("refs/heads/main");
    // History rewritten upstream: a new root commit replaces main.
    let new = commit_on(
        &f.upstream,
        "refs/heads/main",
        &[("c.txt", "rewritten\n")],
        false,
    )
    .to_string();

    let applied = f.apply(json!({}));
    assert!(!applied.result);
    assert!(
        applied.comment.starts_with(&format!(
            "Repository would be updated to {}, but this is not a fast-forward merge. Set 'force_reset' to True to force this update.",
            &new[..7]
        )),
        "{}",
        applied.comment
    );
    assert_eq!(
        f.checkout().head().unwrap().target().unwrap().to_string(),
        old
    );

    let applied = f.apply(json!({"force_reset": true}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        format!("Repository was hard-reset to remote HEAD ({})", &new[..7])
    );
    assert_eq!(f.file("c.txt"), "rewritten\n");
    assert!(!f.root.join("srv/app/a.txt").exists());
    clean_comment(f.check(json!({})).unwrap());
}

#[test]
fn hostile_urls_and_revs_are_refused_before_anything_runs() {
    let f = fixture();
    for name in [
        "--upload-pack=touch /tmp/brine-pwned",
        "-oProxyCommand=touch /tmp/brine-pwned:x",
        "ext::sh -c touch% /tmp/brine-pwned",
        "https://example.com/r\n[core]",
        "ftp://example.com/r.git",
    ] {
        let chunk = json!({"state": "git", "fun": "latest", "name": name, "target": "/srv/app"});
        let chunk = chunk.as_object().unwrap().clone();
        let err = Git.check("latest", &Args::new(&chunk), &f.host());
        assert!(matches!(err, Err(StateError::Args(_))), "{name:?}");
    }
    for rev in ["--orphan", "a..b", "x\ny"] {
        let err = f.check(json!({"rev": rev}));
        assert!(matches!(err, Err(StateError::Args(_))), "{rev:?}");
    }
    assert!(matches!(
        f.check(json!({"branch": "-D"})),
        Err(StateError::Args(_))
    ));
    assert!(matches!(
        f.check(json!({"remote": "--x"})),
        Err(StateError::Args(_))
    ));
    assert!(!f.root.join("srv/app").exists());
}

#[test]
fn salt_worded_argument_failures() {
    let f = fixture();
    assert_eq!(
        fail_comment(f.check(json!({"target": "srv/app"})).unwrap()),
        "target 'srv/app' is not an absolute path"
    );
    assert_eq!(
        fail_comment(f.check(json!({"force_reset": "sometimes"})).unwrap()),
        "'force_reset' must be one of True, False, or 'remote-changes'"
    );
    assert_eq!(
        fail_comment(f.check(json!({"rev": "nope"})).unwrap()),
        "No revision matching 'nope' exists in the remote repository"
    );
    assert_eq!(
        fail_comment(f.check(json!({"https_user": "u"})).unwrap()),
        "Basic Auth only supported for HTTPS"
    );
    assert_eq!(
        fail_comment(f.check(json!({"user": "no-such-user-brine"})).unwrap()),
        "User 'no-such-user-brine' is not available"
    );
    let missing = f
        .check(json!({"name": format!("{}-missing", f.url)}))
        .unwrap();
    assert!(fail_comment(missing).starts_with("Failed to check remote refs: "));
    std::fs::write(f.root.join("srv/file"), "x").unwrap();
    assert_eq!(
        fail_comment(f.check(json!({"target": "/srv/file"})).unwrap()),
        "Target '/srv/file' exists and is a regular file, cannot proceed"
    );
}

#[test]
fn non_empty_target_needs_force_clone() {
    let f = fixture();
    std::fs::create_dir_all(f.root.join("srv/app")).unwrap();
    std::fs::write(f.root.join("srv/app/stray"), "x").unwrap();
    assert!(fail_comment(f.check(json!({})).unwrap())
        .starts_with("Target '/srv/app' exists, is non-empty and is not a git repository."));
    let check = f.check(json!({"force_clone": true})).unwrap();
    let (changes, _) = changes_of(&check);
    assert_eq!(changes["forced clone"], json!(true));
    let applied = f.apply(json!({"force_clone": true}));
    assert!(applied.result, "{}", applied.comment);
    assert!(!f.root.join("srv/app/stray").exists());
    assert_eq!(f.file("a.txt"), "one\n");
    assert_eq!(applied.changes.unwrap()["forced clone"], json!(true));
}

#[test]
fn changed_remote_url_is_updated() {
    let f = fixture();
    f.apply(json!({}));
    let repo = f.checkout();
    repo.remote_set_url("origin", "https://example.invalid/old.git")
        .unwrap();
    let check = f.check(json!({})).unwrap();
    let (changes, comment) = changes_of(&check);
    assert!(changes.is_empty());
    assert_eq!(
        comment,
        format!(
            "Repository /srv/app is up-to-date\n\nChanges that would be made: Remote 'origin' would be changed from https://example.invalid/old.git to {}",
            f.url
        )
    );
    let applied = f.apply(json!({}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        f.checkout().find_remote("origin").unwrap().url(),
        Ok(f.url.as_str())
    );
    clean_comment(f.check(json!({})).unwrap());
}

#[test]
fn tags_follow_the_remote() {
    let f = fixture();
    f.apply(json!({}));
    let main = f.upstream.revparse_single("main").unwrap();
    f.upstream.tag_lightweight("v2", &main, false).unwrap();
    f.upstream.tag_delete("light").unwrap();
    let check = f.check(json!({})).unwrap();
    let (changes, _) = changes_of(&check);
    assert_eq!(changes["new_tags"], json!(["v2"]));
    assert_eq!(changes["deleted_tags"], json!(["light"]));
    let applied = f.apply(json!({}));
    assert!(applied.result, "{}", applied.comment);
    let repo = f.checkout();
    assert!(repo.find_reference("refs/tags/v2").is_ok());
    assert!(repo.find_reference("refs/tags/light").is_err());
    clean_comment(f.check(json!({})).unwrap());
}

#[test]
fn user_owns_the_checkout() {
    // Changing owners needs root; elsewhere there is nothing to check.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let f = fixture();
    // A user only the root's /etc/passwd knows (an id no real host gives out).
    std::fs::create_dir_all(f.root.join("etc")).unwrap();
    std::fs::write(
        f.root.join("etc/passwd"),
        "brine-only:x:64201:64202::/home/brine-only:/bin/sh\n",
    )
    .unwrap();
    let applied = f.apply(json!({"user": "brine-only"}));
    assert!(applied.result, "{}", applied.comment);
    use std::os::unix::fs::MetadataExt;
    for path in ["srv/app", "srv/app/a.txt", "srv/app/.git/HEAD"] {
        let meta = std::fs::symlink_metadata(f.root.join(path)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (64201, 64202), "{path}");
    }
    clean_comment(f.check(json!({"user": "brine-only"})).unwrap());
    // This host's root user is not the root's: refused, as a missing user is.
    assert_eq!(
        fail_comment(f.check(json!({"user": "root"})).unwrap()),
        "User 'root' is not available"
    );
}

#[test]
fn submodules_are_checked_out_and_hostile_ones_refused() {
    let f = fixture();
    let sub_path = f.upstream.path().parent().unwrap().join("sub");
    let sub = Repository::init_bare(&sub_path).unwrap();
    let sub_commit = commit_on(&sub, "refs/heads/main", &[("inner.txt", "inner\n")], true);
    sub.set_head("refs/heads/main").unwrap();

    // A superproject commit with a gitlink and its .gitmodules.
    let with_sub = |url: &str| {
        let tip = f
            .upstream
            .find_reference("refs/heads/main")
            .unwrap()
            .peel_to_commit()
            .unwrap();
        let mut tb = f.upstream.treebuilder(Some(&tip.tree().unwrap())).unwrap();
        let modules = format!("[submodule \"sub\"]\n\tpath = sub\n\turl = {url}\n");
        let blob = f.upstream.blob(modules.as_bytes()).unwrap();
        tb.insert(".gitmodules", blob, 0o100644).unwrap();
        tb.insert("sub", sub_commit, 0o160000).unwrap();
        let tree = f.upstream.find_tree(tb.write().unwrap()).unwrap();
        f.upstream
            .commit(
                Some("refs/heads/main"),
                &sig(),
                &sig(),
                "add sub",
                &tree,
                &[&tip],
            )
            .unwrap();
    };
    with_sub(&format!("file://{}", sub_path.display()));
    let applied = f.apply(json!({"submodules": true}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.file("sub/inner.txt"), "inner\n");
    clean_comment(f.check(json!({"submodules": true})).unwrap());

    // `.gitmodules` is repository content: an option-like URL is refused.
    with_sub("--upload-pack=touch /tmp/brine-pwned");
    let applied = f.apply(json!({"submodules": true}));
    assert!(!applied.result);
    assert!(
        applied.comment.contains("Failed to update submodules: "),
        "{}",
        applied.comment
    );
}
