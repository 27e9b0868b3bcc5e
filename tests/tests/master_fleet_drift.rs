//! Drift on a real host (Debian with systemd in a systemd-nspawn container,
//! the installed minion as a systemd unit): its `schedule` runs a dry
//! `state.apply` every few seconds, `master drift` says it is clean after an
//! apply, then reports the file edited by hand on the host (exit 4, the
//! state named). `minion apply --test --detailed-exitcode` run on the host
//! through the master, beside the daemon, agrees. Prints `skipped: <reason>`
//! where containers cannot run.
use std::time::Duration;

use tests::daemons::{wait_until, Master};
use tests::fleet::{self, Container, Options};
use tests::fleet_minion::install_minion;

const MOTD: &str = "\
/etc/motd.brine:
  file.managed:
    - contents: managed by brine
";

const SCHEDULE: &str = "\
ping_interval: 2
schedule:
  drift:
    function: state.apply
    seconds: 3
    kwargs:
      test: True
";

#[test]
fn a_scheduled_dry_run_reports_a_file_edited_by_hand_on_a_fleet_host() {
    if !fleet::skip_or_continue("a_scheduled_dry_run_reports_a_file_edited_by_hand_on_a_fleet_host")
    {
        return;
    }
    let c = Container::boot_with("drift1", &Options::private_network())
        .unwrap_or_else(|e| panic!("{e}"));
    let master = Master::start_on(
        "0.0.0.0",
        &[
            ("salt/top.sls", "base:\n  '*':\n    - motd\n"),
            ("salt/motd.sls", MOTD),
        ],
        "",
    );
    install_minion(&c, "drift1", master.ret_port, SCHEDULE);
    wait_until(Duration::from_secs(60), "a pending key", || {
        master.pending().len() == 1
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["drift1"]);
    let (code, v) = master.json(&["apply", "drift1", "-t", "120"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", master.log());

    wait_until(Duration::from_secs(60), "drift1 clean", || {
        let (code, v) = master.json(&["drift"]);
        code == Some(0) && v["drift1"]["status"] == "clean"
    });
    let dry = c.exec(&[
        "minion",
        "apply",
        "--test",
        "--detailed-exitcode",
        "--config",
        "/etc/brine/minion.yaml",
    ]);
    assert_eq!(dry.status.code(), Some(0), "{dry:?}");

    c.write_file("/etc/motd.brine", "edited by hand\n", 0o644)
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until(Duration::from_secs(60), "drift1 drifted", || {
        master.json(&["drift"]).1["drift1"]["status"] == "drifted"
    });
    let (code, v) = master.json(&["drift", "drift1"]);
    assert_eq!(code, Some(4), "{v:#}");
    assert_eq!(v["drift1"]["states"][0]["state"], "file.managed", "{v:#}");
    assert_eq!(v["drift1"]["states"][0]["name"], "/etc/motd.brine");
    let dry = c.exec(&[
        "minion",
        "apply",
        "--test",
        "--detailed-exitcode",
        "--config",
        "/etc/brine/minion.yaml",
    ]);
    assert_eq!(dry.status.code(), Some(4), "{dry:?}");
    // Dry runs, scheduled or not, left the hand edit alone.
    let now = String::from_utf8(c.read_file("/etc/motd.brine").unwrap()).unwrap();
    assert_eq!(now, "edited by hand\n");
    // The daemon is still the master's connection for drift1.
    let (code, ping) = master.json(&["run", "drift1", "test.ping", "-t", "10"]);
    assert_eq!(code, Some(0));
    assert_eq!(ping["drift1"], true);
}
