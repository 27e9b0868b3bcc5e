//! A job that runs longer than the master's idle timeout for sessions (30 s,
//! `listener::Limits`): the operator waiting on it must still get the report.
//! The master closes any session that says nothing for that long, so the
//! waiting `master apply` has to keep saying it is there.
use std::time::Duration;

use serde_json::json;
use tests::daemons::{wait_until, Master};

#[test]
fn an_apply_longer_than_the_idle_timeout_is_still_reported() {
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - nap\n"),
        (
            "salt/nap.sls",
            "nap:\n  cmd.run:\n    - name: sleep 40 && echo rested\n",
        ),
        ("pillar/top.sls", "base: {}\n"),
    ];
    let master = Master::start(&files);
    let _m = master.minion("web1");
    wait_until(Duration::from_secs(20), "the key pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);

    let (code, v) = master.json(&["apply", "*", "-t", "100"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", master.log());
    let nap = v["web1"]
        .as_object()
        .and_then(|s| s.values().next())
        .unwrap_or_else(|| panic!("no report from web1: {v:#}"));
    assert_eq!(nap["result"], json!(true), "{v:#}");
    assert_eq!(nap["changes"]["stdout"], "rested", "{v:#}");
}
