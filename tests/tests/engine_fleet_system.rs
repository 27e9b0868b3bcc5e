//! timezone.system, locale.system and mount.mounted applied for real by
//! `minion apply --local` on a booted Debian host (systemd-nspawn), where the
//! paths a state root cannot show run: `/etc/localtime` at `/`, `localectl
//! set-locale` through a running localed (`C.utf8`: localed reports its
//! default `C.UTF-8` when nothing is set, and `C.utf8` is the one other
//! locale a container without the locales package has), a tmpfs mounted at `/srv/cache`
//! and its fstab line. A dry run changes nothing, the apply converges, a
//! second run changes nothing. Prints `skipped: <reason>` and returns where
//! containers cannot run.
use serde_json::Value;
use tests::fleet::{self, Container};

const TOP: &str = "base:\n  '*':\n    - system\n";

const SYSTEM: &str = "\
Europe/Paris:
  timezone:
    - system

C.utf8:
  locale:
    - system

/srv/cache:
  mount.mounted:
    - device: tmpfs
    - fstype: tmpfs
    - opts: size=1m,mode=750
    - mkmnt: True
";

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
    (
        out.status.code().unwrap_or(-1),
        json["local"].as_object().cloned().unwrap_or_default(),
    )
}

/// What the three states are about, read inside the container.
fn state_of(c: &Container) -> String {
    c.run(
        "readlink /etc/localtime; cat /etc/timezone; localectl status | grep 'System Locale'; \
         findmnt -n -o FSTYPE,OPTIONS /srv/cache || true; grep /srv/cache /etc/fstab || true",
    )
}

#[test]
fn timezone_locale_and_a_mount_applied_on_a_real_host() {
    if !fleet::skip_or_continue("timezone_locale_and_a_mount_applied_on_a_real_host") {
        return;
    }
    let c = Container::boot("sysb1").unwrap_or_else(|e| panic!("{e}"));
    c.copy_in(tests::bin("minion"), "/usr/local/bin/minion")
        .unwrap_or_else(|e| panic!("{e}"));
    for (path, text) in [("/srv/salt/top.sls", TOP), ("/srv/salt/system.sls", SYSTEM)] {
        c.write_file(path, text.as_bytes(), 0o644)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let before = state_of(&c);
    assert!(
        before.starts_with("/usr/share/zoneinfo/Etc/UTC\nEtc/UTC\n"),
        "{before}"
    );

    let (code, dry) = apply(&c, true);
    assert_eq!(code, 0, "{dry:#?}");
    let comment = |r: &serde_json::Map<String, Value>, tag: &str| r[tag]["comment"].clone();
    let tz = "timezone_|-Europe/Paris_|-Europe/Paris_|-system";
    let lang = "locale_|-C.utf8_|-C.utf8_|-system";
    let mnt = "mount_|-/srv/cache_|-/srv/cache_|-mounted";
    assert_eq!(comment(&dry, tz), "Timezone Europe/Paris needs to be set");
    assert_eq!(comment(&dry, lang), "System locale C.utf8 needs to be set");
    assert_eq!(
        comment(&dry, mnt),
        "/srv/cache would be created and mounted"
    );
    assert!(dry.values().all(|r| r["result"].is_null()), "{dry:#?}");
    assert_eq!(state_of(&c), before, "--test changed the host");

    let (code, first) = apply(&c, false);
    assert_eq!(code, 0, "{first:#?}");
    assert_eq!(
        first[tz]["changes"],
        serde_json::json!({"timezone": "Europe/Paris"})
    );
    assert_eq!(
        first[lang]["changes"],
        serde_json::json!({"locale": "C.utf8"})
    );
    assert_eq!(
        comment(&first, mnt),
        "Target was successfully mounted. Added new entry to the fstab."
    );
    let after = state_of(&c);
    assert!(
        after.starts_with(
            "/usr/share/zoneinfo/Europe/Paris\nEurope/Paris\nSystem Locale: LANG=C.utf8\ntmpfs "
        ),
        "{after}"
    );
    assert!(
        after.contains("size=1024k") && after.contains("mode=750"),
        "{after}"
    );
    assert!(
        after.ends_with("tmpfs\t\t/srv/cache\ttmpfs\tsize=1m,mode=750\t0 0"),
        "{after}"
    );
    assert_eq!(c.run("date +%Z"), c.run("TZ=Europe/Paris date +%Z"));

    let (code, again) = apply(&c, false);
    assert_eq!(code, 0, "{again:#?}");
    assert!(
        again
            .values()
            .all(|r| r["result"] == true && r["changes"].as_object().is_some_and(|m| m.is_empty())),
        "{again:#?}"
    );
    assert_eq!(
        comment(&again, mnt),
        "Target was already mounted. Entry already exists in the fstab."
    );
}
