//! pkgrepo on real files under a temp root: check, apply, check again.
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};

use super::PkgRepo;
use crate::state::{Applied, Args, Check, HostRead, HostWrite, Sources, StateError, StateModule};

/// salt:// from a directory, as file_roots would serve it.
struct DirSources(PathBuf);

impl Sources for DirSources {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
        let path = match url.strip_prefix("salt://") {
            Some(rel) => self.0.join(rel),
            None => PathBuf::from(url),
        };
        std::fs::read(&path).map_err(|e| StateError::host(format!("{url}: {e}")))
    }
    fn render(&self, url: &str, _: &serde_json::Map<String, Value>) -> Result<String, StateError> {
        Err(StateError::host(format!("no templates here: {url}")))
    }
    fn list(&self, url: &str) -> Result<Vec<String>, StateError> {
        Err(StateError::host(format!("no listing here: {url}")))
    }
}

struct Env {
    root: tempfile::TempDir,
    salt: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            root: tempfile::tempdir().unwrap(),
            salt: tempfile::tempdir().unwrap(),
        };
        env.write(
            "/etc/apt/sources.list",
            "# main\ndeb http://deb.debian.org/debian bookworm main\n",
        );
        std::fs::create_dir_all(env.root.path().join("etc/apt/sources.list.d")).unwrap();
        env
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.root.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.path().join(path.trim_start_matches('/'))).ok()
    }

    fn host(&self) -> HostRead {
        HostRead::new(
            self.root.path().to_path_buf(),
            Arc::new(DirSources(self.salt.path().to_path_buf())),
        )
    }

    fn check(&self, fun: &str, v: Value) -> Check {
        let mut c = v.as_object().unwrap().clone();
        c.insert("state".into(), json!("pkgrepo"));
        c.insert("fun".into(), json!(fun));
        let args = Args::new(&c);
        let out = PkgRepo.check(fun, &args, &self.host()).unwrap();
        assert_eq!(args.unknown(), Vec::<String>::new());
        out
    }

    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.root.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.insert(p.clone(), std::fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    /// Check (asserting it touches nothing and reports a change), apply,
    /// and check again (asserting it is clean now).
    fn converge(&self, fun: &str, v: Value) -> (serde_json::Map<String, Value>, String, Applied) {
        let before = self.snapshot();
        let Check::Change {
            changes,
            comment,
            apply,
        } = self.check(fun, v.clone())
        else {
            panic!("expected a change");
        };
        assert_eq!(self.snapshot(), before, "check wrote to the host");
        let applied = apply.apply(&HostWrite::new(self.host())).unwrap();
        assert!(applied.result, "{}", applied.comment);
        assert!(
            matches!(self.check(fun, v), Check::Clean { .. }),
            "second check is not clean"
        );
        (changes, comment, applied)
    }
}

fn clean(c: Check) -> String {
    match c {
        Check::Clean { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected Clean, got Change: {comment}"),
        Check::Fail { comment, .. } => panic!("expected Clean, got Fail: {comment}"),
        Check::Reported { comment, .. } => panic!("expected Clean, got Reported: {comment}"),
    }
}

fn fail(c: Check) -> String {
    match c {
        Check::Fail { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected Fail, got Change: {comment}"),
        Check::Clean { comment, .. } => panic!("expected Fail, got Clean: {comment}"),
        Check::Reported { comment, .. } => panic!("expected Fail, got Reported: {comment}"),
    }
}

const NGINX: &str = "deb http://nginx.org/packages/debian bookworm nginx";

#[test]
fn managed_appends_to_sources_list_by_default_and_is_idempotent() {
    let env = Env::new();
    let (changes, comment, applied) =
        env.converge("managed", json!({"name": NGINX, "refresh": false}));
    assert_eq!(Value::Object(changes), json!({"repo": NGINX}));
    assert_eq!(
        comment,
        format!("Package repo '{NGINX}' would be configured. This may cause pkg states to behave differently than stated if this action is repeated without test=True, due to the differences in the configured repositories.")
    );
    assert_eq!(
        applied.comment,
        format!("Configured package repo '{NGINX}'")
    );
    assert_eq!(
        env.read("/etc/apt/sources.list").unwrap(),
        format!("# main\ndeb http://deb.debian.org/debian bookworm main\n{NGINX}\n")
    );
    assert_eq!(
        clean(env.check("managed", json!({"name": NGINX, "refresh": false}))),
        format!("Package repo '{NGINX}' already configured")
    );
}

#[test]
fn managed_edits_the_existing_entry_in_place() {
    let env = Env::new();
    env.write(
        "/etc/apt/sources.list.d/nginx.list",
        &format!("# keep me\n{NGINX}\n\n# tail\n"),
    );
    let args = json!({
        "name": NGINX,
        "file": "/etc/apt/sources.list.d/nginx.list",
        "comps": "nginx, extra",
        "architectures": ["amd64"],
        "refresh": false,
    });
    let (changes, _, _) = env.converge("managed", args);
    let line = "deb [arch=amd64] http://nginx.org/packages/debian bookworm nginx extra";
    assert_eq!(
        Value::Object(changes),
        json!({
            "comps": {"new": ["nginx", "extra"], "old": ["nginx"]},
            "line": {"new": line, "old": NGINX},
            "architectures": {"new": ["amd64"], "old": []},
        })
    );
    assert_eq!(
        env.read("/etc/apt/sources.list.d/nginx.list").unwrap(),
        format!("# keep me\n{line}\n\n# tail\n")
    );
}

#[test]
fn managed_disables_and_comments() {
    let env = Env::new();
    let file = "/etc/apt/sources.list.d/nginx.list";
    env.converge(
        "managed",
        json!({"name": NGINX, "file": file, "refresh": false, "comments": ["from", "nginx.org"]}),
    );
    assert_eq!(
        env.read(file).unwrap(),
        format!("{NGINX} #from nginx.org\n")
    );
    let (changes, _, _) = env.converge(
        "managed",
        json!({"name": NGINX, "file": file, "refresh": false, "enabled": false}),
    );
    assert_eq!(changes["disabled"], json!({"new": true, "old": false}));
    assert_eq!(
        env.read(file).unwrap(),
        format!("# {NGINX} #from nginx.org\n")
    );
}

#[test]
fn clean_file_leaves_only_this_repo() {
    let env = Env::new();
    let file = "/etc/apt/sources.list.d/mixed.list";
    env.write(file, "deb http://other.example/debian bookworm main\n");
    env.converge(
        "managed",
        json!({"name": NGINX, "file": file, "clean_file": true, "refresh": false}),
    );
    assert_eq!(env.read(file).unwrap(), format!("{NGINX}\n"));
}

/// A small armored key block (the bytes need not be a real key for apt to
/// be handed them; the real-key round trip is in keyring's tests).
fn armored() -> (String, Vec<u8>) {
    use base64::Engine;
    let bytes: Vec<u8> = b"\x99\x01\x0dnot really a key but binary".to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    (
        format!(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{b64}\n-----END PGP PUBLIC KEY BLOCK-----\n"
        ),
        bytes,
    )
}

#[test]
fn key_url_writes_a_dearmored_keyring_and_signed_by() {
    let env = Env::new();
    let (text, bytes) = armored();
    std::fs::create_dir_all(env.salt.path().join("nginx")).unwrap();
    std::fs::write(env.salt.path().join("nginx/nginx_signing.key"), &text).unwrap();
    let file = "/etc/apt/sources.list.d/nginx.list";
    let args = json!({"name": NGINX, "file": file, "key_url": "salt://nginx/nginx_signing.key", "refresh": false});
    let (changes, _, _) = env.converge("managed", args.clone());
    let keyring = "/etc/apt/keyrings/nginx_signing.gpg";
    assert_eq!(
        Value::Object(changes),
        json!({"repo": NGINX, "keyring": keyring})
    );
    let real = env.root.path().join(keyring.trim_start_matches('/'));
    assert_eq!(std::fs::read(&real).unwrap(), bytes);
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    assert_eq!(
        env.read(file).unwrap(),
        format!("deb [signed-by={keyring}] http://nginx.org/packages/debian bookworm nginx\n")
    );
    // A changed key on disk is put back, and only the key is reported.
    std::fs::write(&real, b"tampered").unwrap();
    let (changes, _, _) = env.converge("managed", args);
    assert_eq!(Value::Object(changes), json!({"keyring": keyring}));
    assert_eq!(std::fs::read(&real).unwrap(), bytes);
}

#[test]
fn key_text_goes_to_the_lines_signed_by_path() {
    let env = Env::new();
    let (text, _) = armored();
    let name = "deb [signed-by=/usr/share/keyrings/nginx.asc] http://nginx.org/packages/debian bookworm nginx";
    env.converge(
        "managed",
        json!({"name": name, "key_text": text, "refresh": false}),
    );
    // .asc: apt reads armor, so the key is written as given.
    assert_eq!(env.read("/usr/share/keyrings/nginx.asc").unwrap(), text);
}

#[test]
fn absent_removes_entries_and_empty_list_files() {
    let env = Env::new();
    let file = "/etc/apt/sources.list.d/nginx.list";
    env.write(file, &format!("{NGINX}\n"));
    assert_eq!(
        clean(env.check(
            "absent",
            json!({"name": "deb http://nowhere/debian bookworm main"})
        )),
        "Package repo deb http://nowhere/debian bookworm main is absent"
    );
    // Another architecture is another repo.
    let amd = "deb [arch=amd64] http://nginx.org/packages/debian bookworm nginx";
    assert_eq!(
        clean(env.check("absent", json!({"name": amd}))),
        format!("Package repo {amd} is absent")
    );
    let (changes, comment, applied) =
        env.converge("absent", json!({"name": NGINX, "refresh": false}));
    assert!(changes.is_empty());
    assert!(comment.starts_with(&format!("Package repo '{NGINX}' will be removed.")));
    assert_eq!(applied.comment, format!("Removed repo {NGINX}"));
    assert_eq!(
        applied.changes,
        Some(crate::state::changes([("repo", json!(NGINX))]))
    );
    assert_eq!(env.read(file), None);
    // sources.list itself stays even when emptied of this repo.
    let main = "deb http://deb.debian.org/debian/ bookworm main";
    env.converge("absent", json!({"name": main, "refresh": false}));
    assert_eq!(env.read("/etc/apt/sources.list").unwrap(), "# main\n");
}

#[test]
fn absent_drops_only_the_named_components() {
    let env = Env::new();
    env.write(
        "/etc/apt/sources.list",
        "deb http://x.example/debian bookworm main contrib\n",
    );
    env.converge(
        "absent",
        json!({"name": "deb http://x.example/debian bookworm contrib", "refresh": false}),
    );
    assert_eq!(
        env.read("/etc/apt/sources.list").unwrap(),
        "deb http://x.example/debian bookworm main\n"
    );
}

#[test]
fn unsupported_and_bad_arguments_say_so() {
    let env = Env::new();
    for (args, want) in [
        (
            json!({"name": NGINX, "keyid": "ABC", "keyserver": "k"}),
            "keyserver",
        ),
        (
            json!({"name": NGINX, "key_url": "https://nginx.org/keys/nginx_signing.key"}),
            "does not download",
        ),
        (
            json!({"name": NGINX, "key_url": "salt://k", "key_text": "x"}),
            "You may not use both \"key_url\" and \"key_text\" argument.",
        ),
        (json!({"name": NGINX, "ppa": "a/b"}), "ppa"),
        (
            json!({"name": NGINX, "enabled": true, "disabled": true}),
            "Only one of enabled/disabled is allowed",
        ),
        (
            json!({"name": "not a repo line"}),
            "is not valid. This must be the complete repo entry",
        ),
        (
            json!({"name": NGINX, "key_url": "salt://missing.key"}),
            "file not found",
        ),
    ] {
        let comment = fail(env.check("managed", args.clone()));
        assert!(comment.contains(want), "{args}: {comment}");
    }
    let mut c = json!({"name": NGINX, "file": "/etc/apt/sources.list.d/x.sources", "state": "pkgrepo", "fun": "managed"})
        .as_object()
        .unwrap()
        .clone();
    c.insert("refresh".into(), json!(false));
    let err = PkgRepo
        .check("managed", &Args::new(&c), &env.host())
        .err()
        .unwrap();
    assert!(err.to_string().contains(".list"), "{err}");
}

#[test]
fn refresh_under_a_temp_root_fails_instead_of_updating_this_host() {
    let env = Env::new();
    let Check::Change { apply, .. } = env.check("managed", json!({"name": NGINX})) else {
        panic!("expected a change");
    };
    let applied = apply.apply(&HostWrite::new(env.host())).unwrap();
    assert!(!applied.result);
    assert!(
        applied.comment.contains("set refresh: False"),
        "{}",
        applied.comment
    );
}

#[test]
fn a_root_without_sources_gets_its_own_sources_list() {
    let env = Env::new();
    std::fs::remove_file(env.root.path().join("etc/apt/sources.list")).unwrap();
    env.converge("managed", json!({"name": NGINX, "refresh": false}));
    assert_eq!(
        env.read("/etc/apt/sources.list").unwrap(),
        format!("{NGINX}\n")
    );
}
