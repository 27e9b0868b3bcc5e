//! The brine-minion and brine-master .deb packages (scripts/build-debs.sh,
//! made here from this test build: tests/src/debs.rs) on a real Debian host
//! (systemd as PID 1 in a systemd-nspawn container): `apt install ./x.deb`
//! enables and starts the unit and installs the man pages and shell
//! completions generated from the clap definitions and the config as a
//! conffile; a reinstall (an upgrade) restarts the daemon; `apt remove`
//! stops it and keeps its keys; `apt purge`
//! removes keys, cache and config. Prints `skipped: <reason>` where
//! containers cannot run.
use std::path::Path;
use std::time::Duration;

use tests::daemons::wait_until;
use tests::fleet::{self, Container, Options};
use tests::fleet_minion::install_package;

/// A private network: the master's postinst starts it on the fixed ports
/// 4506/4507, and neither daemon should reach anything on the host.
fn boot(name: &str) -> Container {
    Container::boot_with(name, &Options::private_network()).unwrap_or_else(|e| panic!("{e}"))
}

/// `systemctl <verb> <unit>`'s answer (is-enabled, is-active), whatever its status.
fn unit(c: &Container, verb: &str, unit: &str) -> String {
    let out = c.exec(&["systemctl", verb, unit]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `apt-get <verb...> -y package`; `verb` may hold options (`install --reinstall`).
fn apt(c: &Container, verb: &str, package: &str) {
    let mut argv = vec!["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
    argv.extend(verb.split(' '));
    argv.extend(["-y", "-q", package]);
    c.exec_ok(&argv).unwrap_or_else(|e| panic!("{e}"));
}

/// Install, the files a user gets, remove, purge: the same for both packages.
fn install_remove_purge(c: &Container, deb: &Path, bin: &str, key: &str) {
    let package = format!("brine-{bin}");
    let service = format!("{package}.service");
    install_package(c, deb);
    assert_eq!(unit(c, "is-enabled", &service), "enabled");
    wait_until(
        Duration::from_secs(60),
        &format!("{service} active with its key {key} written"),
        || unit(c, "is-active", &service) == "active" && c.sh(&format!("test -s {key}")).is_ok(),
    );

    // The binary, the config as a conffile, man pages (one per subcommand too)
    // and completions that the shells load.
    let version = c.run(&format!("{bin} --version"));
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    let conffiles = c.run(&format!("cat /var/lib/dpkg/info/{package}.conffiles"));
    assert!(
        conffiles
            .lines()
            .any(|l| l == format!("/etc/brine/{bin}.yaml")),
        "{conffiles}"
    );
    let pages = c.run(&format!("ls /usr/share/man/man1/ | grep '^{bin}'"));
    assert!(pages.lines().any(|p| p == format!("{bin}.1.gz")), "{pages}");
    assert!(pages.lines().count() >= 3, "no subcommand pages: {pages}");
    let complete = c.run(&format!(
        "bash -c '. /usr/share/bash-completion/completions/{bin} && complete -p {bin}'"
    ));
    assert!(complete.ends_with(&format!(" {bin}")), "{complete}");
    c.run(&format!(
        "test -s /usr/share/zsh/vendor-completions/_{bin} && \
         test -s /usr/share/fish/vendor_completions.d/{bin}.fish"
    ));
    let key_sum = c.run(&format!("sha256sum {key}"));

    // An upgrade (here the same version again) restarts the daemon; the
    // minion's postinst does it without waiting (see dist/debian/minion/postinst).
    let main_pid = || c.run(&format!("systemctl show -p MainPID --value {service}"));
    let before = main_pid();
    let inside = format!("/tmp/{}", deb.file_name().unwrap().to_str().unwrap());
    apt(c, "install --reinstall", &inside);
    wait_until(
        Duration::from_secs(120),
        &format!("{service} restarted by the reinstall"),
        || {
            let now = main_pid();
            now != before && now != "0" && unit(c, "is-active", &service) == "active"
        },
    );

    apt(c, "remove", &package);
    assert_ne!(unit(c, "is-active", &service), "active");
    c.run(&format!("test ! -e /usr/bin/{bin}"));
    assert_eq!(
        c.run(&format!("sha256sum {key}")),
        key_sum,
        "apt remove must keep the key"
    );
    c.run(&format!("test -f /etc/brine/{bin}.yaml"));

    apt(c, "purge", &package);
    let key_dir = Path::new(key).parent().unwrap().display().to_string();
    c.run(&format!(
        "test ! -e {key_dir} && test ! -e /var/cache/brine/{bin} && test ! -e /etc/brine/{bin}.yaml"
    ));
}

#[test]
fn minion_package_installs_starts_and_purges_its_keys() {
    if !fleet::skip_or_continue("minion_package_installs_starts_and_purges_its_keys") {
        return;
    }
    let c = boot("pkgminion");
    install_remove_purge(
        &c,
        &tests::debs::minion_deb(),
        "minion",
        "/etc/brine/pki/minion/minion.key",
    );
}

#[test]
fn master_package_installs_starts_and_purges_its_keys() {
    if !fleet::skip_or_continue("master_package_installs_starts_and_purges_its_keys") {
        return;
    }
    let c = boot("pkgmaster");
    install_remove_purge(
        &c,
        &tests::debs::master_deb(),
        "master",
        "/etc/brine/pki/master/master.key",
    );
}
