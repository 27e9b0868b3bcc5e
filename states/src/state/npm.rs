//! `npm.installed` and `npm.removed` (salt/states/npm.py over
//! salt/modules/npm.py): `npm list --json`, `npm install --json`, `npm
//! uninstall`, as argv (Salt joins them into a shell line).
//!
//! Without `dir` packages are global. Under a state root "global" is the
//! root's `/usr/local` (`--prefix`, npm's default prefix on Debian), and a
//! `dir` is the root's directory, so a test or swarm run never installs
//! into this host's node.
use std::path::{Path, PathBuf};

use common::data::{Map, Value};

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct Npm;

impl super::StateModule for Npm {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::NPM
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "installed" => installed(args, host),
            "removed" => removed(args, host),
            other => Err(StateError::args(format!(
                "npm.{other} is not a state function"
            ))),
        }
    }
}

/// Where npm works: a project `dir`, or the global prefix.
struct Place {
    /// `--global` and, under a state root, `--prefix <root>/usr/local`.
    flags: Vec<String>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl Place {
    fn new(args: &Args, host: &HostRead, fun: &str) -> Result<Self, StateError> {
        if args.get("user").is_some() {
            return Err(StateError::args(format!(
                "npm.{fun}: 'user' is not supported by Brine yet"
            )));
        }
        // Salt's npm.removed has no `env`.
        let env = match (fun == "installed").then(|| args.get("env")).flatten() {
            None => Vec::new(),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), common::pyfmt::py_str(v)))
                .collect(),
            Some(v) => {
                return Err(StateError::args(format!(
                    "'env' must be a mapping of variable names to values, got {v}"
                )))
            }
        };
        if let Some(dir) = args.str("dir")? {
            return Ok(Place {
                flags: Vec::new(),
                cwd: Some(host.path(&dir)?),
                env,
            });
        }
        let mut flags = vec!["--global".to_string()];
        if host.root() != Path::new("/") {
            flags.push("--prefix".into());
            flags.push(host.path("/usr/local")?.to_string_lossy().into_owned());
        }
        Ok(Place {
            flags,
            cwd: None,
            env,
        })
    }

    fn argv<'a>(&'a self, head: &[&'a str], tail: &'a [String]) -> Vec<&'a str> {
        let mut argv = head.to_vec();
        argv.extend(self.flags.iter().map(String::as_str));
        argv.extend(tail.iter().map(String::as_str));
        argv
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Salt's `npm.list(depth=0)`: the top-level dependencies.
    fn list(&self, host: &HostRead) -> Result<Map<String, Value>, String> {
        let argv = self.argv(&["npm", "list", "--json", "--silent", "--depth=0"], &[]);
        let out = match &self.cwd {
            Some(dir) if !dir.is_dir() => return Ok(Map::new()),
            Some(dir) => host.query_in(&argv, &self.env(), dir),
            None => host.query_env(&argv, &self.env()),
        }
        .map_err(|e| e.to_string())?;
        if out.retcode != 0 && !out.stderr.trim().is_empty() {
            return Err(out.stderr.trim().to_string());
        }
        let v: Value = serde_json::from_str(&out.stdout)
            .map_err(|e| format!("npm list printed no JSON: {e}"))?;
        Ok(v.get("dependencies")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    fn run(&self, host: &HostWrite, argv: &[&str]) -> Result<super::CmdRun, StateError> {
        if let Some(dir) = &self.cwd {
            host.create_dir_all(dir)?;
        }
        host.run(argv, &self.env(), self.cwd.as_deref())
    }
}

/// `name@version` → (`name`, `version`), scoped names kept whole
/// (Salt's `^(@?[^@\s]+)(?:@(\S+))?`).
fn split_spec(spec: &str) -> (&str, Option<&str>) {
    let scoped = usize::from(spec.starts_with('@'));
    match spec[scoped..].find('@') {
        Some(i) => (&spec[..scoped + i], Some(&spec[scoped + i + 1..])),
        None => (spec, None),
    }
}

/// Salt's `_pkg_is_installed`: by name, or a URL by where it came from.
fn installed_version<'a>(name: &str, installed: &'a Map<String, Value>) -> Option<&'a str> {
    if let Some(v) = installed.get(name).and_then(|i| i.get("version")) {
        return v.as_str();
    }
    let (_, wanted) = name.split_once("://")?;
    installed.values().find_map(|info| {
        let mut from = info.get("from")?.as_str()?.split_once("://")?.1.to_string();
        if name.starts_with("git://") && !from.ends_with(".git") {
            from.push_str(".git");
        }
        (from == wanted).then(|| info.get("version").and_then(Value::as_str).unwrap_or(""))
    })
}

fn installed(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let place = Place::new(args, host, "installed")?;
    let name = args.name();
    let pkg_list = match args.str_list("pkgs")? {
        Some(p) if !p.is_empty() => p,
        _ => vec![name.clone()],
    };
    let force = args.bool_or("force_reinstall", false)?;
    let registry = args.str("registry")?;
    let installed = match place.list(host) {
        Ok(i) => i,
        Err(e) => return Ok(Check::fail(format!("Error looking up '{name}': {e}"))),
    };
    let mut to_install = Vec::new();
    let mut satisfied = Vec::new();
    for pkg in &pkg_list {
        let (pkg_name, pkg_ver) = split_spec(pkg);
        match installed_version(pkg_name, &installed) {
            Some(have) if !force && pkg_ver.is_none_or(|v| v == have) => {
                satisfied.push(format!("{pkg_name}@{have}"))
            }
            _ => to_install.push(pkg.clone()),
        }
    }
    let satisfied_msg = format!(
        "Package(s) '{}' satisfied by {}",
        pkg_list.join(", "),
        satisfied.join(", ")
    );
    if to_install.is_empty() {
        return Ok(Check::clean(satisfied_msg));
    }
    let mut test = vec![format!(
        "NPM package(s) '{}' are set to be installed",
        to_install.join(", ")
    )];
    if !satisfied.is_empty() {
        test.push(satisfied_msg);
    }
    let change = changes([
        ("old", Value::Array(Vec::new())),
        ("new", to_install.clone().into()),
    ]);
    let mut tail = Vec::new();
    if let Some(r) = registry {
        tail.push(format!("--registry={r}"));
    }
    tail.extend(pkg_list.iter().cloned());
    Ok(Check::change(
        change.clone(),
        test.join(". "),
        ApplyFn(move |host: &HostWrite| {
            let argv = place.argv(&["npm", "install", "--json", "--silent"], &tail);
            let out = place.run(host, &argv)?;
            Ok(if out.retcode == 0 {
                Applied::ok_with(
                    format!(
                        "Package(s) '{}' successfully installed",
                        to_install.join(", ")
                    ),
                    change,
                )
            } else {
                Applied::failed(
                    format!(
                        "Error installing '{}': {}",
                        pkg_list.join(", "),
                        out.stderr.trim()
                    ),
                    Map::new(),
                )
            })
        }),
    ))
}

fn removed(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let place = Place::new(args, host, "removed")?;
    let name = args.name();
    let installed = match place.list(host) {
        Ok(i) => i,
        Err(e) => return Ok(Check::fail(format!("Error uninstalling '{name}': {e}"))),
    };
    if !installed.contains_key(&name) {
        return Ok(Check::clean(format!("Package '{name}' is not installed")));
    }
    Ok(Check::change(
        Map::new(),
        format!("Package '{name}' is set to be removed"),
        ApplyFn(move |host: &HostWrite| {
            let tail = [name.clone()];
            let argv = place.argv(&["npm", "uninstall"], &tail);
            let out = place.run(host, &argv)?;
            Ok(if out.retcode == 0 {
                Applied::ok_with(
                    format!("Package '{name}' was successfully removed"),
                    changes([(name.as_str(), "Removed".into())]),
                )
            } else {
                tracing::error!("npm uninstall {name}: {}", out.stderr.trim());
                Applied::failed(format!("Error removing package '{name}'"), Map::new())
            })
        }),
    ))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
    use super::*;
    use serde_json::json;

    #[test]
    fn package_specs() {
        assert_eq!(split_spec("express@4.18.2"), ("express", Some("4.18.2")));
        assert_eq!(split_spec("@types/node@20"), ("@types/node", Some("20")));
        assert_eq!(split_spec("@types/node"), ("@types/node", None));
        let installed = json!({"x": {"version": "1.0.0", "from": "git+https://example.com/x.git"}});
        let installed = installed.as_object().unwrap();
        assert_eq!(installed_version("x", installed), Some("1.0.0"));
        assert_eq!(
            installed_version("https://example.com/x.git", installed),
            Some("1.0.0")
        );
        assert_eq!(installed_version("y", installed), None);
    }

    /// `npm pack` of a tiny local package: installing it needs no registry.
    pub(crate) fn tarball(dir: &Path) -> Option<String> {
        if std::process::Command::new("npm")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: no npm (apt-get install npm)");
            return None;
        }
        std::fs::write(
            dir.join("package.json"),
            r#"{"name": "brinetiny", "version": "1.0.0", "main": "index.js"}"#,
        )
        .unwrap();
        std::fs::write(dir.join("index.js"), "module.exports = 1;\n").unwrap();
        let out = std::process::Command::new("npm")
            .args(["pack", "--silent"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(
            dir.join("brinetiny-1.0.0.tgz")
                .to_string_lossy()
                .into_owned(),
        )
    }

    #[test]
    fn installs_globally_and_in_a_dir_then_is_clean_then_removes() {
        let work = tempfile::tempdir().unwrap();
        let Some(tgz) = tarball(work.path()) else {
            return;
        };
        for dir in [None, Some("/srv/app")] {
            let t = TestHost::new();
            let with_dir = |mut v: Value| {
                if let Some(d) = dir {
                    v["dir"] = json!(d);
                }
                v
            };
            let args = with_dir(json!({"name": "brinetiny", "pkgs": [tgz]}));
            let before = t.snapshot();
            let check = t.check(&Npm, "installed", args).unwrap();
            assert_eq!(t.snapshot(), before, "check wrote to the root");
            assert_eq!(
                comment_of(&check),
                format!("NPM package(s) '{tgz}' are set to be installed")
            );
            assert_eq!(
                changes_of(&check).unwrap(),
                &changes([("old", json!([])), ("new", json!([tgz]))])
            );
            let applied = t.apply(check);
            assert!(applied.result, "{}", applied.comment);
            assert_eq!(
                applied.comment,
                format!("Package(s) '{tgz}' successfully installed")
            );
            let installed_at = match dir {
                None => "/usr/local/lib/node_modules/brinetiny/index.js",
                Some(_) => "/srv/app/node_modules/brinetiny/index.js",
            };
            assert!(t.path(installed_at).exists(), "{installed_at}");

            let again = t
                .check(
                    &Npm,
                    "installed",
                    with_dir(json!({"name": "brinetiny@1.0.0"})),
                )
                .unwrap();
            assert!(is_clean(&again));
            assert_eq!(
                comment_of(&again),
                "Package(s) 'brinetiny@1.0.0' satisfied by brinetiny@1.0.0"
            );

            let before = t.snapshot();
            let check = t
                .check(&Npm, "removed", with_dir(json!({"name": "brinetiny"})))
                .unwrap();
            assert_eq!(t.snapshot(), before);
            assert_eq!(
                comment_of(&check),
                "Package 'brinetiny' is set to be removed"
            );
            let applied = t.apply(check);
            assert!(applied.result, "{}", applied.comment);
            assert_eq!(
                applied.comment,
                "Package 'brinetiny' was successfully removed"
            );
            assert_eq!(
                applied.changes.unwrap(),
                changes([("brinetiny", json!("Removed"))])
            );
            let gone = t
                .check(&Npm, "removed", with_dir(json!({"name": "brinetiny"})))
                .unwrap();
            assert_eq!(comment_of(&gone), "Package 'brinetiny' is not installed");
        }
    }
}
