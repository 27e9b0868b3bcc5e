//! `master drift [TARGET]`: for each targeted minion (matched on cached
//! grains, as a publish is), what its last scheduled dry run
//! (`schedule` with `test: True`) found: the states with pending changes,
//! since when the runs have kept finding some, and whether the minion has
//! stopped reporting (its last run older than twice its schedule's
//! interval) or never did.
use std::sync::Arc;

use common::data::{Map, Value};
use common::target::TargetKind;
use serde_json::json;
use transport::wire::{Publish, PublishWhat};

use super::Master;
use crate::jobcache::{now_ms, ScheduledRun};

/// How far back a minion's runs are read to find when its drift began.
const RUNS_READ: usize = 1000;

pub async fn drift(
    master: Arc<Master>,
    target: String,
    tgt_type: TargetKind,
) -> Result<Value, String> {
    let tree = Arc::new(master.tree());
    let p = Publish {
        target,
        tgt_type,
        what: PublishWhat::Run {
            fun: "state.apply".into(),
            args: Vec::new(),
            kwargs: Map::new(),
        },
        timeout_secs: 0,
        batch: None,
    };
    let ids = super::publish::targets(&master, &tree, &p).await?;
    tokio::task::spawn_blocking(move || {
        let now = now_ms();
        let mut out = Map::new();
        for id in ids {
            let runs = master
                .jobs
                .lock()
                .unwrap()
                .scheduled_test_runs(&id, RUNS_READ)
                .map_err(|e| e.to_string())?;
            out.insert(id, judge(&runs, now));
        }
        Ok(Value::Object(out))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// One minion's verdict from its scheduled dry runs, newest first.
fn judge(runs: &[ScheduledRun], now: i64) -> Value {
    let Some(last) = runs.first() else {
        return json!({"status": "never", "drifted": false, "stale": false, "states": []});
    };
    let pending = pending_states(&last.ret);
    let interval_ms = i64::try_from(last.interval_secs)
        .unwrap_or(i64::MAX / 4)
        .saturating_mul(1000);
    let stale = interval_ms > 0 && now.saturating_sub(last.started) > 2 * interval_ms;
    let status = match &pending {
        None => "error",
        Some(p) if !p.is_empty() => "drifted",
        Some(_) if stale => "stale",
        Some(_) => "clean",
    };
    let drifted = status == "drifted";
    // The first of the consecutive runs, up to the last, that drifted.
    let since = drifted.then(|| {
        runs.iter()
            .take_while(|r| pending_states(&r.ret).is_some_and(|p| !p.is_empty()))
            .last()
            .map_or(last.started, |r| r.started)
    });
    json!({
        "status": status,
        "drifted": drifted,
        "stale": stale,
        "states": pending.unwrap_or_default(),
        "since": since,
        "last_run": last.started,
        "jid": last.jid.as_str(),
        "schedule": last.schedule,
        "interval": last.interval_secs,
    })
}

/// The states of a dry run's return that would change something (result
/// None, or changes); `None` when the return is not a state run's (the tree
/// did not compile).
fn pending_states(ret: &Value) -> Option<Vec<Value>> {
    let states = ret.as_object()?;
    let mut out = Vec::new();
    for (tag, r) in states {
        let r = r.as_object()?;
        let pending = r.get("result").is_some_and(Value::is_null)
            || r.get("changes")
                .and_then(Value::as_object)
                .is_some_and(|c| !c.is_empty());
        if !pending {
            continue;
        }
        let parts: Vec<&str> = tag.split("_|-").collect();
        let (module, id, name, fun) = match parts[..] {
            [m, i, n, f] => (m, i, n, f),
            _ => (tag.as_str(), "", "", ""),
        };
        out.push(json!({
            "state": format!("{module}.{fun}"),
            "id": id,
            "name": name,
            "comment": r.get("comment").cloned().unwrap_or(Value::Null),
        }));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(jid: &str, started: i64, ret: Value) -> ScheduledRun {
        ScheduledRun {
            jid: jid.parse().unwrap(),
            schedule: "drift".into(),
            interval_secs: 60,
            started,
            ret,
            retcode: 0,
        }
    }

    fn pending() -> Value {
        json!({"file_|-conf_|-/etc/app.conf_|-managed": {"result": null, "changes": {"diff": "x"}, "comment": "would change"},
               "pkg_|-curl_|-curl_|-installed": {"result": true, "changes": {}, "comment": "ok"}})
    }

    fn clean() -> Value {
        json!({"file_|-conf_|-/etc/app.conf_|-managed": {"result": true, "changes": {}, "comment": "ok"}})
    }

    #[test]
    fn drift_lists_the_pending_states_since_the_first_drifted_run() {
        let now = 1_000_000;
        let runs = [
            run("20260101000000000003", now - 10_000, pending()),
            run("20260101000000000002", now - 70_000, pending()),
            run("20260101000000000001", now - 130_000, clean()),
        ];
        let v = judge(&runs, now);
        assert_eq!(v["status"], "drifted");
        assert_eq!(v["drifted"], true);
        assert_eq!(v["since"], now - 70_000);
        assert_eq!(v["states"].as_array().unwrap().len(), 1);
        assert_eq!(v["states"][0]["state"], "file.managed");
        assert_eq!(v["states"][0]["id"], "conf");
        assert_eq!(v["states"][0]["name"], "/etc/app.conf");
    }

    #[test]
    fn clean_stale_never_and_error_are_told_apart() {
        let now = 1_000_000;
        let clean_now = [run("20260101000000000001", now - 10_000, clean())];
        assert_eq!(judge(&clean_now, now)["status"], "clean");
        assert_eq!(judge(&clean_now, now)["since"], Value::Null);
        let old = [run("20260101000000000001", now - 121_000, clean())];
        assert_eq!(judge(&old, now)["status"], "stale");
        assert_eq!(judge(&old, now)["stale"], true);
        assert_eq!(judge(&[], now)["status"], "never");
        let broken = [run(
            "20260101000000000001",
            now,
            json!(["Rendering SLS failed"]),
        )];
        assert_eq!(judge(&broken, now)["status"], "error");
        assert_eq!(judge(&broken, now)["drifted"], false);
    }
}
