//! `salt://` URLs, includes and imports that try to leave the state roots
//! (symlinks, `..`, devices, FIFOs): refused and logged, never hanging.
use std::process::Command;
use std::time::{Duration, Instant};

use common::data::Map;
use serde_json::{json, Value};
use tests::daemons::wait_until;
use transport::wire::{FetchWhat, JobReturn, MasterMsg, MinionMsg};

use crate::fixture::{hostile_roots, mkfifo, raw_minion, reply_text, snapshot, CANARY};

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
