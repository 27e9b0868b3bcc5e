//! pip.installed / pip.removed against a real `python3 -m venv` and its pip,
//! offline: the packages are wheels this file writes into a wheelhouse
//! under the test root (`find_links` + `no_index`).
use std::io::Write;
use std::path::Path;

use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
use super::super::{Check, StateModule};
use super::Pip;

/// Writes `<dir>/<name>-<version>-py3-none-any.whl`: a pure-Python wheel
/// whose module `name` holds `VERSION`. A wheel is a zip with METADATA,
/// WHEEL and RECORD, so no setuptools is needed to make one.
pub(crate) fn write_wheel(dir: &Path, name: &str, version: &str) {
    std::fs::create_dir_all(dir).expect("wheelhouse");
    let dist = format!("{name}-{version}.dist-info");
    let files = [
        (
            format!("{name}/__init__.py"),
            format!("VERSION = {version:?}\n"),
        ),
        (
            format!("{dist}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ),
        (
            format!("{dist}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: brine-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_string(),
        ),
    ];
    let mut record = String::new();
    for (path, text) in &files {
        let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(text.as_bytes()));
        record.push_str(&format!("{path},sha256={hash},{}\n", text.len()));
    }
    record.push_str(&format!("{dist}/RECORD,,\n"));
    let file = std::fs::File::create(dir.join(format!("{name}-{version}-py3-none-any.whl")))
        .expect("wheel file");
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default();
    for (path, text) in files
        .iter()
        .chain(std::iter::once(&(format!("{dist}/RECORD"), record)))
    {
        zip.start_file(path.as_str(), opts).expect("zip entry");
        zip.write_all(text.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip finish");
}

/// `python3 -m venv` at `abs` under the test root (pip.installed's tests
/// start from an existing virtualenv, as after virtualenv.managed).
pub(crate) fn make_venv(t: &TestHost, abs: &str) {
    make_venv_with(t, abs, "python3");
}

fn make_venv_with(t: &TestHost, abs: &str, python: &str) {
    let out = std::process::Command::new(python)
        .args(["-m", "venv"])
        .arg(t.path(abs))
        .output()
        .expect("python3 -m venv");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the venv's python imports: the installed version of `module`.
pub(crate) fn imported_version(t: &TestHost, venv: &str, module: &str) -> Option<String> {
    let out = std::process::Command::new(t.path(venv).join("bin/python"))
        .args(["-c", &format!("import {module}; print({module}.VERSION)")])
        .output()
        .expect("venv python");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn args(extra: serde_json::Value) -> serde_json::Value {
    let mut base = json!({
        "name": "brinepkg",
        "bin_env": "/srv/venv",
        "find_links": "/wheels",
        "no_index": true,
    });
    base.as_object_mut()
        .expect("map")
        .extend(extra.as_object().expect("map").clone());
    base
}

#[test]
fn installs_rechecks_clean_upgrades_and_removes() {
    let t = TestHost::new();
    make_venv(&t, "/srv/venv");
    write_wheel(&t.path("/wheels"), "brinepkg", "1.0");

    let before = t.snapshot();
    let check = t.check(&Pip, "installed", args(json!({}))).unwrap();
    assert_eq!(
        comment_of(&check),
        "Python package brinepkg is set to be installed"
    );
    assert_eq!(changes_of(&check), Some(&Default::default()));
    assert_eq!(t.snapshot(), before, "a check must not write");
    assert_eq!(imported_version(&t, "/srv/venv", "brinepkg"), None);

    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(applied.comment, "All packages were successfully installed");
    assert_eq!(
        applied.changes,
        Some(super::super::changes([(
            "brinepkg==1.0",
            "Installed".into()
        )]))
    );
    assert_eq!(
        imported_version(&t, "/srv/venv", "brinepkg").as_deref(),
        Some("1.0")
    );

    let again = t.check(&Pip, "installed", args(json!({}))).unwrap();
    assert!(is_clean(&again));
    assert_eq!(
        comment_of(&again),
        "Python package brinepkg was already installed\nAll specified packages are already installed"
    );

    // A newer wheel: installed is still satisfied, upgrade is not.
    write_wheel(&t.path("/wheels"), "brinepkg", "1.1");
    assert!(is_clean(
        &t.check(&Pip, "installed", args(json!({}))).unwrap()
    ));
    let before = t.snapshot();
    let up = t
        .check(&Pip, "installed", args(json!({"upgrade": true})))
        .unwrap();
    assert_eq!(
        comment_of(&up),
        "Python package brinepkg is set to be installed"
    );
    assert_eq!(t.snapshot(), before, "a check must not write");
    let applied = t.apply(up);
    assert_eq!(
        applied.changes,
        Some(super::super::changes([(
            "brinepkg==1.1",
            "Installed".into()
        )]))
    );
    assert_eq!(
        imported_version(&t, "/srv/venv", "brinepkg").as_deref(),
        Some("1.1")
    );
    let again = t
        .check(&Pip, "installed", args(json!({"upgrade": true})))
        .unwrap();
    assert_eq!(
        comment_of(&again),
        "Python package brinepkg was already installed\nAll specified packages are already installed and up-to-date"
    );

    // A pin below what is installed is a change (a downgrade, as pip does it).
    let pinned = t
        .check(&Pip, "installed", args(json!({"name": "brinepkg==1.0"})))
        .unwrap();
    assert_eq!(
        comment_of(&pinned),
        "Python package brinepkg==1.0 is set to be installed"
    );

    let removed_args = json!({"name": "brinepkg", "bin_env": "/srv/venv"});
    let before = t.snapshot();
    let rm = t.check(&Pip, "removed", removed_args.clone()).unwrap();
    assert_eq!(comment_of(&rm), "Package brinepkg is set to be removed");
    assert_eq!(t.snapshot(), before, "a check must not write");
    let applied = t.apply(rm);
    assert_eq!(applied.comment, "Package was successfully removed.");
    assert_eq!(
        applied.changes,
        Some(super::super::changes([("brinepkg", "Removed".into())]))
    );
    assert_eq!(imported_version(&t, "/srv/venv", "brinepkg"), None);
    let gone = t.check(&Pip, "removed", removed_args).unwrap();
    assert!(is_clean(&gone));
    assert_eq!(comment_of(&gone), "Package is not installed.");
}

#[test]
fn several_packages_name_the_ones_already_there() {
    let t = TestHost::new();
    make_venv(&t, "/srv/venv");
    write_wheel(&t.path("/wheels"), "brinepkg", "1.0");
    write_wheel(&t.path("/wheels"), "otherpkg", "2.0");
    let one = t.check(&Pip, "installed", args(json!({}))).unwrap();
    t.apply(one);
    let both = args(json!({"pkgs": ["brinepkg", {"otherpkg": "==2.0"}]}));
    let check = t.check(&Pip, "installed", both.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "Python package(s) set to be installed:\nbrinepkg\notherpkg ==2.0"
    );
    let applied = t.apply(check);
    assert_eq!(
        applied.comment,
        "Python package brinepkg was already installed\nAll packages were successfully installed"
    );
    assert_eq!(
        applied.changes,
        Some(super::super::changes([(
            "otherpkg==2.0",
            "Installed".into()
        )]))
    );
    assert!(is_clean(&t.check(&Pip, "installed", both).unwrap()));
}

#[test]
fn a_bin_env_not_made_yet_is_a_pending_install() {
    let t = TestHost::new();
    write_wheel(&t.path("/wheels"), "brinepkg", "1.0");
    let before = t.snapshot();
    let check = t
        .check(&Pip, "installed", args(json!({"bin_env": "/srv/later"})))
        .unwrap();
    assert!(matches!(check, Check::Change { .. }));
    assert_eq!(
        comment_of(&check),
        "Python package brinepkg is set to be installed"
    );
    assert_eq!(t.snapshot(), before);
    // Applied with nothing having made it: Salt's error.
    let applied = t.apply(check);
    assert!(!applied.result);
    assert_eq!(
        applied.comment,
        "Error installing 'brinepkg': Could not find a pip binary in virtualenv /srv/later"
    );
    let many = t
        .check(
            &Pip,
            "installed",
            args(json!({"bin_env": "/srv/later", "pkgs": ["a", "b"]})),
        )
        .unwrap();
    assert_eq!(
        comment_of(&many),
        "Python package(s) set to be installed:\na\nb"
    );
    // Nothing to remove from a virtualenv that is not there.
    let rm = t
        .check(
            &Pip,
            "removed",
            json!({"name": "a", "bin_env": "/srv/later"}),
        )
        .unwrap();
    assert_eq!(comment_of(&rm), "Package is not installed.");
}

#[test]
fn a_requirements_file_from_salt_is_processed_once() {
    let t = TestHost::new();
    make_venv(&t, "/srv/venv");
    write_wheel(&t.path("/wheels"), "brinepkg", "1.0");
    t.source("app/requirements.txt", "brinepkg==1.0\n");
    let req = args(json!({"requirements": "salt://app/requirements.txt"}));
    let before = t.snapshot();
    let check = t.check(&Pip, "installed", req.clone()).unwrap();
    assert_eq!(
        comment_of(&check),
        "Requirements file 'salt://app/requirements.txt' will be processed."
    );
    assert_eq!(t.snapshot(), before);
    let applied = t.apply(check);
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        "Successfully processed requirements file salt://app/requirements.txt."
    );
    assert_eq!(
        applied.changes,
        Some(super::super::changes([("requirements", true.into())]))
    );
    assert_eq!(
        imported_version(&t, "/srv/venv", "brinepkg").as_deref(),
        Some("1.0")
    );
    let again = t.check(&Pip, "installed", req).unwrap();
    assert!(is_clean(&again));
    assert_eq!(comment_of(&again), "Requirements were already installed.");

    // A local file under the root works the same; a missing one fails as in Salt.
    t.write("/srv/req.txt", "brinepkg==1.0\n");
    let local = t
        .check(
            &Pip,
            "installed",
            args(json!({"requirements": "/srv/req.txt"})),
        )
        .unwrap();
    assert!(is_clean(&local), "{}", comment_of(&local));
    // A local file not there yet (a checkout an earlier state would make)
    // is pending in a dry run; applied without it, pip's error in Salt's words.
    let later = t
        .check(
            &Pip,
            "installed",
            args(json!({"requirements": "/srv/later.txt"})),
        )
        .unwrap();
    assert_eq!(
        comment_of(&later),
        "Requirements file '/srv/later.txt' will be processed."
    );
    let applied = t.apply(later);
    assert!(!applied.result);
    assert!(
        applied
            .comment
            .starts_with("Unable to process requirements file \"/srv/later.txt\" Error: "),
        "{}",
        applied.comment
    );
    let missing = t
        .check(
            &Pip,
            "installed",
            args(json!({"requirements": "salt://app/nope.txt"})),
        )
        .unwrap();
    assert_eq!(
        comment_of(&missing),
        "pip requirements file 'salt://app/nope.txt' not found"
    );
}

#[test]
fn refusals_name_what_is_wrong() {
    let t = TestHost::new();
    make_venv(&t, "/srv/venv");
    let bad = t
        .check(&Pip, "installed", args(json!({"name": "brinepkg=1.0"})))
        .unwrap();
    assert!(matches!(bad, Check::Fail { .. }));
    assert_eq!(
        comment_of(&bad),
        "Invalid version specification in package brinepkg=1.0. '=' is not supported, use '==' instead."
    );
    let not_list = t
        .check(&Pip, "installed", args(json!({"pkgs": "brinepkg"})))
        .unwrap();
    assert_eq!(
        comment_of(&not_list),
        "pkgs argument must be formatted as a list"
    );
    let no_user = t
        .check(
            &Pip,
            "installed",
            args(json!({"user": "no-such-user-brine"})),
        )
        .unwrap();
    assert_eq!(
        comment_of(&no_user),
        "User no-such-user-brine does not exist"
    );
    // pip cannot find it: the install says why, with Salt's words.
    let check = t
        .check(&Pip, "installed", args(json!({"name": "nosuchpkg"})))
        .unwrap();
    let applied = t.apply(check);
    assert!(!applied.result);
    assert!(
        applied
            .comment
            .starts_with("Failed to install packages: nosuchpkg. Error: "),
        "{}",
        applied.comment
    );
    // Salt's arguments Brine does not implement are reported by name.
    let chunk = serde_json::Map::from_iter([
        ("editable".to_string(), json!("git+https://x/y")),
        ("bin_env".to_string(), json!("/srv/venv")),
    ]);
    assert_eq!(
        super::super::unknown_args("pip", "installed", &chunk),
        ["editable"]
    );
    assert_eq!(Pip.name(), "pip");
}

/// `python3 -m http.server` over `dir` on a free loopback port, killed on
/// drop: a package index (its directory listings are the simple API's pages).
struct Index {
    child: std::process::Child,
    port: u16,
}

impl Drop for Index {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Index {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let index = Index { child, port };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return index;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("the index did not listen");
}

#[test]
fn index_url_env_vars_and_cwd_reach_pip() {
    let t = TestHost::new();
    make_venv(&t, "/srv/venv");
    let served = tempfile::tempdir().unwrap();
    write_wheel(&served.path().join("simple/brinepkg"), "brinepkg", "1.0");
    write_wheel(&served.path().join("extra/otherpkg"), "otherpkg", "2.0");
    let index = serve(served.path());
    let base = format!("http://127.0.0.1:{}", index.port);
    let from_index = json!({
        "name": "brinepkg",
        "bin_env": "/srv/venv",
        "index_url": format!("{base}/simple/"),
        "extra_index_url": format!("{base}/extra/"),
        "pkgs": ["brinepkg", "otherpkg"],
    });
    let applied = t.apply(t.check(&Pip, "installed", from_index.clone()).unwrap());
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        imported_version(&t, "/srv/venv", "otherpkg").as_deref(),
        Some("2.0")
    );
    assert!(is_clean(&t.check(&Pip, "installed", from_index).unwrap()));

    // env_vars are pip's environment: its find-links from there.
    write_wheel(&t.path("/wheels"), "thirdpkg", "3.0");
    let by_env = json!({
        "name": "thirdpkg",
        "bin_env": "/srv/venv",
        "no_index": true,
        "env_vars": {"PIP_FIND_LINKS": t.path("/wheels").display().to_string()},
    });
    let applied = t.apply(t.check(&Pip, "installed", by_env.clone()).unwrap());
    assert!(applied.result, "{}", applied.comment);
    assert!(is_clean(&t.check(&Pip, "installed", by_env).unwrap()));

    // A relative requirements file is read from cwd.
    write_wheel(&t.path("/wheels"), "fourthpkg", "4.0");
    t.write("/srv/app/req.txt", "fourthpkg\n");
    let in_cwd = json!({
        "name": "app",
        "bin_env": "/srv/venv",
        "requirements": "req.txt",
        "cwd": "/srv/app",
        "find_links": "/wheels",
        "no_index": true,
    });
    let applied = t.apply(t.check(&Pip, "installed", in_cwd.clone()).unwrap());
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        imported_version(&t, "/srv/venv", "fourthpkg").as_deref(),
        Some("4.0")
    );
    assert!(is_clean(&t.check(&Pip, "installed", in_cwd).unwrap()));
}

#[test]
fn user_runs_pip_as_that_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: running pip as another user needs root");
        return;
    }
    let t = TestHost::new();
    // The system's python: nobody may not reach another one (pyenv's under /root).
    make_venv_with(&t, "/srv/venv", "/usr/bin/python3");
    write_wheel(&t.path("/wheels"), "brinepkg", "1.0");
    // nobody must reach the root and own the venv, as a deploy user owns its app's.
    let chmod = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    chmod(t.root.path());
    let status = std::process::Command::new("chown")
        .args(["-R", "nobody"])
        .arg(t.path("/srv/venv"))
        .status()
        .unwrap();
    assert!(status.success());
    let as_nobody = args(json!({"user": "nobody"}));
    let applied = t.apply(t.check(&Pip, "installed", as_nobody.clone()).unwrap());
    assert!(applied.result, "{}", applied.comment);
    let owner = std::process::Command::new("stat")
        .args(["-c", "%U"])
        .arg(t.path("/srv/venv").join("lib"))
        .output()
        .unwrap();
    let installed = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "stat -c %U {}/lib/python3*/site-packages/brinepkg/__init__.py",
            t.path("/srv/venv").display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&installed.stdout).trim(), "nobody");
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), "nobody");
    assert!(is_clean(&t.check(&Pip, "installed", as_nobody).unwrap()));
}

#[test]
fn a_pip_without_dry_run_is_refused_by_name() {
    let t = TestHost::new();
    // bin_env naming a pip program (not a python): run as given. This one
    // answers as pip 20 does to an option it lacks.
    t.write(
        "/opt/oldpip/pip",
        "#!/bin/sh\necho 'no such option: --dry-run' >&2\nexit 2\n",
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let p = t.path("/opt/oldpip/pip");
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let err = t
        .check(
            &Pip,
            "installed",
            args(json!({"bin_env": "/opt/oldpip/pip"})),
        )
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("oldpip/pip is older than pip 22.2") && err.contains("--dry-run"),
        "{err}"
    );
}
