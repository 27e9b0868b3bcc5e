use std::path::Path;

use super::*;

fn read(yaml: &str) -> Result<GitConfig, crate::config::ConfigError> {
    let raw = match common::yaml::load(yaml).unwrap() {
        Value::Object(m) => m,
        _ => panic!("not a map"),
    };
    config::read(Path::new("master.yaml"), &raw)
}

fn err(yaml: &str) -> String {
    read(yaml).unwrap_err().to_string()
}

#[test]
fn remotes_and_their_options_are_read_with_salts_names() {
    let cfg = read(
        "fileserver_backend: [roots, gitfs]
gitfs_base: main
gitfs_update_interval: 5
gitfs_remotes:
  - https://alice:s3cret@git.example/states.git
  - file:///srv/other.git:
    - name: other
    - root: salt
    - mountpoint: salt://web
    - saltenv:
      - prod:
        - ref: release-1
ext_pillar:
  - git:
    - master file:///srv/pillar.git
    - stage file:///srv/pillar.git:
      - root: pillar
",
    )
    .unwrap();
    assert_eq!(cfg.backends, vec![Backend::Roots, Backend::Git]);
    assert_eq!(cfg.update_interval, 5);
    assert_eq!(cfg.remotes.len(), 4);
    assert_eq!(cfg.remotes[0].name, "https://git.example/states.git");
    assert_eq!(cfg.remotes[0].auth.user.as_deref(), None);
    assert_eq!(
        cfg.remotes[0].serves,
        Serves::Files {
            base: "main".into(),
            saltenv_refs: vec![]
        }
    );
    let other = &cfg.remotes[1];
    assert_eq!(
        (
            other.name.as_str(),
            other.root.as_str(),
            other.mountpoint.as_str()
        ),
        ("other", "salt", "web")
    );
    assert_eq!(
        other.serves,
        Serves::Files {
            base: "main".into(),
            saltenv_refs: vec![("prod".into(), "release-1".into())]
        }
    );
    assert_eq!(
        cfg.remotes[2].serves,
        Serves::Pillar {
            branch: "master".into(),
            env: "base".into()
        }
    );
    assert_eq!(
        cfg.remotes[3].serves,
        Serves::Pillar {
            branch: "stage".into(),
            env: "stage".into()
        }
    );
    assert_eq!(cfg.remotes[3].root, "pillar");
}

#[test]
fn what_brine_does_not_implement_is_an_error_naming_it() {
    let cases = [
        ("fileserver_backend: [hgfs]", "hgfs"),
        ("gitfs_provider: gitpython", "gitfs_provider"),
        ("gitfs_saltenv_whitelist: [base]", "gitfs_saltenv_whitelist"),
        ("git_pillar_includes: false", "git_pillar_includes"),
        (
            "fileserver_backend: [git]\ngitfs_remotes:\n  - file:///r:\n    - ref_types: [branch]\n",
            "ref_types",
        ),
        ("ext_pillar:\n  - cmd_json: echo\n", "cmd_json"),
        ("ext_pillar:\n  - git:\n    - __env__ file:///r\n", "__env__"),
        ("gitfs_remotes: [file:///r]", "fileserver_backend does not list git"),
        ("fileserver_backend: [git]", "gitfs_remotes is empty"),
        (
            "fileserver_backend: [git]\ngitfs_remotes:\n  - file:///r:\n    - root: ../etc\n",
            "inside the repository",
        ),
    ];
    for (yaml, expected) in cases {
        let e = err(yaml);
        assert!(e.contains(expected), "{yaml}: {e}");
    }
}

#[test]
fn ssl_verify_is_true_unless_set_globally_or_per_remote() {
    let cfg = read(
        "fileserver_backend: [git]
gitfs_ssl_verify: False
gitfs_remotes:
  - https://git.example/a.git
  - https://git.example/b.git:
    - ssl_verify: True
ext_pillar:
  - git:
    - master https://git.example/p.git
    - master https://git.example/q.git:
      - ssl_verify: False
",
    )
    .unwrap();
    let verify: Vec<bool> = cfg.remotes.iter().map(|r| r.ssl_verify).collect();
    // git_pillar has its own global (git_pillar_ssl_verify, default True).
    assert_eq!(verify, vec![false, true, true, false]);
    let e = err("fileserver_backend: [git]\ngitfs_remotes:\n  - https://g/a.git:\n    - ssl_verify: maybe\n");
    assert!(
        e.contains("ssl_verify") && e.contains("True or False"),
        "{e}"
    );
}

#[test]
fn a_password_over_plain_http_is_refused_unless_insecure_auth_as_salt_does() {
    let e = err(
        "fileserver_backend: [git]\ngitfs_user: alice\ngitfs_password: s3cret\ngitfs_remotes:\n  - http://git.example/a.git\n",
    );
    assert!(e.contains("insecure_auth"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
    for yaml in [
        "fileserver_backend: [git]\ngitfs_user: alice\ngitfs_password: s3cret\ngitfs_insecure_auth: True\ngitfs_remotes:\n  - http://git.example/a.git\n",
        "fileserver_backend: [git]\ngitfs_remotes:\n  - http://git.example/a.git:\n    - user: alice\n    - password: s3cret\n    - insecure_auth: True\n",
        "fileserver_backend: [git]\ngitfs_user: alice\ngitfs_password: s3cret\ngitfs_remotes:\n  - https://git.example/a.git\n",
    ] {
        let cfg = read(yaml).unwrap();
        assert_eq!(cfg.remotes[0].auth.password.as_deref(), Some("s3cret"));
    }
}

#[test]
fn secrets_stay_out_of_the_configs_debug_text_and_names() {
    let cfg = read(
        "fileserver_backend: [git]\ngitfs_remotes:\n  - https://alice:urlpass@git.example/a.git:\n    - user: alice\n    - password: s3cret\n    - passphrase: keypass\n",
    )
    .unwrap();
    let text = format!("{cfg:?}");
    for secret in ["s3cret", "keypass"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert_eq!(cfg.remotes[0].name, "https://git.example/a.git");
    assert_eq!(config::url_password(&cfg.remotes[0].url), Some("urlpass"));
    assert_eq!(
        config::url_password("https://alice@git.example/a.git"),
        None
    );
    assert_eq!(config::url_password("ssh://git@h:22/a.git"), None);
}

#[test]
fn branches_and_tags_map_to_saltenvs_as_salt_maps_them() {
    let remote = read("fileserver_backend: [git]\ngitfs_remotes:\n  - file:///r:\n    - saltenv:\n      - qa:\n        - ref: v1\n")
        .unwrap()
        .remotes
        .remove(0);
    let branches = vec![
        ("base".to_string(), "b".repeat(40)),
        ("feature/x".to_string(), "f".repeat(40)),
        ("master".to_string(), "a".repeat(40)),
        ("prod".to_string(), "c".repeat(40)),
    ];
    let tags = vec![
        ("prod".to_string(), "d".repeat(40)),
        ("v1".to_string(), "e".repeat(40)),
    ];
    let envs = envs_of(&remote, &branches, &tags).unwrap();
    assert_eq!(
        envs,
        vec![
            ("base".to_string(), "a".repeat(40)),
            ("prod".to_string(), "c".repeat(40)),
            ("v1".to_string(), "e".repeat(40)),
            ("qa".to_string(), "e".repeat(40)),
        ]
    );
}

/// `git` with a fixed identity, in `dir`.
fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@t.invalid",
            "-c",
            "init.defaultBranch=master",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn commit_file(repo: &Path, rel: &str, text: &str) {
    let path = repo.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", rel]);
}

#[test]
fn an_update_pins_a_new_commit_in_a_new_directory_and_prunes_the_unheld_one() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    commit_file(&repo, "salt/top.sls", "one\n");
    let cfg = read(&format!(
        "fileserver_backend: [git]\ngitfs_remotes:\n  - file://{}:\n    - root: salt\n    - mountpoint: salt://m\n",
        repo.display()
    ))
    .unwrap();
    let gitfs = GitFs::new(&cfg, &tmp.path().join("cache")).unwrap();
    assert!(gitfs.update());
    let first = gitfs.snapshot();
    let dir1 = first.pins[0].checkout.dir.clone();
    assert_eq!(first.pins[0].env, "base");
    assert_eq!(
        std::fs::read_to_string(dir1.join("m/top.sls")).unwrap(),
        "one\n"
    );
    let envs = gitfs.environments(&Environments::default(), &first);
    assert_eq!(
        envs.file_roots.get("base").unwrap().to_vec(),
        vec![dir1.clone()]
    );

    commit_file(&repo, "salt/top.sls", "two\n");
    assert!(gitfs.update());
    let second = gitfs.snapshot();
    let dir2 = second.pins[0].checkout.dir.clone();
    assert_ne!(dir1, dir2);
    assert_eq!(
        std::fs::read_to_string(dir2.join("m/top.sls")).unwrap(),
        "two\n"
    );
    // Held by `first` (a job still compiling): kept, unchanged.
    assert_eq!(
        std::fs::read_to_string(dir1.join("m/top.sls")).unwrap(),
        "one\n"
    );
    drop(first);
    assert!(gitfs.update());
    assert!(
        !dir1.exists(),
        "the old commit's directory is pruned once unheld"
    );
    assert!(dir2.exists());

    // The remote gone: the update fails, the last good commit stays pinned.
    std::fs::rename(&repo, tmp.path().join("moved")).unwrap();
    assert!(!gitfs.update());
    assert_eq!(gitfs.snapshot().pins[0].checkout.dir, dir2);
    let status = gitfs.status();
    assert!(status["remotes"][0]["last_error"].is_string(), "{status}");
    assert_eq!(
        status["remotes"][0]["saltenvs"]["base"],
        second.pins[0].checkout.commit
    );
}
