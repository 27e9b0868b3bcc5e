use super::super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::super::Git;
use super::*;
use serde_json::json;

fn repo(t: &TestHost) -> PathBuf {
    let dir = t.path("/srv/app");
    git2::Repository::init(&dir).unwrap();
    dir
}

fn file_values(path: &Path, name: &str) -> Vec<String> {
    values(path, name).unwrap().unwrap_or_default()
}

#[test]
fn config_set_a_value_then_is_clean_and_a_dry_run_writes_nothing() {
    let t = TestHost::new();
    let dir = repo(&t);
    let args = json!({"name": "user.email", "value": "ops@example.com", "repo": "/srv/app"});
    let before = t.snapshot();
    let check = t.check(&Git, "config_set", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before, "check wrote to the root");
    assert_eq!(
        comment_of(&check),
        "'user.email' would be added as 'ops@example.com'"
    );
    assert_eq!(
        changes_of(&check).unwrap(),
        &changes([("old", Value::Null), ("new", json!(["ops@example.com"]))])
    );
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        "'user.email' was added as 'ops@example.com'"
    );
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"user.email": {"old": null, "new": ["ops@example.com"]}})
    );
    assert_eq!(
        file_values(&dir.join(".git/config"), "user.email"),
        ["ops@example.com"]
    );
    let again = t.check(&Git, "config_set", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "'user.email' is already set to 'ops@example.com'"
    );
}

#[test]
fn config_set_a_multivar_replaces_every_value() {
    let t = TestHost::new();
    let dir = repo(&t);
    let cfg = dir.join(".git/config");
    let mut c = git2::Config::open(&cfg).unwrap();
    c.set_multivar("foo.multi", "^$x", "a").unwrap();
    c.set_multivar("foo.multi", "^$x", "b").unwrap();
    drop(c);
    let args = json!({"name": "foo.multi", "multivar": ["x", 2], "repo": "/srv/app"});
    let check = t.check(&Git, "config_set", args.clone()).unwrap();
    // Salt 3007.8's words and shapes, recorded with salt-call.
    assert_eq!(comment_of(&check), "'foo.multi' would be set to ['x', '2']");
    assert_eq!(
        changes_of(&check).unwrap(),
        &changes([("old", json!(["a", "b"])), ("new", json!(["x", "2"]))])
    );
    let applied = t.apply(check);
    assert_eq!(applied.comment, "'foo.multi' was set to ['x', '2']");
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"foo.multi": {"old": ["a", "b"], "new": ["x", "2"]}})
    );
    assert_eq!(file_values(&cfg, "foo.multi"), ["x", "2"]);
    assert!(is_clean(&t.check(&Git, "config_set", args).unwrap()));
}

#[test]
fn config_set_global_writes_the_users_gitconfig_under_the_root() {
    let t = TestHost::new();
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    t.write(
        "/etc/passwd",
        &format!("deploy:x:{uid}:{gid}::/home/deploy:/bin/sh\n"),
    );
    let args = json!({"name": "core.editor", "value": "vim", "global": true, "user": "deploy"});
    let check = t.check(&Git, "config_set", args.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "Global key 'core.editor' would be added as 'vim'"
    );
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        file_values(&t.path("/home/deploy/.gitconfig"), "core.editor"),
        ["vim"]
    );
    assert!(is_clean(&t.check(&Git, "config_set", args).unwrap()));

    let no_repo = t
        .check(&Git, "config_set", json!({"name": "a.b", "value": "c"}))
        .unwrap();
    assert_eq!(
        comment_of(&no_repo),
        "Non-global config options require the 'repo' argument to be set"
    );
}

#[test]
fn config_unset_removes_matching_values() {
    let t = TestHost::new();
    let dir = repo(&t);
    let cfg = dir.join(".git/config");
    let mut c = git2::Config::open(&cfg).unwrap();
    c.set_str("foo.bar", "baz").unwrap();
    c.set_multivar("foo.multi", "^$x", "a").unwrap();
    c.set_multivar("foo.multi", "^$x", "b").unwrap();
    drop(c);

    // A multivar needs all: True (Salt's words).
    let greedy = t
        .check(
            &Git,
            "config_unset",
            json!({"name": "foo.multi", "repo": "/srv/app"}),
        )
        .unwrap();
    assert_eq!(
        comment_of(&greedy),
        "Multivar(s) matched by the key expression (set 'all' to True to force removal): foo.multi (a, b)"
    );

    let args = json!({"name": "foo.multi", "repo": "/srv/app", "all": true, "value_regex": "^a$"});
    let before = t.snapshot();
    let check = t.check(&Git, "config_unset", args.clone()).unwrap();
    assert_eq!(t.snapshot(), before);
    assert_eq!(comment_of(&check), "1 key(s) would have value(s) unset");
    assert_eq!(
        changes_of(&check).unwrap(),
        &changes([("foo.multi", json!(["a"]))])
    );
    let applied = t.apply(check);
    assert_eq!(applied.comment, "Value(s) successfully unset");
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"foo.multi": ["a"]})
    );
    assert_eq!(file_values(&cfg, "foo.multi"), ["b"]);
    let again = t.check(&Git, "config_unset", args).unwrap();
    assert!(is_clean(&again));
    assert_eq!(comment_of(&again), "No matching keys are set");

    // Every value of a key (Salt 3007.8 raises a KeyError here).
    let args = json!({"name": "foo.bar", "repo": "/srv/app"});
    let applied = t.apply(t.check(&Git, "config_unset", args.clone()).unwrap());
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"foo.bar": ["baz"]})
    );
    assert!(file_values(&cfg, "foo.bar").is_empty());
    assert!(is_clean(&t.check(&Git, "config_unset", args).unwrap()));
}

/// Salt's git.config_set/config_unset on a repository of its own (the git
/// command line there reads the global files too, so the keys are ones no
/// global config has), Brine's on the same repository under a test root.
#[test]
fn matches_salt() {
    use super::super::super::salt_oracle::{brine_state, Salt};
    let seed = |path: &Path| {
        let mut c = git2::Config::open(path).unwrap();
        c.set_str("brinetest.one", "old").unwrap();
        c.set_multivar("brinetest.multi", "^$x", "a").unwrap();
        c.set_multivar("brinetest.multi", "^$x", "b").unwrap();
    };
    let cases: &[(&str, Value, &[&str])] = &[
        (
            "config_set",
            json!({"name": "brinetest.new", "value": "v"}),
            &["name=brinetest.new", "value=v"],
        ),
        (
            "config_set",
            json!({"name": "brinetest.one", "value": "old"}),
            &["name=brinetest.one", "value=old"],
        ),
        (
            "config_set",
            json!({"name": "brinetest.one", "value": 5}),
            &["name=brinetest.one", "value=5"],
        ),
        (
            "config_set",
            json!({"name": "brinetest.multi", "multivar": ["x", 2]}),
            &["name=brinetest.multi", "multivar=[x, 2]"],
        ),
        (
            "config_set",
            json!({"name": "brinetest.one", "value": "v", "multivar": ["x"]}),
            &["name=brinetest.one", "value=v", "multivar=[x]"],
        ),
        (
            "config_unset",
            json!({"name": "brinetest.multi"}),
            &["name=brinetest.multi"],
        ),
        (
            "config_unset",
            json!({"name": "brinetest.multi", "all": true, "value_regex": "^a$"}),
            &["name=brinetest.multi", "all=True", "value_regex=^a$"],
        ),
        (
            "config_unset",
            json!({"name": "brinetest.none"}),
            &["name=brinetest.none"],
        ),
    ];
    for (fun, args, words) in cases {
        for test in [true, false] {
            let Some(salt) = Salt::new("") else { return };
            let salt_repo = salt.path("repo");
            git2::Repository::init(&salt_repo).unwrap();
            seed(&salt_repo.join(".git/config"));
            let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            words.push(format!("repo={}", salt_repo.display()));
            let theirs = salt.state(&format!("git.{fun}"), &words, test);

            let t = TestHost::new();
            let dir = repo(&t);
            seed(&dir.join(".git/config"));
            let mut args = args.clone();
            args["repo"] = json!("/srv/app");
            let ours = brine_state(&t, &Git, fun, args.clone(), test);
            let case = format!("git.{fun} {args} test={test}");
            assert_eq!(ours["result"], theirs["result"], "{case}");
            assert_eq!(ours["comment"], theirs["comment"], "{case}");
            assert_eq!(ours["changes"], theirs["changes"], "{case}");
            for key in ["brinetest.one", "brinetest.multi", "brinetest.new"] {
                assert_eq!(
                    file_values(&dir.join(".git/config"), key),
                    file_values(&salt_repo.join(".git/config"), key),
                    "{case}: {key}"
                );
            }
        }
    }
}
