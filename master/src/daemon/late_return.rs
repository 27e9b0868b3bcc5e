//! A return that comes with no publish waiting for it: the master restarted,
//! the deadline passed, or another master published the job. It is recorded
//! with the job's secrets hidden, or withheld when they cannot be known.
use std::sync::Arc;

use common::data::Value;
use states::compile::JobEnv;
use transport::wire::{Jid, JobReturn};

use super::publish::probe_for;
use super::Master;
use crate::jobcache::{LateReturn, NewReturn};

/// A return that arrived with no publish waiting (the master restarted, or
/// the deadline passed, or another master published the job): recorded if
/// this minion was expected and has not returned yet. What the cache made
/// of it.
pub fn record_late_return(master: &Arc<Master>, id: &str, ret: &JobReturn) -> LateReturn {
    let noted = master
        .late_secrets
        .lock()
        .unwrap()
        .remove(&(ret.jid.clone(), id.to_string()));
    // Asked first, from the job's row alone: a return that will not be
    // recorded costs neither a read of the job's returns nor a pillar
    // compile (with two masters, a minion may hand the same result to both).
    let wanted = master.jobs.lock().unwrap().late_return_wanted(&ret.jid, id);
    let (saltenv, pillarenv) = match wanted {
        Ok(LateReturn::Wanted { saltenv, pillarenv }) => (saltenv, pillarenv),
        Ok(other) => return other,
        Err(e) => {
            tracing::warn!(minion = %id, jid = %ret.jid, error = %e, "cannot read a late return's job");
            return LateReturn::Unwanted;
        }
    };
    let secrets = noted.or_else(|| {
        let job = JobEnv {
            saltenv: Some(saltenv.clone()),
            pillarenv: pillarenv.clone(),
            pillar: None,
        };
        pillar_secrets_again(master, id, &ret.jid, &job)
    });
    let shown = match secrets {
        Some(secrets) => {
            let mut shown = ret.ret.clone();
            common::render::hide_secrets(&mut shown, &secrets);
            shown
        }
        None => withheld(&ret.ret),
    };
    let r = NewReturn {
        minion: id,
        success: ret.success,
        retcode: ret.retcode,
        ret: &shown,
    };
    let recorded = master.jobs.lock().unwrap().record_late_return(&ret.jid, &r);
    if !matches!(recorded, Ok(true)) {
        return LateReturn::Unwanted;
    }
    super::events::late_return(master, &ret.jid, &r);
    LateReturn::Wanted { saltenv, pillarenv }
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
