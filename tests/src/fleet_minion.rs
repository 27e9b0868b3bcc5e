//! A Brine minion installed in a fleet container the way README's "Running the
//! daemons" says: the binary, the shipped systemd unit, `/etc/brine/minion.yaml`,
//! then `systemctl enable --now`.
use crate::fleet::Container;

/// Where the installed minion keeps its cache (outbox, started jobs).
pub const CACHEDIR: &str = "/var/cache/brine/minion";

/// Installs and starts the minion `id` of the master on the host at
/// `master_port`. `tuning` is more config lines (`ping_interval: 1\n`), for
/// tests that need a lost link noticed within seconds.
pub fn install_minion(c: &Container, id: &str, master_port: u16, tuning: &str) {
    c.copy_in(crate::bin("minion"), "/usr/local/bin/minion")
        .unwrap_or_else(|e| panic!("{e}"));
    c.copy_in(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../dist/systemd/brine-minion.service"
        ),
        "/etc/systemd/system/brine-minion.service",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config = format!(
        "id: {id}\n\
         master: {}\n\
         master_port: {master_port}\n\
         pki_dir: /etc/brine/pki/minion\n\
         cachedir: {CACHEDIR}\n\
         acceptance_wait_time: 1\n\
         {tuning}",
        c.host_address()
    );
    c.write_file("/etc/brine/minion.yaml", config, 0o644)
        .unwrap_or_else(|e| panic!("{e}"));
    c.run("systemctl daemon-reload && systemctl enable --now brine-minion");
    assert_eq!(c.run("systemctl is-active brine-minion"), "active");
}
