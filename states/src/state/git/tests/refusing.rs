//! What git.latest refuses unless told (local changes, non-fast-forwards,
//! a non-empty target) and what it refuses outright (hostile URLs and revs,
//! bad arguments), in Salt's words.
use super::*;

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
