//! Saltenvs on the master: `master render --saltenv prod` compiles prod's
//! top, and an apply of a prod SLS gives the minion each `salt://` file from
//! its own saltenv (the manifest and the master's file requests resolve the
//! saltenv, so two saltenvs' files of one name never mix).
use std::time::Duration;

use tests::daemons::{wait_until, Master, Minion};

#[test]
fn render_and_apply_in_saltenv_prod_use_prods_files() {
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - common\n"),
        (
            "salt/common.sls",
            "common:\n  test.succeed_without_changes: []\n",
        ),
        ("salt/motd", "motd of base\n"),
        ("prod/top.sls", "prod:\n  '*':\n    - web\n"),
        (
            "prod/web.sls",
            "/srv/motd:\n  file.managed:\n    - source: salt://motd\n    - makedirs: True\n\
             /srv/motd.base:\n  file.managed:\n    - source: salt://motd?saltenv=base\n    - makedirs: True\n\
             /srv/env:\n  file.managed:\n    - source: salt://env.j2\n    - template: jinja\n    - makedirs: True\n",
        ),
        ("prod/motd", "motd of prod\n"),
        ("prod/env.j2", "rendered in {{ saltenv }}\n"),
    ];
    let mut master = Master::start_with(&files, "");
    // The daemons' helper writes base's roots; prod is added beside them.
    let config = std::fs::read_to_string(master.config()).unwrap();
    let base_line = config
        .lines()
        .find(|l| l.starts_with("  base: [") && l.ends_with("/salt]"))
        .expect("base file_roots line")
        .to_string();
    let prod_line = base_line
        .replace("  base: [", "  prod: [")
        .replace("/salt]", "/prod]");
    std::fs::write(
        master.config(),
        config.replace(&base_line, &format!("{base_line}\n{prod_line}")),
    )
    .unwrap();
    master.restart();
    let minion = Minion::start("web1", master.ret_port, "");
    wait_until(Duration::from_secs(20), "one pending", || {
        master.pending().len() == 1
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);

    // Without a saltenv, both tops (merge); with prod, prod's only.
    let (code, chunks) = master.json(&["render", "web1"]);
    assert_eq!(code, Some(0), "{chunks}");
    assert_eq!(chunks.as_array().map(Vec::len), Some(4), "{chunks}");
    let (code, chunks) = master.json(&["render", "web1", "--saltenv", "prod"]);
    assert_eq!(code, Some(0), "{chunks}");
    let ids: Vec<&str> = chunks
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["__id__"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["/srv/motd", "/srv/motd.base", "/srv/env"], "{chunks}");
    let (code, same) = master.json(&["render", "web1", "saltenv=prod"]);
    assert_eq!((code, &same), (Some(0), &chunks));

    // The highstate merges both tops: prod's files reach the minion from
    // prod, by the manifest and the master's file requests.
    let (code, v) = master.json(&["apply", "web1"]);
    assert_eq!(code, Some(0), "{v}");
    let root = minion.root();
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap_or_default();
    assert_eq!(read("srv/motd"), "motd of prod\n", "{v}");
    assert_eq!(read("srv/motd.base"), "motd of base\n", "{v}");
    assert_eq!(read("srv/env"), "rendered in prod\n", "{v}");
}
