//! The seed's workflow end to end: a small Python web app deployed the way a
//! Salt shop deploys it (issue 12). The master runs on the host and serves the
//! state tree `tests/fleet_trees/pyapp`; the app's git repository is on the
//! master host too, served by git-daemon on the host end of the container's
//! veth. One Debian host (systemd in nspawn, its own network, apt through the
//! harness's proxy, nothing else reachable) runs the minion's unit and gets:
//! python3-venv and nginx-light from apt, the app cloned by `git.latest`, a
//! wheelhouse by `file.recurse`, a virtualenv, the app's requirements by
//! `pip.installed` from the wheelhouse (`find_links`, `no_index`), the
//! migration by `cmd.run` with `onchanges` on the checkout, settings from a
//! pillar-fed template, the app as a systemd service watching code and
//! settings, and nginx in front.
//!
//! Asserted: the first apply converges and the app answers through nginx; an
//! unchanged re-apply changes nothing and restarts nothing; after a new
//! commit, `--test` reports the pending pull and changes nothing; the real
//! apply then pulls, migrates once and restarts the app once (new MainPID,
//! new content). Prints `skipped: <reason>` where containers cannot run.
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tests::daemons::{wait_until, Master};
use tests::fleet::{self, Container, Options};
use tests::fleet_minion::install_minion;
use tests::git_remote::{git, git_daemon};

const ID: &str = "app1";
const APP_PORT: u16 = 8000;
const CHECKOUT: &str = "/srv/app/code";
const MIGRATIONS: &str = "/srv/app/data/migrations.log";

fn tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fleet_trees/pyapp")
}

/// A pure-Python wheel `brinehello-<version>` (module `brinehello` with
/// `VERSION`), written with Python's zipfile: a wheel is a zip with
/// METADATA, WHEEL and RECORD, so the wheelhouse needs no build tools.
fn write_wheel(dir: &Path, version: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let script = r#"
import base64, hashlib, sys, zipfile
out, version = sys.argv[1], sys.argv[2]
dist = f"brinehello-{version}.dist-info"
files = {
    "brinehello/__init__.py": f"VERSION = {version!r}\n",
    f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: brinehello\nVersion: {version}\n",
    f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: brine-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{path},sha256={digest},{len(text)}")
record.append(f"{dist}/RECORD,,")
files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
with zipfile.ZipFile(f"{out}/brinehello-{version}-py3-none-any.whl", "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .arg(version)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies the tree's `from` directory to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// `master ARGS --out json` with room for apt installs (the helper's own
/// `cli` stops after two minutes).
fn master_json(master: &Master, args: &[&str]) -> (Option<i32>, Value) {
    let mut cmd = Command::new(tests::bin("master"));
    cmd.args(args)
        .args(["--out", "json", "--config"])
        .arg(master.config());
    let out = tests::run(cmd, Duration::from_secs(1200)).unwrap_or_else(|e| panic!("{e}"));
    let v = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "master {args:?}: {e}\nstdout: {}\nstderr: {}\nlog: {}",
            out.stdout,
            out.stderr,
            master.log()
        )
    });
    (out.code, v)
}

/// The states of one `master apply`, keyed `module.fun id`.
type States = BTreeMap<String, Value>;

fn apply(master: &Master, test: bool) -> (Option<i32>, States) {
    let mut args = vec!["apply", ID, "-t", "900"];
    if test {
        args.push("--test");
    }
    let (code, v) = master_json(master, &args);
    let states: &Map<String, Value> = v[ID]
        .as_object()
        .unwrap_or_else(|| panic!("{ID} returned no state report: {v:#}\n{}", master.log()));
    let states = states
        .iter()
        .map(|(tag, r)| {
            let parts: Vec<&str> = tag.split("_|-").collect();
            (format!("{}.{} {}", parts[0], parts[3], parts[1]), r.clone())
        })
        .collect();
    (code, states)
}

fn changed(states: &States) -> Vec<&str> {
    states
        .iter()
        .filter(|(_, r)| r["changes"].as_object().is_some_and(|c| !c.is_empty()))
        .map(|(k, _)| k.as_str())
        .collect()
}

fn main_pid(c: &Container, unit: &str) -> String {
    c.run(&format!("systemctl show --property=MainPID --value {unit}"))
}

/// How many times systemd has started `unit` (restarts included).
fn starts(c: &Container, unit: &str) -> usize {
    c.run(&format!(
        "journalctl -u {unit} -o cat --no-pager | grep -c '^Started' || true"
    ))
    .parse()
    .unwrap_or(0)
}

fn migrations(c: &Container) -> usize {
    c.read_file(MIGRATIONS)
        .map(|b| String::from_utf8_lossy(&b).lines().count())
        .unwrap_or(0)
}

/// What nginx answers inside the container, once the app behind it is up.
fn served(c: &Container, want: &str) -> String {
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        last = c.run("curl -s http://127.0.0.1/ || true");
        if last == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    last
}

/// `GET /` from the master host to the container's nginx.
fn http_get(addr: Ipv4Addr) -> String {
    let mut s = TcpStream::connect_timeout(&(addr, 80).into(), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect {addr}:80: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_string())
        .unwrap_or(reply)
}

#[test]
fn a_python_web_app_is_deployed_pulled_migrated_and_restarted_once() {
    if !fleet::skip_or_continue("a_python_web_app_is_deployed_pulled_migrated_and_restarted_once") {
        return;
    }
    let started = Instant::now();
    let phase = |what: &str| eprintln!("[{:6.1}s] {what}", started.elapsed().as_secs_f64());
    let opts = Options::private_network();
    let fleet = fleet::boot_all(&[ID], &opts);
    let c = &fleet[0];
    phase("container booted");

    // The app's repository on the master host, served to the container.
    let repos = tempfile::tempdir().unwrap();
    let repo = repos.path().join("app");
    copy_dir(&tree().join("repo"), &repo);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "The app, v1"]);
    let daemon = git_daemon(repos.path(), c.host_address());

    let master = Master::start_on("0.0.0.0", &[], "");
    let root = master.dir.path();
    copy_dir(&tree().join("salt"), &root.join("salt"));
    copy_dir(&tree().join("pillar"), &root.join("pillar"));
    write_wheel(&root.join("salt/wheels"), "1.0");
    std::fs::write(
        root.join("pillar/app.sls"),
        format!(
            "app:\n  repo: git://{}:{}/app\n  greeting: hello from pillar\n  port: {APP_PORT}\n",
            c.host_address(),
            daemon.port
        ),
    )
    .unwrap();
    install_minion(c, ID, master.ret_port, "ping_interval: 2\n");
    wait_until(Duration::from_secs(90), "the key pending", || {
        master.pending() == [ID]
    });
    let (code, accepted) = master.json(&["keys", "accept", "--all"]);
    assert_eq!(code, Some(0), "{accepted:#}");
    master.wait_connected(&[ID]);
    phase("master serving, key accepted, minion answers");

    // A dry run of the fresh host is not noise: what needs an earlier
    // state's work (the venv, the checkout, the unit, nginx) is pending,
    // nothing fails, nothing is written.
    let (code, fresh) = apply(&master, true);
    let failed: Vec<&String> = fresh
        .iter()
        .filter(|(_, r)| r["result"] == false)
        .map(|(k, _)| k)
        .collect();
    assert!(
        failed.is_empty(),
        "failed in a dry run: {failed:?}\n{fresh:#?}"
    );
    assert_eq!(code, Some(0), "{fresh:#?}");
    for pending in [
        "git.latest app-code",
        "virtualenv.managed app-venv",
        "pip.installed app-requirements",
        "service.running app-service",
    ] {
        assert!(fresh[pending]["result"].is_null(), "{pending}: {fresh:#?}");
    }
    assert_eq!(
        fresh["pip.installed app-requirements"]["comment"],
        "Requirements file '/srv/app/code/requirements.txt' will be processed."
    );
    assert_eq!(
        c.run("test -e /srv/app && echo written || echo none"),
        "none"
    );
    assert_ne!(
        c.exec(&["dpkg-query", "-W", "python3-venv"]).status.code(),
        Some(0),
        "--test installed python3-venv"
    );
    phase("--test on the fresh host: pending, nothing failed, nothing written");

    // First apply: everything converges and the app answers through nginx.
    let (code, first) = apply(&master, false);
    assert_eq!(code, Some(0), "{first:#?}\n{}", master.log());
    assert!(first.values().all(|r| r["result"] == true), "{first:#?}");
    let head1 = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    assert_eq!(
        c.run(&format!(
            "cat {CHECKOUT}/.git/HEAD; cat {CHECKOUT}/.git/refs/heads/main"
        )),
        format!("ref: refs/heads/main\n{head1}")
    );
    assert_eq!(
        first["pip.installed app-requirements"]["comment"],
        "Successfully processed requirements file /srv/app/code/requirements.txt.",
        "{first:#?}"
    );
    assert!(
        first["virtualenv.managed app-venv"]["changes"]["new"]
            .as_str()
            .is_some_and(|v| v.starts_with("Python 3")),
        "{first:#?}"
    );
    assert_eq!(migrations(c), 1, "the migration ran once");
    let v1 = "hello from pillar (app v1, brinehello 1.0)";
    assert_eq!(served(c, v1), v1);
    assert_eq!(http_get(c.address()), v1, "from the master host");
    assert_eq!(
        c.run("systemctl is-enabled brine-app nginx"),
        "enabled\nenabled"
    );
    let app_pid = main_pid(c, "brine-app");
    let nginx_pid = main_pid(c, "nginx");
    let app_starts = starts(c, "brine-app");
    phase(&format!(
        "first apply: the app serves through nginx (app MainPID {app_pid})"
    ));

    // Unchanged: nothing changes, nothing restarts.
    let (code, again) = apply(&master, false);
    assert_eq!(code, Some(0), "{again:#?}");
    assert!(again.values().all(|r| r["result"] == true), "{again:#?}");
    assert_eq!(changed(&again), Vec::<&str>::new(), "{again:#?}");
    assert_eq!(
        again["pip.installed app-requirements"]["comment"],
        "Requirements were already installed."
    );
    assert_eq!(
        main_pid(c, "brine-app"),
        app_pid,
        "an unchanged run restarted the app"
    );
    assert_eq!(
        main_pid(c, "nginx"),
        nginx_pid,
        "an unchanged run restarted nginx"
    );
    assert_eq!(starts(c, "brine-app"), app_starts);
    assert_eq!(migrations(c), 1, "an unchanged run migrated");
    phase("unchanged re-apply: no changes, no restarts");

    // A new commit: the dry run reports the pull and what follows from it,
    // and changes nothing.
    std::fs::write(
        repo.join("app.py"),
        std::fs::read_to_string(repo.join("app.py"))
            .unwrap()
            .replace("VERSION = \"1\"", "VERSION = \"2\""),
    )
    .unwrap();
    git(&repo, &["commit", "-q", "-am", "The app, v2"]);
    let head2 = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    let (code, dry) = apply(&master, true);
    assert_eq!(code, Some(0), "{dry:#?}");
    let pull = &dry["git.latest app-code"];
    assert!(pull["result"].is_null(), "{dry:#?}");
    assert!(
        pull["comment"]
            .as_str()
            .is_some_and(|m| m.contains("would be updated") || m.contains(&head2[..7])),
        "{dry:#?}"
    );
    assert!(dry["cmd.run app-migrate"]["result"].is_null(), "{dry:#?}");
    assert!(
        dry["service.running app-service"]["result"].is_null(),
        "{dry:#?}"
    );
    assert_eq!(
        c.run(&format!("cat {CHECKOUT}/.git/refs/heads/main")),
        head1,
        "--test pulled"
    );
    assert_eq!(migrations(c), 1, "--test migrated");
    assert_eq!(
        main_pid(c, "brine-app"),
        app_pid,
        "--test restarted the app"
    );
    assert_eq!(served(c, v1), v1);
    phase("--test after a commit: the pull is pending, nothing changed");

    // For real: pulled, migrated once, restarted once, serving the new code.
    let (code, pulled) = apply(&master, false);
    assert_eq!(code, Some(0), "{pulled:#?}");
    assert!(pulled.values().all(|r| r["result"] == true), "{pulled:#?}");
    assert_eq!(
        changed(&pulled),
        [
            "cmd.run app-migrate",
            "git.latest app-code",
            "service.running app-service"
        ],
        "{pulled:#?}"
    );
    assert_eq!(
        pulled["git.latest app-code"]["changes"]["revision"],
        json!({"old": head1, "new": head2}),
        "{pulled:#?}"
    );
    assert_eq!(
        c.run(&format!("cat {CHECKOUT}/.git/refs/heads/main")),
        head2
    );
    assert_eq!(migrations(c), 2, "the migration ran once more");
    let new_pid = main_pid(c, "brine-app");
    assert_ne!(new_pid, app_pid, "the new code did not restart the app");
    assert_eq!(
        starts(c, "brine-app"),
        app_starts + 1,
        "the app was not restarted exactly once"
    );
    assert_eq!(main_pid(c, "nginx"), nginx_pid, "nginx restarted");
    let v2 = "hello from pillar (app v2, brinehello 1.0)";
    assert_eq!(served(c, v2), v2);
    assert_eq!(http_get(c.address()), v2, "from the master host");
    phase(&format!(
        "after the commit: pulled, migrated, restarted once (MainPID {new_pid})"
    ));
    drop(daemon);
}
