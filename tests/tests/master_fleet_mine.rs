//! The mine on a real fleet: two web hosts and a load balancer (Debian in
//! systemd-nspawn containers, each on its own network) run the installed
//! minion; the web hosts send `network.ip_addrs` to the mine, and the load
//! balancer's backend list, rendered on the master from
//! `salt['mine.get']('role:web', 'network.ip_addrs', tgt_type='grain')`,
//! holds exactly the web hosts and their own addresses. Prints
//! `skipped: <reason>` where containers cannot run.
use std::time::{Duration, Instant};

use serde_json::json;
use tests::daemons::{wait_until, Master};
use tests::fleet::{self, Options};
use tests::fleet_minion::install_minion;

const LB: &str = r#"
{%- set backends = salt['mine.get']('role:web', 'network.ip_addrs', tgt_type='grain') %}
{%- set lines = [] %}
{%- for id in backends | sort %}
{%- do lines.append('server ' ~ id ~ ' ' ~ backends[id] | join(',') ~ ':80') %}
{%- endfor %}
/etc/backends.txt:
  file.managed:
    - contents: {{ lines | join('\n') | json }}
"#;

#[test]
fn a_load_balancer_lists_the_web_hosts_from_the_mine() {
    if !fleet::skip_or_continue("a_load_balancer_lists_the_web_hosts_from_the_mine") {
        return;
    }
    let ids = ["web1", "web2", "lb1"];
    let fleet = fleet::boot_all(&ids, &Options::private_network());
    let master = Master::start_on(
        "0.0.0.0",
        &[
            ("salt/top.sls", "base:\n  'lb*':\n    - lb\n"),
            ("salt/lb.sls", LB),
        ],
        "",
    );
    std::thread::scope(|s| {
        for (c, id) in fleet.iter().zip(ids) {
            let port = master.ret_port;
            let role = if id.starts_with("web") { "web" } else { "lb" };
            let mine = if role == "web" {
                "mine_functions:\n  network.ip_addrs: []\n"
            } else {
                ""
            };
            let tuning = format!("ping_interval: 2\ngrains:\n  role: {role}\n{mine}");
            s.spawn(move || install_minion(c, id, port, &tuning));
        }
    });
    wait_until(Duration::from_secs(90), "three pending keys", || {
        master.pending().len() == 3
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&ids);
    for id in ["web1", "web2"] {
        let path = master
            .dir
            .path()
            .join(format!("cache/minions/{id}/mine.json"));
        wait_until(Duration::from_secs(60), "mine data", || path.exists());
    }
    let started = Instant::now();
    let (code, v) = master.json(&["apply", "lb1"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", master.log());
    eprintln!("applied in {:?}", started.elapsed());
    let lb = &fleet[2];
    let got = String::from_utf8(lb.read_file("/etc/backends.txt").unwrap()).unwrap();
    let want = format!(
        "server web1 {}:80\nserver web2 {}:80\n",
        fleet[0].address(),
        fleet[1].address()
    );
    assert_eq!(got, want);
    assert_ne!(fleet[0].address(), fleet[1].address());
    // What each web host would answer itself, through the same function.
    let (code, v) = master.json(&["run", "web*", "network.ip_addrs"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(
        v,
        json!({"web1": [fleet[0].address().to_string()], "web2": [fleet[1].address().to_string()]})
    );
}
