//! End to end: `master plan` (what a candidate state tree would change on
//! each minion, nothing published) and `master apply --plan` (exactly the
//! saved chunks, refused once a minion's grains or the tree moved). Real
//! `master serve` and three `minion serve` on loopback, with different
//! pillar; the candidate tree is a directory of the operator's, as a CI
//! runner's checkout is.
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master, Minion};

const IDS: [&str; 3] = ["web1", "web2", "web3"];
const TOP: &str = "base:\n  '*':\n    - app\n";

/// The master's tree.
const APP: &str = "\
/etc/app.conf:
  file.managed:
    - contents: level={{ pillar['level'] }}
    - mode: '0644'
/etc/motd:
  file.managed:
    - contents: hello
";

/// The candidate: app.conf's mode differs only where the pillar says
/// `level: high` (web1).
const APP_MODE: &str = "\
/etc/app.conf:
  file.managed:
    - contents: level={{ pillar['level'] }}
    - mode: '{{ \"0600\" if pillar['level'] == 'high' else \"0644\" }}'
/etc/motd:
  file.managed:
    - contents: hello
";

const APP_TAG: &str = "file_|-/etc/app.conf_|-/etc/app.conf_|-managed";

struct Fleet {
    master: Master,
    minions: Vec<Minion>,
}

impl Fleet {
    fn start() -> Fleet {
        let master = Master::start(&[
            ("salt/top.sls", TOP),
            ("salt/app.sls", APP),
            (
                "pillar/top.sls",
                "base:\n  web1:\n    - high\n  'web[23]':\n    - low\n",
            ),
            ("pillar/high.sls", "level: high\n"),
            ("pillar/low.sls", "level: low\n"),
        ]);
        let minions: Vec<Minion> = IDS
            .iter()
            .map(|id| {
                let m = master.minion(id);
                std::fs::create_dir_all(m.root().join("etc")).unwrap();
                m
            })
            .collect();
        wait_until(Duration::from_secs(30), "three pending keys", || {
            master.pending().len() == 3
        });
        master.cli(&["keys", "accept", "--all"]);
        master.wait_connected(&IDS);
        Fleet { master, minions }
    }

    fn plan(&self, tree: &Path, extra: &[&str]) -> (Option<i32>, Value) {
        self.plan_on("*", tree, extra)
    }

    fn plan_on(&self, target: &str, tree: &Path, extra: &[&str]) -> (Option<i32>, Value) {
        let mut args = vec!["plan", target, "--tree", tree.to_str().unwrap()];
        args.extend(extra);
        self.master.json(&args)
    }

    /// Jobs each minion received so far (`record_received`).
    fn jobs_received(&self) -> Vec<usize> {
        self.minions
            .iter()
            .map(|m| {
                m.received()
                    .lines()
                    .filter(|l| l.starts_with("{\"Job\""))
                    .count()
            })
            .collect()
    }

    fn job_count(&self) -> usize {
        let (_, jobs) = self.master.json(&["jobs", "list"]);
        jobs.as_array().unwrap().len()
    }
}

/// A candidate checkout holding `top.sls` and `app.sls`.
fn candidate(app: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("top.sls"), TOP).unwrap();
    std::fs::write(dir.path().join("app.sls"), app).unwrap();
    // A checkout's own metadata is not part of the tree.
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/HEAD"), "{{ broken\n").unwrap();
    dir
}

fn tags(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|c| {
            assert_eq!(c["state"], "file", "{c}");
            c["__id__"].as_str().unwrap()
        })
        .collect()
}

fn no_difference() -> Value {
    json!({"added": [], "removed": [], "changed": []})
}

#[test]
fn a_plan_lists_exactly_the_chunks_each_minion_would_change_and_publishes_nothing() {
    let fleet = Fleet::start();
    // `wait_connected`'s test.ping is a job; plans must add none.
    let (jobs, received) = (fleet.job_count(), fleet.jobs_received());
    assert!(
        received.iter().all(|n| *n > 0),
        "record_received records jobs"
    );

    // The master's own tree as the candidate: nothing differs anywhere.
    let same = candidate(APP);
    let (code, v) = fleet.plan(same.path(), &[]);
    assert_eq!(code, Some(0), "{v:#}");
    for id in IDS {
        assert_eq!(v[id], no_difference(), "{id}: {v:#}");
    }

    // One argument that only web1's pillar makes differ: that chunk, on
    // web1 only, argument by argument.
    let mode = candidate(APP_MODE);
    let (code, v) = fleet.plan(mode.path(), &[]);
    assert_eq!(code, Some(4), "{v:#}");
    assert_eq!(
        v["web1"],
        json!({"added": [], "removed": [], "changed": [
            {"tag": APP_TAG, "args": {"mode": {"old": "0644", "new": "0600"}}}
        ]}),
        "{v:#}"
    );
    assert_eq!(v["web2"], no_difference(), "{v:#}");
    assert_eq!(v["web3"], no_difference(), "{v:#}");
    assert_eq!(v.as_object().unwrap().len(), 3, "{v:#}");
    // The human form is a compact diff with the same exit status.
    let out = fleet
        .master
        .cli(&["plan", "*", "--tree", mode.path().to_str().unwrap()]);
    assert_eq!(out.code, Some(4), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "web1:\n  ~ {APP_TAG}\n      mode: \"0644\" -> \"0600\"\n"
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("web2: no changes"), "{}", out.stdout);

    // A chunk added and one removed, on every minion.
    let moved = candidate(&APP.replace(
        "/etc/motd:\n  file.managed:\n    - contents: hello\n",
        "/etc/new:\n  file.managed:\n    - contents: new\n",
    ));
    let (code, v) = fleet.plan_on("web2,web3", moved.path(), &["-L"]);
    assert_eq!(code, Some(4), "{v:#}");
    assert_eq!(v.as_object().unwrap().len(), 2, "only the targeted: {v:#}");
    for id in ["web2", "web3"] {
        assert_eq!(tags(&v[id]["added"]), ["/etc/new"], "{v:#}");
        assert_eq!(tags(&v[id]["removed"]), ["/etc/motd"], "{v:#}");
        assert_eq!(v[id]["changed"], json!([]), "{v:#}");
        assert_eq!(v[id]["added"][0]["contents"], "new", "{v:#}");
    }

    // A render error: exit 2, with the candidate's file, line and column.
    let broken =
        candidate("/etc/app.conf:\n  file.managed:\n    - contents: {{ pillar['level' }}\n");
    let (code, v) = fleet.plan(broken.path(), &[]);
    assert_eq!(code, Some(2), "{v:#}");
    for id in IDS {
        let e = &v[id]["errors"][0];
        assert_eq!(e["file"], "app.sls", "{v:#}");
        assert_eq!(e["line"], 3, "{v:#}");
        assert!(e["column"].is_u64(), "{v:#}");
        assert!(
            e["message"].as_str().unwrap().contains("app.sls, line 3"),
            "{v:#}"
        );
    }

    // A host probe: asked of the live minion (read-only), or with
    // --offline refused, naming the file and the call.
    // The minions share this host, so the probed path names the minion.
    let flags = tempfile::tempdir().unwrap();
    std::fs::write(flags.path().join("web2"), "").unwrap();
    let probing = candidate(&format!(
        "{APP}{{% if salt['file.file_exists']('{}/' ~ grains['id']) %}}\n\
         /etc/flagged:\n  file.managed:\n    - contents: flagged\n{{% endif %}}\n",
        flags.path().display()
    ));
    let (code, v) = fleet.plan(probing.path(), &[]);
    assert_eq!(code, Some(4), "{v:#}");
    assert_eq!(tags(&v["web2"]["added"]), ["/etc/flagged"], "{v:#}");
    assert_eq!(v["web1"], no_difference(), "{v:#}");
    assert_eq!(v["web3"], no_difference(), "{v:#}");
    let (code, v) = fleet.plan(probing.path(), &["--offline"]);
    assert_eq!(code, Some(2), "{v:#}");
    for id in IDS {
        let e = &v[id]["errors"][0];
        assert_eq!(e["file"], "app.sls", "{v:#}");
        let msg = e["message"].as_str().unwrap();
        assert!(
            msg.contains("file.file_exists") && msg.contains("--offline"),
            "{msg}"
        );
    }

    // No job was published, and no minion received one or changed.
    assert_eq!(fleet.job_count(), jobs);
    assert_eq!(fleet.jobs_received(), received);
    for m in &fleet.minions {
        assert!(!m.root().join("etc/app.conf").exists(), "{}", m.id);
    }
}

#[test]
fn a_saved_plan_applies_its_chunks_and_is_refused_once_the_tree_or_grains_moved() {
    let fleet = Fleet::start();
    let jobs = fleet.job_count();
    let work = tempfile::tempdir().unwrap();
    let plan_file = work.path().join("plan.json");
    let plan_path = plan_file.to_str().unwrap();
    let app = format!("{APP_MODE}/etc/new:\n  file.managed:\n    - contents: new\n");
    let cand = candidate(&app);
    let tree = cand.path().to_str().unwrap();

    let (code, v) = fleet.plan(cand.path(), &["--save", plan_path]);
    assert_eq!(code, Some(4), "{v:#}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    for id in IDS {
        let m = &saved["minions"][id];
        assert_eq!(m["grains"].as_str().unwrap().len(), 64, "{saved:#}");
        assert_eq!(m["pillar"].as_str().unwrap().len(), 64, "{saved:#}");
        assert_eq!(
            tags(&m["chunks"]),
            ["/etc/app.conf", "/etc/motd", "/etc/new"],
            "{saved:#}"
        );
    }
    assert_eq!(saved["tree"].as_str().unwrap().len(), 64, "{saved:#}");

    // Applied: the candidate's chunks (the master's tree has no /etc/new).
    let (code, v) = fleet
        .master
        .json(&["apply", "--plan", plan_path, "--tree", tree]);
    assert_eq!(code, Some(0), "{v:#}\n{}", fleet.master.log());
    for m in &fleet.minions {
        let root = m.root();
        assert_eq!(
            std::fs::read_to_string(root.join("etc/new")).unwrap(),
            "new\n"
        );
        let level = if m.id == "web1" { "high" } else { "low" };
        assert_eq!(
            std::fs::read_to_string(root.join("etc/app.conf")).unwrap(),
            format!("level={level}\n")
        );
        let mode = std::fs::metadata(root.join("etc/app.conf"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, if m.id == "web1" { 0o600 } else { 0o644 }, "{}", m.id);
    }
    assert_eq!(fleet.job_count(), jobs + 1);

    // The checkout moved after the plan: refused, naming the tree.
    std::fs::write(
        cand.path().join("app.sls"),
        format!("{app}# a later commit\n"),
    )
    .unwrap();
    let out = fleet
        .master
        .cli(&["apply", "--plan", plan_path, "--tree", tree]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("state tree changed since the plan"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("nothing was published"),
        "{}",
        out.stderr
    );
    std::fs::write(cand.path().join("app.sls"), &app).unwrap();

    // A minion's grains changed since the plan: refused, naming it and grains.
    let out = fleet
        .master
        .cli(&["run", "web2", "grains.setval", "role", "moved"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let grains_digest = |id: &str| {
        let again = work.path().join("again.json");
        let (code, _) = fleet.plan(cand.path(), &["--save", again.to_str().unwrap()]);
        assert_eq!(code, Some(4));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
        v["minions"][id]["grains"].clone()
    };
    wait_until(
        Duration::from_secs(20),
        "the master to cache web2's new grains",
        || grains_digest("web2") != saved["minions"]["web2"]["grains"],
    );
    assert_eq!(grains_digest("web1"), saved["minions"]["web1"]["grains"]);
    let out = fleet
        .master
        .cli(&["apply", "--plan", plan_path, "--tree", tree, "--test"]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("web2: its grains changed since the plan was made"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("web1") && !out.stderr.contains("web3"),
        "{}",
        out.stderr
    );
    assert_eq!(fleet.job_count(), jobs + 2, "the grains.setval job only");

    // The master's pillar moved for web2 and web3: both named, with pillar.
    let low = fleet.master.dir.path().join("pillar/low.sls");
    std::fs::write(&low, "level: lower\n").unwrap();
    let out = fleet
        .master
        .cli(&["apply", "--plan", plan_path, "--tree", tree]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    for id in ["web2", "web3"] {
        let moved = format!("{id}: its pillar changed since the plan was made");
        assert!(out.stderr.contains(&moved), "{}", out.stderr);
    }
    assert!(!out.stderr.contains("web1"), "{}", out.stderr);
    assert_eq!(fleet.job_count(), jobs + 2);
}

/// A gpg-encrypted pillar value in a chunk: the plan and its saved file show
/// `<secret db:password>`, never the plaintext, and the apply of that plan
/// still writes the plaintext (the master recompiles it). A candidate pillar
/// tree replaces the master's pillar roots for the plan.
#[test]
fn plans_hide_gpg_secrets_and_a_candidate_pillar_tree_replaces_the_pillar() {
    use tests::gpg_keyring::Keyring;
    const PLAINTEXT: &str = "s3cret-Plan-4242";
    let key = Keyring::temporary();
    let secrets = format!(
        "#!yaml|gpg\ndb:\n  password: {}",
        key.encrypt_yaml_block(PLAINTEXT, 4)
    );
    let app = "/etc/app.conf:\n  file.managed:\n    - contents: \"password={{ pillar['db']['password'] }}\"\n";
    let master = Master::start_with(
        &[
            ("salt/top.sls", TOP),
            ("salt/app.sls", app),
            ("pillar/top.sls", "base:\n  web1:\n    - secrets\n"),
            ("pillar/secrets.sls", &secrets),
        ],
        &format!("gpg_keydir: {}\n", key.home().display()),
    );
    let web1 = master.minion("web1");
    std::fs::create_dir_all(web1.root().join("etc")).unwrap();
    wait_until(Duration::from_secs(20), "web1 pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);
    let work = tempfile::tempdir().unwrap();
    let plan_file = work.path().join("plan.json");

    let cand = candidate(&app.replace("}}\"", "}} v2\""));
    let tree = cand.path().to_str().unwrap();
    let out = master.cli(&[
        "plan",
        "web1",
        "--tree",
        tree,
        "--out",
        "json",
        "--save",
        plan_file.to_str().unwrap(),
    ]);
    assert_eq!(out.code, Some(4), "{}{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["web1"]["changed"][0]["args"]["contents"],
        json!({"old": "password=<secret db:password>", "new": "password=<secret db:password> v2"}),
        "{v:#}"
    );
    let saved = std::fs::read_to_string(&plan_file).unwrap();
    for text in [&out.stdout, &out.stderr, &saved] {
        assert!(!text.contains(PLAINTEXT), "{text}");
    }
    assert!(saved.contains("<secret db:password>"), "{saved}");

    let (code, v) = master.json(&[
        "apply",
        "--plan",
        plan_file.to_str().unwrap(),
        "--tree",
        tree,
    ]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(!v.to_string().contains(PLAINTEXT), "{v:#}");
    assert_eq!(
        std::fs::read_to_string(web1.root().join("etc/app.conf")).unwrap(),
        format!("password={PLAINTEXT} v2\n")
    );

    // The same state tree with a candidate pillar tree of plain values.
    let pillar = tempfile::tempdir().unwrap();
    std::fs::write(
        pillar.path().join("top.sls"),
        "base:\n  web1:\n    - plain\n",
    )
    .unwrap();
    std::fs::write(
        pillar.path().join("plain.sls"),
        "db:\n  password: visible\n",
    )
    .unwrap();
    let same = candidate(app);
    let (code, v) = master.json(&[
        "plan",
        "web1",
        "--tree",
        same.path().to_str().unwrap(),
        "--pillar-tree",
        pillar.path().to_str().unwrap(),
    ]);
    assert_eq!(code, Some(4), "{v:#}");
    assert_eq!(
        v["web1"]["changed"][0]["args"]["contents"],
        json!({"old": "password=<secret db:password>", "new": "password=visible"}),
        "{v:#}"
    );
    assert!(!v.to_string().contains(PLAINTEXT), "{v:#}");
}
