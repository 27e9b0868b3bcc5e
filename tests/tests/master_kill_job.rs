//! End to end: `saltutil.running` answers while a long job runs, and
//! `saltutil.kill_job` stops it: its command gets SIGTERM, the job's result
//! is a failure saying it was killed, and it is not run again. Real `master
//! serve` and `minion serve` on loopback.
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tests::daemons::{wait_until, Master};

/// Kills the waiting operator command however the test ends.
struct Waiting(std::process::Child);

impl Drop for Waiting {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn alive(pid: u32) -> bool {
    // A zombie is dead for this purpose: its command has ended.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

#[test]
fn running_lists_a_long_job_and_kill_job_stops_it_for_good() {
    let master = Master::start(&[
        ("salt/top.sls", "base: {}\n"),
        ("pillar/top.sls", "base: {}\n"),
    ]);
    let m = master.minion("web1");
    wait_until(Duration::from_secs(20), "the key pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);

    let scratch = tempfile::tempdir().unwrap();
    let pid_file = scratch.path().join("pid");
    let line = format!("sh -c 'echo $$ > {}; exec sleep 300'", pid_file.display());
    let waiting = Command::new(tests::bin("master"))
        .args([
            "run", "web1", "cmd.run", &line, "-t", "120", "--out", "json",
        ])
        .arg("--config")
        .arg(master.config())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut waiting = Waiting(waiting);
    wait_until(Duration::from_secs(30), "the command started", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|s| s.trim().parse::<u32>().is_ok())
    });
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(pid));

    // Answered while the long job runs: both jobs, this one included.
    let (code, v) = master.json(&["run", "web1", "saltutil.running"]);
    assert_eq!(code, Some(0), "{v:#}");
    let jobs = v["web1"].as_array().unwrap_or_else(|| panic!("{v:#}"));
    let long = jobs
        .iter()
        .find(|j| j["fun"] == "cmd.run")
        .unwrap_or_else(|| panic!("no cmd.run in {v:#}"));
    assert_eq!(long["arg"], json!([line]), "{v:#}");
    assert!(jobs.iter().any(|j| j["fun"] == "saltutil.running"), "{v:#}");
    for key in ["jid", "fun", "arg", "pid", "tgt", "user"] {
        assert!(long.get(key).is_some(), "{key} missing: {long}");
    }
    let jid = long["jid"].as_str().unwrap().to_string();

    let (code, v) = master.json(&["run", "web1", "saltutil.kill_job", &jid]);
    assert_eq!(code, Some(0), "{v:#}");
    let said = v["web1"].as_str().unwrap_or_default();
    assert!(
        said.starts_with(&format!("Signal 9 sent to job {jid}")),
        "{v:#}"
    );
    wait_until(Duration::from_secs(10), "the command gone", || !alive(pid));

    // The waiting operator gets the job's failure.
    wait_until(Duration::from_secs(30), "the operator's answer", || {
        matches!(waiting.0.try_wait(), Ok(Some(_)))
    });
    let mut out = String::new();
    use std::io::Read;
    waiting
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let ret = v["web1"].as_str().unwrap_or_default();
    assert!(ret.contains(&format!("Job {jid} was killed")), "{v:#}");

    // Gone from the running jobs, and an unknown job is Salt's empty answer.
    let (_, v) = master.json(&["run", "web1", "saltutil.running"]);
    assert!(
        !v["web1"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["jid"] == jid.as_str()),
        "{v:#}"
    );
    let (_, v) = master.json(&["run", "web1", "saltutil.kill_job", &jid]);
    assert_eq!(v["web1"], "", "{v:#}");
    // Started once, recorded as such: never run again.
    assert_eq!(
        m.jobs_started().iter().filter(|j| **j == jid).count(),
        1,
        "{:?}",
        m.jobs_started()
    );
}
