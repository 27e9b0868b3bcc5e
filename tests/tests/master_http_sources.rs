//! Master mode: an `http://` source is downloaded by the minion itself (the
//! master's manifest names only `salt://` files and the master fetches
//! nothing), once per job, into the minion's file cache by SHA-256.
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master};

#[test]
fn the_minion_downloads_http_sources_once_per_job_without_the_master() {
    const BODY: &[u8] = b"from the web server\n";
    let srv = tests::http_server::TestServer::http_serving(BODY);
    let (base, hits) = (srv.base.clone(), &srv);
    let sha = common::digest::sha256_hex(BODY);
    let web = format!(
        "/srv/a:\n  file.managed:\n    - source: {base}/app.txt\n    - source_hash: {base}/app.txt.sha256\n    - makedirs: True\n\
         /srv/b:\n  file.managed:\n    - source: {base}/app.txt\n    - skip_verify: True\n    - makedirs: True\n"
    );
    let master = Master::start(&[
        ("salt/top.sls", "base:\n  '*':\n    - web\n"),
        ("salt/web.sls", web.as_str()),
        ("pillar/top.sls", "base: {}\n"),
    ]);
    let m = master.minion("web1");
    wait_until(Duration::from_secs(20), "pending", || {
        !master.pending().is_empty()
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1"]);
    // The server answers every path with BODY, so the "hash file" holds no
    // digest: /srv/a fails as Salt's format error, /srv/b downloads.
    let (code, v) = master.json(&["apply", "*"]);
    assert_eq!(code, Some(2), "{v:#}");
    let results: Vec<(String, Value)> = v["web1"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(tag, r)| (tag.clone(), r["result"].clone()))
        .collect();
    assert!(
        results.contains(&("file_|-/srv/b_|-/srv/b_|-managed".into(), Value::Bool(true))),
        "{v:#}"
    );
    assert_eq!(
        std::fs::read(m.root().join("srv/b")).unwrap(),
        BODY,
        "{v:#}"
    );
    assert!(!m.root().join("srv/a").exists());
    // app.txt once (two states), the hash file once.
    assert_eq!(hits.total_hits(), 2, "{v:#}");
    assert_eq!(
        std::fs::read(m.dir.path().join("cache/files").join(&sha)).unwrap(),
        BODY
    );
    assert!(
        !master.log().contains(&base),
        "the master never handles the URL"
    );
}
