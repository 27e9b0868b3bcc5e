//! The jobs this daemon is running now, for `saltutil.running` and
//! `saltutil.kill_job`. A job is a thread of the daemon, so its `pid` is the
//! daemon's; what it runs (commands) is in process groups its
//! [`JobControl`] holds, which a kill signals.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::data::Value;
use serde_json::json;
use states::state::JobControl;
use transport::wire::{Jid, JobKind};

/// How long a killed job's commands get between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct JobTable {
    jobs: Mutex<BTreeMap<Jid, Entry>>,
}

struct Entry {
    fun: String,
    arg: Vec<Value>,
    control: Arc<JobControl>,
}

impl JobTable {
    /// A job starts: its control, which the job's thread runs it under.
    pub fn begin(&self, jid: &Jid, kind: &JobKind) -> Arc<JobControl> {
        let (fun, arg) = match kind {
            // The minion gets compiled chunks, not the call that made them
            // (state.apply, state.sls, state.single ... all arrive alike).
            JobKind::Apply { .. } => ("state.apply".to_string(), Vec::new()),
            JobKind::Run { fun, args, kwargs } => {
                let mut arg = args.clone();
                if !kwargs.is_empty() {
                    // Salt's way of showing keyword arguments in `arg`.
                    let mut kw = kwargs.clone();
                    kw.insert("__kwarg__".into(), Value::Bool(true));
                    arg.push(Value::Object(kw));
                }
                (fun.clone(), arg)
            }
        };
        let control = JobControl::new();
        self.lock().insert(
            jid.clone(),
            Entry {
                fun,
                arg,
                control: control.clone(),
            },
        );
        control
    }

    pub fn end(&self, jid: &Jid) {
        self.lock().remove(jid);
    }

    /// Salt's `saltutil.running`: one map per running job, this one too.
    /// The master sends a minion neither the target nor the user.
    pub fn running(&self) -> Value {
        let pid = std::process::id();
        Value::Array(
            self.lock()
                .iter()
                .map(|(jid, e)| {
                    json!({"jid": jid.as_str(), "fun": e.fun, "arg": e.arg, "pid": pid,
                           "tgt": null, "user": null})
                })
                .collect(),
        )
    }

    /// Salt's `saltutil.kill_job`: its words when the job runs, `""` when
    /// no job has that id.
    pub fn kill(&self, jid: &str) -> Value {
        let found = self
            .lock()
            .iter()
            .find(|(j, _)| j.as_str() == jid)
            .map(|(_, e)| e.control.clone());
        match found {
            Some(control) => {
                tracing::warn!(jid = %jid, "killing a job (saltutil.kill_job)");
                control.kill(KILL_GRACE);
                Value::String(format!(
                    "Signal 9 sent to job {jid} at pid {}",
                    std::process::id()
                ))
            }
            None => Value::String(String::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Jid, Entry>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}
