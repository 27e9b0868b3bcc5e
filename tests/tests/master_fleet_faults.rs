//! Faults on a real fleet: three Debian hosts (systemd-nspawn containers, each
//! on its own network behind a veth pair) run `brine-minion.service`; the real
//! `master` runs on the host. One boot of the fleet, then, in turn:
//!
//! 1. a host's link is cut while `master apply` runs and restored after the
//!    job's timeout: the report names it as not returned (exit 3) and the
//!    others as done; its result, kept in its outbox, reaches the job cache
//!    once it reconnects; the next apply converges;
//! 2. the master is killed mid-job and started again: the operator's command
//!    says it lost the master and which job to look up; the results finished
//!    during the outage are in the job cache; the next apply converges;
//! 3. a minion's disk is full: the file state fails saying "No space left on
//!    device", the old file is intact, no temp file is left, the minion keeps
//!    serving; with space freed the next apply converges. Its own cache dir
//!    full is reported (a stored result, or a job it cannot record) rather
//!    than a wait for the timeout;
//! 4. a host is killed mid-job: reported as not returned, the others finish
//!    with every file whole, and the survivors converge.
//!
//! Assertions read `--out json`, exit statuses, the job cache and the hosts'
//! files. Waits are for conditions, with deadlines. Prints `skipped: <reason>`
//! and returns where containers cannot run.
#[path = "master_fleet_faults/fixture.rs"]
mod fixture;
#[path = "master_fleet_faults/scenarios.rs"]
mod scenarios;

use std::time::Instant;

use tests::daemons::Master;
use tests::fleet::{self, Options};
use tests::fleet_minion::install_minion;

use fixture::{
    big_content, set_generation, slow_sls, LogOnFailure, DISK, FAST_HEARTBEAT, IDS, PILLAR_TOP,
    QUICK, TOP,
};
use scenarios::{cache_full, disk_full, host_killed, link_cut, master_restart};

#[test]
fn master_fleet_reports_and_converges_through_faults() {
    if !fleet::skip_or_continue("master_fleet_reports_and_converges_through_faults") {
        return;
    }
    let t0 = Instant::now();
    let phase = |what: &str| eprintln!("[{:6.1}s] {what}", t0.elapsed().as_secs_f64());
    let opts = Options::private_network();
    let mut fleet = fleet::boot_all(&IDS, &opts);
    phase("3 containers booted");

    let big = big_content();
    let mut master = Master::start_on(
        "0.0.0.0",
        &[
            ("salt/top.sls", TOP),
            ("salt/slow.sls", &slow_sls()),
            ("salt/disk.sls", DISK),
            ("salt/quick.sls", QUICK),
            ("salt/big.txt", &big),
            ("pillar/top.sls", PILLAR_TOP),
        ],
        "auto_accept: True\n",
    );
    let _log = LogOnFailure(master.dir.path().join("master.log"));
    set_generation(&master, 1);
    std::thread::scope(|s| {
        for (c, id) in fleet.iter().zip(IDS) {
            let port = master.ret_port;
            s.spawn(move || install_minion(c, id, port, FAST_HEARTBEAT));
        }
    });
    master.wait_connected(&IDS);
    phase("3 minions connected");

    link_cut(&master, &fleet);
    phase("1. link cut: reported, result delivered after restore, converged");

    master_restart(&mut master, &fleet);
    phase("2. master restart: reported, results cached, converged");

    disk_full(&master, &fleet[0], &big);
    phase("3. disk full: state failed cleanly, old file whole, converged");

    cache_full(&master, &fleet[0]);
    phase("3b. minion cache full: reported, not waited out");

    host_killed(&master, &mut fleet);
    phase("4. host killed: reported, survivors whole and converged");
}
