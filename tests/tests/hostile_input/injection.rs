//! Minion ids, grains, command lines and git URLs that try to become paths,
//! templates, shell or options: refused, or kept as data.
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use tests::daemons::{wait_until, Master, Minion};

use crate::fixture::{accept_and_connect, one_sls_master, snapshot, yaml_str};

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
