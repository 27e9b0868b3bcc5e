//! Hostile names, paths, templates, shells and secrets against the running
//! daemons (real `master serve` and `minion serve` on loopback, or a raw
//! minion session for requests the real minion never makes). Each test
//! shows the attempt is refused, logged where the daemon is the one
//! refusing, and that nothing changed on either side.
//! docs/hostile-input-paths.md lists what each test checks.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::data::Map;
use serde_json::{json, Value};
use tests::daemons::{wait_until, Master, Minion};
use tests::raw_minion::RawMinion;
use transport::wire::{Admission, FetchWhat, JobReturn, MasterMsg, MinionMsg};

/// Every path under `dir` (not following symlinks), relative, sorted;
/// `skip` leaves out paths that legitimately change (the log, SQLite's
/// journal files).
fn snapshot(dir: &Path, skip: &[&str]) -> Vec<String> {
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
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

fn accept_and_connect(master: &Master, ids: &[&str]) {
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
fn one_sls_master(name: &str, sls: &str, pillar: &str) -> Master {
    let top = format!("base:\n  '*':\n    - {name}\n");
    let (state, pillar_file) = (format!("salt/{name}.sls"), format!("pillar/{name}.sls"));
    Master::start(&[
        ("salt/top.sls", top.as_str()),
        (state.as_str(), sls),
        ("pillar/top.sls", top.as_str()),
        (pillar_file.as_str(), pillar),
    ])
}

fn raw_minion(master: &Master, id: &str, grains: Value) -> RawMinion {
    let (raw, admission) = RawMinion::connect(master.ret_port, id).unwrap();
    assert_eq!(admission, Admission::Accepted, "auto_accept is on");
    raw.send(&MinionMsg::Grains { grains }).unwrap();
    wait_until(Duration::from_secs(10), "grains cached", || {
        master.dir.path().join("cache/minions").join(id).exists()
    });
    raw
}

#[test]
fn hostile_minion_ids_are_refused_at_admission_and_create_nothing() {
    // auto_accept: a valid id would get a key file at once, so the only
    // thing keeping these out is the id check.
    let master = Master::start_with(&[("salt/top.sls", "base: {}\n")], "auto_accept: True\n");
    let good = master.minion("good1");
    master.wait_connected(&["good1"]);
    let skip = ["master.log", "cache/jobs.sqlite"];
    let before = snapshot(master.dir.path(), &skip);
    let escape = std::env::temp_dir().join(format!("brine-hostile-id-{}", std::process::id()));
    let deep = format!("../../../../../../../..{}", escape.display());
    let long = "a".repeat(300);
    let ids = [
        "../x",
        deep.as_str(),
        "a/b",
        "/etc/passwd",
        "x\0y",
        "%2e%2e",
        "..",
        ".hidden",
        "x\ny",
        "red\u{1b}[31m",
        long.as_str(),
    ];
    let minions: Vec<Minion> = ids
        .iter()
        .map(|id| Minion::start(&yaml_str(id), master.ret_port, ""))
        .collect();
    for (m, id) in minions.iter().zip(ids) {
        wait_until(Duration::from_secs(30), &format!("{id:?} refused"), || {
            m.log().contains("the master refused this minion")
        });
        assert!(m.log().contains("invalid minion id"), "{id:?}: {}", m.log());
        assert!(m.jobs_started().is_empty());
    }
    let log = master.log();
    for id in ids {
        // Logged, escaped and cut: the log shows `"x\0y"`, never the bytes.
        let shown: String = id.chars().take(64).collect();
        assert!(
            log.contains(&format!("{shown:?}")),
            "{id:?} not in the log:\n{log}"
        );
    }
    assert!(!log.contains('\0') && !log.contains("x\ny") && !log.contains('\u{1b}'));
    assert!(log.matches("minion refused").count() >= ids.len(), "{log}");

    // The operator's side of the same names.
    for args in [
        &["keys", "accept", "../x"][..],
        &["keys", "delete", "a/b"],
        &["keys", "fingerprint", ".."],
        &["render", "../x"],
        &["jobs", "show", "../../etc/passwd"],
    ] {
        let out = master.cli(args);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(out.stderr.contains("invalid"), "{args:?}: {}", out.stderr);
    }
    // The job id is refused by the command itself, before anything is sent
    // (a `Jid` is checked where it is parsed); the master refuses the rest.
    assert!(master.log().matches("refused an operator request").count() >= 4);

    let (_, keys) = master.json(&["keys", "list"]);
    assert_eq!(keys["minions"], json!(["good1"]));
    assert_eq!(keys["minions_pre"], json!([]));
    assert_eq!(snapshot(master.dir.path(), &skip), before);
    assert!(!escape.exists());
    drop(good);
}

/// A minion whose grains are templates and shell: they are data.
#[test]
fn grains_are_data_never_templates_or_shell() {
    let canaries = tempfile::tempdir().unwrap();
    let c = canaries.path().display();
    let evil = "{{ 7*7 }}";
    let block = "{% for x in range(3) %}loop{% endfor %}";
    let shell = format!("$(touch {c}/dollar) `touch {c}/tick`; touch {c}/semi");
    let show = "\
/etc/evil.txt:
  file.managed:
    - contents: {{ grains['evil'] | json }}
/etc/block.txt:
  file.managed:
    - contents: {{ grains['block'] | json }}
/etc/shell.txt:
  file.managed:
    - contents: {{ grains['shell'] | json }}
/etc/motd:
  file.managed:
    - source: salt://motd.j2
    - template: jinja
";
    let master = Master::start(&[
        ("salt/top.sls", "base:\n  '*':\n    - show\n"),
        ("salt/show.sls", show),
        (
            "salt/motd.j2",
            "evil={{ grains['evil'] }} shell={{ grains['shell'] }}\n",
        ),
        ("pillar/top.sls", "base: {}\n"),
    ]);
    let grains = format!(
        "grains:\n  evil: {}\n  block: {}\n  shell: {}\n",
        yaml_str(evil),
        yaml_str(block),
        yaml_str(&shell)
    );
    let m = Minion::start("m1", master.ret_port, &grains);
    std::fs::create_dir_all(m.root().join("etc")).unwrap();
    accept_and_connect(&master, &["m1"]);

    // Targeting by a grain matches the literal text.
    let (code, v) = master.json(&["run", "-G", &format!("evil:{evil}"), "test.ping"]);
    assert_eq!((code, v), (Some(0), json!({"m1": true})));
    let out = master.cli(&["run", "-G", "evil:49", "test.ping"]);
    assert_eq!(out.code, Some(1), "{out:?}");

    // The master's compile shows the literal values.
    let (code, chunks) = master.json(&["render", "m1"]);
    assert_eq!(code, Some(0), "{chunks:#}");
    let text = chunks.to_string();
    for literal in [evil, block, shell.as_str()] {
        assert!(
            text.contains(&json!(literal).to_string()),
            "{literal}: {text}"
        );
    }
    assert!(!text.contains("49") && !text.contains("looploop"), "{text}");

    // Applied: the files hold the literal text; the master-rendered template too.
    let (code, v) = master.json(&["apply", "m1"]);
    assert_eq!(code, Some(0), "{v:#}");
    let read = |p: &str| std::fs::read_to_string(m.root().join(p)).unwrap();
    assert_eq!(read("etc/evil.txt").trim_end(), evil);
    assert_eq!(read("etc/block.txt").trim_end(), block);
    assert_eq!(read("etc/shell.txt").trim_end(), shell);
    assert_eq!(read("etc/motd"), format!("evil={evil} shell={shell}\n"));
    let (_, v) = master.json(&["run", "m1", "grains.get", "shell"]);
    assert_eq!(v["m1"], json!(shell));
    assert_eq!(snapshot(canaries.path(), &[]), Vec::<String>::new());
}

#[test]
fn cmd_run_from_the_cli_is_argv_unless_a_shell_is_asked_for() {
    let canaries = tempfile::tempdir().unwrap();
    let touched = canaries.path().join("x");
    let master = Master::start(&[("salt/top.sls", "base: {}\n")]);
    let _m = master.minion("m1");
    accept_and_connect(&master, &["m1"]);
    let line = format!("echo $(id) ; touch {}", touched.display());

    // argv: `echo` gets `$(id)`, `;`, `touch`, the path as its arguments.
    let (code, v) = master.json(&["run", "m1", "cmd.run", &line]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(
        v["m1"],
        json!(format!("$(id) ; touch {}", touched.display()))
    );
    assert!(!touched.exists());
    for off in ["python_shell=False", "python_shell=no"] {
        let (_, v) = master.json(&["run", "m1", "cmd.run", &line, off]);
        assert!(v["m1"].as_str().unwrap().starts_with("$(id) ;"), "{v}");
        assert!(!touched.exists());
    }

    // The documented opt-in: the same line through /bin/sh.
    let (code, v) = master.json(&["run", "m1", "cmd.run", &line, "python_shell=True"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(v["m1"].as_str().unwrap().starts_with("uid="), "{v}");
    assert!(touched.exists());
}

#[test]
fn git_urls_and_options_from_pillar_cannot_inject_options() {
    let canaries = tempfile::tempdir().unwrap();
    let c = canaries.path().display();
    let repos = json!([
        {"name": format!("--upload-pack=touch {c}/p1"), "target": "/srv/r1"},
        {"name": format!("-oProxyCommand=touch {c}/p2"), "target": "/srv/r2"},
        {"name": format!("ext::sh -c touch% {c}/p3"), "target": "/srv/r3"},
        {"name": format!("ssh://-oProxyCommand=touch% {c}/p4@host/r"), "target": "/srv/r4"},
        {"name": "fd::17", "target": "/srv/r5"},
        {"name": "/srv/none.git", "rev": format!("--upload-pack=touch {c}/p6"), "target": "/srv/r6"},
        {"name": "/srv/none.git", "branch": format!("--upload-pack=touch {c}/p7"), "target": "/srv/r7"},
        {"name": "/srv/none.git", "remote": "-oProxyCommand=x", "target": "/srv/r8"},
        {"name": "/srv/none.git", "target": format!("--upload-pack=touch {c}/p9")},
        {"name": "/srv/none.git", "target": "/../../../../../../tmp/brine-git-escape"},
        {"name": "https://example.invalid/r.git\n-oProxyCommand=x", "target": "/srv/r11"},
    ]);
    let pillar = format!("repos: {repos}\n");
    let sls = "\
{% for r in pillar['repos'] %}
repo-{{ loop.index }}:
  git.latest:
{% for k, v in r.items() %}
    - {{ k }}: {{ v | json }}
{% endfor %}
{% endfor %}
";
    let master = one_sls_master("repos", sls, &pillar);
    let m = master.minion("m1");
    accept_and_connect(&master, &["m1"]);
    let root_before = snapshot(&m.root(), &[]);
    let (code, v) = master.json(&["apply", "m1"]);
    assert_eq!(code, Some(2), "{v:#}");
    let states = v["m1"].as_object().unwrap();
    assert_eq!(states.len(), 11, "{v:#}");
    for (tag, s) in states {
        assert_eq!(s["result"], false, "{tag}: {s}");
        let comment = s["comment"].as_str().unwrap();
        assert!(
            [
                "must not begin with '-'",
                "unsupported repository URL",
                "the host must not begin",
                "not an absolute path",
                "control characters",
                "'..' component"
            ]
            .iter()
            .any(|w| comment.contains(w)),
            "{tag}: {comment}"
        );
        assert_eq!(s["changes"], json!({}), "{tag}");
    }
    assert_eq!(snapshot(canaries.path(), &[]), Vec::<String>::new());
    assert_eq!(snapshot(&m.root(), &[]), root_before);
    assert!(!Path::new("/tmp/brine-git-escape").exists());
}

/// A state tree whose roots hold a symlink to a directory outside, a
/// symlink to /dev/zero and a FIFO, next to ordinary files.
struct HostileRoots {
    master: Master,
    outside: tempfile::TempDir,
}

const CANARY: &str = "canary-outside-the-roots";

fn hostile_roots(sls: &[(&'static str, &'static str)]) -> HostileRoots {
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
fn reply_text(m: MasterMsg) -> Result<String, String> {
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

#[test]
fn salt_urls_that_leave_the_roots_are_refused_during_a_job_and_logged() {
    let h = hostile_roots(&[
        ("salt/top.sls", "base: {}\n"),
        ("salt/noop.sls", "nothing:\n  test.nop\n"),
    ]);
    let master = &h.master;
    let mut raw = raw_minion(master, "rogue", json!({"id": "rogue", "os": "Debian"}));
    // An apply, so the master holds a job (and a render session) for it.
    let config = master.config();
    let operator = std::thread::spawn(move || {
        let mut cmd = Command::new(tests::bin("master"));
        cmd.args([
            "apply", "rogue", "noop", "--out", "json", "-t", "60", "--config",
        ])
        .arg(config);
        tests::run(cmd, Duration::from_secs(90)).unwrap()
    });
    let job = raw.wait_job(Duration::from_secs(30)).expect("a job");
    let jid = job.jid.clone();
    let limit = Duration::from_secs(10);

    let bad_urls = [
        "salt://../../etc/passwd",
        "salt://../above.txt",
        "salt://sub/../../above.txt",
        "salt:///etc/passwd",
        "salt://%2e%2e/above.txt",
        "salt://ok.txt\0../../above.txt",
        "salt://etc/passwd",
        "salt://zero",
        "salt://fifo",
        "file:///etc/passwd",
        "/etc/passwd",
    ];
    let started = Instant::now();
    let mut answers = Vec::new();
    for url in bad_urls {
        let u = url.to_string();
        let fetched = raw.request(
            |req| MinionMsg::Fetch {
                req,
                jid: jid.clone(),
                what: FetchWhat::Url(u.clone()),
            },
            limit,
        );
        let rendered = raw.request(
            |req| MinionMsg::Render {
                req,
                jid: jid.clone(),
                url: u.clone(),
                context: Map::new(),
            },
            limit,
        );
        for r in [fetched, rendered] {
            let r = reply_text(r.unwrap_or_else(|e| panic!("{url:?}: {e}")));
            answers.push((url, r));
        }
    }
    for url in [
        "salt://..",
        "salt://../..",
        "salt:///",
        "salt:///etc",
        "salt://etc",
        "salt://sub/../..",
    ] {
        for dirs in [false, true] {
            let r = raw.request(
                |req| MinionMsg::List {
                    req,
                    jid: jid.clone(),
                    url: url.to_string(),
                    dirs,
                },
                limit,
            );
            let r = reply_text(r.unwrap_or_else(|e| panic!("{url:?}: {e}")));
            // Listing a symlink out of the root finds nothing (an empty
            // list, or "does not exist" for directories).
            if url == "salt://etc" && !dirs {
                assert_eq!(r, Ok(String::new()), "{url}");
                continue;
            }
            answers.push((url, r));
        }
    }
    // Digests that are paths, and another job's id.
    for (what, job_id) in [
        (
            FetchWhat::Blobs(vec!["../../above.txt".into()]),
            jid.clone(),
        ),
        (
            FetchWhat::Url("salt://ok.txt".into()),
            "20000101000000000000".parse().unwrap(),
        ),
    ] {
        let r = raw.request(
            |req| MinionMsg::Fetch {
                req,
                jid: job_id.clone(),
                what: what.clone(),
            },
            limit,
        );
        answers.push(("(blobs or jid)", reply_text(r.unwrap())));
    }
    for (url, r) in &answers {
        let e = r.as_ref().expect_err(&format!("{url:?} was served: {r:?}"));
        assert!(!e.contains(CANARY) && !e.contains('\0'), "{url:?}: {e}");
    }
    // The FIFO and /dev/zero did not hold the master: every answer came,
    // and a good request is still served.
    assert!(started.elapsed() < Duration::from_secs(60));
    let good = raw.request(
        |req| MinionMsg::Fetch {
            req,
            jid: jid.clone(),
            what: FetchWhat::Url("salt://ok.txt".into()),
        },
        limit,
    );
    assert_eq!(reply_text(good.unwrap()), Ok("ok\n".into()));
    let listed = raw.request(
        |req| MinionMsg::List {
            req,
            jid: jid.clone(),
            url: "salt://".into(),
            dirs: false,
        },
        limit,
    );
    // The root's own files; not the symlinked directory's, not the FIFO.
    assert_eq!(
        reply_text(listed.unwrap()),
        Ok("noop.sls\nok.txt\nsub/a.txt\ntmpl.j2\ntop.sls".into())
    );

    raw.send(&MinionMsg::Return(JobReturn {
        jid: jid.clone(),
        success: true,
        ret: json!({}),
        retcode: 0,
    }))
    .unwrap();
    let out = operator.join().unwrap();
    assert_eq!(out.code, Some(0), "{out:?}");

    // A job id that is a path does not even decode: the master closes the
    // session that sent it, and serves nothing.
    #[derive(serde::Serialize)]
    enum LooseMinionMsg {
        Fetch {
            req: u64,
            jid: &'static str,
            what: FetchWhat,
        },
    }
    raw.send_untyped(&LooseMinionMsg::Fetch {
        req: 999,
        jid: "../../etc/passwd",
        what: FetchWhat::Url("salt://ok.txt".into()),
    })
    .unwrap();
    let after = raw.recv(Duration::from_secs(3));
    assert!(
        !matches!(after, Some(MasterMsg::Fetched { .. })),
        "{after:?}"
    );
    wait_until(limit, "the session closed", || {
        master
            .log()
            .contains("closing a session that sent an undecodable message")
    });
    assert!(master.log().contains("invalid job id"));

    let log = master.log();
    let refusals = log.matches("refused a minion's file request").count();
    assert!(
        refusals >= answers.len(),
        "{refusals} < {}:\n{log}",
        answers.len()
    );
    assert!(log.contains(r#""salt://ok.txt\0../../above.txt""#), "{log}");
    assert!(!log.contains('\0') && !log.contains(CANARY));
    // Nothing was written outside the roots by any of it.
    assert_eq!(
        snapshot(h.outside.path(), &[]),
        vec!["passwd", "secret.yaml"]
    );
}

#[test]
fn states_naming_salt_urls_outside_the_roots_fail_without_hanging() {
    let sls = "\
{% for src in ['salt://../above.txt', 'salt:///etc/passwd', 'salt://etc/passwd',
               'salt://fifo', 'salt://zero', 'salt://%2e%2e/above.txt'] %}
/etc/out-{{ loop.index }}:
  file.managed:
    - source: {{ src | json }}
{% endfor %}
/etc/tmpl-out:
  file.managed:
    - source: salt://../tmpl.j2
    - template: jinja
/etc/recursed:
  file.recurse:
    - source: salt://etc
/etc/good:
  file.managed:
    - source: salt://ok.txt
";
    let h = hostile_roots(&[
        ("salt/top.sls", "base:\n  '*':\n    - out\n"),
        ("salt/out.sls", sls),
    ]);
    let m = h.master.minion("m1");
    std::fs::create_dir_all(m.root().join("etc")).unwrap();
    h.master.wait_connected(&["m1"]);
    let started = Instant::now();
    let (code, v) = h.master.json(&["apply", "m1", "-t", "60"]);
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "the apply hung"
    );
    assert_eq!(code, Some(2), "{v:#}");
    for (tag, s) in v["m1"].as_object().unwrap() {
        let comment = s["comment"].as_str().unwrap_or_default();
        assert!(!comment.contains(CANARY), "{tag}: {comment}");
        if tag.contains("/etc/good") {
            assert_eq!(s["result"], true, "{tag}: {s}");
        } else {
            assert_eq!(s["result"], false, "{tag}: {s}");
            assert!(
                comment.contains("refused")
                    || comment.contains("not found")
                    || comment.contains("does not exist"),
                "{tag}: {comment}"
            );
        }
    }
    assert_eq!(snapshot(&m.root().join("etc"), &[]), vec!["good"]);
    assert!(!m.received().contains(CANARY));
}

#[test]
fn the_compiler_refuses_includes_and_imports_that_leave_the_roots() {
    let h = hostile_roots(&[
        (
            "salt/top.sls",
            "base:\n  '*':\n    - ok\n'../x':\n  '*':\n    - ok\n",
        ),
        ("salt/ok.sls", "a:\n  test.nop\n"),
        ("salt/inc1.sls", "include:\n  - ../../outside/secret\n"),
        ("salt/inc2.sls", "include:\n  - ..etc.passwd\n"),
        ("salt/inc3.sls", "include:\n  - /etc/passwd\n"),
        (
            "salt/imp1.sls",
            "{% import_yaml '../above.txt' as s %}\nx: {{ s }}\n",
        ),
        (
            "salt/imp2.sls",
            "{% import_yaml 'etc/secret.yaml' as s %}\nx: {{ s }}\n",
        ),
        ("salt/imp3.sls", "{% include 'salt://../above.txt' %}\n"),
        (
            "salt/imp4.sls",
            "{% from '../../../../../../etc/passwd' import x %}\n",
        ),
        ("salt/imp5.sls", "{% include 'fifo' %}\n"),
        ("salt/imp6.sls", "{% import_yaml 'zero' as z %}\n"),
    ]);
    let _raw = raw_minion(&h.master, "m1", json!({"id": "m1"}));
    let out = h.master.cli(&["render", "m1"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("'../x'"), "{}", out.stderr);
    let started = Instant::now();
    for (sls, named) in [
        ("inc1", "../../outside/secret"),
        ("inc2", "..etc.passwd"),
        ("inc3", "/etc/passwd"),
        ("imp1", "../above.txt"),
        ("imp2", "etc/secret.yaml"),
        ("imp3", "salt://../above.txt"),
        ("imp4", "../../../../../../etc/passwd"),
        ("imp5", "fifo"),
        ("imp6", "zero"),
    ] {
        let out = h.master.cli(&["render", "m1", sls]);
        assert_eq!(out.code, Some(1), "{sls}: {out:?}");
        assert!(out.stderr.contains(named), "{sls}: {}", out.stderr);
        assert!(!out.stderr.contains(CANARY) && !out.stdout.contains(CANARY));
    }
    // SLS names given on the command line are names, not paths.
    for sls in [
        "../../etc/passwd",
        "..etc.passwd",
        "/etc/passwd",
        "etc.passwd",
    ] {
        let out = h.master.cli(&["render", "m1", sls]);
        assert_eq!(out.code, Some(1), "{sls}: {out:?}");
        assert!(
            out.stderr
                .contains(&format!("No matching sls found for '{sls}'")),
            "{sls}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains(CANARY) && !out.stdout.contains(CANARY));
    }
    assert!(started.elapsed() < Duration::from_secs(60), "a render hung");
}

#[test]
fn the_local_file_server_refuses_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let salt = dir.path().join("salt");
    std::fs::create_dir_all(&salt).unwrap();
    std::fs::write(dir.path().join("above.txt"), CANARY).unwrap();
    std::fs::write(salt.join("ok.txt"), "ok\n").unwrap();
    mkfifo(&salt.join("fifo"));
    std::os::unix::fs::symlink(dir.path(), salt.join("up")).unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let sls = format!(
        "{}/etc/a:\n  file.managed:\n    - source: salt://../above.txt\n\
         {0}/etc/b:\n  file.managed:\n    - source: salt://up/above.txt\n\
         {0}/etc/c:\n  file.managed:\n    - source: salt://fifo\n\
         {0}/etc/d:\n  file.recurse:\n    - source: salt://up\n\
         {0}/etc/e:\n  file.managed:\n    - source: salt://ok.txt\n",
        root.display()
    );
    std::fs::write(salt.join("out.sls"), sls).unwrap();
    let mut cmd = Command::new(tests::bin("minion"));
    cmd.args([
        "apply",
        "--local",
        "--id",
        "local1",
        "--out",
        "json",
        "--file-root",
    ])
    .arg(&salt)
    .arg("out");
    let out = tests::run(cmd, Duration::from_secs(60)).unwrap();
    assert_eq!(out.code, Some(2), "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let states = v["local"].as_object().unwrap_or_else(|| panic!("{v:#}"));
    for (tag, s) in states {
        let expect_ok = tag.ends_with("/etc/e_|-managed");
        assert_eq!(s["result"], expect_ok, "{tag}: {s}");
    }
    assert!(!out.stdout.contains(CANARY) && !out.stderr.contains(CANARY));
    assert_eq!(snapshot(&root.join("etc"), &[]), vec!["e"]);
}

#[test]
fn secrets_in_pillar_never_reach_logs_errors_or_the_job_cache() {
    const SECRET: &str = "s3cr3t-9b1e77";
    let sls = "\
with-env:
  cmd.run:
    - name: 'exit 3'
    - env:
      - TOKEN: {{ pillar['secret'] }}
env-written-wrong:
  cmd.run:
    - name: 'true'
    - env:
      - TOKEN={{ pillar['secret'] }}
no-such-program:
  cmd.run:
    - name: /nonexistent/prog
    - env:
        TOKEN: {{ pillar['secret'] }}
/nonexistent-dir/app.conf:
  file.managed:
    - contents: {{ pillar['secret'] }}
/etc/owned.conf:
  file.managed:
    - contents: {{ pillar['secret'] }}
    - user: no-such-user-xyz
/etc/badmode.conf:
  file.managed:
    - contents: {{ pillar['secret'] }}
    - mode: 'abc'
";
    let pillar = format!("secret: {SECRET}\n");
    let master = one_sls_master("sec", sls, &pillar);
    let m = master.minion("m1");
    std::fs::create_dir_all(m.root().join("etc")).unwrap();
    accept_and_connect(&master, &["m1"]);
    // The env reached the command: it is used, just never shown.
    let out = master.cli(&["apply", "m1"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let mut seen = vec![
        ("apply stdout", out.stdout.clone()),
        ("apply stderr", out.stderr.clone()),
    ];
    let (_, jobs) = master.json(&["jobs", "list"]);
    let jid = jobs[0]["jid"].as_str().unwrap().to_string();
    let shown = master.cli(&["jobs", "show", &jid, "--out", "json"]);
    let v: Value = serde_json::from_str(&shown.stdout).unwrap();
    let states = v["returns"][0]["ret"].as_object().unwrap();
    assert_eq!(states.len(), 6, "{v:#}");
    for (tag, s) in states {
        assert_eq!(s["result"], false, "{tag}: {s}");
    }
    seen.push(("jobs show", shown.stdout));
    seen.push(("master.log", master.log()));
    seen.push(("minion.log", m.log()));
    for (what, text) in &seen {
        assert!(!text.contains(SECRET), "the secret is in {what}:\n{text}");
    }
    // And the test can see a secret where one is: the minion was sent it.
    assert!(m.received().contains(SECRET));
}

#[test]
fn a_render_error_shows_where_a_pillar_value_went_but_not_the_value() {
    // A value that breaks the YAML it is rendered into: the error must point
    // at the line without printing it as rendered (Salt prints it).
    const SECRET: &str = "s3cr3t: 9b1e77";
    let master = one_sls_master(
        "sec",
        "/etc/app.conf:\n  file.managed:\n    - contents: {{ pillar['db']['password'] }}\n",
        "db:\n  password: 's3cr3t: 9b1e77'\n",
    );
    let m = master.minion("m1");
    accept_and_connect(&master, &["m1"]);
    let out = master.cli(&["apply", "m1"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("sec.sls, line 3"), "{text}");
    assert!(text.contains("- contents: <pillar db:password>"), "{text}");
    let (_, jobs) = master.json(&["jobs", "list"]);
    let mut seen = vec![
        ("apply output", text),
        ("master.log", master.log()),
        ("minion.log", m.log()),
    ];
    for job in jobs.as_array().unwrap() {
        let jid = job["jid"].as_str().unwrap();
        seen.push((
            "jobs show",
            master.cli(&["jobs", "show", jid, "--out", "json"]).stdout,
        ));
    }
    let rendered = master.cli(&["render", "m1", "sec", "--out", "json"]);
    seen.push(("render", format!("{}{}", rendered.stdout, rendered.stderr)));
    for (what, text) in &seen {
        assert!(!text.contains(SECRET), "the secret is in {what}:\n{text}");
    }
}

/// `master serve` or `minion serve` with a key file others can read.
fn refuses_to_start(cmd: Command, key: &Path) -> String {
    let out = tests::run(cmd, Duration::from_secs(20)).unwrap();
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.code.is_some(), "killed, not refused: {out:?}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains(&key.display().to_string()), "{text}");
    assert!(text.contains("chmod 600"), "{text}");
    text
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn key_files_are_0600_and_a_readable_one_stops_the_daemon() {
    let mut master = Master::start(&[("salt/top.sls", "base: {}\n")]);
    let mut m = master.minion("m1");
    accept_and_connect(&master, &["m1"]);
    let pki = master.dir.path().join("pki");
    let master_key = pki.join("master.key");
    let operator_key = pki.join("operator.key");
    let minion_key = m.dir.path().join("pki/minion.key");
    for key in [&master_key, &operator_key, &minion_key] {
        assert_eq!(mode(key), 0o600, "{}", key.display());
    }
    for dir in [&pki, &m.dir.path().join("pki")] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }

    master.kill();
    m.kill();
    let master_key_bytes = std::fs::read(&master_key).unwrap();
    for bits in [0o644, 0o640, 0o604] {
        chmod(&master_key, bits);
        let mut cmd = Command::new(tests::bin("master"));
        cmd.args(["serve", "--config"]).arg(master.config());
        refuses_to_start(cmd, &master_key);
    }
    chmod(&master_key, 0o600);
    // Refused, not "fixed": the key is the same key, the mode is the operator's to set.
    assert_eq!(std::fs::read(&master_key).unwrap(), master_key_bytes);

    chmod(&minion_key, 0o644);
    let mut cmd = Command::new(tests::bin("minion"));
    cmd.args(["serve", "--config"])
        .arg(m.dir.path().join("minion.yaml"));
    refuses_to_start(cmd, &minion_key);

    // The operator key on the master host: the daemon (which lists it) and
    // the CLI (which signs in with it) both refuse it.
    chmod(&operator_key, 0o644);
    let mut cmd = Command::new(tests::bin("master"));
    cmd.args(["serve", "--config"]).arg(master.config());
    refuses_to_start(cmd, &operator_key);
    let out = master.cli(&["keys", "list"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);

    // Put right, both start again and the minion is still accepted.
    chmod(&operator_key, 0o600);
    chmod(&minion_key, 0o600);
    master.restart();
    m.restart();
    master.wait_connected(&["m1"]);
}
