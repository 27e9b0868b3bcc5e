//! The fleet harness itself (tests/src/fleet.rs) on real systemd-nspawn containers:
//! booting, commands, copying in, services, apt, several at once, private networks,
//! and that nothing is left behind. Each test prints `skipped: <reason>` and returns
//! where containers cannot run (not root, no systemd-nspawn, no rootfs).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use tests::fleet::{self, Container, FleetError, Options};

macro_rules! require_fleet {
    ($name:expr) => {
        if !fleet::skip_or_continue($name) {
            return;
        }
    };
}

fn boot(name: &str) -> Container {
    boot_with(name, &Options::default())
}

fn boot_with(name: &str, opts: &Options) -> Container {
    let c = Container::boot_with(name, opts).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "fleet: {name} ({}, pid {}, {}) booted in {:.2?}",
        c.machine(),
        c.pid(),
        if c.private_network() {
            format!("private network {}", c.address())
        } else {
            "host network".to_owned()
        },
        c.boot_time()
    );
    c
}

fn ok(c: &Container, argv: &[&str]) -> String {
    c.exec_ok(argv).unwrap_or_else(|e| panic!("{e}"))
}

fn sh(c: &Container, script: &str) -> String {
    c.sh(script).unwrap_or_else(|e| panic!("{e}"))
}

/// Host processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

#[test]
fn a_container_boots_runs_commands_copies_and_services() {
    require_fleet!("a_container_boots_runs_commands_copies_and_services");
    let c = boot("smoke1");

    // systemd is PID 1 inside and has finished booting.
    let state = c.exec(&["systemctl", "is-system-running"]);
    let state = String::from_utf8_lossy(&state.stdout).trim().to_owned();
    assert!(
        state == "running" || state == "degraded",
        "is-system-running: {state:?}"
    );
    if state == "degraded" {
        eprintln!(
            "smoke1 is degraded:\n{}",
            ok(&c, &["systemctl", "--failed", "--no-pager"])
        );
    }
    assert_eq!(ok(&c, &["cat", "/proc/1/comm"]).trim(), "systemd");
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{}/comm", c.pid()))
            .unwrap()
            .trim(),
        "systemd"
    );
    assert_eq!(ok(&c, &["hostname"]).trim(), "smoke1");
    assert!(ok(&c, &["cat", "/etc/os-release"]).contains("bookworm"));

    // exec: a clean environment, exit statuses, stdin.
    let env = ok(&c, &["env"]);
    assert!(env.contains("PATH=/usr/local/sbin:"), "{env}");
    assert!(env.contains("HOME=/root"), "{env}");
    assert!(!env.contains("CARGO"), "host environment leaked in:\n{env}");
    let out = c.exec(&["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    match c.exec_ok(&["sh", "-c", "echo boom >&2; exit 1"]) {
        Err(FleetError::Command { stderr, status, .. }) => {
            assert_eq!(stderr, "boom\n");
            assert_eq!(status.code(), Some(1));
        }
        other => panic!("exec_ok of a failing command gave {other:?}"),
    }
    assert!(!c.exec(&["no-such-program"]).status.success());
    let out = c.exec_input(&["tr", "a-z", "A-Z"], b"piped in");
    assert_eq!(out.stdout, b"PIPED IN");
    let out = c.exec_timeout(&["sleep", "30"], Duration::from_millis(500));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("killed after"));

    // copy_in: a file (mode kept, parents created) and a directory tree.
    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("payload");
    std::fs::write(&file, "hello from the host\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o750)).unwrap();
    c.copy_in(&file, "/opt/brine-smoke/sub/payload").unwrap();
    assert_eq!(
        c.read_file("/opt/brine-smoke/sub/payload").unwrap(),
        b"hello from the host\n"
    );
    assert_eq!(
        ok(&c, &["stat", "-c", "%a %U", "/opt/brine-smoke/sub/payload"]).trim(),
        "750 root"
    );
    let tree = host.path().join("tree");
    std::fs::create_dir_all(tree.join("web")).unwrap();
    std::fs::write(tree.join("top.sls"), "base:\n  '*':\n    - web\n").unwrap();
    std::fs::write(tree.join("web/init.sls"), "nginx:\n  pkg.installed: []\n").unwrap();
    std::os::unix::fs::symlink("init.sls", tree.join("web/link.sls")).unwrap();
    c.copy_in(&tree, "/srv/salt").unwrap();
    assert_eq!(
        ok(&c, &["cat", "/srv/salt/web/link.sls"]),
        "nginx:\n  pkg.installed: []\n"
    );
    assert_eq!(ok(&c, &["stat", "-c", "%a", "/srv/salt"]).trim(), "755");
    c.write_file("/etc/brine/minion.yaml", "id: smoke1\n", 0o600)
        .unwrap();
    assert_eq!(
        ok(&c, &["stat", "-c", "%a", "/etc/brine/minion.yaml"]).trim(),
        "600"
    );
    assert!(c.copy_in(&file, "relative/path").is_err());

    // The minion binary built by cargo runs inside (bookworm userland, as the host's).
    let minion = tests::bin("minion");
    c.copy_in(&minion, "/usr/local/bin/minion").unwrap();
    // Again, over the old one (replaced, not rewritten in place).
    c.copy_in(&minion, "/usr/local/bin/minion").unwrap();
    let grains: serde_json::Value =
        serde_json::from_str(&ok(&c, &["minion", "grains", "--out", "json"])).unwrap();
    let grains = grains.get("local").unwrap_or(&grains);
    assert_eq!(grains["nodename"], "smoke1", "{grains:#}");

    // A unit started with systemctl runs, and stops.
    c.write_file(
        "/etc/systemd/system/brine-smoke.service",
        "[Unit]\nDescription=fleet smoke\n[Service]\nExecStart=/bin/sleep infinity\n",
        0o644,
    )
    .unwrap();
    ok(&c, &["systemctl", "daemon-reload"]);
    ok(&c, &["systemctl", "start", "brine-smoke.service"]);
    assert_eq!(
        ok(&c, &["systemctl", "is-active", "brine-smoke.service"]).trim(),
        "active"
    );
    let main_pid = ok(
        &c,
        &["systemctl", "show", "-P", "MainPID", "brine-smoke.service"],
    );
    assert_ne!(main_pid.trim(), "0");
    ok(&c, &["systemctl", "stop", "brine-smoke.service"]);
    let out = c.exec(&["systemctl", "is-active", "brine-smoke.service"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "inactive");
}

#[test]
fn drop_leaves_nothing_behind_even_after_a_panic() {
    require_fleet!("drop_leaves_nothing_behind_even_after_a_panic");
    let rootfs = fleet::rootfs();
    let c = boot("smoke-drop");
    let (machine, nspawn, pid) = (c.machine().to_owned(), c.nspawn_pid(), c.pid());
    sh(
        &c,
        "echo scribble > /root/marker; rm -f /etc/os-release; apt-get clean",
    );
    // The overlay's upper layer: where nspawn put it on the host, if anywhere.
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let upper = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .and_then(|l| l.split("upperdir=").nth(1))
        .and_then(|s| s.split(',').next())
        .map(str::to_owned);
    assert!(
        !processes_mentioning(&machine).is_empty(),
        "no process for {machine} while it runs"
    );
    let started = Instant::now();
    drop(c);
    eprintln!("fleet: smoke-drop powered off in {:.2?}", started.elapsed());
    let left = processes_mentioning(&machine);
    assert!(left.is_empty(), "left running: {left:?}");
    for gone in [nspawn, pid] {
        assert!(
            !Path::new(&format!("/proc/{gone}")).exists(),
            "pid {gone} still exists"
        );
    }
    assert!(!Path::new("/run/systemd/nspawn/propagate")
        .join(&machine)
        .exists());
    if let Some(upper) = upper {
        let dir = Path::new(&upper).parent().unwrap();
        assert!(!dir.exists(), "{} is left on the host", dir.display());
    }
    // The cached rootfs is untouched.
    assert!(!rootfs.join("root/marker").exists());
    assert!(rootfs.join("etc/os-release").exists());
    let newer = std::process::Command::new("find")
        .arg(&rootfs)
        .args(["-xdev", "-newer"])
        .arg(rootfs.join(fleet::STAMP))
        .output()
        .unwrap();
    assert!(
        newer.stdout.is_empty(),
        "the rootfs changed:\n{}",
        String::from_utf8_lossy(&newer.stdout)
    );

    // A test that panics with a container in hand still powers it off.
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::thread::spawn(move || {
        let c = boot("smoke-panic");
        tx.send(c.machine().to_owned()).unwrap();
        panic!("deliberate panic with a container booted");
    })
    .join();
    assert!(result.is_err());
    let machine = rx.recv().unwrap();
    let left = processes_mentioning(&machine);
    assert!(left.is_empty(), "left running after a panic: {left:?}");
}

#[test]
fn three_containers_at_once() {
    require_fleet!("three_containers_at_once");
    let started = Instant::now();
    let names = ["node1", "node2", "node3"];
    let fleet: Vec<Container> = std::thread::scope(|s| {
        let handles: Vec<_> = names.iter().map(|n| s.spawn(move || boot(n))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    eprintln!(
        "fleet: 3 containers booted in {:.2?} in all",
        started.elapsed()
    );

    let mut ids = Vec::new();
    for (c, name) in fleet.iter().zip(names) {
        assert_eq!(ok(c, &["hostname"]).trim(), name);
        ids.push(ok(c, &["cat", "/etc/machine-id"]).trim().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "machine ids are not unique: {ids:?}");
    let mut slots: Vec<u16> = fleet.iter().map(Container::slot).collect();
    slots.sort_unstable();
    slots.dedup();
    assert_eq!(slots.len(), 3);
    assert_ne!(fleet[0].port(0), fleet[1].port(0));

    // Nothing is shared: a file written in one is not in the others.
    fleet[0]
        .write_file("/etc/only-in-node1", "x", 0o644)
        .unwrap();
    assert!(fleet[0]
        .exec(&["test", "-e", "/etc/only-in-node1"])
        .status
        .success());
    for c in &fleet[1..] {
        assert!(!c
            .exec(&["test", "-e", "/etc/only-in-node1"])
            .status
            .success());
    }

    // They share the host's network: a service on each one's own port, reached from the host.
    for c in &fleet {
        serve_hostname(c, c.port(0));
    }
    for c in &fleet {
        assert_eq!(http_get(c.address(), c.port(0)), c.name());
    }
}

#[test]
fn apt_works_inside() {
    require_fleet!("apt_works_inside");
    let c = boot("smoke-apt");
    let started = Instant::now();
    ok(&c, &["apt-get", "-q", "update"]);
    eprintln!("fleet: apt-get update in {:.2?}", started.elapsed());
    let started = Instant::now();
    ok(
        &c,
        &[
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "-q",
            "-y",
            "install",
            "--no-install-recommends",
            "hello",
        ],
    );
    eprintln!("fleet: apt-get install hello in {:.2?}", started.elapsed());
    assert_eq!(ok(&c, &["hello"]).trim(), "Hello, world!");
    assert!(!fleet::rootfs().join("usr/bin/hello").exists());
}

#[test]
fn private_network_containers() {
    require_fleet!("private_network_containers");
    let opts = Options::private_network();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| boot_with("priv1", &opts));
        let b = s.spawn(|| boot_with("priv2", &opts));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.address(), b.address());
    assert_ne!(a.address(), std::net::Ipv4Addr::LOCALHOST);
    let host_if = a.host_interface().unwrap().to_owned();
    assert!(Path::new("/sys/class/net").join(&host_if).exists());

    // Both can have a service on port 80; the host reaches each at its address.
    serve_hostname(&a, 80);
    serve_hostname(&b, 80);
    assert_eq!(http_get(a.address(), 80), "priv1");
    assert_eq!(http_get(b.address(), 80), "priv2");

    // The container reaches a server on the host (as a minion reaches its master).
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).unwrap();
        s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nfrom-host")
            .unwrap();
    });
    let url = format!("http://{}:{port}/", a.host_address());
    assert_eq!(
        ok(&a, &["curl", "-sS", "--max-time", "20", &url]),
        "from-host"
    );
    server.join().unwrap();

    // apt goes through the harness's proxy on the host end of the veth.
    let started = Instant::now();
    ok(&b, &["apt-get", "-q", "update"]);
    ok(
        &b,
        &[
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "-q",
            "-y",
            "install",
            "--no-install-recommends",
            "hello",
        ],
    );
    assert_eq!(ok(&b, &["hello"]).trim(), "Hello, world!");
    eprintln!(
        "fleet: apt-get update and install over the private network in {:.2?}",
        started.elapsed()
    );
    // No DNS in there, and failing fast rather than timing out.
    let started = Instant::now();
    assert!(!b
        .exec(&["getent", "hosts", "deb.debian.org"])
        .status
        .success());
    assert!(started.elapsed() < Duration::from_secs(3));

    drop(a);
    assert!(
        !Path::new("/sys/class/net").join(&host_if).exists(),
        "{host_if} is left on the host"
    );
}

/// A socket-activated service answering each connection on `port` with the hostname.
fn serve_hostname(c: &Container, port: u16) {
    c.write_file(
        "/etc/systemd/system/brine-hello.socket",
        format!("[Socket]\nListenStream={port}\nAccept=yes\n"),
        0o644,
    )
    .unwrap();
    c.write_file(
        "/etc/systemd/system/brine-hello@.service",
        // Reads the whole request first: closing with unread input would reset the connection.
        "[Service]\nExecStart=/bin/sh -c 'while read -r l && [ $${#l} -gt 1 ]; do :; done; \
         printf \"HTTP/1.0 200 OK\\r\\n\\r\\n%%s\" \"$$(hostname)\"'\n\
         StandardInput=socket\nStandardOutput=socket\n",
        0o644,
    )
    .unwrap();
    ok(c, &["systemctl", "daemon-reload"]);
    ok(c, &["systemctl", "start", "brine-hello.socket"]);
}

/// The body of `GET /` from `addr:port`.
fn http_get(addr: std::net::Ipv4Addr, port: u16) -> String {
    let mut s = TcpStream::connect_timeout(&(addr, port).into(), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect {addr}:{port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}
