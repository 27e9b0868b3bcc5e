//! `minion swarm`: many minions in one process, each its own id, key,
//! grains, outbox and state root, against a real master over loopback.
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master};

const COUNT: usize = 24;

struct Swarm {
    dir: tempfile::TempDir,
    child: Child,
}

impl Swarm {
    fn start(master: &Master) -> Swarm {
        Swarm::start_listing(&[master])
    }

    /// Every member lists `masters` (`master` as a list when several).
    fn start_listing(masters: &[&Master]) -> Swarm {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("minion.yaml");
        let master = match masters {
            [one] => format!("master: 127.0.0.1\nmaster_port: {}\n", one.ret_port),
            several => several
                .iter()
                .map(|m| format!("  - 127.0.0.1:{}\n", m.ret_port))
                .fold("master:\n".to_string(), |all, m| all + &m),
        };
        std::fs::write(
            &config,
            format!("{master}acceptance_wait_time: 1\nping_interval: 1\n"),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("swarm.log")).unwrap();
        let child = Command::new(tests::bin("minion"))
            .args(["swarm", "--count", &COUNT.to_string(), "--prefix", "sw"])
            .arg("--config")
            .arg(&config)
            .arg("--dir")
            .arg(dir.path().join("members"))
            .env("BRINE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Swarm { dir, child }
    }

    fn root(&self, id: &str) -> std::path::PathBuf {
        self.dir.path().join("members").join(id).join("root")
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ids() -> Vec<String> {
    (0..COUNT).map(|i| format!("sw-{i:02}")).collect()
}

#[test]
fn a_swarm_is_many_minions_each_with_its_own_key_grains_and_root() {
    let files = [
        ("salt/top.sls", "base:\n  'sw-*':\n    - app\n"),
        (
            "salt/app.sls",
            "/srv/brine-swarm-app/whoami:\n  file.managed:\n    - makedirs: True\n    \
             - contents: '{{ grains.id }} {{ grains.swarm_index }}'\n",
        ),
    ];
    let master = Master::start(&files);
    let swarm = Swarm::start(&master);
    let expected = ids();
    wait_until(
        Duration::from_secs(30),
        "every member's key pending",
        || master.pending().len() == COUNT,
    );
    let mut pending = master.pending();
    pending.sort();
    assert_eq!(pending, expected);
    let (code, _) = master.json(&["keys", "accept", "--all"]);
    assert_eq!(code, Some(0));
    let refs: Vec<&str> = expected.iter().map(String::as_str).collect();
    master.wait_connected(&refs);

    // Every member has its own key: COUNT distinct accepted keys.
    let keys: std::collections::BTreeSet<Vec<u8>> =
        std::fs::read_dir(master.dir.path().join("pki/minions"))
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
    assert_eq!(keys.len(), COUNT);

    // Each member's grains carry its own id and index.
    let (code, one) = master.json(&["run", "-G", "swarm_index:7", "grains.get", "id"]);
    assert_eq!(code, Some(0));
    assert_eq!(one, serde_json::json!({"sw-07": "sw-07"}));

    // An apply runs in every member's own root, never on this host.
    let (code, report) = master.json(&["apply", "sw-*"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report.as_object().unwrap().len(), COUNT);
    for (i, id) in expected.iter().enumerate() {
        let text =
            std::fs::read_to_string(swarm.root(id).join("srv/brine-swarm-app/whoami")).unwrap();
        assert_eq!(text, format!("{id} {i}\n"));
    }
    assert!(!std::path::Path::new("/srv/brine-swarm-app").exists());

    // A second apply changes nothing anywhere.
    let (code, again) = master.json(&["apply", "sw-*"]);
    assert_eq!(code, Some(0));
    for ret in again.as_object().unwrap().values() {
        for state in ret.as_object().unwrap().values() {
            assert_eq!(state["changes"], Value::Object(Default::default()));
        }
    }

    // Compiles are reused while nothing changed; a changed SLS is seen at once.
    std::fs::write(
        master.dir.path().join("salt/app.sls"),
        "/srv/brine-swarm-app/whoami:\n  file.managed:\n    - makedirs: True\n    \
         - contents: 'v2 {{ grains.id }}'\n",
    )
    .unwrap();
    let (code, v2) = master.json(&["apply", "sw-*"]);
    assert_eq!(code, Some(0), "{v2:#}");
    for id in &expected {
        let text =
            std::fs::read_to_string(swarm.root(id).join("srv/brine-swarm-app/whoami")).unwrap();
        assert_eq!(text, format!("v2 {id}\n"));
    }
}

/// The lead's benchmark shape in small: every member of one swarm keeps a
/// session with each of two masters and answers through both.
#[test]
fn a_swarm_listing_two_masters_answers_through_both() {
    let files = [("salt/top.sls", "base: {}\n")];
    let a = Master::start_with(&files, "auto_accept: True\n");
    let b = Master::start_with(&files, "auto_accept: True\n");
    let _swarm = Swarm::start_listing(&[&a, &b]);
    for master in [&a, &b] {
        wait_until(Duration::from_secs(60), "every member to answer", || {
            let out = master.cli(&["run", "sw-*", "test.ping", "--out", "json", "-t", "5"]);
            serde_json::from_str::<Value>(&out.stdout)
                .is_ok_and(|v| ids().iter().all(|id| v[id] == Value::Bool(true)))
        });
    }
}
