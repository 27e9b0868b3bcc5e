//! Writes the seed corpora under `fuzz/corpus/<target>/` from real data:
//! encoded messages of every type, messages of a real handshake and frames
//! of a real session, the target matcher's oracle table, and the SLS/YAML
//! files of examples/ and tests/compat. Run it again after the wire format or
//! those files change:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus
//! ```
//! (Handshake seeds hold fresh ephemeral keys, so they differ on every run.)
use std::fs;
use std::path::{Path, PathBuf};

use brine_fuzz::{join, target_fixture};
use common::target::TargetKind;
use serde_json::json;
use transport::keys::KeyPair;
use transport::noise::{Initiator, Responder};
use transport::wire::*;

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = fuzz.parent().expect("fuzz/ is inside the repository");
    let corpus = fuzz.join("corpus");
    wire(&corpus.join("wire_decode"));
    handshake(&corpus.join("handshake"));
    targets(&corpus.join("target_expr"));
    sls(repo, &corpus.join("sls_render"));
    yaml(repo, &corpus.join("yaml_load"));
}

/// Seeds are written over their old versions; inputs merged from fuzzing
/// runs (named by their SHA-1) stay.
fn fresh(dir: &Path) {
    fs::create_dir_all(dir).expect("a corpus directory");
}

fn put(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).expect("a seed file");
}

fn enc<T: serde::Serialize>(msg: &T) -> Vec<u8> {
    encode(msg).expect("a real message encodes")
}

fn wire(dir: &Path) {
    fresh(dir);
    let ret = JobReturn {
        jid: "20261124101010123456".parse().expect("a valid jid"),
        success: true,
        ret: json!({"file_|-motd_|-/etc/motd_|-managed": {"result": true, "changes": {}, "comment": "ok", "__run_num__": 0}}),
        retcode: 0,
    };
    let mut kwargs = common::data::Map::new();
    kwargs.insert("timeout".into(), json!(5));
    let minion: Vec<(&str, MinionMsg)> = vec![
        (
            "grains",
            MinionMsg::Grains {
                grains: json!({"id": "web1", "os": "Debian", "num_cpus": 4, "mem": 2048.5, "ipv4": ["10.0.0.1"], "virtual": null}),
            },
        ),
        ("ping", MinionMsg::Ping),
        ("return", MinionMsg::Return(ret.clone())),
        (
            "probe-reply-ok",
            MinionMsg::ProbeReply {
                req: 7,
                reply: Ok(json!({"stdout": "x", "retcode": 0})),
            },
        ),
        (
            "probe-reply-err",
            MinionMsg::ProbeReply {
                req: 8,
                reply: Err("no such user".into()),
            },
        ),
        (
            "fetch-blobs",
            MinionMsg::Fetch {
                req: 1,
                jid: ret.jid.clone(),
                what: FetchWhat::Blobs(vec!["ab".repeat(32)]),
            },
        ),
        (
            "fetch-url",
            MinionMsg::Fetch {
                req: 2,
                jid: ret.jid.clone(),
                what: FetchWhat::Url("salt://nginx/site.conf.j2".into()),
            },
        ),
        (
            "render",
            MinionMsg::Render {
                req: 3,
                jid: ret.jid.clone(),
                url: "salt://a.j2".into(),
                context: kwargs.clone(),
            },
        ),
        (
            "list",
            MinionMsg::List {
                req: 4,
                jid: ret.jid.clone(),
                url: "salt://files".into(),
                dirs: true,
            },
        ),
    ];
    for (name, m) in &minion {
        put(dir, &format!("minion-{name}"), &enc(m));
    }
    let master: Vec<(&str, MasterMsg)> = vec![
        ("admission-accepted", MasterMsg::Admission(Admission::Accepted)),
        ("admission-pending", MasterMsg::Admission(Admission::Pending)),
        ("admission-refused", MasterMsg::Admission(Admission::Refused { reason: "rejected".into() })),
        ("pong", MasterMsg::Pong),
        ("job-apply", MasterMsg::Job(Job { jid: ret.jid.clone(), kind: JobKind::Apply {
            chunks: vec![json!({"state": "file", "__id__": "motd", "name": "/etc/motd", "fun": "managed", "order": 1}).as_object().unwrap().clone()],
            test: false, pillar: json!({"users": ["alice"]}),
            manifest: vec![("salt://motd".into(), "cd".repeat(32))] } })),
        ("job-run", MasterMsg::Job(Job { jid: ret.jid.clone(), kind: JobKind::Run { fun: "cmd.run".into(), args: vec![json!("uptime")], kwargs: kwargs.clone() } })),
        ("return-ack", MasterMsg::ReturnAck { jid: ret.jid.clone() }),
        ("probe-cmd", MasterMsg::Probe { req: 9, call: ProbeCall::Cmd { command: "id -u".into(), cwd: Some("/".into()), shell: None, env: vec![("LANG".into(), "C".into())], no_shell: true } }),
        ("probe-file", MasterMsg::Probe { req: 10, call: ProbeCall::FileExists("/etc/motd".into()) }),
        ("probe-user", MasterMsg::Probe { req: 11, call: ProbeCall::UserInfo("root".into()) }),
        ("fetched", MasterMsg::Fetched { req: 1, reply: Ok(vec![Blob { sha256: "ab".repeat(32), data: b"hello\n\x00\xff".to_vec() }]) }),
        ("fetched-err", MasterMsg::Fetched { req: 1, reply: Err("missing".into()) }),
        ("rendered", MasterMsg::Rendered { req: 3, reply: Ok("port 80\n".into()) }),
        ("listed", MasterMsg::Listed { req: 4, reply: Ok(vec!["a".into(), "b/c".into()]) }),
        ("mine-functions", MasterMsg::MineFunctions { functions: vec![common::config::MineFunction { alias: "ips".into(), function: "network.ip_addrs".into(), args: vec![json!("eth0")], kwargs: kwargs.clone() }] }),
    ];
    for (name, m) in &master {
        put(dir, &format!("master-{name}"), &enc(m));
    }
    let publish = |what, batch| Publish {
        target: "G@os:Debian and web*".into(),
        tgt_type: TargetKind::Compound,
        what,
        timeout_secs: 30,
        batch,
    };
    let ops: Vec<(&str, OpRequest)> = vec![
        ("keys-list", OpRequest::Keys(KeysOp::List)),
        (
            "keys-accept",
            OpRequest::Keys(KeysOp::Accept {
                id: Some("web1".into()),
                all: false,
            }),
        ),
        (
            "keys-reject",
            OpRequest::Keys(KeysOp::Reject { id: "web2".into() }),
        ),
        (
            "keys-fingerprint",
            OpRequest::Keys(KeysOp::Fingerprint { id: None }),
        ),
        (
            "publish-apply",
            OpRequest::Publish(publish(
                PublishWhat::Apply {
                    sls: vec!["nginx".into()],
                    test: true,
                    env: PublishEnv {
                        saltenv: Some("prod".to_string().try_into().unwrap()),
                        pillarenv: None,
                        pillar: json!({"k": "v"}).as_object().cloned(),
                    },
                },
                Some(Batch::Count(2)),
            )),
        ),
        (
            "publish-run",
            OpRequest::Publish(publish(
                PublishWhat::Run {
                    fun: "test.ping".into(),
                    args: vec![],
                    kwargs: kwargs.clone(),
                },
                Some(Batch::Percent(10)),
            )),
        ),
        ("jobs-list", OpRequest::JobsList),
        ("jobs-active", OpRequest::JobsActive),
        ("ping", OpRequest::Ping),
        (
            "job-show",
            OpRequest::JobShow {
                jid: ret.jid.clone(),
            },
        ),
        (
            "render",
            OpRequest::Render {
                minion: "web1".into(),
                sls: vec!["nginx".into()],
                saltenv: Some("prod".into()),
                pillarenv: None,
            },
        ),
    ];
    for (name, m) in &ops {
        put(dir, &format!("op-{name}"), &enc(m));
    }
    let replies: Vec<(&str, OpReply)> = vec![
        (
            "expected",
            OpReply::Expected {
                jid: ret.jid.clone(),
                minions: vec!["web1".into(), "web2".into()],
            },
        ),
        (
            "returned",
            OpReply::Returned {
                minion: "web1".into(),
                ret: ret.clone(),
            },
        ),
        (
            "waiting",
            OpReply::Waiting {
                jid: ret.jid.clone(),
            },
        ),
        (
            "done",
            OpReply::Done {
                jid: ret.jid.clone(),
                missing: vec!["db1".into()],
            },
        ),
        (
            "reply",
            OpReply::Reply(Ok(json!({"minions": ["web1"], "minions_pre": []}))),
        ),
    ];
    for (name, m) in &replies {
        put(dir, &format!("reply-{name}"), &enc(m));
    }
    put(
        dir,
        "claim-minion",
        &enc(&Claim::Minion { id: "web1".into() }),
    );
    put(dir, "claim-operator", &enc(&Claim::Operator));
    put(dir, "outbox-return", &enc(&ret));
}

fn handshake(dir: &Path) {
    fresh(dir);
    let server = KeyPair::generate().expect("a key pair");
    let client = KeyPair::generate().expect("a key pair");
    let (init, m1) = Initiator::start(&client).expect("message 1");
    let (resp, m2) = Responder::start(&server, &m1).expect("message 2");
    let (_, m3, mut c) = init
        .finish(&m2, &enc(&Claim::Minion { id: "web1".into() }))
        .expect("message 3");
    let _ = resp.finish(&m3).expect("the session");
    put(
        dir,
        "responder-msg1-msg3",
        &[&[0u8][..], &join(&[&m1, &m3])].concat(),
    );
    put(dir, "responder-msg1", &[&[0u8][..], &m1].concat());
    put(dir, "initiator-msg2", &[&[1u8][..], &m2].concat());
    let one = c.seal(&enc(&MinionMsg::Ping));
    put(dir, "frames-one", &[&[2u8, 0x80][..], &one[0]].concat());
    let two: Vec<Vec<u8>> = c.seal(&[]).into_iter().chain(c.seal(b"x")).collect();
    put(
        dir,
        "frames-two",
        &[&[2u8, 1][..], &join(&[&two[0], &two[1]])].concat(),
    );
    for op in 0u8..9 {
        // case 3, then op (high nibble: extra frames), frame index, position, byte.
        put(
            dir,
            &format!("mutate-op{op}"),
            &[&[3u8, op, 0, 5, 0x41][..], &enc(&MinionMsg::Ping)].concat(),
        );
        put(
            dir,
            &format!("mutate-op{op}-3frames"),
            &[&[3u8, op + 9 * 2 + 0x20, 2, 200, 7][..], b"text"].concat(),
        );
    }
}

fn targets(dir: &Path) {
    fresh(dir);
    let fx = target_fixture();
    for (i, (kind, expr)) in fx.cases.iter().enumerate() {
        let k = TargetKind::NAMES
            .iter()
            .position(|(n, _)| n == kind)
            .unwrap_or(0) as u8;
        put(
            dir,
            &format!("case-{i:03}-{kind}"),
            &[&[k][..], expr.as_bytes()].concat(),
        );
    }
    // Targets given as lists (top.sls YAML lists): one item per line.
    put(dir, "list-as-list", b"\x82web1\ndb1");
    put(dir, "compound-as-list", b"\x89G@os:Debian\nand\nweb*");
}

fn files_under(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("a directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, exts, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
        {
            out.push(path);
        }
    }
}

fn copy_tree(repo: &Path, dirs: &[&str], exts: &[&str], to: &Path) {
    let mut files = Vec::new();
    for d in dirs {
        files_under(&repo.join(d), exts, &mut files);
    }
    let mut seen = std::collections::HashSet::new();
    for f in files {
        let text = fs::read(&f).expect("a seed source");
        if !seen.insert(text.clone()) {
            continue;
        }
        let rel = f.strip_prefix(repo).expect("under the repository");
        let name = rel.to_string_lossy().replace('/', "__");
        put(to, &name, &text);
    }
}

fn sls(repo: &Path, dir: &Path) {
    fresh(dir);
    copy_tree(
        repo,
        &["examples", "tests/compat/trees"],
        &["sls", "jinja", "j2"],
        dir,
    );
    // Templates that lean on the formula beside the fuzzed file and on the probe.
    put(dir, "import-map", b"{% from 'fmt/map.jinja' import nginx with context %}\n{%- import_yaml 'fmt/defaults.yaml' as d %}\nx:\n  test.nop:\n    - port: {{ nginx.port }}\n    - d: {{ d | json }}\n");
    put(dir, "probe-calls", b"{% if salt['file.file_exists']('/etc/motd') %}\n{% set out = salt['cmd.run']('uname -a') %}\nu: {{ salt['user.info']('root') | yaml }}\n{% endif %}\nr: {{ '%-5s|%05d' % ('a', 3) }}\n");
    put(dir, "loop-macro", b"{% macro m(x) %}{{ x * 2 }}{% endmacro %}\n{% for i in range(3) %}\nid{{ i }}:\n  cmd.run:\n    - name: {{ m(i) }}\n{% endfor %}\n");
}

fn yaml(repo: &Path, dir: &Path) {
    fresh(dir);
    let cases =
        fs::read_to_string(repo.join("common/src/yaml/testdata/cases.jsonl")).expect("YAML cases");
    for (i, line) in cases.lines().enumerate() {
        let case: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        if case["kind"] == "load" {
            if let Some(input) = case["input"].as_str() {
                put(dir, &format!("case-{i:03}"), input.as_bytes());
            }
        }
    }
    copy_tree(repo, &["examples"], &["yaml", "sls"], dir);
}
