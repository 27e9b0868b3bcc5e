//! End to end: the state tree and pillar from git (`fileserver_backend:
//! [git]`, `gitfs_remotes`, `ext_pillar: - git:`). Real repositories made
//! with the `git` binary, served by `file://` path and by git-daemon on
//! loopback; real `master serve` and `minion serve`. The master fetches
//! them with libgit2 and serves a pinned commit until the next update.
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};
use tests::git_remote::{commit, git, git_daemon, head, init_repo};

const TOP: &str = "base:\n  '*':\n    - app\n";
const APP: &str = "\
/etc/app.conf:
  file.managed:
    - source: salt://app.conf.j2
    - template: jinja
";

/// Repositories under one temp dir (git-daemon's base path).
struct Repos {
    dir: tempfile::TempDir,
}

impl Repos {
    fn new() -> Repos {
        Repos {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn init(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let p = self.path(name);
        init_repo(&p, files);
        p
    }
}

/// A master serving only git (no `file_roots`, no `pillar_roots`) with
/// `git_config` lines, and one accepted, connected minion `web1`.
struct Fixture {
    master: Master,
    minion: Minion,
}

impl Fixture {
    fn start(git_config: &str) -> Fixture {
        let master = Master::start_with_roots("127.0.0.1", &[], "", git_config);
        let minion = master.minion("web1");
        std::fs::create_dir_all(minion.root().join("etc")).unwrap();
        wait_until(Duration::from_secs(20), "web1 pending", || {
            !master.pending().is_empty()
        });
        master.cli(&["keys", "accept", "--all"]);
        master.wait_connected(&["web1"]);
        Fixture { master, minion }
    }

    fn app_conf(&self) -> String {
        std::fs::read_to_string(self.minion.root().join("etc/app.conf")).unwrap_or_default()
    }

    fn apply(&self, args: &[&str]) {
        let mut all = vec!["apply", "*"];
        all.extend(args);
        let (code, v) = self.master.json(&all);
        assert_eq!(code, Some(0), "{v:#}\n{}", self.master.log());
    }

    /// The newest job's record, as `jobs show --out json` prints it.
    fn newest_job(&self) -> Value {
        let (_, jobs) = self.master.json(&["jobs", "list"]);
        let jid = jobs[0]["jid"].as_str().unwrap().to_string();
        let (code, shown) = self.master.json(&["jobs", "show", &jid]);
        assert_eq!(code, Some(0), "{shown:#}");
        shown["record"].clone()
    }

    fn status(&self) -> Value {
        let (code, v) = self.master.json(&["fileserver", "status"]);
        assert_eq!(code, Some(0), "{v:#}");
        v
    }
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

#[test]
fn a_push_changes_what_apply_applies_after_fileserver_update_and_jobs_record_both_commits() {
    let repos = Repos::new();
    let states = repos.init(
        "states",
        &[
            ("top.sls", TOP),
            ("app.sls", APP),
            ("app.conf.j2", "v1 greeting={{ pillar['greeting'] }}\n"),
        ],
    );
    let pillar = repos.init(
        "pillar",
        &[
            ("top.sls", "base:\n  '*':\n    - common\n"),
            ("common.sls", "greeting: from-git\n"),
        ],
    );
    let daemon = git_daemon(repos.dir.path(), std::net::Ipv4Addr::LOCALHOST);
    let f = Fixture::start(&format!(
        "fileserver_backend: [git]\ngitfs_update_interval: 3600\ngitfs_remotes:\n  - {}:\n    - name: states\n\
         ext_pillar:\n  - git:\n    - master git://127.0.0.1:{}/pillar:\n      - name: pillar\n",
        file_url(&states),
        daemon.port
    ));
    let (states1, pillar1) = (head(&states), head(&pillar));

    f.apply(&[]);
    assert_eq!(f.app_conf(), "v1 greeting=from-git\n");
    let record = f.newest_job();
    assert_eq!(
        record["tree_commit"]["states"]["base"],
        states1.as_str(),
        "{record:#}"
    );
    assert_eq!(
        record["pillar_commit"]["pillar"]["base"],
        pillar1.as_str(),
        "{record:#}"
    );
    let human = f
        .master
        .cli(&["jobs", "show", record["jid"].as_str().unwrap()]);
    assert!(human.stdout.contains(&states1), "{human:?}");
    assert!(human.stdout.contains(&pillar1), "{human:?}");

    // Pushed, not fetched: the master still serves the pinned commit.
    let states2 = commit(
        &states,
        &[("app.conf.j2", "v2 greeting={{ pillar['greeting'] }}\n")],
        "v2",
    );
    let pillar2 = commit(&pillar, &[("common.sls", "greeting: pushed\n")], "pushed");
    f.apply(&[]);
    assert_eq!(f.app_conf(), "v1 greeting=from-git\n");

    let (code, v) = f.master.json(&["fileserver", "update"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(
        v["remotes"][0]["saltenvs"]["base"],
        states2.as_str(),
        "{v:#}"
    );
    assert_eq!(
        v["remotes"][1]["pillarenvs"]["base"],
        pillar2.as_str(),
        "{v:#}"
    );
    assert_eq!(v["remotes"][0]["last_error"], Value::Null, "{v:#}");
    assert!(v["remotes"][0]["last_fetch"].is_i64(), "{v:#}");
    f.apply(&[]);
    assert_eq!(f.app_conf(), "v2 greeting=pushed\n");
    let record = f.newest_job();
    assert_eq!(
        record["tree_commit"]["states"]["base"],
        states2.as_str(),
        "{record:#}"
    );
    assert_eq!(
        record["pillar_commit"]["pillar"]["base"],
        pillar2.as_str(),
        "{record:#}"
    );

    // A branch is a saltenv of its name: `prod` serves saltenv prod.
    git(&states, &["checkout", "-q", "-b", "prod"]);
    let prod = commit(
        &states,
        &[("app.conf.j2", "prod greeting={{ pillar['greeting'] }}\n")],
        "prod",
    );
    git(&states, &["checkout", "-q", "master"]);
    let (code, v) = f.master.json(&["fileserver", "update"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["remotes"][0]["saltenvs"]["prod"], prod.as_str(), "{v:#}");
    f.apply(&["app", "saltenv=prod"]);
    assert_eq!(f.app_conf(), "prod greeting=pushed\n");
    let record = f.newest_job();
    assert_eq!(record["saltenv"], "prod", "{record:#}");
    assert_eq!(
        record["tree_commit"]["states"]["prod"],
        prod.as_str(),
        "{record:#}"
    );
    // And base still serves master's commit.
    f.apply(&[]);
    assert_eq!(f.app_conf(), "v2 greeting=pushed\n");
}

#[test]
fn an_unreachable_remote_keeps_serving_its_last_good_commit_and_status_says_so() {
    let repos = Repos::new();
    let states = repos.init(
        "states",
        &[
            ("top.sls", TOP),
            ("app.sls", APP),
            ("app.conf.j2", "good\n"),
        ],
    );
    let daemon = git_daemon(repos.dir.path(), std::net::Ipv4Addr::LOCALHOST);
    let mut f = Fixture::start(&format!(
        "fileserver_backend: [git]\ngitfs_update_interval: 3600\ngitfs_remotes:\n  - git://127.0.0.1:{}/states\n",
        daemon.port
    ));
    let good = head(&states);
    f.apply(&[]);
    assert_eq!(f.app_conf(), "good\n");

    drop(daemon);
    commit(
        &states,
        &[("app.conf.j2", "never fetched\n")],
        "unreachable",
    );
    let (code, v) = f.master.json(&["fileserver", "update"]);
    assert_eq!(code, Some(1), "a failed fetch is a failed update: {v:#}");
    assert_eq!(v["updated"], false, "{v:#}");
    let status = f.status();
    let remote = &status["remotes"][0];
    assert!(
        remote["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{status:#}"
    );
    assert_eq!(remote["saltenvs"]["base"], good.as_str(), "{status:#}");
    assert!(
        f.master.log().contains("cannot fetch a git remote"),
        "{}",
        f.master.log()
    );

    f.apply(&[]);
    assert_eq!(f.app_conf(), "good\n");
    assert_eq!(
        f.newest_job()["tree_commit"][remote["name"].as_str().unwrap()]["base"],
        good.as_str()
    );

    // A restart with the remote still gone serves the last good commit
    // too (the refs the last good fetch left).
    f.master.restart();
    f.master.wait_connected(&["web1"]);
    let status = f.status();
    assert_eq!(
        status["remotes"][0]["saltenvs"]["base"],
        good.as_str(),
        "{status:#}"
    );
    assert!(status["remotes"][0]["last_error"].is_string(), "{status:#}");
    f.apply(&[]);
    assert_eq!(f.app_conf(), "good\n");
}

/// Commit `n` of a tree whose two files must agree: `version.yaml` names
/// `conf/<n>.conf`, the only file under `conf/`.
fn versioned(n: u32) -> Vec<(String, String)> {
    let mut files = vec![
        ("version.yaml".to_string(), format!("version: {n}\n")),
        (format!("conf/{n}.conf"), format!("version {n}\n")),
    ];
    if n > 1 {
        files.push((format!("conf/{}.conf", n - 1), String::new()));
    }
    files
}

/// The compile reads `version.yaml`, then waits (a command on the minion,
/// through the render's probe) at a gate the test opens only after a new
/// commit was fetched and pinned, then reads `version.yaml` again and
/// names `conf/<version>.conf`, which the minion fetches after the
/// compile. A tree updated in place would give the second read the new
/// version, or leave the file the manifest names missing.
#[test]
fn a_compile_during_an_update_sees_one_commit() {
    let repos = Repos::new();
    let gates = tempfile::tempdir().unwrap();
    let (mark, gate) = (gates.path().join("compiling"), gates.path().join("open"));
    let app = format!(
        "\
{{% import_yaml 'version.yaml' as before %}}
{{% set _ = salt['cmd.run']('/bin/sh -c \"touch {mark}; while ! test -e {gate}; do sleep 0.05; done\"') %}}
{{% import_yaml 'version.yaml' as after %}}
/etc/before:
  file.managed:
    - contents: '{{{{ before.version }}}}'
/etc/app.conf:
  file.managed:
    - source: salt://conf/{{{{ after.version }}}}.conf
",
        mark = mark.display(),
        gate = gate.display()
    );
    let first = versioned(1);
    let mut files: Vec<(&str, &str)> = vec![("top.sls", TOP), ("app.sls", &app)];
    files.extend(first.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    let states = repos.init("states", &files);
    let f = Fixture::start(&format!(
        "fileserver_backend: [git]\ngitfs_update_interval: 3600\ngitfs_remotes:\n  - {}\n",
        file_url(&states)
    ));
    let before = |f: &Fixture| {
        std::fs::read_to_string(f.minion.root().join("etc/before"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    std::thread::scope(|s| {
        let job = s.spawn(|| f.apply(&[]));
        wait_until(
            Duration::from_secs(30),
            "the compile to reach the gate",
            || mark.exists(),
        );
        let second = versioned(2);
        let second: Vec<(&str, &str)> = second
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let v2 = commit(&states, &second, "v2");
        let (code, v) = f.master.json(&["fileserver", "update"]);
        assert_eq!(code, Some(0), "{v:#}");
        assert_eq!(v["remotes"][0]["saltenvs"]["base"], v2.as_str(), "{v:#}");
        std::fs::write(&gate, "").unwrap();
        job.join().unwrap();
    });
    assert_eq!(before(&f), "1");
    assert_eq!(f.app_conf(), "version 1\n");
    // The next job compiles from the new commit, whole.
    f.apply(&[]);
    assert_eq!(before(&f), "2");
    assert_eq!(f.app_conf(), "version 2\n");
}

#[test]
fn two_masters_with_the_same_remote_serve_the_same_commit_within_one_interval() {
    let repos = Repos::new();
    let states = repos.init("states", &[("top.sls", TOP)]);
    let config = format!(
        "fileserver_backend: [roots, git]\ngitfs_update_interval: 1\ngitfs_remotes:\n  - {}\n",
        file_url(&states)
    );
    let a = Master::start_with(&[], &config);
    let b = Master::start_with(&[], &config);
    let pinned = |m: &Master| {
        let (_, v) = m.json(&["fileserver", "status"]);
        v["remotes"][0]["saltenvs"]["base"]
            .as_str()
            .map(str::to_string)
    };
    let first = head(&states);
    assert_eq!(pinned(&a).as_deref(), Some(first.as_str()));
    assert_eq!(pinned(&b).as_deref(), Some(first.as_str()));
    let second = commit(&states, &[("top.sls", "base: {}\n")], "two");
    wait_until(
        Duration::from_secs(30),
        "both masters to pin the pushed commit",
        || {
            pinned(&a).as_deref() == Some(second.as_str())
                && pinned(&b).as_deref() == Some(second.as_str())
        },
    );
}

#[test]
fn a_git_option_brine_does_not_implement_stops_the_master_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("master.yaml");
    std::fs::write(
        &config,
        "fileserver_backend: [git]\ngitfs_remotes:\n  - file:///nonexistent:\n    - ref_types: [branch]\n",
    )
    .unwrap();
    let mut cmd = std::process::Command::new(tests::bin("master"));
    cmd.args(["serve", "--config"]).arg(&config);
    let out = tests::run(cmd, Duration::from_secs(30)).unwrap();
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("ref_types"), "{out:?}");
}

/// `master plan --rev BRANCH`: the master fetches the gitfs remote and plans
/// the branch's tree (a pull request's, pushed after the last update) against
/// what it serves, touching no host; `apply --plan --rev` applies it, and is
/// refused once the branch moved.
#[test]
fn a_plan_of_a_gitfs_branch_is_fetched_compared_and_applied_by_rev() {
    let repos = Repos::new();
    let app = |text: &str| format!("/etc/app.conf:\n  file.managed:\n    - contents: {text}\n");
    let states = repos.init("states", &[("top.sls", TOP), ("app.sls", &app("v1"))]);
    let f = Fixture::start(&format!(
        "fileserver_backend: [git]\ngitfs_update_interval: 3600\ngitfs_remotes:\n  - {}\n",
        file_url(&states)
    ));
    f.apply(&[]);
    assert_eq!(f.app_conf(), "v1\n");

    // A branch pushed after the master's last fetch.
    git(&states, &["checkout", "-q", "-b", "feature"]);
    let feature = commit(&states, &[("app.sls", &app("v2"))], "v2");
    git(&states, &["checkout", "-q", "master"]);

    let jobs_before = f.master.json(&["jobs", "list"]).1;
    let plan_file = tempfile::NamedTempFile::new().unwrap();
    let plan_path = plan_file.path().to_str().unwrap();
    let (code, v) = f
        .master
        .json(&["plan", "*", "--rev", "feature", "--save", plan_path]);
    assert_eq!(code, Some(4), "{v:#}\n{}", f.master.log());
    assert_eq!(
        v["web1"]["changed"][0]["args"]["contents"],
        serde_json::json!({"old": "v1", "new": "v2"}),
        "{v:#}"
    );
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(plan_file.path()).unwrap()).unwrap();
    assert_eq!(saved["rev"], "feature", "{saved:#}");
    assert_eq!(saved["commit"], feature.as_str(), "{saved:#}");
    // Nothing applied, nothing published, and the master still serves master.
    assert_eq!(f.app_conf(), "v1\n");
    assert_eq!(f.master.json(&["jobs", "list"]).1, jobs_before);
    let (code, v) = f.master.json(&["plan", "*", "--rev", "master"]);
    assert_eq!(code, Some(0), "{v:#}");

    let out = f.master.cli(&["plan", "*", "--rev", "no-such-branch"]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("no branch, tag or commit \"no-such-branch\""),
        "{}",
        out.stderr
    );

    // Applied by rev: exactly the planned tree.
    let (code, v) = f
        .master
        .json(&["apply", "--plan", plan_path, "--rev", "feature"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", f.master.log());
    assert_eq!(f.app_conf(), "v2\n");

    // The branch moves on: the saved plan is refused, naming the tree.
    git(&states, &["checkout", "-q", "feature"]);
    commit(&states, &[("app.sls", &app("v3"))], "v3");
    git(&states, &["checkout", "-q", "master"]);
    let out = f
        .master
        .cli(&["apply", "--plan", plan_path, "--rev", "feature"]);
    assert_ne!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("state tree changed"), "{}", out.stderr);
    assert_eq!(f.app_conf(), "v2\n");
}
