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
use std::path::PathBuf;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::daemons::Master;
use tests::fleet::{self, Container, Options};
use tests::fleet_minion::{install_minion, CACHEDIR};

const IDS: [&str; 3] = ["web1", "web2", "web3"];
/// Where the `slow` tree writes, on every host.
const DIR: &str = "/srv/faults";
const FILES: usize = 4;
/// Lines per managed file (each file is a few hundred KiB).
const LINES: usize = 4000;
/// What the cmd.run of the `slow` tree touches first, so the test knows the
/// job is running there.
const STARTED: &str = "/srv/faults/.started";
/// What that cmd.run then waits for (a minute at most), so the test decides
/// when the job goes on, whatever the machine's speed.
const GATE: &str = "/srv/faults/.go";
/// The small filesystem of the disk-full scenario.
const FULL: &str = "/srv/full";
/// Heartbeats short enough that a lost link is noticed within seconds.
const FAST_HEARTBEAT: &str = "ping_interval: 1\nrandom_reconnect_delay: 2\n";
const NOT_RETURNED: &str = "Minion did not return. [No response]";

const TOP: &str = "base:\n  '*':\n    - slow\n";
const PILLAR_TOP: &str = "base:\n  '*':\n    - faults\n";

/// A job that runs until the test opens its gate, then replaces several
/// files whose contents change with the pillar's generation.
fn slow_sls() -> String {
    format!(
        r#"
{{% set line = 'generation ' ~ pillar['gen'] ~ ' on ' ~ grains['id'] ~ ': a file never seen half-written\n' %}}
started:
  cmd.run:
    - name: >-
        mkdir -p {DIR} && touch {STARTED} &&
        for i in $(seq 600); do [ -e {GATE} ] && exit 0; sleep 0.1; done; exit 1
{{% for i in range({FILES}) %}}
{DIR}/file{{{{ i }}}}.txt:
  file.managed:
    - contents: {{{{ (line * {LINES}) | json }}}}
    - show_changes: False
    - require:
      - cmd: started
{{% endfor %}}
"#
    )
}

const DISK: &str = "\
/srv/full/data.txt:
  file.managed:
    - source: salt://big.txt
    - show_changes: False
";

const QUICK: &str = "quick:\n  test.succeed_without_changes\n";

/// What `slow` writes into each file for `gen` on `id`.
fn slow_content(gen: u32, id: &str) -> String {
    format!("generation {gen} on {id}: a file never seen half-written\n").repeat(LINES)
}

fn big_content() -> String {
    "a line of the bigger file that does not fit on the full disk\n".repeat(8000)
}

fn old_content() -> String {
    "the old file, which must survive whole\n".repeat(2000)
}

/// An operator command running on its own thread while the test breaks
/// things; `join` gives its exit status, stdout and stderr.
struct Operator(JoinHandle<tests::Output>);

impl Operator {
    fn start(master: &Master, args: &[&str]) -> Operator {
        let mut cmd = Command::new(tests::bin("master"));
        cmd.args(args).arg("--config").arg(master.config());
        Operator(std::thread::spawn(move || {
            tests::run(cmd, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"))
        }))
    }

    fn join(self) -> tests::Output {
        self.0.join().expect("operator thread")
    }
}

/// `master apply ARGS --out json`: exit status and report.
fn apply(master: &Master, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["apply"];
    all.extend(args);
    let (code, v) = master.json(&all);
    (code.unwrap_or(-1), v)
}

fn parse(out: &tests::Output, master: &Master) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e} (exit {:?})\nstdout: {}\nstderr: {}\n--- master log ---\n{}",
            out.code,
            out.stdout,
            out.stderr,
            tail(&master.log())
        )
    })
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(150)..].join("\n")
}

/// Polls `cond` every 100 ms until it holds; after `limit`, panics saying
/// what was awaited, with the logs of `master` and the minions on `hosts`.
fn wait_for(
    limit: Duration,
    what: &str,
    master: &Master,
    hosts: &[&Container],
    mut cond: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut logs = format!("--- master log ---\n{}\n", tail(&master.log()));
    for c in hosts {
        let journal = c.exec(&[
            "journalctl",
            "-u",
            "brine-minion",
            "--no-pager",
            "-n",
            "40",
            "-o",
            "short-precise",
        ]);
        logs.push_str(&format!(
            "--- {} minion journal ---\n{}\n",
            c.name(),
            String::from_utf8_lossy(&journal.stdout)
        ));
    }
    panic!("timed out after {limit:?} waiting for {what}\n{logs}");
}

/// Prints the tail of the master's log if the test fails (declare it after
/// the master, so it runs while the log is still there).
struct LogOnFailure(PathBuf);

impl Drop for LogOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.0).unwrap_or_default();
            eprintln!("--- master log (tail) ---\n{}", tail(&log));
        }
    }
}

/// Every state in a minion's report succeeded.
fn all_ok(report: &Value) -> bool {
    report
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.values().all(|r| r["result"] == true))
}

/// The `file.managed` states of `slow` in a report, none changed.
fn files_unchanged(report: &Value) -> bool {
    let files: Vec<&Value> = report
        .as_object()
        .map(|s| {
            s.iter()
                .filter(|(tag, _)| tag.starts_with("file_|-"))
                .map(|(_, r)| r)
                .collect()
        })
        .unwrap_or_default();
    files.len() == FILES
        && files
            .iter()
            .all(|r| r["result"] == true && r["changes"] == json!({}))
}

/// The newest job in the cache, which must be `function` on `target`.
fn newest_jid(master: &Master, target: &str) -> String {
    let (code, jobs) = master.json(&["jobs", "list"]);
    assert_eq!(code, Some(0), "{jobs:#}");
    let job = &jobs[0];
    assert_eq!(job["function"], "state.apply", "{jobs:#}");
    assert_eq!(job["target"], target, "{jobs:#}");
    job["jid"].as_str().expect("a jid").to_string()
}

fn job_show(master: &Master, jid: &str) -> Value {
    let (code, v) = master.json(&["jobs", "show", jid]);
    assert_eq!(code, Some(0), "{v:#}");
    v
}

/// The return `id` gave for a job, as the cache holds it.
fn cached_return<'a>(job: &'a Value, id: &str) -> Option<&'a Value> {
    job["returns"]
        .as_array()?
        .iter()
        .find(|r| r["minion"] == id)
}

/// Every file of `slow` on `c` holds exactly generation `gen`, and nothing
/// else (no temp file) is in the directory.
fn assert_files_whole(c: &Container, gen: u32) {
    let want = slow_content(gen, c.name());
    for i in 0..FILES {
        let path = format!("{DIR}/file{i}.txt");
        let got = c.read_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            got == want.as_bytes(),
            "{}: {path} is not generation {gen} whole ({} bytes, want {})",
            c.name(),
            got.len(),
            want.len()
        );
    }
    let listing = c.run(&format!("ls -A {DIR} | sort | tr '\\n' ' '"));
    assert_eq!(
        listing,
        ".go .started file0.txt file1.txt file2.txt file3.txt",
        "{}: stray files in {DIR}",
        c.name()
    );
}

fn set_generation(master: &Master, gen: u32) {
    std::fs::write(
        master.dir.path().join("pillar/faults.sls"),
        format!("gen: {gen}\n"),
    )
    .unwrap();
}

fn started(c: &Container) -> bool {
    c.exec(&["test", "-e", STARTED]).status.success()
}

/// Before a job: not started, gate closed.
fn close_gates(fleet: &[&Container]) {
    for c in fleet {
        c.run(&format!("rm -f {STARTED} {GATE}"));
    }
}

/// Lets the job go on (or pass straight through if it has not started).
fn open_gates(fleet: &[&Container]) {
    for c in fleet {
        c.run(&format!("mkdir -p {DIR} && touch {GATE}"));
    }
}

/// Jids in a minion's outbox (results not yet acked by the master).
fn outbox(c: &Container) -> Vec<String> {
    c.run(&format!("ls {CACHEDIR}/outbox"))
        .split_whitespace()
        .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// Once `hosts` have had their results acked (their outboxes empty), the next
/// apply to all succeeds and changes no file: the fleet converged. The report.
fn converges(master: &Master, hosts: &[&Container]) -> Value {
    for c in hosts {
        wait_for(
            Duration::from_secs(30),
            "outboxes acked",
            master,
            &[c],
            || outbox(c).is_empty(),
        );
    }
    let (code, report) = apply(master, &["*", "-t", "60"]);
    assert_eq!(code, 0, "{report:#}");
    for id in IDS {
        assert!(files_unchanged(&report[id]), "{id}: {report:#}");
    }
    report
}

#[test]
fn master_fleet_reports_and_converges_through_faults() {
    if !fleet::skip_or_continue("master_fleet_reports_and_converges_through_faults") {
        return;
    }
    let t0 = Instant::now();
    let phase = |what: &str| eprintln!("[{:6.1}s] {what}", t0.elapsed().as_secs_f64());
    let opts = Options {
        private_network: true,
        ..Options::default()
    };
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

/// 1: web3's link goes down while the job runs on it.
fn link_cut(master: &Master, fleet: &[Container]) {
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
fn master_restart(master: &mut Master, fleet: &[Container]) {
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
fn disk_full(master: &Master, web1: &Container, big: &str) {
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
fn cache_full(master: &Master, web1: &Container) {
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
fn host_killed(master: &Master, fleet: &mut [Container]) {
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
