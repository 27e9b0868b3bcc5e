//! The daemons end to end on a real fleet: three Debian hosts (systemd as PID 1
//! in systemd-nspawn containers, each with its own network) run the `minion`
//! binary as the shipped `dist/systemd/brine-minion.service`; the real `master`
//! runs on the host, bound to 0.0.0.0. The operator accepts the three pending
//! keys, checks they answer `test.ping`, dry-runs the highstate (nothing changes
//! anywhere), applies it (nginx-light installed, a site rendered on the master
//! from pillar and grains, nginx running and serving it), changes the pillar
//! (nginx restarted exactly once on every host through the watch), and re-runs
//! unchanged (nothing restarts). Every assertion reads `--out json` and the
//! exit status. Prints `skipped: <reason>` and returns where containers cannot
//! run (not root, no systemd-nspawn, no rootfs).
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tests::fleet::{self, Options};
use tests::fleet_minion::install_minion;
use tests::nginx_tree::{
    main_pid, starts, PILLAR_TOP, SITE_PATH, SITE_PER_MINION, SITE_PORT, TOP, WEB,
};

const IDS: [&str; 3] = ["web1", "web2", "web3"];

/// The `master` daemon on the host, in a temp dir of its own; killed on drop.
struct Master {
    child: Child,
    dir: tempfile::TempDir,
    config: PathBuf,
    ret_port: u16,
}

impl Master {
    fn start() -> Master {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (path, text) in [
            ("salt/top.sls", TOP),
            ("salt/web.sls", WEB),
            ("salt/site.conf.j2", SITE_PER_MINION),
            ("pillar/top.sls", PILLAR_TOP),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let (ret_port, operator_port) = free_port_pair();
        let config = root.join("master.yaml");
        std::fs::write(
            &config,
            format!(
                "interface: 0.0.0.0\n\
                 ret_port: {ret_port}\n\
                 operator_port: {operator_port}\n\
                 file_roots:\n  base: [{r}/salt]\n\
                 pillar_roots:\n  base: [{r}/pillar]\n\
                 pki_dir: {r}/pki\n\
                 cachedir: {r}/cache\n\
                 timeout: 900\n",
                r = root.display()
            ),
        )
        .unwrap();
        let log = File::create(root.join("master.log")).unwrap();
        let child = Command::new(tests::bin("master"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("BRINE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot start master serve");
        let mut master = Master {
            child,
            dir,
            config,
            ret_port,
        };
        // Up once the operator port answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = master.child.try_wait() {
                panic!("master serve exited ({status}):\n{}", master.log());
            }
            if master.cli(&["keys", "list"]).code == Some(0) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the master did not answer within 30s:\n{}",
                master.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        master
    }

    /// `master ARGS --config <ours>` as root on the master host.
    fn cli(&self, args: &[&str]) -> tests::Output {
        let mut cmd = Command::new(tests::bin("master"));
        cmd.args(args).arg("--config").arg(&self.config);
        tests::run(cmd, Duration::from_secs(1200)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `master ARGS --out json`: the exit status and the parsed output.
    fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut argv = args.to_vec();
        argv.extend(["--out", "json"]);
        let out = self.cli(&argv);
        let v = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "`master {}`: {e} (exit {:?})\nstdout: {}\nstderr: {}\n--- master log ---\n{}",
                argv.join(" "),
                out.code,
                out.stdout,
                out.stderr,
                self.log()
            )
        });
        (out.code.unwrap_or(-1), v)
    }

    fn set_greeting(&self, greeting: &str) {
        std::fs::write(
            self.dir.path().join("pillar/web.sls"),
            format!("greeting: {greeting}\n"),
        )
        .unwrap();
    }

    /// The tail of the daemon's log, for failure messages.
    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("master.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two ports free on every address right now.
fn free_port_pair() -> (u16, u16) {
    let a = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let b = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// `GET /` from the host to the container's own address.
fn http_get(addr: Ipv4Addr, port: u16) -> String {
    let mut s = TcpStream::connect_timeout(&(addr, port).into(), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect {addr}:{port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_string())
        .unwrap_or(reply)
}

type States = Map<String, Value>;

/// `master apply '*' [--test] --out json`: the exit status and, per minion,
/// its states keyed `module.fun id`. Every minion must have returned a state
/// report (not a render error or "did not return").
fn apply(m: &Master, test: bool) -> (i32, BTreeMap<String, States>) {
    let mut args = vec!["apply", "*"];
    if test {
        args.push("--test");
    }
    let (code, v) = m.json(&args);
    let all = v.as_object().cloned().unwrap_or_default();
    let ids: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(ids, IDS, "{v:#}\n--- master log ---\n{}", m.log());
    let mut out = BTreeMap::new();
    for (id, ret) in all {
        let states = ret.as_object().unwrap_or_else(|| {
            panic!(
                "{id} returned no state report: {ret:#}\n--- master log ---\n{}",
                m.log()
            )
        });
        let states: States = states
            .iter()
            .map(|(tag, r)| {
                let parts: Vec<&str> = tag.split("_|-").collect();
                (format!("{}.{} {}", parts[0], parts[3], parts[1]), r.clone())
            })
            .collect();
        assert_eq!(
            states.keys().collect::<Vec<_>>(),
            [
                "pkg.installed nginx",
                "file.managed site",
                "service.running nginx"
            ],
            "{id}: {states:#?}"
        );
        out.insert(id, states);
    }
    (code, out)
}

fn no_changes(states: &States) -> bool {
    states
        .values()
        .all(|r| r["result"] == true && r["changes"].as_object().is_some_and(|c| c.is_empty()))
}

#[test]
fn master_applies_nginx_to_three_minions_and_restarts_once_per_pillar_change() {
    if !fleet::skip_or_continue(
        "master_applies_nginx_to_three_minions_and_restarts_once_per_pillar_change",
    ) {
        return;
    }
    let started = Instant::now();
    let phase = |what: &str| eprintln!("[{:6.1}s] {what}", started.elapsed().as_secs_f64());
    let opts = Options::private_network();
    let fleet = fleet::boot_all(&IDS, &opts);
    phase("3 containers booted");
    let master = Master::start();
    master.set_greeting("hello v1");
    phase("master serving");
    std::thread::scope(|s| {
        for (c, id) in fleet.iter().zip(IDS) {
            let port = master.ret_port;
            s.spawn(move || install_minion(c, id, port, "ping_interval: 2\n"));
        }
    });
    phase("brine-minion.service enabled and started on all 3");

    // The three keys arrive pending; the operator accepts them.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (code, keys) = master.json(&["keys", "list"]);
        assert_eq!(code, 0, "{keys:#}");
        if keys["minions_pre"] == json!(IDS) {
            assert_eq!(keys["minions"], json!([]), "{keys:#}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "keys not pending after 90s: {keys:#}\n--- master log ---\n{}",
            master.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // What the operator checks before accepting: the fingerprint the master
    // saw is the one each minion logged at start.
    for (c, id) in fleet.iter().zip(IDS) {
        let (code, fp) = master.json(&["keys", "fingerprint", id]);
        assert_eq!(code, 0, "{fp:#}");
        // As README says: `journalctl -u brine-minion | grep 'minion starting'`.
        let logged = c.run(
            "journalctl -u brine-minion --no-pager | grep 'minion starting' \
             | sed -n 's/.* fingerprint=\\([0-9a-f:]*\\).*/\\1/p' | head -n1",
        );
        assert_eq!(fp["fingerprint"], json!(logged), "{id}: {fp:#}");
    }
    let (code, accepted) = master.json(&["keys", "accept", "--all"]);
    assert_eq!(code, 0, "{accepted:#}");
    assert_eq!(accepted, json!({"accepted": IDS}));
    let (code, keys) = master.json(&["keys", "list"]);
    assert_eq!(code, 0);
    assert_eq!(keys["minions"], json!(IDS), "{keys:#}");
    assert_eq!(keys["minions_pre"], json!([]), "{keys:#}");
    phase("keys accepted");

    // Connected: each answers test.ping.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (code, pong) = master.json(&["run", "*", "test.ping", "-t", "10"]);
        if code == 0 {
            assert_eq!(pong, json!({"web1": true, "web2": true, "web3": true}));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all minions answer test.ping after 90s (exit {code}): {pong:#}\n--- master log ---\n{}",
            master.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    phase("all 3 answer test.ping");

    // A dry run: everything would change, nothing does, anywhere.
    let (code, dry) = apply(&master, true);
    assert_eq!(code, 0, "{dry:#?}");
    for (c, id) in fleet.iter().zip(IDS) {
        let states = &dry[id];
        assert!(
            states.values().all(|r| r["result"].is_null()),
            "{id}: {states:#?}"
        );
        assert_ne!(
            c.exec(&["dpkg-query", "-W", "nginx-light"]).status.code(),
            Some(0),
            "{id}: --test installed nginx-light"
        );
        assert!(
            c.read_file(SITE_PATH).is_err(),
            "{id}: --test wrote the site"
        );
    }
    phase("apply --test: nothing changed on any host");

    // For real: installed, configured from pillar, running, serving.
    let (code, first) = apply(&master, false);
    assert_eq!(code, 0, "{first:#?}\n--- master log ---\n{}", master.log());
    let mut pids = Vec::new();
    let mut starts1 = Vec::new();
    for (c, id) in fleet.iter().zip(IDS) {
        let states = &first[id];
        assert!(
            states.values().all(|r| r["result"] == true),
            "{id}: {states:#?}"
        );
        assert!(
            states["pkg.installed nginx"]["changes"]["nginx-light"]["new"].is_string(),
            "{id}: {states:#?}"
        );
        assert_eq!(
            c.run("dpkg-query -W -f '${Status}' nginx-light"),
            "install ok installed",
            "{id}"
        );
        let site = String::from_utf8(c.read_file(SITE_PATH).unwrap()).unwrap();
        assert!(
            site.contains("listen 8080;") && site.contains(&format!("hello v1 from {id}")),
            "{id}: {site}"
        );
        assert_eq!(c.run("systemctl is-active nginx"), "active", "{id}");
        assert_eq!(c.run("systemctl is-enabled nginx"), "enabled", "{id}");
        let want = format!("hello v1 from {id}");
        assert_eq!(c.run("curl -s http://127.0.0.1:8080/"), want, "{id}");
        assert_eq!(http_get(c.address(), SITE_PORT), want, "{id} from the host");
        pids.push(main_pid(c));
        starts1.push(starts(c));
    }
    phase(&format!(
        "apply: nginx installed and serving on all 3 (MainPIDs {pids:?})"
    ));

    // The pillar changes: the site is rewritten and nginx restarts exactly once.
    master.set_greeting("hello v2");
    let (code, changed) = apply(&master, false);
    assert_eq!(code, 0, "{changed:#?}");
    let mut pids2 = Vec::new();
    for (i, (c, id)) in fleet.iter().zip(IDS).enumerate() {
        let states = &changed[id];
        assert!(
            states.values().all(|r| r["result"] == true),
            "{id}: {states:#?}"
        );
        let diff = states["file.managed site"]["changes"]["diff"]
            .as_str()
            .unwrap_or_default();
        assert!(
            diff.contains(&format!(
                "-    location / {{ return 200 \"hello v1 from {id}\\n\"; }}"
            )) && diff.contains(&format!(
                "+    location / {{ return 200 \"hello v2 from {id}\\n\"; }}"
            )),
            "{id}: {states:#?}"
        );
        assert_eq!(
            states["service.running nginx"]["changes"],
            json!({"nginx": true}),
            "{id}: {states:#?}"
        );
        assert!(
            states["pkg.installed nginx"]["changes"]
                .as_object()
                .is_some_and(|m| m.is_empty()),
            "{id}: {states:#?}"
        );
        let pid = main_pid(c);
        assert_ne!(
            pid, pids[i],
            "{id}: the pillar change did not restart nginx"
        );
        assert_eq!(
            starts(c),
            starts1[i] + 1,
            "{id}: nginx was not restarted exactly once"
        );
        let want = format!("hello v2 from {id}");
        assert_eq!(c.run("curl -s http://127.0.0.1:8080/"), want, "{id}");
        assert_eq!(http_get(c.address(), SITE_PORT), want, "{id} from the host");
        pids2.push(pid);
    }
    phase(&format!(
        "pillar change: nginx restarted once on all 3 (MainPIDs {pids2:?})"
    ));

    // Unchanged: no changes, no restarts.
    let (code, quiet) = apply(&master, false);
    assert_eq!(code, 0, "{quiet:#?}");
    for (i, (c, id)) in fleet.iter().zip(IDS).enumerate() {
        assert!(no_changes(&quiet[id]), "{id}: {:#?}", quiet[id]);
        assert_eq!(
            main_pid(c),
            pids2[i],
            "{id}: an unchanged run restarted nginx"
        );
        assert_eq!(starts(c), starts1[i] + 1, "{id}");
        // The minion ran as the unit throughout: never restarted.
        assert_eq!(c.run("systemctl is-active brine-minion"), "active", "{id}");
        assert_eq!(
            c.run("systemctl show --property=NRestarts --value brine-minion"),
            "0",
            "{id}"
        );
    }
    phase("unchanged re-run: no changes, no restarts");
}
