//! `minion apply --local` end to end for two things a real tree leans on:
//! `file.accumulated` feeding a later `file.managed` template and
//! `file.blockreplace` blocks of the same run (compiled from real SLS, so
//! `require_in`/`watch_in` order them), and http sources downloaded by the
//! minion from a local server into its cache, once per run.
//!
//! The accumulator expectations are what Salt 3007.8's `salt-call --local
//! state.apply` gave for the same tree (paths under a temp dir), results,
//! comments and file contents alike.
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| format!("<{rel}: {e}>"))
}

/// A config for the tree `d/salt` with its cache under `d/cache`.
fn config(d: &Path) -> std::path::PathBuf {
    let config = d.join("minion.yaml");
    write(
        &config,
        &format!(
            "file_roots:\n  base: [{d}/salt]\npillar_roots:\n  base: [{d}/pillar]\ncachedir: {d}/cache\n",
            d = d.display()
        ),
    );
    config
}

fn apply(config: &Path, root: &Path, extra: &[&str]) -> (Output, Value) {
    apply_env(config, root, extra, &[])
}

fn apply_env(config: &Path, root: &Path, extra: &[&str], env: &[(&str, &Path)]) -> (Output, Value) {
    let out = Command::new(tests::bin("minion"))
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(env.iter().copied())
        .args(["apply", "--local", "--out", "json", "--id", "minion1"])
        .arg("--config")
        .arg(config)
        .arg("--root")
        .arg(root)
        .args(extra)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let json = json.get("local").cloned().unwrap_or(json);
    (out, json)
}

/// `(run number, id, result, comment)` of each state, in run order.
fn summary(ret: &Value) -> Vec<(u64, String, Value, String)> {
    let mut out: Vec<_> = ret
        .as_object()
        .expect("a result map")
        .iter()
        .map(|(tag, r)| {
            (
                r["__run_num__"].as_u64().unwrap(),
                tag.split("_|-").nth(1).unwrap().to_string(),
                r["result"].clone(),
                r["comment"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort_by_key(|s| s.0);
    out
}

const ACC_SLS: &str = r#"
animals_doing_things:
  file.accumulated:
    - filename: /out/fox.txt
    - text: ' jumps over the lazy dog'
    - require_in:
      - file: fox_file
more_animals:
  file.accumulated:
    - name: animals_doing_things
    - filename: /out/fox.txt
    - text:
      - ' and the cat sleeps'
      - ' jumps over the lazy dog'
    - require_in:
      - file: fox_file
fox_file:
  file.managed:
    - name: /out/fox.txt
    - source: salt://fox.j2
    - template: jinja
block_a:
  file.accumulated:
    - name: block-a
    - filename: /out/hosts
    - text:
      - 10.0.0.1 a
      - 10.0.0.2 b
    - require_in:
      - file: hosts_block
block_b:
  file.accumulated:
    - name: block-b
    - filename: /out/hosts
    - text: 10.0.0.3 c
    - watch_in:
      - file: other_block
hosts_block:
  file.blockreplace:
    - name: /out/hosts
    - marker_start: '# BEGIN brine'
    - marker_end: '# END brine'
    - content: 127.0.0.1 localhost
    - append_if_not_found: True
other_block:
  file.blockreplace:
    - name: /out/hosts
    - marker_start: '# BEGIN other'
    - marker_end: '# END other'
    - append_if_not_found: True
orphan:
  file.accumulated:
    - filename: /out/nothing
    - text: lost
"#;

#[test]
fn accumulated_text_reaches_templates_and_blocks_as_in_salt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("salt/top.sls"), "base:\n  '*':\n    - acc\n");
    write(&d.join("salt/acc.sls"), ACC_SLS);
    write(
        &d.join("salt/fox.j2"),
        "The quick brown fox{% for animal in accumulator['animals_doing_things'] %}{{ animal }}{% endfor %}\n",
    );
    let config = config(d);
    let root = d.join("root");
    write(&root.join("out/hosts"), "# hosts\n");

    let charged =
        |name: &str, file: &str| format!("Accumulator {name} for file {file} was charged by text");
    // Test mode first: the accumulators charge (nothing on the host), the
    // consumers report what they would do, nothing is written.
    let (out, ret) = apply(&config, &root, &["--test"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let seen = summary(&ret);
    let results: Vec<(&str, &Value)> = seen.iter().map(|s| (s.1.as_str(), &s.2)).collect();
    assert_eq!(
        results,
        [
            ("animals_doing_things", &Value::Bool(true)),
            ("more_animals", &Value::Bool(true)),
            ("fox_file", &Value::Null),
            ("block_a", &Value::Bool(true)),
            ("block_b", &Value::Bool(true)),
            ("hosts_block", &Value::Null),
            ("other_block", &Value::Null),
            ("orphan", &Value::Bool(false)),
        ]
    );
    assert_eq!(seen[5].3, "Changes would be made");
    let other = ret
        .as_object()
        .unwrap()
        .iter()
        .find(|(t, _)| t.starts_with("file_|-other_block_|-"))
        .unwrap()
        .1;
    assert_eq!(
        other["changes"]["diff"],
        "--- \n+++ \n@@ -1 +1,4 @@\n # hosts\n+# BEGIN other\n+10.0.0.3 c\n+# END other\n"
    );
    assert!(!root.join("out/fox.txt").exists());
    assert_eq!(read(&root, "out/hosts"), "# hosts\n");

    let (out, ret) = apply(&config, &root, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let seen = summary(&ret);
    assert_eq!(seen[0].3, charged("animals_doing_things", "/out/fox.txt"));
    assert_eq!(seen[1].3, charged("animals_doing_things", "/out/fox.txt"));
    assert_eq!(seen[3].3, charged("block-a", "/out/hosts"));
    assert_eq!(seen[4].3, charged("block-b", "/out/hosts"));
    assert_eq!(seen[5].3, "Changes were made");
    assert_eq!(
        (seen[7].2.clone(), seen[7].3.as_str()),
        (
            Value::Bool(false),
            "Orphaned accumulator orphan in acc:orphan"
        )
    );
    assert_eq!(
        read(&root, "out/fox.txt"),
        "The quick brown fox jumps over the lazy dog and the cat sleeps\n"
    );
    assert_eq!(
        read(&root, "out/hosts"),
        "# hosts\n# BEGIN brine\n127.0.0.1 localhost\n10.0.0.1 a\n10.0.0.2 b\n# END brine\n\
         # BEGIN other\n10.0.0.3 c\n# END other\n"
    );

    // A second run accumulates afresh: the same text, nothing to change.
    let (_, ret) = apply(&config, &root, &[]);
    for (_, id, result, comment) in summary(&ret) {
        if id != "orphan" {
            assert_eq!(result, Value::Bool(true), "{id}: {comment}");
        }
    }
    assert_eq!(
        read(&root, "out/fox.txt"),
        "The quick brown fox jumps over the lazy dog and the cat sleeps\n"
    );
}

#[test]
fn http_sources_are_downloaded_once_per_run_into_the_minions_cache() {
    const BODY: &[u8] = b"served over http\n";
    let srv = tests::http_server::TestServer::http_serving(BODY);
    let (base, hits) = (srv.base.clone(), &srv);
    let sha = common::digest::sha256_hex(BODY);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("salt/top.sls"), "base:\n  '*':\n    - web\n");
    write(
        &d.join("salt/web.sls"),
        &format!(
            "/srv/verified:\n  file.managed:\n    - source: {base}/app.txt\n    - source_hash: sha256={sha}\n    - makedirs: True\n\
             /srv/unverified:\n  file.managed:\n    - source: {base}/app.txt\n    - skip_verify: True\n    - makedirs: True\n\
             /srv/unhashed:\n  file.managed:\n    - source: {base}/app.txt\n    - makedirs: True\n"
        ),
    );
    let config = config(d);
    let root = d.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let (out, ret) = apply(&config, &root, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(read(&root, "srv/verified").as_bytes(), BODY);
    assert_eq!(read(&root, "srv/unverified").as_bytes(), BODY);
    assert!(!root.join("srv/unhashed").exists());
    let unhashed = summary(&ret)
        .into_iter()
        .find(|s| s.1 == "/srv/unhashed")
        .unwrap();
    assert_eq!(
        unhashed.3,
        format!("Unable to verify upstream hash of source file {base}/app.txt, please set source_hash or set skip_verify to True")
    );
    assert_eq!(hits.total_hits(), 1, "two states, one download");
    assert_eq!(
        std::fs::read(d.join("cache/files").join(&sha)).unwrap(),
        BODY
    );

    // Next run: the verified file has its hash (no download); skip_verify
    // downloads once, as Salt's does.
    let (_, ret) = apply(&config, &root, &[]);
    for (_, id, result, comment) in summary(&ret) {
        if id != "/srv/unhashed" {
            assert_eq!(result, Value::Bool(true), "{id}: {comment}");
        }
    }
    assert_eq!(hits.total_hits(), 2);
}

#[test]
fn https_sources_trust_the_ca_that_ssl_cert_file_names() {
    const BODY: &[u8] = b"served over https\n";
    let srv = tests::http_server::TestServer::https();
    srv.route("/app.txt", tests::http_server::Reply::Bytes(BODY.to_vec()));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("salt/top.sls"), "base:\n  '*':\n    - web\n");
    write(
        &d.join("salt/web.sls"),
        &format!(
            "/srv/app.txt:\n  file.managed:\n    - source: {}\n    - source_hash: sha256={}\n    - makedirs: True\n",
            srv.url("/app.txt"),
            common::digest::sha256_hex(BODY)
        ),
    );
    let config = config(d);
    let root = d.join("root");
    std::fs::create_dir_all(&root).unwrap();
    // The system's roots do not hold the test CA: the TLS handshake fails.
    let (out, ret) = apply(&config, &root, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let (_, _, result, comment) = summary(&ret).remove(0);
    assert_eq!(result, Value::Bool(false));
    assert!(
        comment.starts_with(&format!("Failed to cache {}: ", srv.url("/app.txt"))),
        "{comment}"
    );
    assert!(!root.join("srv/app.txt").exists());
    let ca = d.join("ca.pem");
    write(&ca, srv.ca_pem.as_deref().unwrap());
    let (out, _) = apply_env(&config, &root, &[], &[("SSL_CERT_FILE", &ca)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(read(&root, "srv/app.txt").as_bytes(), BODY);
}
