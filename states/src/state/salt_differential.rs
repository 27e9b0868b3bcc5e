//! Differential tests of the mount, debconf, gem and npm states: the same
//! state run by Brine under a temp root and by Salt 3007.8's `salt-call
//! --local` pointed at temp paths (its arguments, and the environment its
//! tools inherit: `DPKG_ROOT`, `GEM_HOME`, `npm_config_prefix`), never at
//! this host's own files. Result, comment and changes must be the same.
//! `timezone` is not here, and `locale` only in dry runs: Salt would
//! change this host's `/etc` for them.
use std::path::{Path, PathBuf};
use std::process::Command;

use common::data::Value;
use serde_json::json;

use super::testutil::TestHost;
use super::StateModule;

/// Salt in the venv `scripts/install-salt.sh` makes.
fn salt_call() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var("HOME").ok()?).join(".cache/brine/salt-venv/bin/salt-call");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: no Salt (bash scripts/install-salt.sh)");
        None
    }
}

/// One `salt-call --local state.apply` of a one-state SLS, in its own
/// config dir: `{result, comment, changes}` of that state.
fn salt(
    bin: &Path,
    dir: &Path,
    fun: &str,
    args: &Value,
    test: bool,
    env: &[(&str, &str)],
) -> Value {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("roots")).unwrap();
    std::fs::write(
        dir.join("minion"),
        format!(
            "file_client: local\ncachedir: {d}/cache\npki_dir: {d}/pki\nlog_file: {d}/log\n\
             minion_id_caching: False\nfile_roots:\n  base: [{d}/roots]\n"
        ),
    )
    .unwrap();
    let (name, rest) = (args["name"].clone(), args.as_object().unwrap());
    let mut list = vec![json!({"name": name})];
    list.extend(
        rest.iter()
            .filter(|(k, _)| *k != "name")
            .map(|(k, v)| json!({ k: v })),
    );
    std::fs::write(
        dir.join("roots/s.sls"),
        json!({"s": {fun: list}}).to_string(),
    )
    .unwrap();
    let out = Command::new(bin)
        .args(["--local", "--config-dir"])
        .arg(dir)
        .args([
            "--out",
            "json",
            "state.apply",
            "s",
            &format!("test={}", if test { "True" } else { "False" }),
        ])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("salt-call: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let ret = v["local"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    json!({"result": ret["result"], "comment": ret["comment"], "changes": ret["changes"]})
}

/// The same through Brine, as the executor reports it.
fn brine(t: &TestHost, module: &dyn StateModule, fun: &str, args: &Value, test: bool) -> Value {
    super::salt_oracle::brine_state(t, module, fun, args.clone(), test)
}

/// Salt's output with its temp paths replaced by Brine's names for them.
fn renamed(salt: Value, names: &[(&Path, &str)]) -> Value {
    let mut text = salt.to_string();
    for (from, to) in names {
        text = text.replace(&from.to_string_lossy().into_owned(), to);
    }
    serde_json::from_str(&text).unwrap()
}

/// `check` at the real root `/`, for dry runs that only read this host.
fn dry_run_at_real_root(module: &dyn StateModule, fun: &str, args: &Value) -> Value {
    use std::sync::Arc;
    let renderer = Arc::new(common::render::Renderer::new(Vec::new()));
    let session = Arc::new(common::render::Session::new(
        &json!({}),
        &json!({}),
        &json!({}),
        "base",
        Arc::new(common::render::NoHost),
    ));
    let host = super::HostRead::new(
        PathBuf::from("/"),
        Arc::new(super::LocalSources::new(renderer, session)),
    );
    let chunk = super::testutil::chunk(module.name(), fun, args.clone());
    let check = module.check(fun, &super::Args::new(&chunk), &host).unwrap();
    super::salt_oracle::as_salt(check, true, |_| unreachable!("a dry run applies nothing"))
}

/// Salt's locale dry runs only read (`locale -a`, `/etc/default/locale`
/// where systemd does not run), so both can look at this very host.
#[test]
fn locale_dry_runs_on_this_host_match_salt() {
    let Some(bin) = salt_call() else { return };
    if Path::new("/run/systemd/system").exists() {
        eprintln!("skipped: systemd runs here, so Salt would ask localed over D-Bus");
        return;
    }
    let s = tempfile::tempdir().unwrap();
    let cfg = s.path().join("salt");
    for name in ["C.UTF-8", "C.utf8", "fr_FR.UTF-8"] {
        for fun in ["present", "system"] {
            let args = json!({"name": name});
            let salt_ret = salt(&bin, &cfg, &format!("locale.{fun}"), &args, true, &[]);
            let ours = dry_run_at_real_root(&super::locale::Locale, fun, &args);
            assert_eq!(ours, salt_ret, "locale.{fun} {name}");
        }
    }
}

#[test]
fn mount_fstab_entries_match_salt() {
    let Some(bin) = salt_call() else { return };
    let s = tempfile::tempdir().unwrap();
    let (mp, fstab) = (s.path().join("m1"), s.path().join("fstab"));
    std::fs::write(&fstab, "# static\n").unwrap();
    let t = TestHost::new();
    t.write("/etc/fstab", "# static\n");
    let names = [
        (mp.as_path(), "/srv/cache"),
        (fstab.as_path(), "/etc/fstab"),
    ];
    let ours = |opts: &str| {
        json!({"name": "/srv/cache", "device": "tmpfs", "fstype": "tmpfs",
                                   "opts": opts, "mount": false, "mkmnt": true})
    };
    let theirs = |opts: &str| {
        json!({"name": mp, "device": "tmpfs", "fstype": "tmpfs", "opts": opts,
                                     "mount": false, "mkmnt": true, "config": fstab})
    };
    let cfg = s.path().join("salt");
    for (opts, test) in [
        ("size=1m", true),
        ("size=1m", false),
        ("size=1m", false),
        ("size=2m", true),
        ("size=2m", false),
    ] {
        let salt_ret = renamed(
            salt(&bin, &cfg, "mount.mounted", &theirs(opts), test, &[]),
            &names,
        );
        assert_eq!(
            brine(&t, &super::mount::Mount, "mounted", &ours(opts), test),
            salt_ret,
            "{opts} test={test}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&fstab)
            .unwrap()
            .replace(&mp.to_string_lossy().into_owned(), "/srv/cache"),
        t.read("/etc/fstab")
    );
    for test in [true, false, false] {
        let salt_ret = renamed(
            salt(
                &bin,
                &cfg,
                "mount.unmounted",
                &json!({"name": mp, "persist": true, "config": fstab}),
                test,
                &[],
            ),
            &names,
        );
        let ours = brine(
            &t,
            &super::mount::Mount,
            "unmounted",
            &json!({"name": "/srv/cache", "persist": true}),
            test,
        );
        assert_eq!(ours, salt_ret, "unmounted test={test}");
    }
}

#[test]
fn debconf_answers_match_salt() {
    let Some(bin) = salt_call() else { return };
    if !Path::new("/usr/bin/debconf-get-selections").exists() {
        eprintln!("skipped: no debconf-get-selections");
        return;
    }
    let conf = std::fs::read_to_string("/etc/debconf.conf").unwrap();
    let s = tempfile::tempdir().unwrap();
    let salt_root = s.path().join("root");
    std::fs::create_dir_all(salt_root.join("etc")).unwrap();
    std::fs::create_dir_all(salt_root.join("var/cache/debconf")).unwrap();
    std::fs::write(salt_root.join("etc/debconf.conf"), &conf).unwrap();
    let t = TestHost::new();
    t.write("/etc/debconf.conf", &conf);
    std::fs::create_dir_all(t.path("/var/cache/debconf")).unwrap();
    let root = salt_root.to_string_lossy().into_owned();
    let env = [("DPKG_ROOT", root.as_str())];
    let cfg = s.path().join("salt");
    let first = json!({"name": "brinetest", "data": {
        "brinetest/answer": {"type": "string", "value": "42"},
        "brinetest/flag": {"type": "boolean", "value": true}}});
    let second = json!({"name": "brinetest", "data": {
        "brinetest/answer": {"type": "string", "value": "42"},
        "brinetest/flag": {"type": "boolean", "value": false}}});
    for (args, test) in [
        (&first, true),
        (&first, false),
        (&first, false),
        (&second, true),
        (&second, false),
    ] {
        let salt_ret = salt(&bin, &cfg, "debconf.set", args, test, &env);
        assert_eq!(
            brine(&t, &super::debconf::Debconf, "set", args, test),
            salt_ret,
            "{args} test={test}"
        );
    }
}

#[test]
fn gem_install_and_removal_match_salt() {
    let Some(bin) = salt_call() else { return };
    let work = tempfile::tempdir().unwrap();
    let Some(source) = super::gem::tests::local_repo(work.path(), "0.1.0") else {
        return;
    };
    let s = tempfile::tempdir().unwrap();
    let home = s.path().join("gems").to_string_lossy().into_owned();
    let env = [("GEM_HOME", home.as_str()), ("GEM_PATH", home.as_str())];
    let t = TestHost::new();
    let cfg = s.path().join("salt");
    let args = json!({"name": "brinetiny", "source": source, "version": "0.1.0"});
    for test in [true, false, false] {
        let salt_ret = salt(&bin, &cfg, "gem.installed", &args, test, &env);
        assert_eq!(
            brine(&t, &super::gem::Gem, "installed", &args, test),
            salt_ret,
            "installed test={test}"
        );
    }
    let args = json!({"name": "brinetiny"});
    for test in [true, false, false] {
        let salt_ret = salt(&bin, &cfg, "gem.removed", &args, test, &env);
        assert_eq!(
            brine(&t, &super::gem::Gem, "removed", &args, test),
            salt_ret,
            "removed test={test}"
        );
    }
}

#[test]
fn npm_install_and_removal_match_salt() {
    let Some(bin) = salt_call() else { return };
    let work = tempfile::tempdir().unwrap();
    let Some(tgz) = super::npm::tests::tarball(work.path()) else {
        return;
    };
    let s = tempfile::tempdir().unwrap();
    let prefix = s.path().join("usr/local").to_string_lossy().into_owned();
    let env = [("npm_config_prefix", prefix.as_str())];
    let t = TestHost::new();
    let cfg = s.path().join("salt");
    let steps = [
        (
            json!({"name": "brinetiny", "pkgs": [tgz]}),
            "installed",
            true,
        ),
        (
            json!({"name": "brinetiny", "pkgs": [tgz]}),
            "installed",
            false,
        ),
        (json!({"name": "brinetiny"}), "installed", true),
        (json!({"name": "brinetiny"}), "removed", true),
        (json!({"name": "brinetiny"}), "removed", false),
        (json!({"name": "brinetiny"}), "removed", false),
    ];
    for (args, fun, test) in steps {
        let salt_ret = salt(&bin, &cfg, &format!("npm.{fun}"), &args, test, &env);
        assert_eq!(
            brine(&t, &super::npm::Npm, fun, &args, test),
            salt_ret,
            "{fun} {args} test={test}"
        );
    }
}
