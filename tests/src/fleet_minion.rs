//! A Brine minion installed in a fleet container the way README's "Install"
//! says: the brine-minion package (`apt install ./brine-minion_*.deb`, built
//! from this test build by [`crate::debs`]), then `/etc/brine/minion.yaml`
//! and a restart.
use std::path::Path;

use crate::fleet::Container;

/// Where the installed minion keeps its cache (outbox, started jobs).
pub const CACHEDIR: &str = "/var/cache/brine/minion";

/// Installs and starts the minion `id` of the master on the host at
/// `master_port`. `tuning` is more config lines (`ping_interval: 1\n`), for
/// tests that need a lost link noticed within seconds.
pub fn install_minion(c: &Container, id: &str, master_port: u16, tuning: &str) {
    let masters = format!("master: {}\nmaster_port: {master_port}\n", c.host_address());
    install_configured(c, id, &masters, tuning);
}

/// As [`install_minion`], the minion listing several masters on the host,
/// by their `ret_port`s (a session with each: `master_type: str`).
pub fn install_minion_listing(c: &Container, id: &str, master_ports: &[u16], tuning: &str) {
    let masters: String = master_ports
        .iter()
        .map(|p| format!("  - {}:{p}\n", c.host_address()))
        .collect();
    install_configured(c, id, &format!("master:\n{masters}"), tuning);
}

fn install_configured(c: &Container, id: &str, masters: &str, tuning: &str) {
    install_package(c, &crate::debs::minion_deb());
    let config = format!(
        "id: {id}\n\
         {masters}\
         pki_dir: /etc/brine/pki/minion\n\
         cachedir: {CACHEDIR}\n\
         acceptance_wait_time: 1\n\
         {tuning}"
    );
    c.write_file("/etc/brine/minion.yaml", config, 0o644)
        .unwrap_or_else(|e| panic!("{e}"));
    // The package started it with its default config (master `salt`).
    c.run("systemctl restart brine-minion");
    assert_eq!(c.run("systemctl is-active brine-minion"), "active");
}

/// `apt-get install` of the package file `deb` inside `c` (its Depends are
/// in the rootfs: nothing is downloaded).
pub fn install_package(c: &Container, deb: &Path) {
    let name = deb.file_name().unwrap().to_str().unwrap();
    let inside = format!("/tmp/{name}");
    c.copy_in(deb, &inside).unwrap_or_else(|e| panic!("{e}"));
    c.exec_ok(&[
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        &inside,
    ])
    .unwrap_or_else(|e| panic!("{e}"));
}
