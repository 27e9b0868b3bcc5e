//! The host-changing execution functions on a real Debian host (systemd as
//! PID 1 in a systemd-nspawn container, apt through the harness's proxy),
//! run by the installed minion for `master run`: `service.disable`/`enable`
//! of a unit systemd loaded, `pkg.remove` of an installed package (its
//! changes, then `{}` the second time), `pkg.refresh_db`, and
//! `grains.setval` persisted in `/etc/brine/grains`. Prints
//! `skipped: <reason>` where containers cannot run.
use std::time::Duration;

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master};
use tests::fleet::{self, Container, Options};
use tests::fleet_minion::install_minion;

fn ret(master: &Master, args: &[&str]) -> Value {
    let mut all = vec!["run", "exec1"];
    all.extend(args);
    all.extend(["-t", "300"]);
    let (code, v) = master.json(&all);
    assert_eq!(code, Some(0), "{args:?}: {v:#}\n{}", master.log());
    v["exec1"].clone()
}

fn is_enabled(c: &Container, unit: &str) -> String {
    c.sh(&format!("systemctl is-enabled {unit} || true"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn services_packages_and_grains_change_on_a_real_host() {
    if !fleet::skip_or_continue("services_packages_and_grains_change_on_a_real_host") {
        return;
    }
    let c = Container::boot_with("exec1", &Options::private_network())
        .unwrap_or_else(|e| panic!("{e}"));
    let master = Master::start_on("0.0.0.0", &[("salt/top.sls", "base: {}\n")], "");
    install_minion(&c, "exec1", master.ret_port, "ping_interval: 2\n");
    wait_until(Duration::from_secs(60), "a pending key", || {
        master.pending().len() == 1
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["exec1"]);

    // Services: systemd itself says what changed.
    assert_eq!(
        ret(&master, &["service.available", "fstrim.timer"]),
        json!(true)
    );
    assert_eq!(ret(&master, &["service.available", "nosuch"]), json!(false));
    let all = ret(&master, &["service.get_all"]);
    for unit in ["dbus", "fstrim.timer", "brine-minion"] {
        assert!(
            all.as_array().unwrap().contains(&json!(unit)),
            "{unit}: {all}"
        );
    }
    assert_eq!(
        ret(&master, &["service.disable", "fstrim.timer"]),
        json!(true)
    );
    assert_eq!(is_enabled(&c, "fstrim.timer"), "disabled");
    assert_eq!(
        ret(&master, &["service.enable", "fstrim.timer"]),
        json!(true)
    );
    assert_eq!(is_enabled(&c, "fstrim.timer"), "enabled");

    // Packages: what dpkg says before and after.
    let version = c.run("dpkg-query -W -f '${Version}' curl");
    assert_eq!(ret(&master, &["pkg.list_pkgs"])["curl"], json!(version));
    assert_eq!(
        ret(&master, &["pkg.remove", "curl"]),
        json!({"curl": {"old": version, "new": ""}})
    );
    assert!(ret(&master, &["pkg.list_pkgs"]).get("curl").is_none());
    assert_eq!(ret(&master, &["pkg.remove", "curl"]), json!({}));
    let refreshed = ret(&master, &["pkg.refresh_db"]);
    assert!(
        refreshed.as_object().is_some_and(|m| !m.is_empty()),
        "{refreshed}"
    );
    assert!(ret(&master, &["pkg.list_upgrades", "refresh=False"]).is_object());

    // Grains: in /etc/brine/grains beside /etc/brine/minion.yaml.
    assert_eq!(
        ret(&master, &["grains.setval", "role", "web"]),
        json!({"role": "web"})
    );
    assert_eq!(c.run("cat /etc/brine/grains"), "role: web");
    assert_eq!(ret(&master, &["grains.get", "role"]), json!("web"));
}
