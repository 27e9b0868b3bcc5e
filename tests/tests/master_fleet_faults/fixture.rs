//! What the fault scenarios share: the trees they apply, the operator's
//! commands, waits with deadlines, and reads of the job cache and the hosts.
use std::path::PathBuf;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::daemons::Master;
use tests::fleet::Container;
use tests::fleet_minion::CACHEDIR;

pub const IDS: [&str; 3] = ["web1", "web2", "web3"];
/// Where the `slow` tree writes, on every host.
pub const DIR: &str = "/srv/faults";
pub const FILES: usize = 4;
/// Lines per managed file (each file is a few hundred KiB).
pub const LINES: usize = 4000;
/// What the cmd.run of the `slow` tree touches first, so the test knows the
/// job is running there.
pub const STARTED: &str = "/srv/faults/.started";
/// What that cmd.run then waits for (a minute at most), so the test decides
/// when the job goes on, whatever the machine's speed.
pub const GATE: &str = "/srv/faults/.go";
/// The small filesystem of the disk-full scenario.
pub const FULL: &str = "/srv/full";
/// Heartbeats short enough that a lost link is noticed within seconds.
pub const FAST_HEARTBEAT: &str = "ping_interval: 1\nrandom_reconnect_delay: 2\n";
pub const NOT_RETURNED: &str = "Minion did not return. [No response]";

pub const TOP: &str = "base:\n  '*':\n    - slow\n";
pub const PILLAR_TOP: &str = "base:\n  '*':\n    - faults\n";

/// A job that runs until the test opens its gate, then replaces several
/// files whose contents change with the pillar's generation.
pub fn slow_sls() -> String {
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

pub const DISK: &str = "\
/srv/full/data.txt:
  file.managed:
    - source: salt://big.txt
    - show_changes: False
";

pub const QUICK: &str = "quick:\n  test.succeed_without_changes\n";

/// What `slow` writes into each file for `gen` on `id`.
pub fn slow_content(gen: u32, id: &str) -> String {
    format!("generation {gen} on {id}: a file never seen half-written\n").repeat(LINES)
}

pub fn big_content() -> String {
    "a line of the bigger file that does not fit on the full disk\n".repeat(8000)
}

pub fn old_content() -> String {
    "the old file, which must survive whole\n".repeat(2000)
}

/// An operator command running on its own thread while the test breaks
/// things; `join` gives its exit status, stdout and stderr.
pub struct Operator(pub JoinHandle<tests::Output>);

impl Operator {
    pub fn start(master: &Master, args: &[&str]) -> Operator {
        let mut cmd = Command::new(tests::bin("master"));
        cmd.args(args).arg("--config").arg(master.config());
        Operator(std::thread::spawn(move || {
            tests::run(cmd, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"))
        }))
    }

    pub fn join(self) -> tests::Output {
        self.0.join().expect("operator thread")
    }
}

/// `master apply ARGS --out json`: exit status and report.
pub fn apply(master: &Master, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["apply"];
    all.extend(args);
    let (code, v) = master.json(&all);
    (code.unwrap_or(-1), v)
}

pub fn parse(out: &tests::Output, master: &Master) -> Value {
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

pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(150)..].join("\n")
}

/// Polls `cond` every 100 ms until it holds; after `limit`, panics saying
/// what was awaited, with the logs of `master` and the minions on `hosts`.
pub fn wait_for(
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
pub struct LogOnFailure(pub PathBuf);

impl Drop for LogOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.0).unwrap_or_default();
            eprintln!("--- master log (tail) ---\n{}", tail(&log));
        }
    }
}

/// Every state in a minion's report succeeded.
pub fn all_ok(report: &Value) -> bool {
    report
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.values().all(|r| r["result"] == true))
}

/// The `file.managed` states of `slow` in a report, none changed.
pub fn files_unchanged(report: &Value) -> bool {
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
pub fn newest_jid(master: &Master, target: &str) -> String {
    let (code, jobs) = master.json(&["jobs", "list"]);
    assert_eq!(code, Some(0), "{jobs:#}");
    let job = &jobs[0];
    assert_eq!(job["function"], "state.apply", "{jobs:#}");
    assert_eq!(job["target"], target, "{jobs:#}");
    job["jid"].as_str().expect("a jid").to_string()
}

pub fn job_show(master: &Master, jid: &str) -> Value {
    let (code, v) = master.json(&["jobs", "show", jid]);
    assert_eq!(code, Some(0), "{v:#}");
    v
}

/// The return `id` gave for a job, as the cache holds it.
pub fn cached_return<'a>(job: &'a Value, id: &str) -> Option<&'a Value> {
    job["returns"]
        .as_array()?
        .iter()
        .find(|r| r["minion"] == id)
}

/// Every file of `slow` on `c` holds exactly generation `gen`, and nothing
/// else (no temp file) is in the directory.
pub fn assert_files_whole(c: &Container, gen: u32) {
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

pub fn set_generation(master: &Master, gen: u32) {
    std::fs::write(
        master.dir.path().join("pillar/faults.sls"),
        format!("gen: {gen}\n"),
    )
    .unwrap();
}

pub fn started(c: &Container) -> bool {
    c.exec(&["test", "-e", STARTED]).status.success()
}

/// Before a job: not started, gate closed.
pub fn close_gates(fleet: &[&Container]) {
    for c in fleet {
        c.run(&format!("rm -f {STARTED} {GATE}"));
    }
}

/// Lets the job go on (or pass straight through if it has not started).
pub fn open_gates(fleet: &[&Container]) {
    for c in fleet {
        c.run(&format!("mkdir -p {DIR} && touch {GATE}"));
    }
}

/// Jids in a minion's outbox (results not yet acked by the master).
pub fn outbox(c: &Container) -> Vec<String> {
    c.run(&format!("ls {CACHEDIR}/outbox"))
        .split_whitespace()
        .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// Once `hosts` have had their results acked (their outboxes empty), the next
/// apply to all succeeds and changes no file: the fleet converged. The report.
pub fn converges(master: &Master, hosts: &[&Container]) -> Value {
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
