//! A pillar top.sls that matches a nodegroup, on the master: the pillar top
//! gets the master's `nodegroups` as the state top does, so `pillar.items`,
//! `master render`, pillar targeting and an apply all see the pillar.
use std::time::Duration;

use tests::daemons::{wait_until, Master, Minion};

const EXTRA: &str = "\
nodegroups:
  webs: 'G@role:web'
";

fn fleet() -> (Master, Vec<Minion>) {
    let files = [
        (
            "salt/top.sls",
            "base:\n  webs:\n    - match: nodegroup\n    - web\n",
        ),
        (
            "salt/web.sls",
            "serve:\n  test.succeed_without_changes:\n    - name: {{ pillar.get('site', 'no-pillar') }}\n",
        ),
        (
            "pillar/top.sls",
            "base:\n  '*':\n    - common\n  webs:\n    - match: nodegroup\n    - web\n",
        ),
        ("pillar/common.sls", "motd: hello\n"),
        ("pillar/web.sls", "site: shop.example\n"),
    ];
    let master = Master::start_with(&files, EXTRA);
    let minions: Vec<Minion> = [
        ("web1", "grains:\n  role: web\n"),
        ("db1", "grains:\n  role: db\n"),
    ]
    .iter()
    .map(|(id, g)| Minion::start(id, master.ret_port, g))
    .collect();
    wait_until(Duration::from_secs(20), "two pending", || {
        master.pending().len() == 2
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "db1"]);
    (master, minions)
}

#[test]
fn a_pillar_top_matching_a_nodegroup_gives_its_members_the_pillar() {
    let (master, _minions) = fleet();

    let (code, p) = master.json(&["run", "*", "pillar.items"]);
    assert_eq!(code, Some(0), "{p}");
    assert_eq!(
        p["web1"],
        serde_json::json!({"motd": "hello", "site": "shop.example"})
    );
    assert_eq!(p["db1"], serde_json::json!({"motd": "hello"}));

    let (code, chunks) = master.json(&["render", "web1"]);
    assert_eq!(code, Some(0), "{chunks}");
    assert_eq!(chunks[0]["__id__"], "serve");
    assert_eq!(chunks[0]["name"], "shop.example");

    let (code, v) = master.json(&["run", "-I", "site:shop.example", "test.ping"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v, serde_json::json!({"web1": true}));

    let (code, v) = master.json(&["apply", "web1"]);
    assert_eq!(code, Some(0), "{v}");
    let states = v["web1"].as_object().expect("web1's state results");
    assert_eq!(states.len(), 1, "{v}");
    let (key, ret) = states.iter().next().unwrap();
    assert!(key.contains("shop.example"), "{key}");
    assert_eq!(ret["result"], true, "{v}");
}
