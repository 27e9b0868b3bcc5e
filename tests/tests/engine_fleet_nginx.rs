//! The engine's end-to-end check on a real Debian host (systemd as PID 1 in a
//! systemd-nspawn container): `minion apply --local` installs nginx, manages a
//! site from a Jinja template fed by pillar, and keeps it running. A pillar
//! change rewrites the config and restarts nginx exactly once (a new MainPID,
//! one more "Started" in the journal); an unchanged re-run restarts nothing;
//! `--test` changes nothing on the host. Prints `skipped: <reason>` and returns
//! where containers cannot run (not root, no systemd-nspawn, no rootfs).
use serde_json::Value;
use tests::fleet::{self, Container, Options};
use tests::nginx_tree::{main_pid, starts, PILLAR_TOP, TOP, WEB};

const SITE: &str = "\
# Managed by Brine
server {
    listen {{ port }};
    location / { return 200 \"{{ pillar['greeting'] }}\\n\"; }
}
";

/// Runs `minion apply --local [--test]` inside; returns (exit code, states by `module.fun id`).
fn apply(c: &Container, test: bool) -> (i32, serde_json::Map<String, Value>) {
    let mut argv = vec!["minion", "apply", "--local", "--out", "json"];
    if test {
        argv.push("--test");
    }
    let out = c.exec(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "minion apply: {e}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let states = json["local"]
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|(tag, ret)| {
            let parts: Vec<&str> = tag.split("_|-").collect();
            (format!("{}.{} {}", parts[0], parts[3], parts[1]), ret)
        })
        .collect();
    (out.status.code().unwrap_or(-1), states)
}

fn set_greeting(c: &Container, greeting: &str) {
    c.write_file(
        "/srv/pillar/web.sls",
        format!("greeting: {greeting}\n"),
        0o644,
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn nginx_installed_configured_from_pillar_and_restarted_exactly_once_on_change() {
    if !fleet::skip_or_continue(
        "nginx_installed_configured_from_pillar_and_restarted_exactly_once_on_change",
    ) {
        return;
    }
    let opts = Options::private_network();
    let c = Container::boot_with("nginx1", &opts).unwrap_or_else(|e| panic!("{e}"));
    c.copy_in(tests::bin("minion"), "/usr/local/bin/minion")
        .unwrap_or_else(|e| panic!("{e}"));
    for (path, text) in [
        ("/srv/salt/top.sls", TOP),
        ("/srv/salt/web.sls", WEB),
        ("/srv/salt/site.conf.j2", SITE),
        ("/srv/pillar/top.sls", PILLAR_TOP),
    ] {
        c.write_file(path, text.as_bytes(), 0o644)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    set_greeting(&c, "hello v1");

    // A dry run on a bare host: everything would change, nothing does.
    let (code, dry) = apply(&c, true);
    assert_eq!(code, 0, "{dry:#?}");
    assert!(dry.values().all(|r| r["result"].is_null()), "{dry:#?}");
    assert!(
        c.exec(&["dpkg-query", "-W", "nginx-light"]).status.code() != Some(0),
        "--test installed nginx"
    );
    assert!(
        c.read_file("/etc/nginx/sites-enabled/brine.conf").is_err(),
        "--test wrote the site"
    );

    // The real run installs, writes the site and starts nginx.
    let (code, first) = apply(&c, false);
    assert_eq!(code, 0, "{first:#?}");
    assert!(first.values().all(|r| r["result"] == true), "{first:#?}");
    assert_eq!(
        c.run("dpkg-query -W -f '${Status}' nginx-light"),
        "install ok installed"
    );
    let site =
        String::from_utf8(c.read_file("/etc/nginx/sites-enabled/brine.conf").unwrap()).unwrap();
    assert!(
        site.contains("listen 8080;") && site.contains("hello v1"),
        "{site}"
    );
    assert_eq!(c.run("systemctl is-active nginx"), "active");
    assert_eq!(c.run("systemctl is-enabled nginx"), "enabled");
    assert_eq!(c.run("curl -s http://127.0.0.1:8080/"), "hello v1");
    let pid1 = main_pid(&c);
    let starts1 = starts(&c);

    // Unchanged re-run: no changes, no restart.
    let (code, again) = apply(&c, false);
    assert_eq!(code, 0, "{again:#?}");
    assert!(
        again
            .values()
            .all(|r| r["result"] == true && r["changes"].as_object().is_some_and(|m| m.is_empty())),
        "{again:#?}"
    );
    assert_eq!(main_pid(&c), pid1, "an unchanged run restarted nginx");
    assert_eq!(starts(&c), starts1);

    // A pillar change, dry: the diff is reported, the host is untouched.
    set_greeting(&c, "hello v2");
    let (_, dry) = apply(&c, true);
    let diff = dry["file.managed site"]["changes"]["diff"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        diff.contains("-    location / { return 200 \"hello v1\\n\"; }")
            && diff.contains("+    location / { return 200 \"hello v2\\n\"; }"),
        "{dry:#?}"
    );
    assert!(dry["file.managed site"]["result"].is_null());
    assert_eq!(main_pid(&c), pid1);
    assert_eq!(c.run("curl -s http://127.0.0.1:8080/"), "hello v1");

    // For real: the site changes and the watch restarts nginx exactly once.
    let (code, changed) = apply(&c, false);
    assert_eq!(code, 0, "{changed:#?}");
    assert!(
        changed["file.managed site"]["changes"]["diff"].is_string(),
        "{changed:#?}"
    );
    assert_eq!(
        changed["service.running nginx"]["changes"],
        serde_json::json!({"nginx": true}),
        "{changed:#?}"
    );
    let pid2 = main_pid(&c);
    assert_ne!(pid2, pid1, "the config change did not restart nginx");
    assert_eq!(
        starts(&c),
        starts1 + 1,
        "nginx was not restarted exactly once"
    );
    assert_eq!(c.run("curl -s http://127.0.0.1:8080/"), "hello v2");

    // And once more unchanged: nothing restarts.
    let (_, quiet) = apply(&c, false);
    assert!(
        quiet
            .values()
            .all(|r| r["changes"].as_object().is_some_and(|m| m.is_empty())),
        "{quiet:#?}"
    );
    assert_eq!(main_pid(&c), pid2);
    assert_eq!(starts(&c), starts1 + 1);
}
