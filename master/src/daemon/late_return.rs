//! Returns that come with no publish waiting for them: the master
//! restarted, the deadline passed, or another master published the job.
//! They are recorded in batches, a job at a time, with the job's secrets
//! hidden, or withheld when those cannot be known.
use std::sync::{Arc, Mutex};

use common::data::Value;
use states::compile::JobEnv;
use transport::wire::{Jid, JobReturn};

use super::publish::probe_for;
use super::Master;
use crate::jobcache::{LateReturns, NewReturn};

/// Late returns waiting to be recorded, and whether a task is draining
/// them. Each was recorded on a blocking task of its own, and each read
/// the job's row, whose list of expected minions has 10,000 ids in a
/// fleet-wide job: when a restarted master took a fleet's late returns,
/// those tasks held the job cache for minutes, and no new job could be
/// recorded meanwhile. Now one task records them a job at a time.
#[derive(Default)]
pub struct LateReturnQueue {
    queue: Mutex<(Vec<(String, JobReturn)>, bool)>,
}

/// Hands on minion `id`'s return that arrived with no publish waiting for
/// it, to be recorded if that minion was expected and has not returned.
/// Called on the runtime; the recording happens off its workers.
pub fn hand_on(master: &Arc<Master>, id: String, ret: JobReturn) {
    let mut queue = master.late_returns.queue.lock().unwrap();
    queue.0.push((id, ret));
    if queue.1 {
        return;
    }
    queue.1 = true;
    let master = master.clone();
    // A blocking task, so a stopping runtime waits for what was acked.
    tokio::task::spawn_blocking(move || drain(&master));
}

/// Clears the draining flag if a drain panics, so the next late return
/// starts another instead of waiting behind one that is gone.
struct Draining<'a>(&'a LateReturnQueue);

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.1 = false;
        }
    }
}

fn drain(master: &Arc<Master>) {
    let _draining = Draining(&master.late_returns);
    loop {
        let batch = {
            let mut queue = master.late_returns.queue.lock().unwrap();
            if queue.0.is_empty() {
                queue.1 = false;
                return;
            }
            std::mem::take(&mut queue.0)
        };
        let mut by_job: Vec<(Jid, Vec<(String, JobReturn)>)> = Vec::new();
        for (id, ret) in batch {
            match by_job.iter_mut().find(|(jid, _)| *jid == ret.jid) {
                Some((_, rets)) => rets.push((id, ret)),
                None => by_job.push((ret.jid.clone(), vec![(id, ret)])),
            }
        }
        for (jid, rets) in by_job {
            record_late_returns(master, &jid, &rets);
        }
    }
}

/// Records the late returns `rets` of job `jid`: those the job wants, with
/// the secrets of each minion's pillar hidden (or withheld when they cannot
/// be known), and fires their events.
fn record_late_returns(master: &Arc<Master>, jid: &Jid, rets: &[(String, JobReturn)]) {
    let minions: Vec<&str> = rets.iter().map(|(id, _)| id.as_str()).collect();
    let noted: Vec<Option<Vec<common::render::Secret>>> = {
        let mut late = master.late_secrets.lock().unwrap();
        minions
            .iter()
            .map(|id| late.remove(&(jid.clone(), id.to_string())))
            .collect()
    };
    // Asked first, from the job's row and those minions' returns alone: a
    // return that will not be recorded costs no pillar compile (with two
    // masters, a minion may hand the same result to both).
    let wanted = master
        .jobs
        .lock()
        .unwrap()
        .late_returns_wanted(jid, &minions);
    let (job, wanted) = match wanted {
        Ok(LateReturns::Job {
            saltenv,
            pillarenv,
            wanted,
        }) => {
            let job = JobEnv {
                saltenv: Some(saltenv),
                pillarenv,
                pillar: None,
            };
            (job, wanted)
        }
        // A minion with several masters hands a result to another one when
        // the master that sent the job is gone; with a job cache of its
        // own, this master has no job to file it under.
        Ok(LateReturns::UnknownJob) => {
            tracing::warn!(jid = %jid, returns = rets.len(), minions = %shown_ids(&minions),
                "a return for a job this master did not publish (another master's); acked, not recorded");
            return;
        }
        Err(e) => {
            tracing::warn!(jid = %jid, returns = rets.len(), error = %e, "cannot read a late return's job");
            return;
        }
    };
    let shown: Vec<(usize, Value)> = rets
        .iter()
        .zip(noted)
        .enumerate()
        .filter(|(i, _)| wanted[*i])
        .map(|(i, ((id, ret), noted))| {
            let secrets = noted.or_else(|| pillar_secrets_again(master, id, jid, &job));
            let shown = match secrets {
                Some(secrets) => {
                    let mut shown = ret.ret.clone();
                    common::render::hide_secrets(&mut shown, &secrets);
                    shown
                }
                None => withheld(&ret.ret),
            };
            (i, shown)
        })
        .collect();
    let rows: Vec<NewReturn<'_>> = shown
        .iter()
        .map(|(i, v)| NewReturn {
            minion: &rets[*i].0,
            success: rets[*i].1.success,
            retcode: rets[*i].1.retcode,
            ret: v,
        })
        .collect();
    let recorded = match master.jobs.lock().unwrap().record_late_returns(jid, &rows) {
        Ok(recorded) => recorded,
        Err(e) => {
            tracing::warn!(jid = %jid, returns = rows.len(), error = %e, "cannot record late returns");
            return;
        }
    };
    let added: Vec<NewReturn<'_>> = rows
        .iter()
        .zip(&recorded)
        .filter(|(_, added)| **added)
        .map(|(r, _)| *r)
        .collect();
    if added.len() < rets.len() {
        let mut kept = vec![false; rets.len()];
        for ((i, _), added) in shown.iter().zip(&recorded) {
            kept[*i] = *added;
        }
        let ignored: Vec<&str> = minions
            .iter()
            .zip(kept)
            .filter(|(_, kept)| !kept)
            .map(|(m, _)| *m)
            .collect();
        tracing::warn!(jid = %jid, returns = ignored.len(), minions = %shown_ids(&ignored),
            "a return already recorded, or for a job this minion was not sent; ignored");
    }
    super::events::late_returns(master, jid, &added);
}

/// Minion ids for a log line: the first few and how many more.
fn shown_ids(ids: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut s = ids
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    if ids.len() > SHOWN {
        s.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    s
}

/// What is recorded of a late return whose secrets cannot be known: any
/// string in it, a state's name in its key included, may hold a decrypted
/// pillar value, so only the counts are kept (`success` and `retcode` are
/// recorded beside it as they came).
fn withheld(ret: &Value) -> Value {
    let states = ret.as_object().filter(|m| {
        m.values().all(|v| {
            v.get("result")
                .is_some_and(|r| r.is_boolean() || r.is_null())
        })
    });
    let counts = match states {
        Some(m) => {
            let failed = m.values().filter(|v| v["result"] == false).count();
            format!(" ({} states, {failed} failed)", m.len())
        }
        None => String::new(),
    };
    Value::String(format!(
        "withheld{counts}: this result came back after its master had lost the job's secrets, \
         and the minion's pillar cannot be compiled now to find them; the result may hold a \
         decrypted pillar value, so it is not recorded"
    ))
}

/// What `gpg` decrypts in minion `id`'s pillar for a job in `job`'s
/// saltenv and pillarenv, compiled again: with a shared job cache a late
/// return may be of a job another master published, which alone noted its
/// secrets; after a restart this master's own are gone too. `None` when
/// the minion's grains are unknown or the pillar does not compile now:
/// the return is then withheld.
fn pillar_secrets_again(
    master: &Arc<Master>,
    id: &str,
    jid: &Jid,
    job: &JobEnv,
) -> Option<Vec<common::render::Secret>> {
    let Some(grains) = master.grains.get(id).map(|g| g.value()) else {
        tracing::warn!(minion = %id, jid = %jid, "a late return's minion has no cached grains: its result is withheld");
        return None;
    };
    let tree = master.tree();
    let probe = probe_for(master, id);
    match tree.with_minion(id, &grains, probe, |m| tree.job_pillar_secrets(m, job)) {
        Ok(secrets) => Some(secrets),
        Err(_) => {
            tracing::warn!(minion = %id, jid = %jid, "the pillar of a late return's job does not compile now: its result is withheld");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::withheld;

    #[test]
    fn a_withheld_return_keeps_counts_and_no_string_of_it() {
        let ret = json!({
            "cmd_|-slow_|-echo s3cret_|-run": {"result": true, "comment": "s3cret"},
            "file_|-/etc/app_|-/etc/app_|-managed": {"result": false, "changes": {"diff": "+s3cret"}},
        });
        let shown = withheld(&ret);
        let text = shown.as_str().unwrap();
        assert!(
            text.starts_with("withheld (2 states, 1 failed): "),
            "{text}"
        );
        assert!(!text.contains("s3cret"));
        let other = withheld(&json!("an execution function's s3cret output"));
        assert!(other.as_str().unwrap().starts_with("withheld: "));
        assert!(!other.to_string().contains("s3cret"));
    }
}
