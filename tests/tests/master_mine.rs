//! The Salt mine end to end: real minions send their `mine_functions`
//! returns, the master keeps them, and a load balancer's backend list is
//! rendered from `salt['mine.get']('role:web', 'network.ip_addrs',
//! tgt_type='grain')`: exactly the web minions, as they come and go.
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};

const LB: &str = r#"
{%- set backends = salt['mine.get']('role:web', 'network.ip_addrs', tgt_type='grain') %}
{%- set lines = [] %}
{%- for id in backends | sort %}
{%- do lines.append('server ' ~ id ~ ' ' ~ backends[id] | join(',')) %}
{%- endfor %}
/etc/backends.txt:
  file.managed:
    - contents: {{ lines | join('\n') | json }}
"#;

/// Includes loopback: a test host may have no other address.
const MINE: &str = "mine_functions:\n  network.ip_addrs:\n    - include_loopback: true\n";

fn tree() -> Vec<(&'static str, &'static str)> {
    vec![
        ("salt/top.sls", "base:\n  'lb*':\n    - lb\n"),
        ("salt/lb.sls", LB),
    ]
}

fn mine_file(master: &Master, id: &str) -> PathBuf {
    master
        .dir
        .path()
        .join(format!("cache/minions/{id}/mine.json"))
}

fn start(master: &Master, id: &str, extra: &str) -> Minion {
    Minion::start(id, master.ret_port, extra)
}

fn backends(lb: &Minion) -> String {
    std::fs::read_to_string(lb.root().join("etc/backends.txt")).unwrap_or_default()
}

fn apply_lb(master: &Master) {
    let (code, v) = master.json(&["apply", "lb1"]);
    assert_eq!(code, Some(0), "{v:#}");
}

#[test]
fn a_backend_list_from_the_mine_lists_exactly_the_web_minions() {
    let master = Master::start(&tree());
    let web1 = start(&master, "web1", &format!("grains:\n  role: web\n{MINE}"));
    // In the mine too, but not a web minion.
    let db1 = start(&master, "db1", &format!("grains:\n  role: db\n{MINE}"));
    let lb1 = start(&master, "lb1", "grains:\n  role: lb\n");
    std::fs::create_dir_all(lb1.root().join("etc")).unwrap();
    wait_until(Duration::from_secs(20), "three pending keys", || {
        master.pending().len() == 3
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "db1", "lb1"]);
    for id in ["web1", "db1"] {
        wait_until(Duration::from_secs(20), "mine data", || {
            mine_file(&master, id).exists()
        });
    }
    let sent: Value =
        serde_json::from_str(&std::fs::read_to_string(mine_file(&master, "web1")).unwrap())
            .unwrap();
    let addrs = sent["network.ip_addrs"]
        .as_array()
        .expect("a list of addresses");
    assert!(addrs.contains(&Value::from("127.0.0.1")), "{sent}");
    let line = |id: &str| {
        format!(
            "server {id} {}",
            addrs
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(",")
        )
    };

    apply_lb(&master);
    assert_eq!(backends(&lb1), format!("{}\n", line("web1")));

    // A second web minion: the lb's compile read the mine, so it is not
    // reused once the mine changed.
    let web2 = start(&master, "web2", &format!("grains:\n  role: web\n{MINE}"));
    wait_until(Duration::from_secs(20), "web2 pending", || {
        master.pending() == ["web2"]
    });
    master.cli(&["keys", "accept", "web2"]);
    wait_until(Duration::from_secs(20), "web2's mine data", || {
        mine_file(&master, "web2").exists()
    });
    apply_lb(&master);
    assert_eq!(
        backends(&lb1),
        format!("{}\n{}\n", line("web1"), line("web2"))
    );

    // A deleted key takes its mine with it.
    let (code, _) = master.json(&["keys", "delete", "web2"]);
    assert_eq!(code, Some(0));
    assert!(!mine_file(&master, "web2").exists());
    apply_lb(&master);
    assert_eq!(backends(&lb1), format!("{}\n", line("web1")));
    drop((web1, web2, db1));
}

#[test]
fn a_mine_target_that_needs_pillar_fails_the_compile_naming_why() {
    let sls = "{% set x = salt['mine.get']('role:web', 'network.ip_addrs', tgt_type='pillar') %}\nnoop:\n  test.nop\n";
    let master = Master::start(&[
        ("salt/top.sls", "base:\n  '*':\n    - lb\n"),
        ("salt/lb.sls", sls),
    ]);
    let lb1 = start(&master, "lb1", "");
    wait_until(Duration::from_secs(20), "pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["lb1"]);
    let (code, v) = master.json(&["apply", "lb1"]);
    assert_ne!(code, Some(0), "{v:#}");
    let text = v.to_string();
    assert!(
        text.contains("mine.get with a target that reads pillar (pillar)"),
        "{text}"
    );
    drop(lb1);
}
