//! Cloning and following the remote: revs, branches, depth, tags, a
//! changed URL, ownership and submodules.
use super::*;

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
        super::super::local::upstream_of(&repo, "main").as_deref(),
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
        super::super::local::upstream_of(&repo, "dev").as_deref(),
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
    // `git daemon` runs git-daemon as a child of its own, which killing
    // `git` would leave serving (and holding the test's inherited files):
    // run git-daemon itself.
    let exec_path = std::process::Command::new("git")
        .arg("--exec-path")
        .output()
        .ok()?;
    let exec_path = String::from_utf8(exec_path.stdout).ok()?;
    let child = std::process::Command::new(Path::new(exec_path.trim()).join("git-daemon"))
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
