//! A job's hold on the commands it runs, so the job can be stopped from
//! outside (the minion's `saltutil.kill_job`). The thread that runs a job
//! runs it inside [`JobControl::run`]; [`HostWrite::exec`](super::HostWrite::exec)
//! registers each command's process group here and refuses to start one once
//! the job is killed, and the executor stops between states.
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::StateError;

#[derive(Default)]
pub struct JobControl {
    /// Whether killed, and its commands running now as kill(2) targets: a
    /// process group as `-pgid` (`HostWrite::exec`), else the child's pid.
    inner: Mutex<Groups>,
}

#[derive(Default)]
struct Groups {
    killed: bool,
    running: BTreeSet<i32>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<JobControl>>> = const { RefCell::new(None) };
}

impl JobControl {
    pub fn new() -> Arc<Self> {
        Arc::new(JobControl::default())
    }

    /// Runs `f` (a job) on this thread under this control.
    pub fn run<R>(self: &Arc<Self>, f: impl FnOnce() -> R) -> R {
        let before = CURRENT.with(|c| c.replace(Some(self.clone())));
        let out = f();
        CURRENT.with(|c| *c.borrow_mut() = before);
        out
    }

    /// Stops the job: SIGTERM to each command's process group now, SIGKILL
    /// to those still there after `grace`; no command starts after this.
    pub fn kill(self: &Arc<Self>, grace: Duration) {
        let groups: Vec<i32> = {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.killed = true;
            g.running.iter().copied().collect()
        };
        signal(&groups, libc::SIGTERM);
        let me = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(grace);
            let left: Vec<i32> = {
                let g = me.inner.lock().unwrap_or_else(|e| e.into_inner());
                g.running.iter().copied().collect()
            };
            signal(&left, libc::SIGKILL);
        });
    }

    pub fn is_killed(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).killed
    }

    /// Whether the job running on this thread was killed.
    pub fn current_killed() -> bool {
        CURRENT.with(|c| c.borrow().as_ref().is_some_and(|j| j.is_killed()))
    }

    /// A command of this thread's job started (`target` as kill(2) takes
    /// it: `-pgid` for a process group); a killed job's is killed at once.
    pub(super) fn started(target: i32) -> Result<(), StateError> {
        let Some(job) = CURRENT.with(|c| c.borrow().clone()) else {
            return Ok(());
        };
        let mut g = job.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.killed {
            signal(&[target], libc::SIGKILL);
            return Err(StateError::host("the job was killed (saltutil.kill_job)"));
        }
        g.running.insert(target);
        Ok(())
    }

    /// The command `target` was reaped.
    pub(super) fn ended(target: i32) {
        if let Some(job) = CURRENT.with(|c| c.borrow().clone()) {
            let mut g = job.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.running.remove(&target);
        }
    }
}

fn signal(targets: &[i32], sig: libc::c_int) {
    for &target in targets {
        // SAFETY: kill(2) signals that process (or, negative, that group)
        // only; a target is unregistered once reaped, so it is not reused.
        unsafe {
            libc::kill(target, sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::{chunk, TestHost};
    use super::*;
    use crate::run::Runner;

    #[test]
    fn a_killed_job_stops_its_command_and_starts_no_further_state() {
        let t = TestHost::new();
        let marker = t.path("/after");
        let low = |id: &str, name: String, order: u64| {
            let mut c = chunk(
                "cmd",
                "run",
                json!({"__id__": id, "__sls__": "t", "__env__": "base", "name": name, "order": order}),
            );
            c.insert("cwd".into(), json!("/"));
            c
        };
        let chunks = vec![
            low("long", "sleep 60".into(), 1),
            low("after", format!("touch {}", marker.display()), 2),
        ];
        let control = JobControl::new();
        let job = control.clone();
        let host = t.host.clone();
        let started = std::time::Instant::now();
        let runner = std::thread::spawn(move || job.run(|| Runner::new(host, false).run(chunks)));
        while control.inner.lock().unwrap().running.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the command never started"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        control.kill(Duration::from_secs(5));
        let report = runner.join().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the command was not stopped"
        );
        assert!(!marker.exists(), "a state ran after the kill");
        assert_eq!(report.rets.len(), 1, "{:?}", report.to_json());
        assert!(
            !JobControl::current_killed(),
            "the control leaked to this thread"
        );
    }

    #[test]
    fn a_kill_reaches_a_command_run_without_its_own_group() {
        let t = TestHost::new();
        let control = JobControl::new();
        let job = control.clone();
        let write = t.writer();
        let started = std::time::Instant::now();
        let runner = std::thread::spawn(move || job.run(|| write.run(&["sleep", "60"], &[], None)));
        while control.inner.lock().unwrap().running.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the command never started"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        control.kill(Duration::from_secs(5));
        let ran = runner.join().unwrap().unwrap();
        assert_ne!(ran.retcode, 0);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the command was not stopped"
        );
        let refused = control.run(|| t.writer().run(&["true"], &[], None));
        assert!(refused.is_err(), "a killed job started a command");
    }
}
