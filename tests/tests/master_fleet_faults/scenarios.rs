//! The four faults, in the order the fleet test runs them.
use std::time::Duration;

use serde_json::json;
use tests::daemons::Master;
use tests::fleet::Container;
use tests::fleet_minion::CACHEDIR;

use crate::fixture::{
    all_ok, apply, assert_files_whole, cached_return, close_gates, converges, files_unchanged,
    job_show, newest_jid, old_content, open_gates, outbox, parse, set_generation, started,
    wait_for, Operator, FULL, IDS, NOT_RETURNED,
};

/// 1: web3's link goes down while the job runs on it.
pub fn link_cut(master: &Master, fleet: &[Container]) {
    let (web1, web2, web3) = (&fleet[0], &fleet[1], &fleet[2]);
    set_generation(master, 1);
    close_gates(&[web1, web2, web3]);
    let op = Operator::start(master, &["apply", "*", "-t", "12", "--out", "json"]);
    wait_for(
        Duration::from_secs(60),
        "the job to start on web3",
        master,
        &[web3],
        || started(web3),
    );
    web3.set_link(false).unwrap_or_else(|e| panic!("{e}"));
    // web3 finishes cut off; the others as usual.
    open_gates(&[web1, web2, web3]);
    let out = op.join();
    let report = parse(&out, master);
    let jid = newest_jid(master, "*");
    let job = job_show(master, &jid);
    // Restored only now, after the job's timeout.
    web3.set_link(true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.code, Some(3), "{report:#}\n{}", out.stderr);
    assert_eq!(report["web3"], NOT_RETURNED, "{report:#}");
    for id in ["web1", "web2"] {
        assert!(all_ok(&report[id]), "{id}: {report:#}");
    }
    assert_eq!(job["missing"], json!(["web3"]), "{job:#}");
    assert_files_whole(web1, 1);
    assert_files_whole(web2, 1);

    // web3 finished on its own and keeps the result until the master has it.
    wait_for(
        Duration::from_secs(90),
        "web3's result in the job cache",
        master,
        &[web3],
        || cached_return(&job_show(master, &jid), "web3").is_some(),
    );
    let job = job_show(master, &jid);
    let ret = cached_return(&job, "web3").unwrap();
    assert_eq!(ret["success"], true, "{job:#}");
    assert!(all_ok(&ret["ret"]), "{job:#}");
    assert_eq!(job["missing"], json!([]), "{job:#}");
    assert_files_whole(web3, 1);
    let report = converges(master, &[web3]);
    for id in IDS {
        assert!(all_ok(&report[id]), "{id}: {report:#}");
    }
}

/// 2: the master dies while every minion runs the job, and comes back after
/// they have finished.
pub fn master_restart(master: &mut Master, fleet: &[Container]) {
    set_generation(master, 2);
    let all: Vec<&Container> = fleet.iter().collect();
    close_gates(&all);
    let op = Operator::start(master, &["apply", "*", "-t", "60", "--out", "json"]);
    wait_for(
        Duration::from_secs(60),
        "the job to start everywhere",
        master,
        &all,
        || all.iter().all(|c| started(c)),
    );
    master.kill();
    open_gates(&all);
    let jid = all[0].run(&format!("sort {CACHEDIR}/jobs.log | tail -n1"));
    // Finished and kept while there is no master.
    wait_for(
        Duration::from_secs(60),
        "every minion to keep its result in its outbox",
        master,
        &all,
        || all.iter().all(|c| outbox(c).contains(&jid)),
    );
    for c in &all {
        assert_files_whole(c, 2);
    }
    master.restart();
    let out = op.join();
    eprintln!("operator: {}", out.stderr.trim());
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("lost the master")
            && out.stderr.contains(&jid)
            && out.stderr.contains("master jobs show"),
        "the operator is not told what happened: {}",
        out.stderr
    );
    let report = parse(&out, master);
    for id in IDS {
        assert!(
            report[id]
                .as_str()
                .is_some_and(|s| s.contains("lost the master")),
            "{id}: {report:#}"
        );
    }

    assert_eq!(newest_jid(master, "*"), jid);
    wait_for(
        Duration::from_secs(90),
        "the results finished during the outage in the job cache",
        master,
        &all,
        || job_show(master, &jid)["missing"] == json!([]),
    );
    let job = job_show(master, &jid);
    for id in IDS {
        let ret = cached_return(&job, id).unwrap();
        assert_eq!(ret["success"], true, "{id}: {job:#}");
        assert!(all_ok(&ret["ret"]), "{id}: {job:#}");
    }
    let (code, active) = master.json(&["jobs", "active"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        active,
        json!([]),
        "a job the old master ran is still active"
    );
    converges(master, &all);
}

/// 3: the directory a state writes into is on a full filesystem.
pub fn disk_full(master: &Master, web1: &Container, big: &str) {
    web1.run(&format!(
        "mkdir -p {FULL} && mount -t tmpfs -o size=1m brine-full {FULL}"
    ));
    let old = old_content();
    web1.write_file(&format!("{FULL}/data.txt"), &old, 0o644)
        .unwrap_or_else(|e| panic!("{e}"));
    // Fill it: dd stops at ENOSPC.
    web1.run(&format!(
        "dd if=/dev/zero of={FULL}/filler bs=4k 2>/dev/null || true"
    ));
    assert_eq!(
        web1.run(&format!("df --output=avail {FULL} | tail -n1")),
        "0"
    );

    let (code, report) = apply(master, &["web1", "disk", "-t", "60"]);
    assert_eq!(code, 2, "{report:#}");
    let state = &report["web1"]["file_|-/srv/full/data.txt_|-/srv/full/data.txt_|-managed"];
    assert_eq!(state["result"], false, "{report:#}");
    let comment = state["comment"].as_str().unwrap_or_default();
    assert!(comment.contains("No space left on device"), "{report:#}");
    assert!(
        web1.read_file(&format!("{FULL}/data.txt")).unwrap() == old.as_bytes(),
        "the old file did not survive whole"
    );
    assert_eq!(
        web1.run(&format!("ls -A {FULL} | sort | tr '\\n' ' '")),
        "data.txt filler",
        "a temp file was left behind"
    );
    // Still serving, never restarted.
    let (code, pong) = master.json(&["run", "web1", "test.ping", "-t", "30"]);
    assert_eq!((code, pong), (Some(0), json!({"web1": true})));
    assert_eq!(
        web1.run("systemctl show --property=NRestarts --value brine-minion"),
        "0"
    );

    web1.run(&format!("rm {FULL}/filler"));
    let (code, report) = apply(master, &["web1", "disk", "-t", "60"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        web1.read_file(&format!("{FULL}/data.txt")).unwrap() == big.as_bytes(),
        "the new file is not whole"
    );
    let (code, report) = apply(master, &["web1", "disk", "-t", "60"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["web1"]["file_|-/srv/full/data.txt_|-/srv/full/data.txt_|-managed"]["changes"],
        json!({}),
        "{report:#}"
    );
    web1.run(&format!("umount {FULL}"));
}

/// 3b: the minion's own cache dir (outbox, started jobs) is full.
pub fn cache_full(master: &Master, web1: &Container) {
    // A small filesystem over the cache dir while the minion runs: its
    // outbox and job list start empty there.
    web1.run(&format!(
        "mount -t tmpfs -o size=64k,nr_inodes=64,mode=0700 brine-cache {CACHEDIR} \
             && mkdir {CACHEDIR}/outbox {CACHEDIR}/files \
             && echo > {CACHEDIR}/jobs.log \
             && (dd if=/dev/zero of={CACHEDIR}/filler bs=4k 2>/dev/null || true)"
    ));
    // No room for a result: the job runs and its result still reaches the
    // master directly; the minion says it could not keep it.
    let (code, report) = apply(master, &["web1", "quick", "-t", "60"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(all_ok(&report["web1"]), "{report:#}");
    // The journal may take a moment to have what the minion logged.
    wait_for(
        Duration::from_secs(30),
        "the minion to say it could not keep the result",
        master,
        &[web1],
        || {
            web1.run("journalctl -u brine-minion --no-pager -o cat | grep 'cannot store a result' || true",
            )
            .contains("No space left on device")
        },
    );
    assert_eq!(
        web1.run(&format!("ls -A {CACHEDIR}/outbox")),
        "",
        "a half-stored result was left in the outbox"
    );

    // No room left even in the started-jobs log (its last page filled): the
    // job cannot be recorded as started, so it is not run, and the minion
    // says so at once.
    web1.run(&format!(
        "n=$((4096 - $(stat -c %s {CACHEDIR}/jobs.log) % 4096)); \
             head -c $n /dev/zero | tr '\\0' '\\n' >> {CACHEDIR}/jobs.log; \
             i=0; while touch {CACHEDIR}/inode$i 2>/dev/null; do i=$((i+1)); done"
    ));
    let (code, report) = apply(master, &["web1", "quick", "-t", "60"]);
    assert_eq!(code, 1, "{report:#}");
    let why = report["web1"].as_str().unwrap_or_default();
    assert!(
        why.contains("No space left on device") && why.contains("not run"),
        "{report:#}"
    );

    web1.run(&format!("umount {CACHEDIR}"));
    let (code, report) = apply(master, &["web1", "quick", "-t", "60"]);
    assert_eq!(code, 0, "{report:#}");
    let (code, pong) = master.json(&["run", "web1", "test.ping", "-t", "30"]);
    assert_eq!((code, pong), (Some(0), json!({"web1": true})));
}

/// 4: web3 is killed (a power cut) while the job runs everywhere.
pub fn host_killed(master: &Master, fleet: &mut [Container]) {
    set_generation(master, 3);
    let all: Vec<&Container> = fleet.iter().collect();
    close_gates(&all);
    let op = Operator::start(master, &["apply", "*", "-t", "12", "--out", "json"]);
    wait_for(
        Duration::from_secs(60),
        "the job to start everywhere",
        master,
        &all,
        || all.iter().all(|c| started(c)),
    );
    fleet[2].kill();
    open_gates(&[&fleet[0], &fleet[1]]);
    let out = op.join();
    let report = parse(&out, master);
    assert_eq!(out.code, Some(3), "{report:#}\n{}", out.stderr);
    assert_eq!(report["web3"], NOT_RETURNED, "{report:#}");
    for c in &fleet[..2] {
        assert!(all_ok(&report[c.name()]), "{}: {report:#}", c.name());
        assert_files_whole(c, 3);
    }
    let jid = newest_jid(master, "*");
    assert_eq!(job_show(master, &jid)["missing"], json!(["web3"]));

    let (code, report) = apply(master, &["-L", "web1,web2", "-t", "60"]);
    assert_eq!(code, 0, "{report:#}");
    for id in ["web1", "web2"] {
        assert!(files_unchanged(&report[id]), "{id}: {report:#}");
    }
}
