//! pkg, pkgrepo and service applied for real by `minion apply --local` on a
//! booted Debian host (systemd as PID 1 in a systemd-nspawn container): nginx
//! installed with apt, held, started and enabled, restarted by a watch (a new
//! MainPID) and reloaded (the same MainPID), stopped, disabled, masked,
//! unmasked and purged, each step checked on the host itself and applied twice
//! to show it is idempotent. Prints `skipped: <reason>` and returns where
//! containers cannot run (not root, no systemd-nspawn, no rootfs).
use serde_json::Value;
use tests::fleet::{self, Container, Options};

const TOP: &str = "base:\n  '*':\n    - install\n";

const INSTALL: &str = "\
nginx:
  pkg.installed:
    - pkgs:
      - nginx-light
      - curl: '7.88*'
    - hold: True
";

const WEB: &str = "\
include:
  - install
extra-repo:
  pkgrepo.managed:
    - name: deb http://deb.debian.org/debian bookworm contrib
    - file: /etc/apt/sources.list.d/contrib.list
    - refresh: False
    - require:
      - pkg: nginx
nginx-svc:
  service.running:
    - name: nginx
    - enable: True
    - watch:
      - pkgrepo: extra-repo
";

const RELOAD: &str = "\
extra-repo:
  pkgrepo.managed:
    - name: deb http://deb.debian.org/debian bookworm contrib non-free
    - file: /etc/apt/sources.list.d/contrib.list
    - refresh: False
nginx-svc:
  service.running:
    - name: nginx
    - reload: True
    - watch:
      - pkgrepo: extra-repo
";

const STOP: &str = "\
nginx-svc:
  service.dead:
    - name: nginx
    - enable: False
masked:
  service.masked:
    - name: nginx
    - require:
      - service: nginx-svc
";

const REMOVE: &str = "\
unmask:
  service.unmasked:
    - name: nginx
unhold:
  pkg.installed:
    - pkgs: [nginx-light, curl]
    - hold: False
gone:
  pkg.purged:
    - pkgs: [nginx-light, nginx-common, nginx]
    - require:
      - pkg: unhold
";

const MISSING: &str = "\
nginx:
  service.running: []
";

/// Runs `minion apply --local [--test] <sls>` inside and returns its states,
/// keyed `module.function id` (e.g. `pkg.installed nginx`).
fn apply(c: &Container, sls: &str, test: bool) -> serde_json::Map<String, Value> {
    let mut argv = vec!["minion", "apply", "--local", "--out", "json", sls];
    if test {
        argv.push("--test");
    }
    let out = c.exec(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "minion apply {sls}: {e}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let states = json["local"].as_object().cloned().unwrap_or_default();
    states
        .into_iter()
        .map(|(tag, ret)| {
            let parts: Vec<&str> = tag.split("_|-").collect();
            (format!("{}.{} {}", parts[0], parts[3], parts[1]), ret)
        })
        .collect()
}

fn state<'a>(states: &'a serde_json::Map<String, Value>, key: &str) -> &'a Value {
    states
        .get(key)
        .unwrap_or_else(|| panic!("no state {key} in {:#}", Value::Object(states.clone())))
}

/// The unit's recent journal and status, for a failure message: a service
/// that fails on one machine and not another is otherwise undiagnosable.
fn journal(c: &Container, unit: &str) -> String {
    c.sh(&format!(
        "systemctl status --no-pager {unit}; journalctl --no-pager -n 40 -u {unit}; ss -ltnp"
    ))
    .unwrap_or_else(|e| e.to_string())
}

fn main_pid(c: &Container) -> String {
    c.run("systemctl show --property=MainPID --value nginx")
}

#[test]
fn nginx_installed_held_restarted_by_watch_reloaded_stopped_masked_and_purged() {
    if !fleet::skip_or_continue(
        "nginx_installed_held_restarted_by_watch_reloaded_stopped_masked_and_purged",
    ) {
        return;
    }
    // nginx's postinst starts it on port 80: a private network keeps that
    // from clashing with other containers and the host.
    let opts = Options::private_network();
    let c = Container::boot_with("pkgsvc1", &opts).unwrap_or_else(|e| panic!("{e}"));
    c.copy_in(tests::bin("minion"), "/usr/local/bin/minion")
        .unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in [
        ("top.sls", TOP),
        ("install.sls", INSTALL),
        ("web.sls", WEB),
        ("reload.sls", RELOAD),
        ("stop.sls", STOP),
        ("remove.sls", REMOVE),
        ("missing.sls", MISSING),
    ] {
        c.write_file(&format!("/srv/salt/{name}"), text.as_bytes(), 0o644)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    // A missing service: None in a dry run, False for real (Salt's words).
    let dry = apply(&c, "missing", true);
    let s = state(&dry, "service.running nginx");
    assert_eq!(s["result"], Value::Null);
    assert_eq!(
        s["comment"],
        "Service nginx not present; if created in this state run, it would have been started"
    );
    let real = apply(&c, "missing", false);
    let s = state(&real, "service.running nginx");
    assert_eq!(s["result"], false);
    assert_eq!(s["comment"], "The named service nginx is not available");

    // Dry run: nothing installed, the candidate reported.
    let dry = apply(&c, "install", true);
    let s = state(&dry, "pkg.installed nginx");
    assert_eq!(s["result"], Value::Null);
    assert_eq!(
        s["comment"],
        "The following packages would be installed/updated: nginx-light"
    );
    let candidate = s["changes"]["nginx-light"]["new"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!candidate.is_empty() && candidate != "installed", "{s}");
    assert!(c.exec(&["dpkg-query", "-W", "nginx-light"]).status.code() != Some(0));

    // Install for real: one transaction, dependencies in changes, holds set.
    let real = apply(&c, "install", false);
    let s = state(&real, "pkg.installed nginx");
    assert_eq!(s["result"], true, "{s}");
    assert_eq!(
        s["changes"]["nginx-light"]["new"],
        format!("{candidate}\nhold")
    );
    assert_eq!(s["changes"]["nginx-common"]["old"], "");
    assert_eq!(
        c.run("dpkg-query -W -f '${Version}' nginx-light"),
        candidate
    );
    assert_eq!(c.run("apt-mark showhold"), "curl\nnginx-light");
    assert_eq!(c.run("systemctl is-active nginx"), "active");

    // Again: nothing to do.
    let again = apply(&c, "install", false);
    let s = state(&again, "pkg.installed nginx");
    assert_eq!(s["result"], true);
    assert_eq!(s["changes"], serde_json::json!({}));
    assert!(s["comment"].as_str().unwrap().starts_with(
        "All specified packages are already installed and are at the desired version."
    ));

    // The repo changes, the watching service restarts: a new MainPID.
    let before = main_pid(&c);
    let web = apply(&c, "web", false);
    let repo = state(&web, "pkgrepo.managed extra-repo");
    assert_eq!(
        repo["changes"]["repo"],
        "deb http://deb.debian.org/debian bookworm contrib"
    );
    let svc = state(&web, "service.running nginx-svc");
    assert_eq!(svc["result"], true, "{svc}\n{}", journal(&c, "nginx"));
    assert_eq!(svc["comment"], "Service restarted");
    assert_eq!(svc["changes"], serde_json::json!({"nginx": true}));
    let after = main_pid(&c);
    assert!(
        after != "0" && after != before,
        "MainPID {before} -> {after}"
    );
    assert_eq!(
        c.run("cat /etc/apt/sources.list.d/contrib.list"),
        "deb http://deb.debian.org/debian bookworm contrib"
    );
    // Nothing changed this time: no watch fires.
    let web = apply(&c, "web", false);
    assert_eq!(
        state(&web, "service.running nginx-svc")["comment"],
        "The service nginx is already running"
    );
    assert_eq!(main_pid(&c), after);

    // reload: True reloads instead: the same MainPID.
    let reload = apply(&c, "reload", false);
    let svc = state(&reload, "service.running nginx-svc");
    assert_eq!(svc["comment"], "Service reloaded");
    assert_eq!(main_pid(&c), after);

    // Stop, disable, mask.
    let dry = apply(&c, "stop", true);
    assert_eq!(
        state(&dry, "service.dead nginx-svc")["comment"],
        "Service nginx is set to be killed"
    );
    assert_eq!(c.run("systemctl is-active nginx"), "active");
    let stop = apply(&c, "stop", false);
    let dead = state(&stop, "service.dead nginx-svc");
    assert_eq!(
        dead["comment"],
        "Service nginx has been disabled, and is dead"
    );
    assert_eq!(dead["changes"], serde_json::json!({"nginx": true}));
    let masked = state(&stop, "service.masked masked");
    assert_eq!(
        masked["changes"],
        serde_json::json!({"masked": {"old": false, "new": true}})
    );
    assert_eq!(
        c.exec(&["systemctl", "is-active", "nginx"]).status.code(),
        Some(3)
    );
    assert_eq!(c.run("systemctl is-enabled nginx || true"), "masked");
    let stop = apply(&c, "stop", false);
    assert_eq!(
        state(&stop, "service.dead nginx-svc")["comment"],
        "The service nginx is already dead"
    );
    assert_eq!(
        state(&stop, "service.masked masked")["comment"],
        "Service nginx is already masked"
    );

    // Unmask, unhold, purge.
    let remove = apply(&c, "remove", false);
    assert_eq!(
        state(&remove, "service.unmasked unmask")["comment"],
        "Service nginx was unmasked"
    );
    let gone = state(&remove, "pkg.purged gone");
    assert_eq!(gone["result"], true, "{gone}");
    assert_eq!(gone["comment"], "All targeted packages were purged.");
    assert_eq!(gone["changes"]["installed"]["nginx-light"]["new"], "");
    assert!(c.exec(&["dpkg-query", "-W", "nginx-light"]).status.code() != Some(0));
    assert_eq!(c.run("apt-mark showhold"), "");
}
