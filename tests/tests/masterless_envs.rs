//! Masterless saltenvs end to end: `minion apply --local ... saltenv=prod`
//! compiles prod's top and SLS, reads each `salt://` file in its saltenv
//! (the SLS's own, `?saltenv=`, or the state's `saltenv` argument), renders
//! templates with `saltenv` and the job's `pillar=` merged over prod's
//! pillar (`pillarenv_from_saltenv`), and writes them under a state root.
use std::path::Path;
use std::process::{Command, Output};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn apply(config: &Path, root: &Path, words: &[&str]) -> Output {
    Command::new(tests::bin("minion"))
        .args(["apply", "--local", "--out", "json", "--id", "web01"])
        .arg("--config")
        .arg(config)
        .arg("--root")
        .arg(root)
        .args(words)
        .output()
        .unwrap()
}

/// base and prod state and pillar trees under `d`, and a config naming them.
fn tree(d: &Path) -> std::path::PathBuf {
    write(&d.join("salt/base/top.sls"), "base:\n  '*':\n    - app\n");
    write(
        &d.join("salt/base/app.sls"),
        "/srv/app/which:\n  file.managed:\n    - contents: base\n    - makedirs: True\n",
    );
    write(&d.join("salt/base/motd"), "motd of base\n");
    write(
        &d.join("salt/prod/top.sls"),
        "prod:\n  'web*':\n    - app\n",
    );
    write(
        &d.join("salt/prod/app.sls"),
        "/srv/app/which:\n  file.managed:\n    - contents: prod\n    - makedirs: True\n\
         /srv/app/motd:\n  file.managed:\n    - source: salt://motd\n\
         /srv/app/motd.base:\n  file.managed:\n    - source: salt://motd?saltenv=base\n\
         /srv/app/motd.arg:\n  file.managed:\n    - source: salt://motd\n    - saltenv: base\n\
         /srv/app/conf:\n  file.managed:\n    - source: salt://conf.j2\n    - template: jinja\n",
    );
    write(&d.join("salt/prod/motd"), "motd of prod\n");
    write(
        &d.join("salt/prod/conf.j2"),
        "env={{ saltenv }} tier={{ pillar.tier }} extra={{ pillar.extra }}\n",
    );
    write(&d.join("pillar/base/top.sls"), "base:\n  '*':\n    - t\n");
    write(&d.join("pillar/base/t.sls"), "tier: base-tier\n");
    write(&d.join("pillar/prod/top.sls"), "prod:\n  '*':\n    - t\n");
    write(
        &d.join("pillar/prod/t.sls"),
        "tier: prod-tier\nextra: from-tree\n",
    );
    let config = d.join("minion.yaml");
    write(
        &config,
        &format!(
            "file_roots:\n  base: [{d}/salt/base]\n  prod: [{d}/salt/prod]\n\
             pillar_roots:\n  base: [{d}/pillar/base]\n  prod: [{d}/pillar/prod]\n\
             pillarenv_from_saltenv: true\n",
            d = d.display()
        ),
    );
    config
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| format!("<{rel}: {e}>"))
}

#[test]
fn saltenv_prod_applies_prods_tree_with_each_file_from_its_saltenv() {
    let dir = tempfile::tempdir().unwrap();
    let config = tree(dir.path());
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let out = apply(
        &config,
        &root,
        &["saltenv=prod", r#"pillar={"extra": "from-cli"}"#],
    );
    let said = format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert_eq!(read(&root, "srv/app/which"), "prod\n", "{said}");
    assert_eq!(read(&root, "srv/app/motd"), "motd of prod\n");
    assert_eq!(read(&root, "srv/app/motd.base"), "motd of base\n");
    assert_eq!(read(&root, "srv/app/motd.arg"), "motd of base\n");
    assert_eq!(
        read(&root, "srv/app/conf"),
        "env=prod tier=prod-tier extra=from-cli\n"
    );

    // Without a saltenv the tops of both are merged (base's has no prod
    // section, so prod's counts): both app.sls files, one ID, as Salt says.
    let out = apply(&config, &root, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("found in SLS 'base:app' and SLS 'prod:app'"),
        "{stderr}"
    );
    // The flag spelling, with an SLS name.
    let flag_root = dir.path().join("flag-root");
    std::fs::create_dir_all(&flag_root).unwrap();
    let out = apply(&config, &flag_root, &["--saltenv", "prod", "app"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(read(&flag_root, "srv/app/which"), "prod\n");
}

#[test]
fn an_unknown_saltenv_and_a_pillar_that_is_not_a_map_fail_as_salt_says() {
    let dir = tempfile::tempdir().unwrap();
    let config = tree(dir.path());
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let out = apply(&config, &root, &["app", "saltenv=qa"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("No matching salt environment for environment 'qa' found"),
        "{stderr}"
    );
    let out = apply(&config, &root, &["saltenv=prod", "pillar=[1, 2]"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Pillar data must be formatted as a dictionary"),
        "{stderr}"
    );
    // Nothing was applied by either.
    assert!(!root.join("srv").exists());
}
