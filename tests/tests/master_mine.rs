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
    refused(
        "'role:web', 'network.ip_addrs', tgt_type='pillar'",
        "",
        "mine.get with a target that reads pillar (pillar)",
    );
    refused(
        "'I@role:web', 'network.ip_addrs', tgt_type='compound'",
        "",
        "mine.get with a target that reads pillar (compound)",
    );
}

/// Salt's master-side mine ACL is not ignored.
#[test]
fn a_master_mine_get_acl_is_refused_not_ignored() {
    refused(
        "'*', 'network.ip_addrs'",
        "mine_get:\n  'lb*':\n    - network.ip_addrs\n",
        "mine_get (Salt's mine ACL) is not supported by Brine",
    );
}

/// Applies `mine.get(ARGS)` to lb1 and checks the compile fails with `error`.
fn refused(args: &str, master_config: &str, error: &str) {
    let sls = format!("{{% set x = salt['mine.get']({args}) %}}\nnoop:\n  test.nop\n");
    let master = Master::start_with(
        &[
            ("salt/top.sls", "base:\n  '*':\n    - lb\n"),
            ("salt/lb.sls", &sls),
        ],
        master_config,
    );
    let lb1 = start(&master, "lb1", "");
    wait_until(Duration::from_secs(20), "pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["lb1"]);
    let (code, v) = master.json(&["apply", "lb1"]);
    assert_ne!(code, Some(0), "{v:#}");
    let text = v.to_string();
    assert!(text.contains(error), "{text}");
    drop(lb1);
}

/// `minion show --local lowstate --id web01 [extra]` with `d/minion.yaml`.
fn show_local(d: &std::path::Path, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(tests::bin("minion"))
        .args(["show", "--local", "lowstate", "--id", "web01"])
        .args(extra)
        .arg("--config")
        .arg(d.join("minion.yaml"))
        .output()
        .unwrap()
}

/// [`show_local`]'s lowstate as JSON.
fn lowstate(d: &std::path::Path) -> Value {
    let out = show_local(d, &["--out", "json"]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

/// Masterless (`salt-call --local`): mine.get answers for this minion only,
/// from its own `mine_functions`, when the target matches it.
#[test]
fn masterless_mine_get_reads_this_hosts_own_mine_functions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |p: &str, text: &str| {
        let path = d.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("salt/top.sls", "base:\n  '*':\n    - lb\n");
    write(
        "salt/lb.sls",
        "mine:\n  test.nop:\n    - mine: {{ salt['mine.get']('role:web', 'greeting', tgt_type='grain') | json }}\n\
         \x20   - others: {{ salt['mine.get']('db*', 'greeting') | json }}\n\
         \x20   - both: {{ salt['mine.get']('*', 'greeting,missing') | json }}\n\
         \x20   - not_me: {{ salt['mine.get']('*', 'greeting', exclude_minion=True) | json }}\n",
    );
    write(
        "minion.yaml",
        &format!(
            "file_roots:\n  base: [{d}/salt]\npillar_roots:\n  base: [{d}/pillar]\n\
             grains:\n  role: web\n\
             mine_functions:\n  greeting:\n    - mine_function: test.echo\n    - hi\n",
            d = d.display()
        ),
    );
    let v = lowstate(d);
    let chunk = &v["local"][0];
    assert_eq!(chunk["mine"], serde_json::json!({"web01": "hi"}), "{v:#}");
    assert_eq!(chunk["others"], serde_json::json!({}), "{v:#}");
    assert_eq!(
        chunk["both"],
        serde_json::json!({"greeting": {"web01": "hi"}}),
        "{v:#}"
    );
    assert_eq!(chunk["not_me"], serde_json::json!({}), "{v:#}");

    // mine_functions in pillar merge over the config's, as Salt's
    // config.merge does: the same key replaced, a new key added.
    write("pillar/top.sls", "base:\n  '*':\n    - mine\n");
    write(
        "pillar/mine.sls",
        "mine_functions:\n  greeting:\n    - mine_function: test.echo\n    - from pillar\n\
         \x20 extra:\n    - mine_function: test.echo\n    - more\n",
    );
    write(
        "salt/lb.sls",
        "mine:\n  test.nop:\n    - both: {{ salt['mine.get']('*', 'greeting,extra') | json }}\n",
    );
    let v = lowstate(d);
    assert_eq!(
        v["local"][0]["both"],
        serde_json::json!({"greeting": {"web01": "from pillar"}, "extra": {"web01": "more"}}),
        "{v:#}"
    );

    // A pillar mine_functions that is not Salt's shape is an error naming it.
    write("pillar/mine.sls", "mine_functions: [greeting]\n");
    let out = show_local(d, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("pillar key mine_functions"), "{err}");
}

/// Salt's minion runs the `mine_functions` of its pillar too: the master
/// compiles each minion's pillar when it connects and sends it those, and
/// `saltutil.refresh_pillar` sends them again after the pillar changed.
#[test]
fn mine_functions_from_pillar_reach_the_mine() {
    let mut files = tree();
    files.push(("pillar/top.sls", "base:\n  'web*':\n    - mine\n"));
    files.push((
        "pillar/mine.sls",
        "mine_functions:\n  network.ip_addrs:\n    - include_loopback: true\n\
         \x20 greeting:\n    - mine_function: test.echo\n    - {{ grains['role'] }}\n",
    ));
    let master = Master::start(&files);
    // No mine_functions in either minion's config.
    let web1 = start(&master, "web1", "grains:\n  role: web\n");
    let lb1 = start(&master, "lb1", "grains:\n  role: lb\n");
    std::fs::create_dir_all(lb1.root().join("etc")).unwrap();
    wait_until(Duration::from_secs(20), "two pending keys", || {
        master.pending().len() == 2
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "lb1"]);
    let read = |id: &str| std::fs::read_to_string(mine_file(&master, id)).unwrap_or_default();
    wait_until(
        Duration::from_secs(20),
        "web1's mine from its pillar",
        || read("web1").contains("greeting"),
    );
    let sent: Value = serde_json::from_str(&read("web1")).unwrap();
    assert_eq!(sent["greeting"], "web", "{sent}");
    assert!(
        sent["network.ip_addrs"]
            .as_array()
            .is_some_and(|a| a.contains(&Value::from("127.0.0.1"))),
        "{sent}"
    );
    // lb1's pillar has no mine_functions: it sends nothing.
    assert!(!mine_file(&master, "lb1").exists());
    apply_lb(&master);
    assert!(
        backends(&lb1).starts_with("server web1 "),
        "{}",
        backends(&lb1)
    );

    // The pillar changes; a refresh sends the new functions at once.
    std::fs::write(
        master.dir.path().join("pillar/mine.sls"),
        "mine_functions:\n  greeting:\n    - mine_function: test.echo\n    - refreshed\n",
    )
    .unwrap();
    let (code, v) = master.json(&["run", "web1", "saltutil.refresh_pillar"]);
    assert_eq!(code, Some(0), "{v:#}");
    wait_until(Duration::from_secs(20), "the refreshed mine", || {
        read("web1").contains("refreshed")
    });
    drop((web1, lb1));
}

/// The mine is sent again every `mine_interval` (minutes, as Salt counts),
/// and a function that could change the host is never run for it.
#[test]
fn the_mine_is_refreshed_every_interval_and_host_changing_functions_are_skipped() {
    let master = Master::start(&tree());
    let m = start(
        &master,
        "web1",
        "mine_interval: 0.01\nmine_functions:\n  motd:\n    - mine_function: file.read\n    - /motd\n\
         \x20 cmd.run:\n    - touch /tmp/brine-mine-must-not-run\n",
    );
    std::fs::write(m.root().join("motd"), "first").unwrap();
    wait_until(Duration::from_secs(20), "pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    let read = || std::fs::read_to_string(mine_file(&master, "web1")).unwrap_or_default();
    wait_until(Duration::from_secs(20), "the first mine", || {
        read().contains("first")
    });
    std::fs::write(m.root().join("motd"), "second").unwrap();
    wait_until(Duration::from_secs(20), "the refreshed mine", || {
        read().contains("second")
    });
    assert!(!read().contains("cmd.run"), "{}", read());
    assert!(
        m.log().contains("mine function skipped") && m.log().contains("cmd.run"),
        "{}",
        m.log()
    );
}

/// A minion's mine is bounded: data over `wire::MAX_MINE` is refused
/// whole (logged), and the session goes on.
#[test]
fn mine_data_over_the_limit_is_not_kept() {
    use tests::raw_minion::RawMinion;
    use transport::wire::{Admission, MinionMsg, MAX_MINE};
    let master = Master::start_with(&tree(), "auto_accept: True\n");
    let (raw, admission) = RawMinion::connect(master.ret_port, "web1").unwrap();
    assert_eq!(admission, Admission::Accepted);
    let mut big = serde_json::Map::new();
    big.insert("blob".into(), Value::String("x".repeat(MAX_MINE)));
    raw.send(&MinionMsg::Mine { data: big }).unwrap();
    let mut small = serde_json::Map::new();
    small.insert("ok".into(), Value::from(1));
    raw.send(&MinionMsg::Mine { data: small }).unwrap();
    wait_until(Duration::from_secs(20), "the small mine kept", || {
        mine_file(&master, "web1").exists()
    });
    let kept = std::fs::read_to_string(mine_file(&master, "web1")).unwrap();
    assert_eq!(kept, r#"{"ok":1}"#);
    assert!(
        master.log().contains("mine data over the limit"),
        "{}",
        master.log()
    );
}
