//! `--out junit` and `--out markdown`, masterless and through a master,
//! checked by real tools: the JUnit XML by `xmllint` against both revisions
//! of Jenkins' xunit-plugin schema (junit-10.xsd, fetched by
//! scripts/fetch-junit-xsd.py), the Markdown by a real CommonMark parser
//! (Debian's markdown-it-py).
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tests::daemons::{wait_until, Master};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn schemas() -> Vec<PathBuf> {
    let dir = PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/brine/junit-xsd");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        found.len() >= 2,
        "no JUnit schemas in {}: run scripts/test-prereqs.sh",
        dir.display()
    );
    found
}

/// `xmllint --schema` for every schema revision; panics with its words.
fn assert_valid_junit(xml: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    for xsd in schemas() {
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(file.path())
            .output()
            .expect("xmllint (libxml2-utils): run scripts/test-prereqs.sh");
        assert!(
            out.status.success(),
            "not valid against {}:\n{}\n{xml}",
            xsd.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The Markdown as CommonMark parses it: table rows (cells joined by `|`),
/// the HTML blocks, and the fenced code blocks.
fn parse_markdown(md: &str) -> serde_json::Value {
    const PARSE: &str = r#"
import json, sys
from markdown_it import MarkdownIt
tokens = MarkdownIt("commonmark").enable("table").parse(sys.stdin.read())
rows, row, html, fences = [], None, [], []
for t in tokens:
    if t.type == "tr_open": row = []
    elif t.type == "inline" and row is not None: row.append(t.content)
    elif t.type == "tr_close": rows.append("|".join(row)); row = None
    elif t.type == "html_block": html.append(t.content)
    elif t.type == "fence": fences.append({"info": t.info, "content": t.content})
print(json.dumps({"rows": rows, "html": html, "fences": fences}))
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(md.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "markdown-it (python3-markdown-it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn local(d: &Path, words: &[&str]) -> Output {
    tests::apply_local_tree(d, words)
}

const APP: &str = "/etc/app.conf:\n  file.managed:\n    - contents: {{ pillar['greeting'] }}\n    - makedirs: True\n\
                   broken:\n  file.managed:\n    - name: /etc/broken\n    - source: salt://nope\n";

#[test]
fn masterless_junit_and_markdown_read_by_real_tools() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("root")).unwrap();
    write(&d.join("salt/top.sls"), "base:\n  '*':\n    - app\n");
    write(&d.join("salt/app.sls"), APP);
    write(&d.join("pillar/top.sls"), "base:\n  '*':\n    - p\n");
    write(
        &d.join("pillar/p.sls"),
        "greeting: hello <world> & \"all\"\n",
    );
    // Present, so the pending change is a diff.
    write(&d.join("root/etc/app.conf"), "old\n");

    let out = local(d, &["--test", "--out", "junit"]);
    assert_eq!(out.status.code(), Some(2));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert_valid_junit(&xml);
    assert!(
        xml.contains("<testsuite name=\"local\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("classname=\"app\" name=\"file_|-broken_|-/etc/broken_|-managed\""),
        "{xml}"
    );

    // --fail-on-change: the pending file is a failure holding its diff.
    let out = local(d, &["--test", "--out", "junit", "--fail-on-change"]);
    let xml = String::from_utf8(out.stdout).unwrap();
    assert_valid_junit(&xml);
    assert!(xml.contains("failures=\"2\""), "{xml}");
    assert!(xml.contains("<failure type=\"would change\""), "{xml}");
    assert!(
        xml.contains("hello &lt;world&gt; &amp; &quot;all&quot;"),
        "{xml}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("root/etc/app.conf")).unwrap(),
        "old\n"
    );

    let out = local(d, &["--test", "--out", "markdown"]);
    let md = String::from_utf8(out.stdout).unwrap();
    let parsed = parse_markdown(&md);
    assert_eq!(
        parsed["rows"],
        serde_json::json!([
            "minion|outcome|succeeded|failed|would change",
            "local|failed|1|1|1"
        ]),
        "{md}"
    );
    let html = parsed["html"].to_string();
    assert!(
        html.contains("local: file_|-/etc/app.conf_|-/etc/app.conf_|-managed (would change)"),
        "{md}"
    );
    assert!(
        html.contains("local: file_|-broken_|-/etc/broken_|-managed (failed)"),
        "{md}"
    );
    assert!(
        parsed["fences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["content"].as_str().unwrap().contains("hello <world>")),
        "{md}"
    );

    // A tree that does not compile: one error case, still valid.
    write(&d.join("salt/app.sls"), "x: {{ nope(\n");
    let out = local(d, &["--out", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert_valid_junit(&xml);
    assert!(
        xml.contains("<testcase classname=\"local\" name=\"compile\">"),
        "{xml}"
    );
}

#[test]
fn master_junit_has_a_suite_per_minion_and_markdown_a_line_per_minion() {
    let files = [
        ("salt/top.sls", "base:\n  '*':\n    - app\n"),
        ("salt/app.sls", APP),
        ("pillar/top.sls", "base:\n  'web1':\n    - p\n"),
        ("pillar/p.sls", "greeting: hi\n"),
    ];
    let master = Master::start(&files);
    let web1 = master.minion("web1");
    // web2's pillar lacks the key: its tree does not render.
    let web2 = master.minion("web2");
    let mut web3 = master.minion("web3");
    wait_until(Duration::from_secs(20), "three pending", || {
        master.pending().len() == 3
    });
    master.cli(&["keys", "accept", "--all"]);
    master.wait_connected(&["web1", "web2", "web3"]);
    web3.kill();
    let text = |args: &[&str]| {
        let out = master.cli(args);
        (out.code, out.stdout)
    };
    let (code, xml) = text(&["apply", "*", "--test", "-t", "3", "--out", "junit"]);
    assert_eq!(code, Some(3), "{xml}");
    assert_valid_junit(&xml);
    for suite in ["web1", "web2", "web3"] {
        assert!(
            xml.contains(&format!("<testsuite name=\"{suite}\"")),
            "{xml}"
        );
    }
    assert!(xml.contains("<error type=\"did not return\""), "{xml}");
    assert!(
        xml.contains("<testcase classname=\"web2\" name=\"compile\">"),
        "{xml}"
    );

    let (_, md) = text(&["apply", "*", "--test", "-t", "3", "--out", "markdown"]);
    let parsed = parse_markdown(&md);
    assert_eq!(
        parsed["rows"],
        serde_json::json!([
            "minion|outcome|succeeded|failed|would change",
            "web1|failed|1|1|1",
            "web2|could not run|0|0|0",
            "web3|did not return|||"
        ]),
        "{md}"
    );
    // Other commands refuse the report formats.
    let (code, _) = text(&["keys", "list", "--out", "junit"]);
    assert_eq!(code, Some(1));
    assert!(!web1.root().join("etc/app.conf").exists());
    drop(web2);
}
